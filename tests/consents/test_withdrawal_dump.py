"""After a full withdrawal, a copy of the database, even with the keyring, gives nothing of them.

People are enrolled and their records used through the API on a database of their own, with
real commits; one of them withdraws fully. Then the database is copied as an attacker would
(on SQLite the file and its write-ahead log byte for byte, and a logical dump; on PostgreSQL
pg_dump and a COPY of every table) and attacked with the whole keyring: every wrapped data
key found anywhere in the copy is tried for them, and the registry is asked to find them by
NHS number and to open what of theirs is kept sealed. Nothing about them comes back; the
others are all still there and readable, and the audit chain verifies.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from registry.audit.actions import Actor, verify_chain
from registry.auth import actions as auth_actions
from registry.auth.permissions import Role
from registry.consents.models import ConsentRecord, Withdrawal
from registry.crypto import key_provider
from registry.crypto.errors import CryptoError, DecryptionFailed, KeyUnavailable
from registry.crypto.fields import MIN_FIELD_BYTES, FieldCipher, FieldContext
from registry.crypto.keys import KeyringError
from registry.db import session
from registry.participants import dek_cache
from registry.participants.identity import (
    _dek_aad,
    cipher_for,
    find_by_nhs_number,
    read_identity,
)
from registry.participants.models import SEALED_COLUMNS, Participant, ParticipantKey
from tests.conftest import (
    PASSWORD,
    add_consent_forms,
    isolated_app,
    new_nhs_number,
)
from tests.participants.test_privacy_dump import (
    PEOPLE,
    Person,
    body_for,
    postgresql_dump,
    sqlite_dump,
)

URL = "/api/v1/participants"
CONSULTEE = "Hildegard Pennyfeather"
REASON = "Emigrating to Tasmania with Ignatius, her brother; please stop the letters."
DEK_VERSION = 1
WRAPPED_KEY_BYTES = 5 + 12 + 32 + 16  # header, nonce, key, tag


@dataclass
class Registry:
    app: Flask
    client: FlaskClient
    clinician: dict[str, str]
    admin: dict[str, str]
    database_url: str


@dataclass
class Enrolled:
    person: Person
    nhs_number: str
    participant_id: str


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """An app on a database of its own, with a clinician's and an admin's tokens."""
    with isolated_app(tmp_path) as (app, url):
        with app.test_request_context():
            by = Actor.command_line()
            site = auth_actions.add_site(code="RWD", name="Withdrawal Dump Trust", by=by)
            tokens = []
            for role, email in (
                (Role.CLINICIAN, "dump.clinician@example.nhs.uk"),
                (Role.ADMIN, "dump.admin@example.nhs.uk"),
            ):
                user = auth_actions.create_user(
                    email=email,
                    name=f"Dump Test {role.value}",
                    role=role,
                    site_code=site.code if role is Role.CLINICIAN else None,
                    password="correct horse battery staple",
                    by=by,
                ).user
                token = auth_actions.issue_token(user, name="dump", expires_days=1, by=by)
                tokens.append({"Authorization": f"Bearer {token.secret}"})
            add_consent_forms(by)
            session().commit()
        yield Registry(app, app.test_client(), tokens[0], tokens[1], url)


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def enrol_everyone(registry: Registry) -> list[Enrolled]:
    """Everyone in PEOPLE, the first through a consultee, with records used as a clinic would."""
    client, clinician = registry.client, registry.clinician
    enrolled = []
    for i, person in enumerate(PEOPLE):
        number = new_nhs_number()
        body = body_for(person, number)
        if i == 0:
            body["consent"] |= {
                "capacity": "consultee",
                "consultee": {"type": "personal", "name": CONSULTEE},
            }
        participant_id = ok(client.post(URL, json=body, headers=clinician))["participant_id"]
        enrolled.append(Enrolled(person, number, participant_id))
    for someone in enrolled:
        at = f"{URL}/{someone.participant_id}"
        assessment = {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 14}
        ok(client.post(f"{at}/assessments", json=assessment, headers=clinician))
        ok(client.get(at, headers=clinician), 200)
    leaving = enrolled[0]
    at = f"{URL}/{leaving.participant_id}"
    trial = {
        "drug": "sertraline",
        "started_on": "2025-07",
        "adequate_dose": True,
        "weeks": 8,
        "outcome": "non_response",
    }
    ok(client.post(f"{at}/treatment-trials", json=trial, headers=clinician))
    change = {
        "form_version": "TRD-PIS-2.0",
        "signed_on": "2026-11-21",
        "items": {"commercial_partners": False},
    }
    ok(client.post(f"{at}/consents", json=change, headers=clinician))
    ok(client.patch(at, json={"phone": "07700 900111"}, headers=clinician), 200)
    withdrawal = {"level": "no_further_contact", "reason": REASON}
    ok(client.post(f"{at}/withdrawal", json=withdrawal, headers=registry.admin))
    return enrolled


def sealed_material(app: Flask, participant_id: str) -> dict[str, bytes]:
    """The participant's wrapped data key and sealed identifiers, as the database holds them."""
    with app.app_context():
        participant = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert participant is not None
        key = session().get(ParticipantKey, participant.id)
        assert key is not None
        material = {"wrapped data key": key.wrapped_dek}
        for column in SEALED_COLUMNS:
            blob = getattr(participant, column)
            if blob is not None:
                material[column] = blob
        return material


def kept_sealed(app: Flask, participant_id: str) -> list[tuple[bytes, FieldContext]]:
    """What history keeps of theirs under their key: the consultee's name, the W1 reason."""
    with app.app_context():
        pk = session().scalar(
            select(Participant.id).where(Participant.participant_id == participant_id)
        )
        names = session().scalars(
            select(ConsentRecord.consultee_name_sealed).where(
                ConsentRecord.participant_pk == pk, ConsentRecord.consultee_name_sealed.is_not(None)
            )
        )
        reasons = session().scalars(
            select(Withdrawal.reason_sealed).where(
                Withdrawal.participant_pk == pk, Withdrawal.reason_sealed.is_not(None)
            )
        )
        return [
            *(
                (b, FieldContext("consent_record", "consultee_name_sealed", participant_id))
                for b in names
                if b is not None  # as the query asks: this narrows the type
            ),
            *(
                (b, FieldContext("withdrawal", "reason_sealed", participant_id))
                for b in reasons
                if b is not None
            ),
        ]


def dumps_of(registry: Registry, tmp_path: Path) -> dict[str, bytes]:
    if registry.database_url.startswith("sqlite"):
        raw, logical = sqlite_dump(registry.database_url, tmp_path)
        return {"database file and WAL": raw, "logical dump": logical}
    return {"pg_dump and COPY": postgresql_dump(registry.database_url)}


_HEX_RUN = re.compile(rb"[0-9a-fA-F]{40,}")


def binary_view(dumped: bytes) -> bytes:
    """The dump with every long hex run (a blob in a logical dump) decoded back to bytes."""
    decoded = [bytes.fromhex(run[: len(run) // 2 * 2].decode()) for run in _HEX_RUN.findall(dumped)]
    return dumped + b"".join(decoded)


def unwrap_anywhere(corpus: bytes, participant_id: str) -> bytes | None:
    """With the whole keyring, try every wrapped-key-shaped run of bytes as their data key."""
    keyring = key_provider()
    aad = _dek_aad(participant_id, DEK_VERSION)
    for epoch in keyring.epochs():
        header = b"\x01" + epoch.to_bytes(4, "big")
        start = corpus.find(header)
        while start != -1:
            candidate = corpus[start : start + WRAPPED_KEY_BYTES]
            try:
                return keyring.unwrap(candidate, associated_data=aad)
            except KeyringError:
                pass
            start = corpus.find(header, start + 1)
    return None


def open_anywhere(corpus: bytes, dek: bytes, context: FieldContext) -> set[str]:
    """Every sealed field under ``dek`` at ``context`` found anywhere in the bytes."""
    cipher = FieldCipher(dek, dek_version=DEK_VERSION)
    header = b"\x01\x01" + DEK_VERSION.to_bytes(4, "big") + b"\x0c"
    opened = set()
    start = corpus.find(header)
    while start != -1:
        for length in range(MIN_FIELD_BYTES, MIN_FIELD_BYTES + 100):
            try:
                opened.add(cipher.open_text(corpus[start : start + length], context=context))
                break
            except CryptoError:  # not this length, or not a sealed field at all
                continue
        start = corpus.find(header, start + 1)
    return opened


def identifiers_of(someone: Enrolled) -> list[str]:
    number, person = someone.nhs_number, someone.person
    return [
        number,
        f"{number[:3]} {number[3:6]} {number[6:]}",
        person.given_name,
        person.family_name,
        person.date_of_birth,
        person.postcode,
        person.postcode.replace(" ", ""),
        person.email,
        person.phone,
        person.phone_typed,
    ]


def test_fully_withdrawn_person_cannot_be_recovered_from_a_copy_of_the_database(
    registry: Registry, tmp_path: Path
) -> None:
    app = registry.app
    leaving, *staying = enrol_everyone(registry)
    before = sealed_material(app, leaving.participant_id)
    history = kept_sealed(app, leaving.participant_id)
    assert len(history) == 2  # the consultee's name and the W1 reason, sealed
    if registry.database_url.startswith("sqlite"):
        # As SQLite does by itself every 1000 pages: their key is now in the database file,
        # and still in the log too.
        with sqlite3.connect(make_url(registry.database_url).database or "") as direct:
            assert direct.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
        direct.close()

    shredded = registry.client.post(
        f"{URL}/{leaving.participant_id}/withdrawal",
        json={"level": "full", "reason": REASON, "password": PASSWORD},
        headers=registry.admin,
    )
    assert shredded.status_code == 201, shredded.get_json()
    # Life goes on after it: someone new is enrolled.
    new_number = new_nhs_number()
    ok(registry.client.post(URL, json=body_for(PEOPLE[1], new_number), headers=registry.clinician))
    dumps = dumps_of(registry, tmp_path)
    dek_cache.clear()  # an attacker starts with the copy and the keyring, nothing in memory

    # 1. Nothing of them in the clear, nor their key or sealed identity as it was stored.
    secrets = [
        *identifiers_of(leaving),
        "07700900111",
        CONSULTEE,
        "Pennyfeather",
        REASON,
        "Tasmania",
    ]
    for name, dumped in dumps.items():
        folded = dumped.lower()
        for secret in secrets:
            assert secret.encode().lower() not in folded, f"{secret!r} is in the {name}"
            assert secret.encode().hex().encode() not in folded, f"{secret!r} is in the {name}"
        corpus = binary_view(dumped)
        for what, blob in before.items():
            assert blob not in corpus, f"their {what} is still in the {name}"
        # The copy is real: the tombstone and the others' records are in it.
        assert leaving.participant_id.encode() in dumped
        for other in staying:
            assert other.participant_id.encode() in dumped

    with app.test_request_context():
        for name, dumped in dumps.items():
            corpus = binary_view(dumped)
            # 2. With the keyring, no data key of theirs unwraps from anything in the copy...
            assert unwrap_anywhere(corpus, leaving.participant_id) is None, name
            # ...while each of the others' does, and opens their NHS number: the attack works.
            for other in staying:
                dek = unwrap_anywhere(corpus, other.participant_id)
                assert dek is not None, f"{other.participant_id}'s key not found in the {name}"
                context = FieldContext("participant", "nhs_number_sealed", other.participant_id)
                assert other.nhs_number in open_anywhere(corpus, dek, context)

        # 3. The registry cannot find them, nor open what history keeps of theirs.
        assert find_by_nhs_number(leaving.nhs_number) is None
        tombstone = session().scalar(
            select(Participant).where(Participant.participant_id == leaving.participant_id)
        )
        assert tombstone is not None
        assert all(getattr(tombstone, column) is None for column in SEALED_COLUMNS)
        with pytest.raises(KeyUnavailable):
            cipher_for(tombstone)
        keys = session().scalars(select(ParticipantKey)).all()
        for blob, context in history:
            for key in keys:  # every data key the keyring can unwrap
                owner = session().get(Participant, key.participant_pk)
                assert owner is not None
                try:
                    opened = cipher_for(owner).open_text(blob, context=context)
                except DecryptionFailed:
                    continue
                raise AssertionError(f"{context.column} opened under another key: {opened!r}")

        # 4. Everyone else is intact and readable.
        for other in staying:
            found = find_by_nhs_number(other.nhs_number)
            assert found is not None and found.participant_id == other.participant_id
            identity = read_identity(found, by=Actor.command_line(), purpose="dump test")
            assert (identity.given_name, identity.family_name) == (
                other.person.given_name,
                other.person.family_name,
            )
            assert identity.email == other.person.email
        second = find_by_nhs_number(new_number)
        assert second is not None and second.participant_id not in {
            e.participant_id for e in (leaving, *staying)
        }
        session().rollback()

        # 5. The audit chain, their events included, verifies.
        report = verify_chain(session())
        assert report.intact, report
