"""Participant rows for researchers (#16, finding 6): only under a data-access grant.

``GET /api/v1/participants?grant=…`` and ``POST /api/v1/eligibility/participants`` with a
``grant`` give a researcher on the grant the rows an extract under it would hold (its
cohorts, consent conditions, W2 cut-off, no W3), keyed by the study's pseudonym and limited
to its variables; every page is audited. Without a grant a researcher gets no row at all,
and never a registry id: those are what let 82% of one extract's pseudonyms be linked back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, select

from registry.audit.models import AuditEvent
from registry.db import session
from registry.participants.models import Participant
from tests.conftest import ApiUser
from tests.exports.conftest import PHQ9_ITEMS, Extract, World

LIST = "/api/v1/participants"
MATCHING = "/api/v1/eligibility/participants"
W1, W2, W3 = "no_further_contact", "no_further_data", "full"
ADULTS = {"all": [{"field": "age", "op": ">=", "value": 18}]}


def listing(
    world: World, grant_id: str | None = None, *, by: ApiUser | None = None, **query: Any
) -> Any:
    if grant_id is not None:
        query["grant"] = grant_id
    return world.client.get(LIST, query_string=query, headers=(by or world.researcher).headers)


def matching(
    world: World,
    grant_id: str | None,
    criteria: Any = ADULTS,
    *,
    by: ApiUser | None = None,
    **body: Any,
) -> Any:
    if grant_id is not None:
        body["grant"] = grant_id
    return world.client.post(
        MATCHING, json={"criteria": criteria, **body}, headers=(by or world.researcher).headers
    )


def rows_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items


def registry_ids(world: World) -> set[str]:
    with world.context():
        return set(session().scalars(select(Participant.participant_id)))


def as_cells(row: dict[str, Any]) -> dict[str, str]:
    """A JSON row as the extract's CSV writes the same values."""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: cell(value) for name, value in row.items()}


def extract_rows(extract: Extract) -> dict[str, dict[str, str]]:
    """The extract's one-row-per-participant tables, joined on the pseudonym."""
    rows: dict[str, dict[str, str]] = {}
    for name in ("participants.csv", "consent.csv"):
        for row in extract.rows(name):
            rows.setdefault(row["pseudonym"], {}).update(row)
    return rows


def events(world: World, action: str) -> list[AuditEvent]:
    with world.context():
        return list(
            session().scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


@pytest.fixture
def people(world: World) -> dict[str, str]:
    """Who an extract holds and who it does not: TRD and EP, W1, W2 with a score, and
    people it leaves out (W3, no consent to future research)."""
    kinds = {}
    for kind in ("trd", "ep", W1, W2, W3):
        participant_id = world.enrol("EP" if kind == "ep" else "TRD")
        assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
        if kind in (W1, W2, W3):
            world.withdraw(participant_id, kind)
        kinds[kind] = participant_id
    kinds["no_consent"] = world.enrol_without("future_research")
    return kinds


# -- the attack ------------------------------------------------------------------------------


def test_researcher_without_a_grant_gets_no_rows_and_no_registry_id(
    world: World, people: dict[str, str]
) -> None:
    listed = listing(world, per_page=100)
    matched = matching(world, None, per_page=100)

    for response in (listed, matched):
        assert response.status_code == 422, response.get_json()
        assert set(response.get_json()["error"]["fields"]) == {"grant"}
        assert not any(pid in response.get_data(as_text=True) for pid in registry_ids(world))


def test_extract_pseudonyms_cannot_be_linked_back_to_registry_ids(world: World) -> None:
    """The attack as reported: a researcher with an extract lists participants without a
    grant and matches the extract's rows to registry ids on what both show."""
    for ethnicity in ("A", "B", "C", "H", "J", "N"):
        world.enrol(ethnicity=ethnicity)
    extract = world.extract(world.grant())

    response = listing(world, per_page=100)

    registry_rows = response.get_json().get("items", []) if response.status_code == 200 else []
    shown = ("cohort", "sex", "ethnicity", "diagnosis_icd10", "imd_decile")
    linked = [
        [row["participant_id"] for row in registry_rows if as_cells(row) | study == as_cells(row)]
        for study in ({name: row[name] for name in shown} for row in extract_rows(extract).values())
    ]
    assert not [ids for ids in linked if len(ids) == 1]
    assert response.status_code == 422


def test_researcher_cannot_read_a_participant_by_registry_id(
    world: World, people: dict[str, str]
) -> None:
    response = world.client.get(f"{LIST}/{people['trd']}", headers=world.researcher.headers)

    assert response.status_code == 403
    assert people["trd"] not in response.get_data(as_text=True)


def test_grant_rows_are_the_extracts_rows_keyed_by_its_pseudonyms(
    world: World, people: dict[str, str]
) -> None:
    grant_id = world.grant()
    expected = extract_rows(world.extract(grant_id))

    response = listing(world, grant_id, per_page=100)

    rows = rows_of(response)
    assert {row["pseudonym"]: as_cells(row) for row in rows} == expected
    assert response.get_json()["total"] == len(expected) == 4  # trd, ep, W1, W2
    ids = registry_ids(world)
    assert not {row["pseudonym"] for row in rows} & ids
    assert not any(pid in response.get_data(as_text=True) for pid in ids)
    assert all("participant_id" not in row for row in rows)


def test_matching_rows_are_the_grants_rows_that_meet_the_criteria(
    world: World, people: dict[str, str]
) -> None:
    grant_id = world.grant()
    expected = extract_rows(world.extract(grant_id))

    response = matching(world, grant_id, {"cohort": "TRD", **ADULTS}, per_page=100)

    rows = {row["pseudonym"]: as_cells(row) for row in rows_of(response)}
    # The grant's rows, whether or not the person may be approached (W1 and W2 too): who
    # may be contacted is not something the grant shows.
    assert rows == {pseudonym: row for pseudonym, row in expected.items() if row["cohort"] == "TRD"}
    assert len(rows) == response.get_json()["total"] == 3
    assert not any(pid in response.get_data(as_text=True) for pid in registry_ids(world))


def test_grant_rows_hold_only_its_variables_and_cohorts(
    world: World, people: dict[str, str]
) -> None:
    grant_id = world.grant(cohorts=["EP"], variables=["participants.sex", "assessments.total"])

    rows = rows_of(listing(world, grant_id))

    assert len(rows) == 1  # the EP participant alone
    assert set(rows[0]) == {"pseudonym", "sex"}


def test_each_page_of_rows_is_audited_once_naming_no_one(
    world: World, people: dict[str, str]
) -> None:
    grant_id = world.grant()
    before = len(events(world, "export.participants"))
    identity_reads = len(events(world, "participant.read_identity"))

    first = rows_of(listing(world, grant_id, per_page=3))
    second = rows_of(listing(world, grant_id, per_page=3, page=2))
    matched = rows_of(matching(world, grant_id, ADULTS))

    listed = events(world, "export.participants")[before:]
    assert [audited.target_id for audited in listed] == [grant_id] * 3
    assert len(events(world, "participant.read_identity")) == identity_reads  # none decrypted
    details = [json.loads(audited.details or "{}") for audited in listed]
    assert [(d["via"], d["page"], d["shown"], d["total"]) for d in details] == [
        ("participants", 1, 3, 4),
        ("participants", 2, 1, 4),
        ("eligibility", 1, len(matched), len(matched)),
    ]
    assert json.loads(details[2]["criteria"]) == ADULTS
    shown = {row["pseudonym"] for row in first + second} | set(registry_ids(world))
    for audited in listed:
        assert audited.participant_id is None
        assert not any(value in (audited.details or "") for value in shown)


def test_pages_follow_pseudonym_order(world: World, people: dict[str, str]) -> None:
    grant_id = world.grant()

    pages = [rows_of(listing(world, grant_id, per_page=3, page=n)) for n in (1, 2, 3)]

    pseudonyms = [row["pseudonym"] for page in pages for row in page]
    assert pseudonyms == sorted(pseudonyms)
    assert len(pseudonyms) == 4 and pages[2] == []


def test_a_page_of_rows_costs_the_same_queries_however_long(
    world: World, people: dict[str, str]
) -> None:
    """One statement for who is in it, one for the page's rows (in a temporary table of
    the page's order): never a few per row."""
    grant_id = world.grant()
    engine = world.app.extensions["registry.db"].engine

    def statements(per_page: int) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert len(rows_of(listing(world, grant_id, per_page=per_page))) == per_page
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    statements(1)  # a token's first use is written down; later ones, once a minute
    assert statements(1) == statements(4)


# -- refusals ------------------------------------------------------------------------------------


def test_a_grant_the_researcher_is_not_on_looks_like_no_grant(world: World) -> None:
    world.enrol()
    grant_id = world.grant()

    for send in (listing, matching):
        theirs = send(world, grant_id, by=world.outsider)
        nobodys = send(world, "0" * 16, by=world.outsider)
        assert theirs.status_code == nobodys.status_code == 404
        assert theirs.get_json() == nobodys.get_json()


def test_expired_grant_gives_no_rows(world: World) -> None:
    world.enrol()
    grant_id = world.grant()
    world.expire(grant_id)

    for send in (listing, matching):
        response = send(world, grant_id)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "grant_expired"


def test_partners_and_admins_get_no_rows(world: World, partner: ApiUser) -> None:
    grant_id = world.grant()

    assert listing(world, grant_id, by=partner).status_code == 403
    assert matching(world, grant_id, by=partner).status_code == 403
    assert listing(world, grant_id, by=world.admin).status_code == 403


def test_clinicians_list_without_a_grant(world: World) -> None:
    grant_id = world.grant()

    response = listing(world, grant_id, by=world.clinician)

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"grant"}


@pytest.mark.parametrize(
    ("variables", "filters", "refused"),
    [
        pytest.param(["participants.sex"], {"site": "RXT"}, "site", id="site-never"),
        pytest.param(["participants.sex"], {"cohort": "TRD"}, "cohort", id="cohort-unapproved"),
        pytest.param(["participants.cohort"], {"cohort": "TRD"}, None, id="cohort-approved"),
    ],
)
def test_list_filters_may_not_reveal_what_the_grant_withholds(
    world: World,
    people: dict[str, str],
    variables: list[str],
    # Query arguments; Any, as listing's **query (its `by` is keyword-only, never among them).
    filters: dict[str, Any],
    refused: str | None,
) -> None:
    grant_id = world.grant(variables=variables)

    response = listing(world, grant_id, **filters)

    if refused is None:
        assert [row["cohort"] for row in rows_of(response)] == ["TRD"] * 3
    else:
        assert response.status_code == 422
        assert set(response.get_json()["error"]["fields"]) == {refused}


@pytest.mark.parametrize(
    ("terms", "criteria", "refused"),
    [
        pytest.param(
            {"variables": ["participants.sex"]},
            {"all": [{"field": "postcode_district", "op": "startswith", "value": "B1"}]},
            "all[0].field",
            id="postcode-district-never",
        ),
        pytest.param(
            {"variables": ["participants.sex"]},
            {
                "any": [
                    {"field": "sex", "op": "=", "value": "male"},
                    {"field": "site", "op": "=", "value": "RXT"},
                ]
            },
            "any[1].field",
            id="site-never",
        ),
        pytest.param(
            {"variables": ["participants.sex"]},
            {"cohort": "TRD"},
            "cohort",
            id="cohort-unapproved",
        ),
        pytest.param(
            {"variables": ["participants.sex"]},
            {"all": [{"none": [{"field": "latest_score.PHQ9", "op": ">=", "value": 10}]}]},
            "all[0].none[0].field",
            id="scores-unapproved",
        ),
        pytest.param(
            {
                "variables": ["participants.birth_month"],
                "date_policy": "shift",
                "max_shift_days": 30,
            },
            ADULTS,
            "all[0].field",
            id="age-undoes-the-shift",
        ),
        pytest.param(
            {
                "variables": [
                    "participants.birth_month",
                    "assessments.instrument",
                    "assessments.total",
                ]
            },
            {"all": [*ADULTS["all"], {"field": "latest_score.PHQ9", "op": ">=", "value": 10}]},
            None,
            id="approved",
        ),
        # The count now reads which drug, the kind of treatment, adherence and when it
        # started: the three variables that once showed it no longer do.
        pytest.param(
            {
                "variables": [
                    "participants.birth_month",
                    "treatment_trials.adequate_dose",
                    "treatment_trials.weeks",
                    "treatment_trials.outcome",
                ]
            },
            {"all": [*ADULTS["all"], {"field": "failed_adequate_trials", "op": ">=", "value": 0}]},
            "all[1].field",
            id="failed-trials-needs-the-history",
        ),
        pytest.param(
            {
                "variables": [
                    "participants.birth_month",
                    "participants.episode_start",
                    *(
                        f"treatment_trials.{name}"
                        for name in (
                            "drug",
                            "modality",
                            "started_on",
                            "adequate_dose",
                            "weeks",
                            "adherence",
                            "outcome",
                            "response_percent",
                        )
                    ),
                ]
            },
            {"all": [*ADULTS["all"], {"field": "failed_adequate_trials", "op": ">=", "value": 0}]},
            None,
            id="failed-trials-with-the-history",
        ),
    ],
)
def test_criteria_may_not_reveal_what_the_grant_withholds(
    world: World,
    people: dict[str, str],
    terms: dict[str, Any],
    criteria: dict[str, Any],
    refused: str | None,
) -> None:
    grant_id = world.grant(**terms)

    response = matching(world, grant_id, criteria)

    if refused is None:
        assert len(rows_of(response)) == 4  # every adult under the grant scored 11 on PHQ-9
    else:
        assert response.status_code == 422, response.get_json()
        assert set(response.get_json()["error"]["fields"]) == {refused}
