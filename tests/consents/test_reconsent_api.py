"""New consent through the API: a change to some items on the version already signed, or
every item again on a newer form version. Appended to the history; the latest answer to each
item is current at once, in the participant's record and in their facts row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.audit.actions import Actor
from registry.consents.actions import add_consent_form
from registry.consents.items import CONSENT_ITEMS
from registry.consents.models import ConsentForm, ConsentRecord
from registry.db import session
from tests.conftest import CONSENT_YES, ApiUser
from tests.consents.test_withdrawal_api import (
    URL,
    assert_error,
    audit_count,
    audit_events,
    enrol,
    enrol_answering,
    facts_row,
    held_rows,
    pk_of,
    withdrawn,
)

pytestmark = pytest.mark.usefixtures("consent_forms")

TODAY = clock.today()
YESTERDAY = TODAY - dt.timedelta(days=1)
OLD, NEW = "TRD-PIS-2.0", "TRD-PIS-3.0"


def consent(
    client: FlaskClient, user: ApiUser, participant_id: str, items: dict[str, Any], **body: Any
) -> Any:
    return client.post(
        f"{URL}/{participant_id}/consents",
        json={"form_version": OLD, "signed_on": TODAY.isoformat(), "items": items, **body},
        headers=user.headers,
    )


def records(app: Flask, participant_id: str) -> list[tuple[str, str]]:
    """(kind, form version) of each signing, oldest first."""
    with app.app_context():
        rows = session().execute(
            select(ConsentRecord.kind, ConsentForm.version)
            .join(ConsentForm, ConsentForm.id == ConsentRecord.consent_form_id)
            .where(ConsentRecord.participant_pk == pk_of(participant_id))
            .order_by(ConsentRecord.id)
        )
        return [(kind, version) for kind, version in rows]


def add_version(app: Flask, version: str, effective_on: dt.date) -> None:
    with app.test_request_context():
        add_consent_form(
            cohort="TRD",
            version=version,
            effective_on=effective_on,
            file_name="pis-3.md",
            document=b"# Participant information sheet, version 3\n",
            by=Actor.command_line(),
        )
        session().commit()


@pytest.fixture
def new_version(app: Flask) -> Iterator[str]:
    """TRD-PIS-3.0, in force from today."""
    add_version(app, NEW, TODAY)
    yield NEW


@pytest.fixture
def participant_id(client: FlaskClient, clinician: ApiUser) -> str:
    return enrol(client, clinician)


def nothing_written(app: Flask, participant_id: str) -> Callable[[], None]:
    """A check that, later, the participant's rows and the audit log are as they are now."""
    rows, events, facts = (
        held_rows(app, participant_id),
        audit_count(app),
        facts_row(app, participant_id),
    )

    def check() -> None:
        assert held_rows(app, participant_id) == rows
        assert audit_count(app) == events
        assert facts_row(app, participant_id) == facts

    return check


# -- a change on the version already signed ---------------------------------------------------


def test_revoking_commercial_partners_is_current_at_once(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str
) -> None:
    response = consent(client, clinician, participant_id, {"commercial_partners": False})

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["kind"], answer["form_version"]) == ("change", OLD)
    assert answer["items"] == {"commercial_partners": False}
    assert answer["consent"] == {**CONSENT_YES, "commercial_partners": False}
    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()
    assert shown["consent"]["commercial_partners"] is False
    assert shown["consent_form_version"] == OLD
    facts = facts_row(app, participant_id)
    assert facts is not None
    assert facts["consent_commercial_partners"] is False
    assert facts["consent_samples"] is True
    assert facts["contactable"] is True  # contact does not depend on commercial use
    assert records(app, participant_id) == [("enrolment", OLD), ("change", OLD)]
    assert held_rows(app, participant_id)["consent_item_event"] == len(CONSENT_ITEMS) + 1
    (event,) = [e for e in audit_events(app, participant_id) if e.action == "consent.record"]
    assert '"kind":"change"' in event.details
    assert event.role == "clinician"


def test_change_can_grant_again_what_was_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol_answering(client, clinician, contact_for_research=False)
    before = facts_row(app, participant_id)
    assert before is not None and before["contactable"] is False

    response = consent(client, clinician, participant_id, {"contact_for_research": True})

    after = facts_row(app, participant_id)
    assert response.status_code == 201, response.get_json()
    assert after is not None and after["contactable"] is True


def test_latest_change_wins_and_every_change_is_kept(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str
) -> None:
    for granted in (False, True, False):
        response = consent(client, clinician, participant_id, {"samples": granted})
        assert response.status_code == 201, response.get_json()

    facts = facts_row(app, participant_id)
    assert facts is not None and facts["consent_samples"] is False
    assert [kind for kind, _ in records(app, participant_id)] == ["enrolment", *["change"] * 3]


# -- every item again on a newer version --------------------------------------------------------


def test_reconsent_on_a_newer_version_answers_every_item(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, new_version: str
) -> None:
    items = {**CONSENT_YES, "record_linkage": False, "inform_gp": False}

    response = consent(client, clinician, participant_id, items, form_version=new_version)

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["kind"], answer["form_version"]) == ("reconsent", NEW)
    assert answer["consent"] == items
    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()
    assert shown["consent_form_version"] == NEW
    facts = facts_row(app, participant_id)
    assert facts is not None
    assert (facts["consent_record_linkage"], facts["consent_inform_gp"]) == (False, False)
    assert records(app, participant_id) == [("enrolment", OLD), ("reconsent", NEW)]


def test_change_after_reconsent_is_on_the_new_version(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, new_version: str
) -> None:
    consent(client, clinician, participant_id, dict(CONSENT_YES), form_version=new_version)

    response = consent(
        client, clinician, participant_id, {"samples": False}, form_version=new_version
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"] == "change"


def test_reconsent_missing_items_is_refused_naming_them(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, new_version: str
) -> None:
    unchanged = nothing_written(app, participant_id)
    given = {"registry_storage": True, "commercial_partners": False}

    response = consent(client, clinician, participant_id, given, form_version=new_version)

    error = assert_error(response, 422, "validation_error")
    missing = {f"items.{item}" for item in CONSENT_ITEMS if item not in given}
    assert missing <= set(error["fields"])
    assert "items.registry_storage" not in error["fields"]
    assert "new form version" in error["fields"]["items.samples"][0]
    unchanged()


def test_consent_on_an_older_version_than_the_one_signed_is_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, new_version: str
) -> None:
    consent(client, clinician, participant_id, dict(CONSENT_YES), form_version=new_version)
    unchanged = nothing_written(app, participant_id)

    # Every item "again", on the sheet the person signed before 3.0 replaced it.
    response = consent(client, clinician, participant_id, dict(CONSENT_YES), form_version=OLD)

    error = assert_error(response, 422, "validation_error")
    assert NEW in error["fields"]["form_version"][0]
    assert records(app, participant_id) == [("enrolment", OLD), ("reconsent", NEW)]
    unchanged()


@pytest.mark.parametrize("version", ["TRD-PIS-9.9", "EP-PIS-2.0", "trd-pis-2.0"])
def test_unknown_form_version_is_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, version: str
) -> None:
    unchanged = nothing_written(app, participant_id)

    response = consent(client, clinician, participant_id, dict(CONSENT_YES), form_version=version)

    error = assert_error(response, 422, "validation_error")
    assert error["fields"]["form_version"] == ["There is no TRD consent form of this version."]
    unchanged()


def test_signed_before_the_version_was_in_use_is_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, new_version: str
) -> None:
    unchanged = nothing_written(app, participant_id)

    response = consent(
        client,
        clinician,
        participant_id,
        dict(CONSENT_YES),
        form_version=new_version,
        signed_on=YESTERDAY.isoformat(),
    )

    error = assert_error(response, 422, "validation_error")
    assert error["fields"]["signed_on"] == [
        f"Version {NEW} was not in use until {TODAY.day} {TODAY:%B %Y}."
    ]
    unchanged()


def test_version_not_yet_in_force_is_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str
) -> None:
    add_version(app, "TRD-PIS-4.0", TODAY + dt.timedelta(days=30))
    unchanged = nothing_written(app, participant_id)

    response = consent(
        client, clinician, participant_id, dict(CONSENT_YES), form_version="TRD-PIS-4.0"
    )

    error = assert_error(response, 422, "validation_error")
    assert "was not in use until" in error["fields"]["signed_on"][0]
    unchanged()


# -- what cannot be given ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [OLD, NEW])
def test_refusing_registry_storage_is_refused_in_favour_of_a_withdrawal(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    participant_id: str,
    new_version: str,
    version: str,
) -> None:
    unchanged = nothing_written(app, participant_id)
    items = {**CONSENT_YES, "registry_storage": False}

    response = consent(client, clinician, participant_id, items, form_version=version)

    error = assert_error(response, 422, "validation_error")
    assert "withdrawal" in error["fields"]["items.registry_storage"][0]
    unchanged()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": {}}, "items"),
        ({"items": {"tea_or_coffee": True}}, "items"),
        ({"items": {"samples": "no"}}, "items"),
        ({"items": {"samples": 0}}, "items"),
        ({"signed_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "signed_on"),
        ({"signed_on": "20/11/2026"}, "signed_on"),
        ({"capacity": "assumed"}, "capacity"),
        ({"capacity": "consultee"}, "consultee"),
        (
            {"capacity": "confirmed", "consultee": {"type": "personal", "name": "Ann Other"}},
            "consultee",
        ),
    ],
    ids=[
        "no-items",
        "unknown-item",
        "answer-not-boolean",
        "answer-zero",
        "signed-tomorrow",
        "date-not-iso",
        "unknown-capacity",
        "consultee-capacity-without-consultee",
        "consultee-with-capacity",
    ],
)
def test_invalid_consent_is_refused(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    participant_id: str,
    body: dict[str, Any],
    field: str,
) -> None:
    unchanged = nothing_written(app, participant_id)
    request = {"items": {"samples": False}, **body}

    response = consent(client, clinician, participant_id, **request)

    error = assert_error(response, 422, "validation_error")
    assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), error
    unchanged()


def test_consultee_declaration_is_recorded_with_the_name_sealed(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str, new_version: str
) -> None:
    response = consent(
        client,
        clinician,
        participant_id,
        dict(CONSENT_YES),
        form_version=new_version,
        capacity="consultee",
        consultee={"type": "nominated", "name": "Hildegard Pennyfeather"},
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["capacity"] == "consultee"
    with app.app_context():
        record = session().scalar(
            select(ConsentRecord)
            .where(ConsentRecord.participant_pk == pk_of(participant_id))
            .order_by(ConsentRecord.id.desc())
            .limit(1)
        )
        assert record is not None
        assert (record.capacity, record.consultee_type) == ("consultee", "nominated")
        assert record.consultee_name_sealed is not None
        assert b"Pennyfeather" not in record.consultee_name_sealed
    for event in audit_events(app, participant_id):
        assert "Pennyfeather" not in event.details


# -- who may record consent ---------------------------------------------------------------------


def test_other_sites_clinician_gets_not_found(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    participant_id: str,
) -> None:
    elsewhere = api_user("clinician")
    unchanged = nothing_written(app, participant_id)

    response = consent(client, elsewhere, participant_id, {"commercial_partners": False})

    assert_error(response, 404, "not_found")
    unchanged()


@pytest.mark.parametrize("role", ["researcher", "admin", "partner"])
def test_only_clinicians_record_consent(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    participant_id: str,
    role: str,
) -> None:
    response = consent(client, api_user(role), participant_id, {"commercial_partners": False})

    assert_error(response, 403, "forbidden")
    assert records(app, participant_id) == [("enrolment", OLD)]


def test_anonymous_consent_is_unauthorised(
    app: Flask, client: FlaskClient, participant_id: str
) -> None:
    response = client.post(
        f"{URL}/{participant_id}/consents",
        json={"form_version": OLD, "signed_on": TODAY.isoformat(), "items": {"samples": False}},
    )

    assert_error(response, 401, "unauthorised")
    assert records(app, participant_id) == [("enrolment", OLD)]


def test_consent_after_no_further_data_is_refused_with_a_clear_message(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    admin: ApiUser,
    participant_id: str,
    new_version: str,
) -> None:
    withdrawn(client, admin, participant_id, "no_further_data")
    unchanged = nothing_written(app, participant_id)

    response = consent(
        client, clinician, participant_id, dict(CONSENT_YES), form_version=new_version
    )

    error = assert_error(response, 409, "participant_withdrawn")
    assert "further data collection" in error["message"]
    unchanged()


def test_consent_dated_before_the_last_signing_is_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, participant_id: str
) -> None:
    # Enrolment consent was signed on 2026-11-20; the latest record is the current answer,
    # so a backdated change would quietly become it.
    unchanged = nothing_written(app, participant_id)

    response = consent(
        client, clinician, participant_id, {"commercial_partners": False}, signed_on="2026-11-10"
    )

    error = assert_error(response, 422, "validation_error")
    assert "before their last recorded consent" in error["fields"]["signed_on"][0]
    unchanged()
