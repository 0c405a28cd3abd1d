"""A recruitment list too small to approve: a partner follows a list's funnel, and figures
about one person are about that person (issue 18). Approval refuses a list of fewer people
than ``recruitment_min_list_size``, counting what it would freeze (after the contact limits
hold people back); the admin's decision page says so first, and offers only rejection
(its tests are with the other pages', in test_recruitment_web.py).

Attack first: approving a list of one answered 200 on the code before this rule, and the
partner's funnel then followed that one person."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from registry.config import ConfigurationError, Settings
from registry.eligibility.disclosure import THRESHOLD
from tests.recruitment.conftest import DEFAULT_MINIMUM, URL, World, audited, contacts_of

# -- the rule, through the API --------------------------------------------------------------


def test_a_list_of_one_is_refused_and_nothing_changes(
    world: World, app: Flask, minimum: int
) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.submit()["id"]

    refused = world.decide(request_id)

    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "list_too_small"
    assert "would hold 1 person" in error["message"]
    assert f"at least {minimum}" in error["message"]
    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    assert (shown["status"], shown["decided_at"], shown["decision_note"]) == (
        "submitted",
        None,
        None,
    )
    assert contacts_of(app, request_id) == 0
    assert audited(app, "recruitment.approve") == []
    assert audited(app, "refused.list_too_small") == [
        {
            "method": "POST",
            "status": 409,
            "request": request_id,
            "listed": 1,
            "minimum": minimum,
        }
    ]
    # Rejecting, saying why, is still open to the admin.
    assert world.decide(request_id, "reject", "Too few people match.").status_code == 200


def test_a_list_of_the_minimum_is_approved(world: World, minimum: int) -> None:
    world.enrol(world.clinician_a, minimum - 3)
    world.enrol(world.clinician_b, 3)
    request_id = world.submit()["id"]

    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    decided = world.decide(request_id)

    assert shown["list_if_approved"] == {
        "listed": minimum,
        "held_back": 0,
        "minimum": minimum,
        "too_small": False,
    }
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["listed"] == minimum


def test_people_the_contact_limits_hold_back_do_not_count(
    world: World, settings_with: Callable[..., None]
) -> None:
    """The count is of the list approval would freeze, not of the people who match."""
    settings_with(recruitment_min_list_size=3, contact_max_open_lists=1)
    world.enrol(world.clinician_a, 3)
    world.approved()  # all three are now on as many open lists as they may be
    second = world.submit()["id"]

    preview = world.client.get(f"{URL}/{second}", headers=world.admin.headers).get_json()
    refused = world.decide(second)

    assert preview["list_if_approved"] == {
        "listed": 0,
        "held_back": 3,
        "minimum": 3,
        "too_small": True,
    }
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "list_too_small"


def test_a_partner_is_not_told_how_many_would_be_listed(world: World, minimum: int) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.submit()["id"]

    shown = world.client.get(f"{URL}/{request_id}", headers=world.partner.headers).get_json()

    assert "list_if_approved" not in shown and "matches_by_site" not in shown


# -- the setting ----------------------------------------------------------------------------

PRODUCTION = {
    "REGISTRY_MODE": "production",
    "DATABASE_URL": "postgresql+psycopg://app@db/registry",
    "SECRET_KEY": "k" * 40,
    "REGISTRY_KEYRING": "/etc/registry/keyring.json",
}


def test_the_default_minimum_is_the_smallest_figure_partners_see() -> None:
    assert DEFAULT_MINIMUM == THRESHOLD == 10
    assert Settings.load(PRODUCTION).recruitment_min_list_size == THRESHOLD


def test_production_refuses_a_minimum_below_what_partners_may_see() -> None:
    with pytest.raises(ConfigurationError, match="recruitment_min_list_size must be at least 10"):
        Settings.load(PRODUCTION, recruitment_min_list_size=THRESHOLD - 1)
    assert Settings.load(PRODUCTION, recruitment_min_list_size=25).recruitment_min_list_size == 25


def test_a_negative_minimum_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="recruitment_min_list_size must be 0 or more"):
        Settings.load({}, recruitment_min_list_size=-1)
