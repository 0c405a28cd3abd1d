"""Recording data-access grants and the researchers on them: admins only, checked whole."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.exports.conftest import GRANTS, TODAY, World


def _create(world: World, **overrides: Any) -> Any:
    return world.client.post(
        GRANTS, json=world.grant_body(**overrides), headers=world.admin.headers
    )


def test_admin_records_a_grant_with_its_terms(world: World) -> None:
    response = _create(world, consent_items=["future_research"], cohorts=["TRD"])

    assert response.status_code == 201
    grant = response.get_json()
    assert grant["status"] == "active"
    assert grant["cohorts"] == ["TRD"]
    assert grant["consent_items"] == ["registry_storage", "future_research"]
    assert grant["date_policy"] == "month"
    assert [r["email"] for r in grant["researchers"]] == [world.researcher.account.email]
    assert grant["exports"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"variables": ["participants.nhs_number"]}, "variables.0"),
        ({"variables": []}, "variables"),
        ({"cohorts": ["XYZ"]}, "cohorts.0"),
        ({"consent_items": ["everything"]}, "consent_items.0"),
        ({"ethics_reference": "ABC"}, "ethics_reference"),
        ({"expires_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "expires_on"),
        ({"expires_on": (TODAY + dt.timedelta(days=6 * 366)).isoformat()}, "expires_on"),
        ({"date_policy": "shift"}, "max_shift_days"),
        ({"max_shift_days": 10}, "max_shift_days"),
        ({"date_policy": "shift", "max_shift_days": 400}, "max_shift_days"),
        ({"researchers": ["nobody@example.nhs.uk"]}, "researchers"),
        ({"renews": "0000000000000000"}, "renews"),
    ],
)
def test_bad_grant_is_a_422_naming_the_field(
    world: World, overrides: dict[str, Any], field: str
) -> None:
    response = _create(world, **overrides)

    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_renewal_must_be_of_the_same_study(world: World) -> None:
    first = world.grant()

    response = _create(world, renews=first, ethics_reference="24/WM/0123")

    assert response.status_code == 422
    assert "renews" in response.get_json()["error"]["fields"]


def test_only_researchers_can_be_named(world: World) -> None:
    grant_id = world.grant()

    response = world.client.post(
        f"{GRANTS}/{grant_id}/researchers",
        json={"email": world.clinician.account.email},
        headers=world.admin.headers,
    )

    assert response.status_code == 422


def test_researchers_see_only_the_grants_that_name_them(world: World) -> None:
    mine = world.grant()
    world.grant(researchers=[world.outsider.account.email])

    as_researcher = world.client.get(GRANTS, headers=world.researcher.headers).get_json()
    as_admin = world.client.get(GRANTS, headers=world.admin.headers).get_json()

    assert [g["id"] for g in as_researcher["items"]] == [mine]
    assert len(as_admin["items"]) == 2
    shown = world.client.get(f"{GRANTS}/{mine}", headers=world.outsider.headers)
    assert shown.status_code == 404


def test_added_researcher_can_export_and_removed_one_gets_404(world: World) -> None:
    grant_id = world.grant()
    added = world.client.post(
        f"{GRANTS}/{grant_id}/researchers",
        json={"email": world.outsider.account.email},
        headers=world.admin.headers,
    )
    assert added.status_code == 200
    assert world.fhir(grant_id, by=world.outsider).status_code == 200

    removed = world.client.delete(
        f"{GRANTS}/{grant_id}/researchers/{world.outsider.account.user.id}",
        headers=world.admin.headers,
    )

    assert removed.status_code == 200
    assert world.outsider.account.email not in [
        r["email"] for r in removed.get_json()["researchers"]
    ]
    assert world.fhir(grant_id, by=world.outsider).status_code == 404


def test_removing_someone_not_on_the_grant_is_a_404(world: World) -> None:
    grant_id = world.grant()

    response = world.client.delete(
        f"{GRANTS}/{grant_id}/researchers/{world.outsider.account.user.id}",
        headers=world.admin.headers,
    )

    assert response.status_code == 404


def test_grant_lists_its_extracts(world: World) -> None:
    world.enrol()
    grant_id = world.grant()
    manifest = world.extract(grant_id).manifest

    shown = world.client.get(f"{GRANTS}/{grant_id}", headers=world.admin.headers).get_json()

    assert [(e["id"], e["participants"], e["format"], e["channel"]) for e in shown["exports"]] == [
        (manifest["export_id"], 1, "csv", "api")
    ]


def test_variable_catalogue_lists_tables_and_columns(world: World) -> None:
    response = world.client.get(f"{GRANTS}/variables", headers=world.researcher.headers)

    assert response.status_code == 200
    tables = {t["name"]: t for t in response.get_json()["tables"]}
    assert set(tables) == {"participants", "assessments", "treatment_trials", "consent"}
    keys = {v["key"] for t in tables.values() for v in t["variables"]}
    assert "participants.imd" in keys
    assert not any("postcode" in key or "name" in key for key in keys)
