"""Participant identity: sealed round trips, binding to row and column, the blind index,
duplicates (also under concurrency), shredding, and identifiers never leaking."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth import actions as auth_actions
from registry.auth.models import Site
from registry.consents.models import ConsentForm
from registry.crypto import key_provider, mac_for
from registry.crypto.errors import DecryptionFailed
from registry.crypto.keys import BLIND_INDEX_PURPOSE
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from registry.errors import Conflict, NotFound, ValidationFailed
from registry.logs import JsonFormatter
from registry.participants import dek_cache
from registry.participants.identity import (
    Identity,
    find_by_nhs_number,
    index_widths_in_use,
    read_identity,
    shred_participant,
    update_identity,
)
from registry.participants.models import NhsNumberIndex, Participant, ParticipantKey
from registry.participants.validation import canonical_nhs_number
from tests.conftest import (
    add_consent_forms,
    enrolment_body,
    isolated_app,
    on_postgresql,
)
from tests.crypto.test_blind_index import find_colliding_nhs_numbers, nhs_check_digit

ACTOR = Actor(label="test:clinician", role="clinician", user_id=None)
DATE_OF_BIRTH = dt.date(1987, 3, 14)


def random_nhs_number() -> str:
    """A valid NHS number in the synthetic 999 range."""
    while True:
        first_nine = f"999{random.randrange(10**6):06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


def enrol(site: Site, nhs_number: str | None = None, **overrides: Any) -> Participant:
    """Enrol through the one enrolment path (schema, then action), as the API does."""
    _ensure_consent_forms()
    body = enrolment_body(
        "EP",
        nhs_number=nhs_number or random_nhs_number(),
        family_name=f"Quetzal{random.randrange(10**6):06d}",
        date_of_birth=DATE_OF_BIRTH.isoformat(),
        postcode="b152tt",
        email=f"ada{random.randrange(10**6)}@example.org",
        phone="07700 900123",
    )
    for name, value in overrides.items():
        body[name] = value.isoformat() if isinstance(value, dt.date) else value
    return enrol_participant(load_enrolment(body), by=ACTOR, own_site=site)


def _ensure_consent_forms() -> None:
    if session().scalar(select(ConsentForm.id).where(ConsentForm.version == "EP-PIS-2.0")):
        return
    add_consent_forms(ACTOR, cohorts=("EP",))


@contextmanager
def fresh_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on its own database and keyring, with real commits (threads, dumps, rotation)."""
    with isolated_app(tmp_path) as (app, _url):
        yield app


def add_site(app: Flask) -> Site:
    """A site, and the consent form its enrolments use (made once, before any thread races)."""
    with app.test_request_context():
        site = auth_actions.add_site(code="RXT", name="Test Trust", by=ACTOR)
        _ensure_consent_forms()
        session().commit()
        return site


@pytest.fixture
def site(create_site: Callable[..., Site]) -> Site:
    return create_site()


@pytest.fixture(autouse=True)
def _empty_dek_cache() -> Iterator[None]:
    dek_cache.clear()
    yield
    dek_cache.clear()


# -- round trip and what is stored ---------------------------------------------------------


def test_create_then_read_returns_every_identifier(app_ctx: None, site: Site) -> None:
    participant = enrol(site, "999 000 0018", given_name="  Ada  Mary ", email="a@example.org")

    identity = read_identity(participant, by=ACTOR, purpose="direct care")

    assert identity == Identity(
        participant_id=participant.participant_id,
        nhs_number="9990000018",
        given_name="Ada Mary",
        family_name=identity.family_name,
        date_of_birth=DATE_OF_BIRTH,
        postcode="B15 2TT",
        email="a@example.org",
        phone="07700900123",
    )
    assert identity.family_name.startswith("Quetzal")


def test_optional_contact_details_may_be_absent(app_ctx: None, site: Site) -> None:
    participant = enrol(site, email=None, phone=None)

    identity = read_identity(participant, by=ACTOR, purpose="direct care")

    assert (identity.email, identity.phone) == (None, None)
    assert participant.email_sealed is None


def test_generalised_columns_hold_year_month_and_district(app_ctx: None, site: Site) -> None:
    participant = enrol(site, postcode="B15 2TT", date_of_birth=dt.date(2001, 11, 30))

    assert (participant.birth_year, participant.birth_month) == (2001, 11)
    assert participant.postcode_district == "B15"


def test_participant_id_is_random_and_says_nothing(app_ctx: None, site: Site) -> None:
    first, second = enrol(site), enrol(site)

    assert first.participant_id != second.participant_id
    for participant in (first, second):
        assert participant.participant_id.startswith("P-")
        assert len(participant.participant_id) == 14


def test_stored_row_holds_no_plaintext_identifier(app_ctx: None, site: Site) -> None:
    participant = enrol(site, "9990000018", family_name="Quetzalcoatl")

    key = session().get(ParticipantKey, participant.id)
    assert key is not None
    assert key.kek_epoch == key_provider().current_epoch()
    sealed = [participant.nhs_number_sealed, participant.family_name_sealed]
    assert all(blob and b"9990000018" not in blob and b"Quetzal" not in blob for blob in sealed)


def test_comparing_a_sealed_column_raises(app_ctx: None) -> None:
    with pytest.raises(TypeError, match="look up through the blind index"):
        select(Participant).where(Participant.nhs_number_sealed == b"x")
    with pytest.raises(TypeError, match="encrypted"):
        select(Participant).where(Participant.family_name_sealed.in_([b"x"]))
    with pytest.raises(TypeError, match="encrypted"):
        select(Participant).where(Participant.email_sealed != b"x")


# -- ciphertexts are bound to their row, column and participant -------------------------------


def test_ciphertext_moved_to_another_participant_fails(app_ctx: None, site: Site) -> None:
    first, second = enrol(site), enrol(site)

    first.family_name_sealed = second.family_name_sealed

    with pytest.raises(DecryptionFailed):
        read_identity(first, by=ACTOR, purpose="direct care")


def test_ciphertext_moved_to_another_column_fails(app_ctx: None, site: Site) -> None:
    participant = enrol(site)

    participant.given_name_sealed = participant.family_name_sealed

    with pytest.raises(DecryptionFailed):
        read_identity(participant, by=ACTOR, purpose="direct care")


def test_wrapped_key_swapped_between_participants_fails(app_ctx: None, site: Site) -> None:
    first, second = enrol(site), enrol(site)
    first_key = session().get(ParticipantKey, first.id)
    second_key = session().get(ParticipantKey, second.id)
    assert first_key is not None and second_key is not None

    first_key.wrapped_dek, second_key.wrapped_dek = second_key.wrapped_dek, first_key.wrapped_dek
    session().flush()

    for participant in (first, second):
        with pytest.raises(DecryptionFailed) as raised:
            read_identity(participant, by=ACTOR, purpose="direct care")
        assert "Quetzal" not in str(raised.value)


# -- NHS numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["9990000018", "999 000 0018", "999-000-0018", " 9990000018 "])
def test_nhs_number_separators_are_removed(app_ctx: None, text: str) -> None:
    assert canonical_nhs_number(text) == "9990000018"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9990000019", "not valid"),  # wrong check digit
        ("999000001", "10 digits"),
        ("99900000181", "10 digits"),
        ("999000001X", "10 digits"),
        ("\uff19" * 3 + "\uff10" * 6 + "\uff18", "10 digits"),  # full-width digits
        ("0000000000", "placeholder"),
    ],
)
def test_invalid_nhs_number_is_refused_without_echoing_it(
    app_ctx: None, text: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        canonical_nhs_number(text)

    (problem,) = raised.value.fields["nhs_number"]
    assert message in problem
    assert text not in f"{raised.value} {problem}"


def test_check_digit_of_ten_is_never_valid(app_ctx: None) -> None:
    # A weighted sum with remainder 1 needs check digit 10, which does not exist.
    weights = range(10, 1, -1)
    first_nine = next(
        f"999{n:06d}"
        for n in range(1000)
        if sum(int(d) * w for d, w in zip(f"999{n:06d}", weights, strict=True)) % 11 == 1
    )
    for last in "0123456789":
        with pytest.raises(ValidationFailed):
            canonical_nhs_number(first_nine + last)


def test_synthetic_nhs_numbers_are_refused_unless_allowed(
    app: Flask, app_ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = dataclasses.replace(app.config["SETTINGS"], allow_synthetic_nhs_numbers=False)
    monkeypatch.setitem(app.config, "SETTINGS", strict)

    with pytest.raises(ValidationFailed) as raised:
        canonical_nhs_number("9990000018")
    assert "test numbers" in raised.value.fields["nhs_number"][0]
    assert canonical_nhs_number("401 023 2137") == "4010232137"


def test_invalid_cohort_is_refused(app_ctx: None, site: Site) -> None:
    with pytest.raises(ValidationFailed) as raised:
        enrol(site, cohort="XX")
    assert "cohort" in raised.value.fields


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("postcode", "NOT A POSTCODE"),
        ("email", "not-an-email"),
        ("phone", "12"),
        ("given_name", "   "),
        ("date_of_birth", dt.date(1850, 1, 1)),
    ],
)
def test_invalid_identifiers_are_refused_without_echoing_them(
    app_ctx: None, site: Site, field: str, value: Any
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        enrol(site, **{field: value})

    assert list(raised.value.fields) == [field]
    if isinstance(value, str) and value.strip():
        assert value not in str(raised.value.fields)


# -- duplicates and the blind index ---------------------------------------------------------


def test_same_nhs_number_twice_is_a_conflict(app_ctx: None, site: Site) -> None:
    enrol(site, "9990000018")

    with pytest.raises(Conflict) as raised:
        enrol(site, "999 000 0018", given_name="Someone", family_name="Else")

    assert raised.value.code == "duplicate_participant"
    assert raised.value.message == "This person is already enrolled."


def test_find_by_nhs_number_returns_the_participant(app_ctx: None, site: Site) -> None:
    participant = enrol(site, "9990000018")
    enrol(site)

    assert find_by_nhs_number("999-000-0018") is participant
    assert find_by_nhs_number("9434765919") is None


def test_colliding_blind_indexes_are_told_apart(
    app: Flask, app_ctx: None, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A population of 100 gives the minimum width, 8 bits: collisions come quickly.
    small = dataclasses.replace(app.config["SETTINGS"], expected_population=100)
    monkeypatch.setitem(app.config, "SETTINGS", small)
    first_number, second_number = find_colliding_nhs_numbers(mac_for(BLIND_INDEX_PURPOSE), 8)

    first = enrol(site, first_number)
    second = enrol(site, second_number)

    indexes = session().scalars(
        select(NhsNumberIndex).where(NhsNumberIndex.participant_pk.in_([first.id, second.id]))
    )
    assert {(row.index_value, row.bits) for row in indexes} == {
        (session().get(NhsNumberIndex, first.id).index_value, 8)  # type: ignore[union-attr]
    }
    assert find_by_nhs_number(first_number) is first
    assert find_by_nhs_number(second_number) is second
    for number in (first_number, second_number):
        with pytest.raises(Conflict):
            enrol(site, number)


def test_duplicate_is_found_after_the_index_width_changes(
    app: Flask, app_ctx: None, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol(site, "9990000018")  # indexed at the default width
    wider = dataclasses.replace(app.config["SETTINGS"], expected_population=10_000_000)
    monkeypatch.setitem(app.config, "SETTINGS", wider)

    with pytest.raises(Conflict):
        enrol(site, "9990000018")
    assert find_by_nhs_number("9990000018") is not None


def test_every_index_width_in_use_is_found(
    app: Flask, app_ctx: None, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert index_widths_in_use() == set()
    for population, number in ((100, "9990000018"), (10_000_000, "9990000026"), (1000, None)):
        settings = dataclasses.replace(app.config["SETTINGS"], expected_population=population)
        monkeypatch.setitem(app.config, "SETTINGS", settings)
        enrol(site, number)

    # 8 bits (the minimum), 22 and 8 again.
    assert index_widths_in_use() == {8, 22}


@pytest.mark.postgres_only
@pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL")
def test_concurrent_enrolments_of_one_person_create_one(tmp_path: Path) -> None:
    number = random_nhs_number()
    with fresh_app(tmp_path) as app:
        site = add_site(app)
        start = threading.Barrier(8)
        outcomes: list[str] = []

        def enrol_once() -> None:
            with app.test_request_context():
                try:
                    start.wait()
                    enrol(site, number)
                    session().commit()
                    outcomes.append("created")
                except Conflict:
                    outcomes.append("conflict")
                except BaseException as exc:
                    outcomes.append(f"error: {type(exc).__name__}")

        threads = [threading.Thread(target=enrol_once) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        with app.app_context():
            count = len(session().scalars(select(Participant.id)).all())

    assert sorted(outcomes) == ["conflict"] * 7 + ["created"]
    assert count == 1


# -- reading is audited; identifiers never leak ---------------------------------------------


def test_read_is_audited_with_its_purpose(app_ctx: None, site: Site) -> None:
    participant = enrol(site)

    read_identity(participant, by=ACTOR, purpose="recruitment contact")

    events = session().scalars(
        select(AuditEvent)
        .where(AuditEvent.participant_id == participant.participant_id)
        .order_by(AuditEvent.seq)
    )
    assert [(e.action, e.purpose) for e in events] == [
        ("participant.enrol", None),
        ("participant.read_identity", "recruitment contact"),
    ]


def test_identifiers_never_reach_logs_audit_errors_or_reprs(
    app_ctx: None, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    number, surname, email = "9990000018", "Quetzalcoatl", "q.secret@example.org"
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    participant = enrol(site, number, family_name=surname, email=email)
    identity = read_identity(participant, by=ACTOR, purpose="direct care")
    attempts: list[Callable[[], object]] = [
        lambda: enrol(site, number),
        lambda: enrol(site, number[:-1] + "9"),
        lambda: enrol(site, family_name=surname, email=email + "@"),
    ]
    for attempt in attempts:
        with pytest.raises((Conflict, ValidationFailed)) as raised:
            attempt()
        texts += [str(raised.value), repr(raised.value), str(raised.value.fields)]
    shred_participant(participant, by=ACTOR)
    with pytest.raises(NotFound) as refused:
        read_identity(participant, by=ACTOR, purpose="direct care")

    texts += [repr(participant), repr(identity), str(identity), str(refused.value)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [JsonFormatter().format(record) for record in caplog.records]  # the SIEM form
    texts += [
        f"{e.details} {e.target_id} {e.purpose}" for e in session().scalars(select(AuditEvent))
    ]
    everything = "\n".join(texts)
    for secret in (number, "999 000 0018", surname, email, "B15 2TT", "1987-03-14"):
        assert secret not in everything


# -- shredding ---------------------------------------------------------------------------


def test_shredded_participant_cannot_be_read_or_found(app_ctx: None, site: Site) -> None:
    participant = enrol(site, "9990000018")
    read_identity(participant, by=ACTOR, purpose="direct care")  # warms the key cache
    assert dek_cache.size() == 1

    shred_participant(participant, by=ACTOR)
    shred_participant(participant, by=ACTOR)  # idempotent

    assert dek_cache.size() == 0
    assert participant.status == "shredded"
    assert participant.shredded_at is not None
    assert session().get(ParticipantKey, participant.id) is None
    assert session().get(NhsNumberIndex, participant.id) is None
    assert participant.nhs_number_sealed is None and participant.email_sealed is None
    with pytest.raises(NotFound):
        read_identity(participant, by=ACTOR, purpose="direct care")
    assert find_by_nhs_number("9990000018") is None
    actions = session().scalars(
        select(AuditEvent.action).where(AuditEvent.participant_id == participant.participant_id)
    )
    assert list(actions).count("participant.shred") == 1


def test_writer_holding_a_stale_copy_cannot_reseal_after_shred(app: Flask, site: Site) -> None:
    with app.test_request_context():
        participant = enrol(site)
        session().commit()
    stale = participant  # loaded before the shred, still saying "active"
    with app.test_request_context():
        shred_participant(session().get(Participant, participant.id), by=ACTOR)  # type: ignore[arg-type]
        session().commit()

    with app.test_request_context():
        stale_copy = session().merge(stale, load=False)
        assert stale_copy.status == "active"
        with pytest.raises(Conflict) as raised:
            update_identity(stale_copy, by=ACTOR, email="new@example.org")

    assert raised.value.code == "participant_withdrawn"


@pytest.mark.postgres_only
@pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL")
def test_writer_racing_a_shred_waits_for_it_then_is_refused(tmp_path: Path) -> None:
    with fresh_app(tmp_path) as app:
        site = add_site(app)
        with app.test_request_context():
            participant = enrol(site)
            session().commit()
        shred_locked, shred_may_commit = threading.Event(), threading.Event()
        outcome: list[str] = []

        def shredder() -> None:
            with app.test_request_context():
                shred_participant(session().get(Participant, participant.id), by=ACTOR)  # type: ignore[arg-type]
                shred_locked.set()
                shred_may_commit.wait(timeout=30)
                session().commit()

        def writer() -> None:
            with app.test_request_context():
                stale = session().get(Participant, participant.id)
                assert stale is not None and stale.status == "active"
                shred_locked.wait(timeout=30)
                # Blocks on the row lock until the shred commits, then sees it.
                threading.Timer(0.5, shred_may_commit.set).start()
                try:
                    update_identity(stale, by=ACTOR, email="new@example.org")
                    session().commit()
                    outcome.append("updated")
                except Conflict as exc:
                    outcome.append(exc.code)

        threads = [threading.Thread(target=shredder), threading.Thread(target=writer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        with app.app_context():
            after = session().get(Participant, participant.id)
            assert after is not None
            state = (after.status, after.email_sealed)

    assert outcome == ["participant_withdrawn"]
    assert state == ("shredded", None)


def test_update_reseals_under_the_same_key(app_ctx: None, site: Site) -> None:
    participant = enrol(site)

    update_identity(participant, by=ACTOR, email="new@example.org", postcode="M1 1AE")

    identity = read_identity(participant, by=ACTOR, purpose="direct care")
    assert (identity.email, identity.postcode) == ("new@example.org", "M1 1AE")
    assert participant.postcode_district == "M1"


def _database_dump(url: str, tmp_path: Path) -> tuple[bytes, bytes]:
    """(a byte-for-byte copy of the database, a logical dump of it)."""
    if url.startswith("sqlite"):
        source = sqlite3.connect(make_url(url).database or "")
        copy_path = tmp_path / "copy.sqlite3"
        copy = sqlite3.connect(copy_path)
        source.backup(copy)
        source.close()
        logical = "\n".join(copy.iterdump()).encode()
        copy.close()
        return copy_path.read_bytes(), logical
    name = make_url(url).database or ""
    dump = subprocess.run(  # noqa: S603 - fixed arguments, a test database we made
        ["pg_dump", "-h", "127.0.0.1", "-U", "root", name],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    return dump, dump


def test_database_copy_after_shred_holds_nothing_of_them(tmp_path: Path) -> None:
    number, surname, email = random_nhs_number(), "Quetzalcoatl", "q.secret@example.org"
    with fresh_app(tmp_path) as app:
        site = add_site(app)
        with app.test_request_context():
            shredded = enrol(site, number, family_name=surname, email=email)
            kept = enrol(site)
            session().commit()
            wrapped = session().get(ParticipantKey, shredded.id).wrapped_dek  # type: ignore[union-attr]
            sealed = shredded.family_name_sealed
            assert sealed is not None
        with app.test_request_context():
            shred_participant(session().get(Participant, shredded.id), by=ACTOR)  # type: ignore[arg-type]
            session().commit()
        with app.test_request_context():
            still = session().get(Participant, kept.id)
            assert still is not None
            assert read_identity(still, by=ACTOR, purpose="direct care").given_name == "Ada"
            session().commit()
        raw, logical = _database_dump(app.config["SETTINGS"].database_url, tmp_path)

    for secret in (number.encode(), surname.encode(), email.encode()):
        assert secret not in raw
        assert secret not in logical
    for blob in (wrapped, sealed):
        assert blob.hex().encode() not in logical.lower()
    assert kept.participant_id.encode() in logical


def test_study_pseudonyms_are_stable_within_and_unlinkable_across_studies(
    app_ctx: None, site: Site
) -> None:
    from registry.participants.identity import pseudonym_for

    alice, bob = enrol(site), enrol(site)

    in_study_a = pseudonym_for("STUDY-A", alice)
    again = pseudonym_for("STUDY-A", alice)
    in_study_b = pseudonym_for("STUDY-B", alice)

    assert in_study_a == again
    assert in_study_a != in_study_b
    assert in_study_a != pseudonym_for("STUDY-A", bob)
    assert alice.participant_id[2:] not in in_study_a
