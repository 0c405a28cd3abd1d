"""Reading and correcting participants through the API: who sees whom, and how much.

Clinicians see their own site's participants with identifiers (every read audited with a
purpose); another site's participant is "not found", never "forbidden". Researchers see no
participant here: only a data-access grant's rows, keyed by its study pseudonym
(tests/exports/test_participant_rows.py). Partners and admins see none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from registry.audit.models import AuditEvent
from registry.db import session
from tests.conftest import ApiUser, enrol, new_nhs_number
from tests.participants.test_enrolment_api import counts

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"
IDENTIFIER_KEYS = {
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "postcode",
    "email",
    "phone",
    "enrolled_on",
    "first_antipsychotic_on",
    "eip_accepted_on",
}
MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")


def identity_reads(app: Flask, participant_id: str | None = None) -> list[tuple[str, str, str]]:
    """(participant id, purpose, actor) of every participant.read_identity event."""
    with app.app_context():
        statement = select(AuditEvent).where(AuditEvent.action == "participant.read_identity")
        if participant_id is not None:
            statement = statement.where(AuditEvent.participant_id == participant_id)
        return [
            (e.participant_id or "", e.purpose or "", e.actor)
            for e in session().scalars(statement.order_by(AuditEvent.seq))
        ]


def listed(client: FlaskClient, user: ApiUser, query: str = "") -> dict[str, Any]:
    response = client.get(f"{URL}{query}", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


@pytest.fixture
def other_clinician(api_user: Callable[..., ApiUser]) -> ApiUser:
    """A clinician of another site."""
    return api_user("clinician")


# -- lists --------------------------------------------------------------------------------------


def test_list_clinician_sees_only_own_sites_participants_with_identifiers(
    client: FlaskClient, clinician: ApiUser, other_clinician: ApiUser
) -> None:
    mine = {enrol(client, clinician), enrol(client, clinician, "EP")}
    enrol(client, other_clinician)

    page = listed(client, clinician)

    assert page["total"] == 2
    assert {item["participant_id"] for item in page["items"]} == mine
    for item in page["items"]:
        assert item["site"] == clinician.account.site_code
        assert item["nhs_number"] and item["family_name"].startswith("Example")


def test_list_clinician_cannot_widen_scope_with_the_site_filter(
    client: FlaskClient, clinician: ApiUser, other_clinician: ApiUser
) -> None:
    enrol(client, other_clinician)
    other_site = other_clinician.account.site_code

    page = listed(client, clinician, f"?site={other_site}")

    assert (page["total"], page["items"]) == (0, [])


def test_list_without_a_grant_gives_a_researcher_no_row(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    response = client.get(f"{URL}?per_page=100", headers=researcher.headers)

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"grant"}
    assert participant_id not in response.get_data(as_text=True)


def test_list_filters_by_cohort_and_site(
    client: FlaskClient, clinician: ApiUser, other_clinician: ApiUser
) -> None:
    ep_here = enrol(client, clinician, "EP")
    enrol(client, clinician, "TRD")
    enrol(client, other_clinician, "EP")
    site = clinician.account.site_code

    page = listed(client, clinician, f"?cohort=EP&site={site}")

    assert [item["participant_id"] for item in page["items"]] == [ep_here]
    assert page["total"] == 1


def test_list_pages_newest_first(client: FlaskClient, clinician: ApiUser) -> None:
    ids = [enrol(client, clinician) for _ in range(3)]

    first = listed(client, clinician, "?per_page=2")
    second = listed(client, clinician, "?per_page=2&page=2")

    assert first["total"] == second["total"] == 3
    assert [item["participant_id"] for item in first["items"]] == [ids[2], ids[1]]
    assert [item["participant_id"] for item in second["items"]] == [ids[0]]
    assert (second["page"], second["per_page"]) == (2, 2)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?per_page=101", "per_page"),
        ("?per_page=0", "per_page"),
        ("?page=0", "page"),
        ("?page=two", "page"),
        ("?cohort=XX", "cohort"),
    ],
)
def test_list_bad_query_is_422(
    client: FlaskClient, clinician: ApiUser, query: str, field: str
) -> None:
    response = client.get(f"{URL}{query}", headers=clinician.headers)

    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("role", ["partner", "admin"])
def test_list_and_detail_are_forbidden_to_partners_and_admins(
    client: FlaskClient, clinician: ApiUser, api_user: Callable[..., ApiUser], role: str
) -> None:
    participant_id = enrol(client, clinician)
    user = api_user(role)

    responses = [
        client.get(URL, headers=user.headers),
        client.get(f"{URL}/{participant_id}", headers=user.headers),
        search(client, user, new_nhs_number()),
    ]

    for response in responses:
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
        assert participant_id not in response.get_data(as_text=True)


# -- NHS-number search --------------------------------------------------------------------------


def search(client: FlaskClient, user: ApiUser, nhs_number: str) -> Any:
    return client.post(f"{URL}/search", json={"nhs_number": nhs_number}, headers=user.headers)


def last_event(app: Flask) -> AuditEvent:
    with app.app_context():
        event = session().scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    return event


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda n: n, id="digits"),
        pytest.param(lambda n: f"{n[:3]} {n[3:6]} {n[6:]}", id="spaced"),
    ],
)
def test_search_by_nhs_number_finds_own_sites_participant(
    client: FlaskClient, clinician: ApiUser, spelling: Callable[[str], str]
) -> None:
    number = new_nhs_number()
    wanted = enrol(client, clinician, nhs_number=number)
    enrol(client, clinician)

    response = search(client, clinician, spelling(number))

    assert response.status_code == 200
    assert response.get_json()["participant_id"] == wanted
    assert response.get_json()["nhs_number"].replace(" ", "") == number


def test_search_by_nhs_number_is_audited_either_way(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    number = new_nhs_number()
    wanted = enrol(client, clinician, nhs_number=number)

    search(client, clinician, number)
    search(client, clinician, new_nhs_number())
    missed = last_event(app)

    assert missed.action == "refused.participant_not_found"
    assert (missed.outcome, missed.participant_id) == ("refused", None)
    with app.app_context():
        hit = (
            session()
            .scalars(select(AuditEvent.action).where(AuditEvent.participant_id == wanted))
            .all()
        )
    # The hit is recorded against the participant, then the read of the record it showed.
    assert hit[-2:] == ["participant.search_by_nhs_number", "participant.read_identity"]


def test_search_by_nhs_number_does_not_find_another_sites_participant(
    client: FlaskClient, clinician: ApiUser, other_clinician: ApiUser
) -> None:
    number = new_nhs_number()
    enrol(client, other_clinician, nhs_number=number)

    response = search(client, clinician, number)

    assert response.status_code == 404
    assert "at your site" in response.get_json()["error"]["message"]


def test_search_by_nhs_number_not_enrolled_finds_nobody(
    client: FlaskClient, clinician: ApiUser
) -> None:
    enrol(client, clinician)

    assert search(client, clinician, new_nhs_number()).status_code == 404


def test_search_by_nhs_number_is_forbidden_to_researchers(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    number = new_nhs_number()
    participant_id = enrol(client, clinician, nhs_number=number)

    response = search(client, researcher, number)

    assert response.status_code == 403
    assert participant_id not in response.get_data(as_text=True)


def test_search_by_an_invalid_nhs_number_is_422_without_echoing_it(
    client: FlaskClient, clinician: ApiUser
) -> None:
    number = new_nhs_number()
    wrong = number[:9] + str((int(number[9]) + 1) % 10)

    response = search(client, clinician, wrong)

    assert response.status_code == 422
    assert "nhs_number" in response.get_json()["error"]["fields"]
    assert wrong not in response.get_data(as_text=True)


def test_participant_list_takes_no_nhs_number_in_its_url(
    client: FlaskClient, clinician: ApiUser
) -> None:
    response = client.get(f"{URL}?nhs_number={new_nhs_number()}", headers=clinician.headers)

    assert response.status_code == 422


def _query(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


# -- one participant ----------------------------------------------------------------------------


def test_detail_clinician_of_own_site_sees_identifiers(
    client: FlaskClient, clinician: ApiUser
) -> None:
    number = new_nhs_number()
    participant_id = enrol(client, clinician, "EP", nhs_number=number, family_name="Tregothnan")

    response = client.get(f"{URL}/{participant_id}", headers=clinician.headers)

    assert response.status_code == 200, response.get_json()
    shown = response.get_json()
    assert shown["nhs_number"] == f"{number[:3]} {number[3:6]} {number[6:]}"
    assert (shown["given_name"], shown["family_name"]) == ("Ada", "Tregothnan")
    assert shown["date_of_birth"] == "2001-02-03"
    assert (shown["postcode"], shown["email"], shown["phone"]) == (
        "B15 2TT",
        "ada@example.org",
        "01214960000",
    )
    assert shown["psychosis_onset"] == "2025-09"


def test_detail_is_forbidden_to_researchers(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    number = new_nhs_number()
    participant_id = enrol(client, clinician, nhs_number=number, family_name="Tregothnan")

    response = client.get(f"{URL}/{participant_id}", headers=researcher.headers)

    assert response.status_code == 403
    text = response.get_data(as_text=True)
    for secret in (participant_id, number, "Tregothnan", "B15"):
        assert secret not in text


def test_detail_derives_age_band_dup_and_score_months(
    client: FlaskClient, clinician: ApiUser
) -> None:
    number = new_nhs_number()
    participant_id = enrol(
        client,
        clinician,
        "EP",
        nhs_number=number,
        family_name="Tregothnan",
        clinical={
            "diagnosis_icd10": "F20.0",
            "psychosis_onset": "2025-09",
            "first_antipsychotic_on": "2025-10-20",
            "eip_accepted_on": "2025-10-06",
        },
    )
    assessment = {"instrument": "PANSS", "administered_on": "2026-11-20", "total": 70}
    client.post(f"{URL}/{participant_id}/assessments", json=assessment, headers=clinician.headers)

    response = client.get(f"{URL}/{participant_id}", headers=clinician.headers)

    assert response.status_code == 200, response.get_json()
    shown = response.get_json()
    assert shown["age_band"] == "25-34"
    assert shown["postcode_district"] == "B15"
    assert shown["psychosis_onset"] == "2025-09"
    assert MONTH.match(shown["enrolled_month"])
    assert shown["dup_weeks"] == 5  # onset to EIP acceptance, the earlier treatment
    assert shown["latest_scores"] == {
        "PANSS": {
            "total": 70,
            "band": "mildly ill",
            "administered_month": "2026-11",
            "administered_on": "2026-11-20",
        }
    }


def test_detail_of_another_sites_participant_is_404_like_a_missing_one(
    client: FlaskClient, clinician: ApiUser, other_clinician: ApiUser
) -> None:
    participant_id = enrol(client, other_clinician)

    elsewhere = client.get(f"{URL}/{participant_id}", headers=clinician.headers)
    missing = client.get(f"{URL}/P-000000000000", headers=clinician.headers)

    assert elsewhere.status_code == missing.status_code == 404
    assert elsewhere.get_json() == missing.get_json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("patch", "", {"email": "changed@example.org"}),
        ("get", "/assessments", None),
        (
            "post",
            "/assessments",
            {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 12},
        ),
        (
            "post",
            "/treatment-trials",
            {
                "drug": "sertraline",
                "started_on": "2025-07",
                "adequate_dose": True,
                "weeks": 8,
                "outcome": "non_response",
            },
        ),
    ],
)
def test_another_sites_clinician_gets_404_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    other_clinician: ApiUser,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    participant_id = enrol(client, other_clinician)
    before = counts(app)

    response = getattr(client, method)(
        f"{URL}/{participant_id}{path}", json=body, headers=clinician.headers
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert counts(app) == before
    owner_view = client.get(f"{URL}/{participant_id}", headers=other_clinician.headers)
    assert owner_view.get_json()["email"] == "ada@example.org"
    assert owner_view.get_json()["latest_scores"] == {}
    assert owner_view.get_json()["failed_adequate_trials"] == 0


def test_detail_of_an_unknown_id_is_404(client: FlaskClient, clinician: ApiUser) -> None:
    response = client.get(f"{URL}/P-NOSUCHPERSON", headers=clinician.headers)

    assert response.status_code == 404


# -- audit of identifiable reads ----------------------------------------------------------------


def test_every_identifiable_view_is_audited_with_its_purpose(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    first, second = enrol(client, clinician), enrol(client, clinician)
    actor = f"user:{clinician.account.user.id}"
    # Enrolment answers with what was sent; no stored identity is read.
    assert identity_reads(app) == []

    listed(client, clinician)
    client.get(f"{URL}/{first}", headers=clinician.headers)

    assert identity_reads(app) == [
        (second, "list participants", actor),
        (first, "list participants", actor),
        (first, "view participant record", actor),
    ]


def test_empty_page_writes_no_identity_read(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    enrol(client, clinician)
    before = identity_reads(app)

    listed(client, clinician, "?page=2")

    assert identity_reads(app) == before


# -- corrections --------------------------------------------------------------------------------


def test_patch_contact_details_are_resealed_and_shown(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    changes = {
        "family_name": "Ashworth-Lyle",
        "postcode": "m11ae",
        "email": "new.address@example.org",
        "phone": "+44 7700 900123",
    }

    response = client.patch(f"{URL}/{participant_id}", json=changes, headers=clinician.headers)
    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()

    assert response.status_code == 200, response.get_json()
    for view in (response.get_json(), shown):
        assert view["family_name"] == "Ashworth-Lyle"
        assert (view["postcode"], view["postcode_district"]) == ("M1 1AE", "M1")
        assert (view["email"], view["phone"]) == ("new.address@example.org", "+447700900123")
        assert view["given_name"] == "Ada"
    with app.app_context():
        events = session().scalars(
            select(AuditEvent).where(
                AuditEvent.participant_id == participant_id,
                AuditEvent.action == "participant.update_identity",
            )
        )
        details = [e.details for e in events]
    assert len(details) == 1
    assert "Ashworth" not in details[0] and "M1 1AE" not in details[0]


def test_patch_can_clear_email_and_phone(client: FlaskClient, clinician: ApiUser) -> None:
    participant_id = enrol(client, clinician)

    response = client.patch(
        f"{URL}/{participant_id}", json={"email": None, "phone": None}, headers=clinician.headers
    )

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["email"], response.get_json()["phone"]) == (None, None)


def test_patch_demographics_change_the_ethnicity_group(
    client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)  # ethnicity H, Asian

    response = client.patch(
        f"{URL}/{participant_id}",
        json={"ethnicity": "N", "imd_decile": 7, "imd_version": "IoD2025", "gender_identity": "3"},
        headers=clinician.headers,
    )
    seen_again = client.get(f"{URL}/{participant_id}", headers=clinician.headers)

    assert response.status_code == 200, response.get_json()
    for view in (response.get_json(), seen_again.get_json()):
        assert (view["ethnicity"], view["ethnicity_group"]) == ("N", "black")
        assert (view["imd_decile"], view["imd_version"]) == (7, "IoD2025")
        assert view["gender_identity"] == "3"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # Corrected only with a reason (#21; the corrections themselves: test_corrections_api).
        pytest.param({"nhs_number": "9990000018"}, "reason", id="nhs-number-without-reason"),
        pytest.param({"date_of_birth": "1990-01-01"}, "reason", id="birth-date-without-reason"),
        pytest.param({"cohort": "EP"}, "cohort", id="cohort"),
        pytest.param({"site": "RXT"}, "site", id="site"),
        pytest.param({}, "_schema", id="empty"),
        pytest.param({"ethnicity": "O"}, "ethnicity", id="ethnicity"),
        pytest.param({"postcode": "B15"}, "postcode", id="postcode"),
        pytest.param({"email": "not-an-email"}, "email", id="email"),
        pytest.param({"family_name": "  "}, "family_name", id="blank-name"),
        pytest.param({"imd_decile": "7"}, "imd_decile", id="imd-string"),
        pytest.param({"imd_decile": 11}, "imd_decile", id="imd-11"),
    ],
)
def test_patch_refuses_what_may_not_be_corrected(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    changes: dict[str, Any],
    field: str,
) -> None:
    participant_id = enrol(client, clinician)
    before = counts(app)

    response = client.patch(f"{URL}/{participant_id}", json=changes, headers=clinician.headers)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert counts(app) == before


def test_patch_decile_without_any_version_is_refused(
    client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, imd_decile=None, imd_version=None)

    response = client.patch(
        f"{URL}/{participant_id}", json={"imd_decile": 4}, headers=clinician.headers
    )

    assert response.status_code == 422
    assert "imd_version" in response.get_json()["error"]["fields"]


def test_patch_version_without_any_decile_is_refused(
    client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, imd_decile=None, imd_version=None)

    response = client.patch(
        f"{URL}/{participant_id}", json={"imd_version": "IoD2025"}, headers=clinician.headers
    )

    assert response.status_code == 422
    assert "imd_decile" in response.get_json()["error"]["fields"]


def test_patch_is_forbidden_to_researchers(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    response = client.patch(
        f"{URL}/{participant_id}", json={"ethnicity": "A"}, headers=researcher.headers
    )

    assert response.status_code == 403


def test_participant_list_with_an_unknown_parameter_is_refused(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    clinician = api_user("clinician")

    response = client.get("/api/v1/participants?nhs=9990123454", headers=clinician.headers)

    assert response.status_code == 422
    assert "nhs" in response.get_json()["error"]["fields"]


def test_a_page_of_participants_costs_the_same_queries_however_long(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    """A list page loads its rows' records, keys and audit events together, not one set of
    queries per row (which made a page of 100 several hundred queries)."""
    for cohort in ("TRD", "EP", "TRD", "EP", "TRD", "EP"):
        participant_id = enrol(client, clinician, cohort)
    client.post(
        f"{URL}/{participant_id}/assessments",
        json={"instrument": "PANSS", "administered_on": "2026-11-20", "total": 70},
        headers=clinician.headers,
    )
    engine = app.extensions["registry.db"].engine

    def statements(user: ApiUser, per_page: int) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get(f"{URL}?per_page={per_page}", headers=user.headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        assert len(response.get_json()["items"]) == per_page
        return len(seen)

    statements(clinician, 1)  # a token's first use is written down; later ones, once a minute
    assert statements(clinician, 2) == statements(clinician, 6)
