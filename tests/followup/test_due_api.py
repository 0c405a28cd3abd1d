"""``GET /api/v1/participants/due``: the follow-up worklist as JSON, on a pinned day
(15 June 2026): own site only for clinicians, every site for admins, paged and filtered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.audit.models import AuditEvent
from registry.db import session
from tests.conftest import ApiUser
from tests.followup.conftest import assess

pytestmark = pytest.mark.usefixtures("consent_forms", "pinned_today")

URL = "/api/v1/participants/due"
# EP 3-month visits on 15 June 2026, by enrolment date:
IN_WINDOW_ON = dt.date(2026, 3, 10)  # due 10 June, window 10 May to 10 July
DUE_ON = dt.date(2026, 3, 20)  # due 20 June, window open since 20 May
OVERDUE_ON = dt.date(2026, 1, 25)  # window closed 25 May


def due(client: FlaskClient, user: ApiUser, **query: Any) -> Any:
    response = client.get(URL, query_string=query, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rows_of(page: Any, participant_id: str) -> dict[str, dict[str, Any]]:
    """A participant's rows on a page, by visit."""
    return {r["visit"]: r for r in page["items"] if r["participant_id"] == participant_id}


def test_clinician_sees_a_visit_in_window_with_the_banner_fields(
    client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(
        clinician, IN_WINDOW_ON, given_name="Ada", date_of_birth="1990-06-16"
    )

    row = rows_of(due(client, clinician), participant_id)["month_3"]

    assert row["status"] == "in_window"
    assert (row["opens_on"], row["due_on"], row["closes_on"]) == (
        "2026-05-10", "2026-06-10", "2026-07-10"
    )  # fmt: skip
    assert row["scales_due"] == ["CGI_S", "SOFAS"]
    assert row["given_name"] == "Ada"
    assert row["nhs_number"].count(" ") == 2  # 3 3 4
    assert (row["date_of_birth"], row["age"]) == ("1990-06-16", 35)
    assert row["cohort"] == "EP" and row["site"] == clinician.account.site_code


@pytest.mark.parametrize(("enrolled", "status"), [(DUE_ON, "due"), (OVERDUE_ON, "overdue")])
def test_visit_status_follows_the_day(
    client: FlaskClient,
    clinician: ApiUser,
    enrolled_on: Callable[..., str],
    enrolled: dt.date,
    status: str,
) -> None:
    participant_id = enrolled_on(clinician, enrolled)

    assert rows_of(due(client, clinician), participant_id)["month_3"]["status"] == status


def test_partly_recorded_visit_lists_only_the_scales_left(
    client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, IN_WINDOW_ON)
    assess(client, clinician, participant_id, "SOFAS", dt.date(2026, 6, 1))

    row = rows_of(due(client, clinician), participant_id)["month_3"]

    assert (row["scales_due"], row["scales_done"]) == (["CGI_S"], ["SOFAS"])


def test_completed_visit_leaves_the_list(
    client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, IN_WINDOW_ON)
    for code in ("CGI_S", "SOFAS"):
        assess(client, clinician, participant_id, code, dt.date(2026, 6, 1))

    assert "month_3" not in rows_of(due(client, clinician), participant_id)


@pytest.mark.parametrize("level", ["no_further_data", "full"])
def test_withdrawal_from_further_data_leaves_the_schedule_at_once(
    client: FlaskClient,
    clinician: ApiUser,
    admin: ApiUser,
    enrolled_on: Callable[..., str],
    level: str,
) -> None:
    participant_id = enrolled_on(clinician, IN_WINDOW_ON)
    body: dict[str, Any] = {"level": level, "reason": "participant asked"}
    if level == "full":
        body["password"] = "correct horse battery staple"

    response = client.post(
        f"/api/v1/participants/{participant_id}/withdrawal", json=body, headers=admin.headers
    )

    assert response.status_code == 201, response.get_json()
    assert rows_of(due(client, clinician), participant_id) == {}


def test_no_further_contact_keeps_the_schedule(
    client: FlaskClient, clinician: ApiUser, admin: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, IN_WINDOW_ON)
    client.post(
        f"/api/v1/participants/{participant_id}/withdrawal",
        json={"level": "no_further_contact", "reason": "participant asked"},
        headers=admin.headers,
    )

    assert "month_3" in rows_of(due(client, clinician), participant_id)


def test_clinician_never_sees_another_sites_participants(
    client: FlaskClient,
    clinician: ApiUser,
    api_user: Callable[..., ApiUser],
    enrolled_on: Callable[..., str],
) -> None:
    elsewhere = api_user("clinician")
    theirs = enrolled_on(elsewhere, IN_WINDOW_ON)

    assert rows_of(due(client, clinician), theirs) == {}


def test_clinician_asking_for_another_site_is_refused(
    client: FlaskClient, clinician: ApiUser
) -> None:
    response = client.get(URL, query_string={"site": "ELSEWHERE"}, headers=clinician.headers)

    assert response.status_code == 422
    assert "site" in response.get_json()["error"]["fields"]


def test_admin_sees_every_site_by_registry_id_alone(
    client: FlaskClient,
    clinician: ApiUser,
    admin: ApiUser,
    api_user: Callable[..., ApiUser],
    enrolled_on: Callable[..., str],
) -> None:
    ours = enrolled_on(clinician, IN_WINDOW_ON)
    theirs = enrolled_on(api_user("clinician"), IN_WINDOW_ON)

    page = due(client, admin, visit="month_3", per_page=100)

    row = rows_of(page, ours)["month_3"]
    assert rows_of(page, theirs)
    assert "nhs_number" not in row and "given_name" not in row


def test_admin_site_filter_shows_that_site_alone(
    client: FlaskClient,
    clinician: ApiUser,
    admin: ApiUser,
    api_user: Callable[..., ApiUser],
    enrolled_on: Callable[..., str],
) -> None:
    ours = enrolled_on(clinician, IN_WINDOW_ON)
    theirs = enrolled_on(api_user("clinician"), IN_WINDOW_ON)

    page = due(client, admin, site=clinician.account.site_code, per_page=100)

    assert rows_of(page, ours) and not rows_of(page, theirs)
    assert {r["site"] for r in page["items"]} == {clinician.account.site_code}


def test_filters_narrow_the_list(
    client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    in_window = enrolled_on(clinician, IN_WINDOW_ON)
    overdue = enrolled_on(clinician, OVERDUE_ON)
    trd = enrolled_on(clinician, dt.date(2026, 4, 20), "TRD")  # 8 weeks due 15 June

    page = due(client, clinician, status="overdue", visit="month_3", cohort="EP")

    assert [r["participant_id"] for r in page["items"]] == [overdue]
    assert not rows_of(page, in_window) and not rows_of(page, trd)
    assert rows_of(due(client, clinician, visit="week_8"), trd)["week_8"]["status"] == "in_window"


def test_list_is_paged_by_25_most_urgent_first(
    client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    for n in range(26):
        enrolled_on(clinician, IN_WINDOW_ON + dt.timedelta(days=n % 10))

    first, second = (due(client, clinician, visit="month_3", page=p) for p in (1, 2))

    assert (first["total"], len(first["items"]), len(second["items"])) == (26, 25, 1)
    closing = [r["closes_on"] for r in first["items"] + second["items"]]
    assert closing == sorted(closing)


def test_page_of_identities_is_read_in_one_audited_read_per_person(
    app: Flask, client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, dt.date(2026, 1, 10))  # 3 months overdue, 6 due
    with app.app_context():
        before = session().scalar(select(func.max(AuditEvent.seq))) or 0

    page = due(client, clinician, cohort="EP")

    assert set(rows_of(page, participant_id)) >= {"month_3", "month_6"}
    with app.app_context():
        reads = (
            session()
            .scalars(
                select(AuditEvent).where(
                    AuditEvent.seq > before, AuditEvent.action == "participant.read_identity"
                )
            )
            .all()
        )
    assert [e.participant_id for e in reads].count(participant_id) == 1
    assert {e.purpose for e in reads} == {"follow-up worklist"}


@pytest.mark.parametrize(
    "query", [{"status": "late"}, {"visit": "month_5"}, {"cohort": "XX"}, {"nhs": "1"}]
)
def test_bad_filter_is_refused_naming_it(
    client: FlaskClient, clinician: ApiUser, query: dict[str, str]
) -> None:
    response = client.get(URL, query_string=query, headers=clinician.headers)

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == set(query)


def test_due_is_never_read_as_a_participant_id(client: FlaskClient, admin: ApiUser) -> None:
    response = client.get(URL, headers=admin.headers)

    # Admins may not read a participant by id (403) but may read the worklist.
    assert response.status_code == 200
    assert set(response.get_json()) == {"page", "per_page", "total", "items"}


def test_openapi_documents_the_worklist(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()

    assert "/api/v1/participants/due" in spec["paths"]
