"""Recruitment through the API, with every role: the honest broker's path and its rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from registry import clock
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.db import session
from registry.recruitment.models import ContactEvent, RecruitmentContact
from tests.recruitment.conftest import ADULT_TRD, URL, World, request_body


def test_the_whole_path_partner_admin_clinician_partner(world: World, without_noise: None) -> None:
    at_a = world.enrol(world.clinician_a, 12)
    at_b = world.enrol(world.clinician_b, 3)

    submitted = world.submit(lay_summary="A 12-week study of a new tablet for depression.")
    assert submitted["status"] == "submitted"
    assert "listed" not in submitted and "matches_by_site" not in submitted

    # The admin deciding sees exact contactable matches per site.
    shown = world.client.get(f"{URL}/{submitted['id']}", headers=world.admin.headers).get_json()
    assert shown["matches_by_site"] == {world.site_a.code: 12, world.site_b.code: 3}

    decided = world.decide(submitted["id"]).get_json()
    assert decided["status"] == "open"
    assert (decided["listed"], decided["held_back"]) == (15, 0)

    # Each clinician sees only their own site's people, identifiable, with the lay summary.
    page = world.contacts(submitted["id"], world.clinician_b).get_json()
    assert {item["participant_id"] for item in page["items"]} == set(at_b)
    assert page["request"]["lay_summary"].startswith("A 12-week study")
    assert all(item["nhs_number"] and item["family_name"] for item in page["items"])
    assert world.listed_ids(submitted["id"], world.clinician_a) == set(at_a)

    for participant_id, status in zip(
        at_a,
        ["approached", "interested", "referred", "enrolled_in_study", "declined"],
        strict=False,
    ):
        response = world.outcome(submitted["id"], participant_id, status, world.clinician_a)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status

    admin_funnel = world.funnel(submitted["id"], world.admin).get_json()
    assert admin_funnel["count"] == 15
    assert admin_funnel["current"]["to_contact"] == 10
    assert admin_funnel["current"]["enrolled_in_study"] == 1
    assert admin_funnel["by_site"][world.site_a.code]["to_contact"] == 7
    assert admin_funnel["by_week"][-1]["interested"] == 1

    # The partner sees this week's release: published form, total from the statuses.
    partner_funnel = world.funnel(submitted["id"], world.partner).get_json()
    assert partner_funnel["count"] == 15
    assert "by_site" not in partner_funnel
    assert partner_funnel["current"]["enrolled_in_study"] == "<10"
    assert partner_funnel["current"]["to_contact"] == 10
    assert partner_funnel["privacy"]["cost"] > 0
    assert [
        {key: value for key, value in week.items() if key not in ("week_ending", "released_at")}
        for week in partner_funnel["by_week"]
    ] == [partner_funnel["current"]]


def test_a_partner_never_sees_a_person_or_a_small_number(
    world: World, app: Flask, without_noise: None
) -> None:
    people = world.enrol(world.clinician_a, 11) + world.enrol(world.clinician_b, 2)
    request_id = world.approved()
    world.outcome(request_id, people[0], "approached", world.clinician_a)
    partner = world.partner.headers

    answers = [
        world.client.get(URL, headers=partner),
        world.client.get(f"{URL}/{request_id}", headers=partner),
        world.funnel(request_id, world.partner),
        world.contacts(request_id, world.partner),
        world.outcome(request_id, people[0], "declined", world.partner),
        world.decide(request_id, admin=world.partner),
        world.client.post(f"{URL}/{request_id}/confirmation", headers=partner),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 403, 403, 403, 403]
    text = " ".join(a.get_data(as_text=True) for a in answers)
    for participant_id in people:
        assert participant_id not in text
    assert world.site_a.code not in text and world.site_b.code not in text
    shown = answers[1].get_json()
    assert shown["listed"] == 15 and shown["held_back"] == "<10"
    assert "held_back_participants" not in shown and "matches_by_site" not in shown
    # Every number a partner saw is "<10" or a multiple of 5 from 10 up.
    numbers = _numbers(answers[0].get_json()) + _numbers(shown) + _numbers(answers[2].get_json())
    assert numbers and all(n >= 10 and n % 5 == 0 for n in numbers)


def _numbers(value: Any) -> list[int]:
    found: list[int] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("target", "criteria"):
                continue  # the partner's own figures
            found += _numbers(item)
    elif isinstance(value, list):
        for item in value:
            found += _numbers(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        found.append(value)
    return found


def test_another_organisations_request_is_not_there(
    world: World, api_user: Callable[..., Any], app: Flask
) -> None:
    request_id = world.submit()["id"]
    stranger = api_user("partner")
    with_org = world.client.get(f"{URL}/{request_id}", headers=stranger.headers)
    assert with_org.status_code == 200  # the same organisation follows it together
    with app.app_context():
        user = session().get(User, stranger.account.user.id)
        assert user is not None
        user.organisation = "Rival Therapeutics plc"
        session().commit()
    response = world.client.get(f"{URL}/{request_id}", headers=stranger.headers)
    assert response.status_code == 404
    assert world.client.get(URL, headers=stranger.headers).get_json() == {"items": []}


def test_bad_requests_name_each_field_and_change_nothing(world: World) -> None:
    before = world.client.get(URL, headers=world.admin.headers).get_json()["items"]
    response = world.client.post(
        URL,
        json=request_body(
            {
                "cohort": "TRD",
                "all": [
                    {"field": "ethnicity", "op": "=", "value": "A"},
                    {"field": "age", "op": ">=", "value": "old"},
                ],
            },
            ethics_reference="IRAS-12",
            target=0,
            contact_from="2020-01-01",
        ),
        headers=world.partner.headers,
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) >= {"ethics_reference", "target", "contact_from"}

    criteria_only = world.client.post(
        URL,
        json=request_body(
            {
                "cohort": "TRD",
                "all": [
                    {"field": "ethnicity", "op": "=", "value": "A"},
                    {"field": "age", "op": ">=", "value": "x"},
                ],
            }
        ),
        headers=world.partner.headers,
    )
    assert criteria_only.status_code == 422
    assert set(criteria_only.get_json()["error"]["fields"]) == {
        "criteria.all[0].field",
        "criteria.all[1].value",
    }
    assert world.client.get(URL, headers=world.admin.headers).get_json()["items"] == before


def test_a_rejection_needs_a_reason_and_a_decision_is_made_once(world: World) -> None:
    request_id = world.submit()["id"]
    no_reason = world.decide(request_id, "reject", note="")
    assert no_reason.status_code == 422
    assert "note" in no_reason.get_json()["error"]["fields"]

    rejected = world.decide(request_id, "reject", note="No ethics approval letter.")
    assert rejected.get_json()["status"] == "rejected"
    again = world.decide(request_id, "approve")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "request_already_decided"
    assert (
        world.client.get(f"{URL}/{request_id}", headers=world.partner.headers).get_json()[
            "decision_note"
        ]
        == "No ethics approval letter."
    )


def test_clinicians_see_only_open_requests_with_people_at_their_site(world: World) -> None:
    world.enrol(world.clinician_a, 2)
    submitted = world.submit()["id"]
    assert world.client.get(URL, headers=world.clinician_a.headers).get_json() == {"items": []}
    assert world.contacts(submitted, world.clinician_a).status_code == 404

    world.decide(submitted)
    listing = world.client.get(URL, headers=world.clinician_a.headers).get_json()["items"]
    assert [item["id"] for item in listing] == [submitted]
    assert listing[0]["site_contacts"] == 2
    # Site B has nobody on this list: the request is not theirs to see.
    assert world.client.get(URL, headers=world.clinician_b.headers).get_json() == {"items": []}
    assert world.contacts(submitted, world.clinician_b).status_code == 404


def test_withdrawal_after_approval_takes_a_person_off_every_list_at_once(world: World) -> None:
    people = world.enrol(world.clinician_a, 3)
    first, second = world.approved(), world.approved()
    world.outcome(first, people[0], "interested", world.clinician_a)

    world.withdraw(people[0])

    for request_id in (first, second):
        assert world.listed_ids(request_id, world.clinician_a) == set(people[1:])
        assert world.funnel(request_id, world.admin).get_json()["count"] == 2
    assert world.funnel(first, world.admin).get_json()["current"]["interested"] == 0
    late = world.outcome(first, people[0], "enrolled_in_study", world.clinician_a)
    assert late.status_code == 404


def test_revoking_contact_or_commercial_consent_leaves_the_lists(world: World) -> None:
    people = world.enrol(world.clinician_a, 3)
    request_id = world.approved()
    for participant_id, item in zip(
        people[:2], ["commercial_partners", "contact_for_research"], strict=True
    ):
        response = world.client.post(
            f"/api/v1/participants/{participant_id}/consents",
            json={"form_version": "TRD-PIS-2.0", "signed_on": _today(), "items": {item: False}},
            headers=world.clinician_a.headers,
        )
        assert response.status_code == 201, response.get_json()
    assert world.listed_ids(request_id, world.clinician_a) == {people[2]}

    # Agreeing again later does not put them back on a list frozen without them.
    world.client.post(
        f"/api/v1/participants/{people[0]}/consents",
        json={
            "form_version": "TRD-PIS-2.0",
            "signed_on": _today(),
            "items": {"commercial_partners": True},
        },
        headers=world.clinician_a.headers,
    )
    assert world.listed_ids(request_id, world.clinician_a) == {people[2]}


def _today() -> str:

    return clock.today().isoformat()


def test_full_withdrawal_erases_the_approaches_too(world: World, app: Flask) -> None:
    people = world.enrol(world.clinician_a, 2)
    request_id = world.approved()
    world.outcome(request_id, people[0], "approached", world.clinician_a)

    world.withdraw(people[0], "full")

    with app.app_context():
        db = session()
        assert db.scalar(select(func.count()).select_from(RecruitmentContact)) == 1
        assert db.scalar(select(func.count()).select_from(ContactEvent)) == 0
    assert world.funnel(request_id, world.admin).get_json()["count"] == 1


def test_no_one_is_on_more_open_lists_than_the_limit(
    world: World, settings_with: Callable[..., None], without_noise: None
) -> None:
    settings_with(contact_max_open_lists=2)
    people = world.enrol(world.clinician_a, 3)
    first, second = world.approved(), world.approved()
    third = world.submit()["id"]
    decided = world.decide(third).get_json()

    assert (decided["listed"], decided["held_back"]) == (0, 3)
    assert {p["reason"] for p in decided["held_back_participants"]} == {"on_too_many_lists"}
    assert {p["participant_id"] for p in decided["held_back_participants"]} == set(people)
    partner_view = world.client.get(f"{URL}/{third}", headers=world.partner.headers).get_json()
    assert (partner_view["listed"], partner_view["held_back"]) == ("<10", "<10")
    assert world.contacts(third, world.clinician_a).status_code == 404

    # Closing a request frees its people for the next one.
    closed = world.client.post(f"{URL}/{first}/closure", headers=world.partner.headers)
    assert closed.get_json()["status"] == "closed"
    assert world.contacts(first, world.clinician_a).status_code == 404
    fourth = world.decide(world.submit()["id"]).get_json()
    assert (fourth["listed"], fourth["held_back"]) == (3, 0)
    assert second


def test_no_one_is_approached_more_often_than_the_limit(
    world: World, settings_with: Callable[..., None]
) -> None:
    settings_with(contact_max_approaches_per_year=1, contact_max_open_lists=5)
    people = world.enrol(world.clinician_a, 2)
    first = world.approved()
    world.outcome(first, people[0], "declined", world.clinician_a)
    world.outcome(first, people[1], "unreachable", world.clinician_a)  # not an approach

    decided = world.decide(world.submit()["id"]).get_json()

    assert decided["held_back_participants"] == [
        {"participant_id": people[0], "site": world.site_a.code, "reason": "approached_too_often"}
    ]
    assert decided["listed"] == 1


def test_two_person_rule(world: World, settings_with: Callable[..., None]) -> None:
    settings_with(recruitment_two_person_rule=True)
    world.enrol(world.clinician_a, 2)
    request_id = world.approved()
    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    assert shown["status"] == "approved" and shown["awaiting_confirmation"]
    assert world.contacts(request_id, world.clinician_a).status_code == 404

    same_admin = world.client.post(f"{URL}/{request_id}/confirmation", headers=world.admin.headers)
    assert same_admin.status_code == 403
    confirmed = world.client.post(
        f"{URL}/{request_id}/confirmation", headers=world.second_admin.headers
    )
    assert confirmed.get_json()["status"] == "open"
    assert len(world.listed_ids(request_id, world.clinician_a)) == 2
    again = world.client.post(
        f"{URL}/{request_id}/confirmation", headers=world.second_admin.headers
    )
    assert again.status_code == 409


def test_without_the_two_person_rule_lists_open_on_approval(world: World) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.approved()
    assert (
        world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()["status"]
        == "open"
    )
    assert len(world.listed_ids(request_id, world.clinician_a)) == 1


def test_the_list_is_frozen_at_approval(world: World) -> None:
    before = world.enrol(world.clinician_a, 2)
    request_id = world.approved()
    world.enrol(world.clinician_a, 3)  # enrolled after approval

    assert world.listed_ids(request_id, world.clinician_a) == set(before)
    assert world.funnel(request_id, world.admin).get_json()["count"] == 2


def test_each_list_shows_what_is_new_since_the_clinician_last_looked(
    world: World, api_user: Callable[..., Any]
) -> None:
    people = world.enrol(world.clinician_a, 3)
    colleague = api_user("clinician", site=world.site_a)
    request_id = world.approved()

    first = world.contacts(request_id, world.clinician_a).get_json()
    assert first["last_looked_at"] is None and all(item["new"] for item in first["items"])
    assert not any(
        item["new"] for item in world.contacts(request_id, world.clinician_a).get_json()["items"]
    )

    world.outcome(request_id, people[0], "approached", colleague)
    world.outcome(request_id, people[1], "unreachable", world.clinician_a)
    world.withdraw(people[2])
    later = world.contacts(request_id, world.clinician_a).get_json()
    assert {item["participant_id"]: item["new"] for item in later["items"]} == {
        people[0]: True,  # a colleague's change
        people[1]: False,  # their own
    }
    assert later["removed_since_last_look"] == 1


def test_every_step_is_audited_without_identifiers(world: World, app: Flask) -> None:
    people = world.enrol(world.clinician_a, 1)
    request_id = world.approved()
    world.contacts(request_id, world.clinician_a)
    world.outcome(request_id, people[0], "approached", world.clinician_a)
    world.client.post(f"{URL}/{request_id}/closure", headers=world.admin.headers)

    with app.app_context():
        events = (
            session()
            .scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("recruitment.%"))
                .order_by(AuditEvent.seq)
            )
            .all()
        )
        assert [e.action for e in events] == [
            "recruitment.submit",
            "recruitment.approve",
            "recruitment.outcome",
            "recruitment.close",
        ]
        reads = (
            session()
            .scalars(select(AuditEvent).where(AuditEvent.purpose == "recruitment_contact"))
            .all()
        )
        assert [r.participant_id for r in reads] == people
        details = json.dumps([e.details for e in events])
        assert "Example" not in details and "ada@example.org" not in details
        assert json.loads(events[1].details)["listed"] == 1


def test_clinicians_cannot_record_outcomes_for_another_sites_list(world: World) -> None:
    people = world.enrol(world.clinician_a, 1)
    world.enrol(world.clinician_b, 1)
    request_id = world.approved()
    response = world.outcome(request_id, people[0], "approached", world.clinician_b)
    assert response.status_code == 404
    bad = world.outcome(request_id, people[0], "kidnapped", world.clinician_a)
    assert bad.status_code == 422


def test_adult_trd_is_the_default_criteria() -> None:
    assert request_body()["criteria"] is ADULT_TRD
