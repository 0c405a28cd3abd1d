"""The compiler's counts against an independent Python evaluation of the same facts rows,
on a seeded synthetic cohort with withdrawals and unknown values, for every field and
every operator, on whichever database the suite runs on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from registry.auth.permissions import Role
from registry.db import session
from registry.eligibility.catalogue import ALL_OPERATORS, catalogue
from registry.eligibility.compiler import Audience, count_statement, matching_statement
from registry.eligibility.criteria import parse_criteria
from tests.eligibility.reference import (
    BLANK_EVERY,
    SeededRegistry,
    eligible,
    reference_count,
    seeded_registry,
)

PARTICIPANTS = 400
SEED = 20260601


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededRegistry]:
    with seeded_registry(
        tmp_path_factory.mktemp("eligibility"), participants=PARTICIPANTS, seed=SEED
    ) as seeded:
        yield seeded


def engine_count(registry: SeededRegistry, document: dict[str, Any], audience: Audience) -> int:
    criteria = parse_criteria(document, role=Role.RESEARCHER)
    with registry.app.test_request_context():
        statement = count_statement(criteria, audience=audience, today=registry.today)
        return int(session().scalar(statement) or 0)


def engine_matches(
    registry: SeededRegistry, document: dict[str, Any], audience: Audience
) -> set[int]:
    criteria = parse_criteria(document, role=Role.RESEARCHER)
    with registry.app.test_request_context():
        statement = matching_statement(criteria, audience=audience, today=registry.today)
        return set(session().scalars(statement))


def clause(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} | ({} if op == "exists" else {"value": value})


def only(*clauses: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(clauses)}


CASES: dict[str, dict[str, Any]] = {
    "everyone": {},
    "contract example": {
        "cohort": "TRD",
        "all": [
            clause("age", "between", [18, 65]),
            clause("latest_score.PHQ9", ">=", 15),
            clause("failed_adequate_trials", ">=", 2),
            {
                "any": [
                    clause("site", "in", ["RXT", "RRE"]),
                    clause("postcode_district", "in", ["B15", "B29"]),
                ]
            },
        ],
        "none": [clause("diagnosis_icd10", "startswith", "F31")],
    },
    "cohort EP": {"cohort": "EP"},
    "cohort field =": only(clause("cohort", "=", "TRD")),
    "cohort field !=": only(clause("cohort", "!=", "TRD")),
    "site =": only(clause("site", "=", "RXT")),
    "site !=": only(clause("site", "!=", "RXT")),
    "site in, unknown code": only(clause("site", "in", ["RRK", "NOPE"])),
    "site not_in": only(clause("site", "not_in", ["RXT", "RYW"])),
    "site exists": only(clause("site", "exists")),
    "age =": only(clause("age", "=", 30)),
    "age !=": only(clause("age", "!=", 30)),
    "age <": only(clause("age", "<", 25)),
    "age <=": only(clause("age", "<=", 25)),
    "age >": only(clause("age", ">", 50)),
    "age >=": only(clause("age", ">=", 50)),
    "age between": only(clause("age", "between", [18, 35])),
    "age in": only(clause("age", "in", [20, 21, 40])),
    "age not_in": only(clause("age", "not_in", [20, 21, 40])),
    "age exists": only(clause("age", "exists")),
    "sex =": only(clause("sex", "=", "female")),
    "sex != (unknown is not a match)": only(clause("sex", "!=", "female")),
    "sex not_in": only(clause("sex", "not_in", ["male"])),
    "gender_identity in": only(clause("gender_identity", "in", ["1", "3", "X"])),
    "gender_identity exists": only(clause("gender_identity", "exists")),
    "ethnicity in": only(clause("ethnicity", "in", ["J", "K", "99"])),
    "ethnicity !=": only(clause("ethnicity", "!=", "A")),
    "ethnicity_group =": only(clause("ethnicity_group", "=", "asian")),
    "ethnicity_group not_in": only(clause("ethnicity_group", "not_in", ["white", "not_known"])),
    "postcode_district =": only(clause("postcode_district", "=", "B15")),
    "postcode_district startswith": only(clause("postcode_district", "startswith", "B2")),
    "postcode_district not_in": only(clause("postcode_district", "not_in", ["B1", "B2"])),
    "imd_decile <=": only(clause("imd_decile", "<=", 2)),
    "imd_decile != (unknown deciles)": only(clause("imd_decile", "!=", 1)),
    "imd_decile exists": only(clause("imd_decile", "exists")),
    "imd_decile between": only(clause("imd_decile", "between", [3, 3])),
    "diagnosis startswith": only(clause("diagnosis_icd10", "startswith", "F33")),
    "diagnosis = full code": only(clause("diagnosis_icd10", "=", "F20.0")),
    "diagnosis != ": only(clause("diagnosis_icd10", "!=", "F33.2")),
    "diagnosis in": only(clause("diagnosis_icd10", "in", ["F29", "F32.2"])),
    "PHQ9 >": only(clause("latest_score.PHQ9", ">", 14)),
    "GAD7 exists (nobody)": only(clause("latest_score.GAD7", "exists")),
    "MADRS between": only(clause("latest_score.MADRS", "between", [20, 40])),
    "HAMD17 !=": only(clause("latest_score.HAMD17", "!=", 0)),
    "QIDS_SR16 <": only(clause("latest_score.QIDS_SR16", "<", 16)),
    "PANSS >=": only(clause("latest_score.PANSS", ">=", 60)),
    "BPRS not_in": only(clause("latest_score.BPRS", "not_in", [18, 19, 20])),
    "CGI_S in": only(clause("latest_score.CGI_S", "in", [3, 4])),
    "SOFAS <=": only(clause("latest_score.SOFAS", "<=", 60)),
    "PSP exists": only(clause("latest_score.PSP", "exists")),
    "CGI_I <": only(clause("latest_score.CGI_I", "<", 3)),
    "CDSS >": only(clause("latest_score.CDSS", ">", 6)),
    "CSSRS_SCREEN =": only(clause("latest_score.CSSRS_SCREEN", "=", 3)),
    "response = true": only(clause("response", "=", True)),
    "response != true": only(clause("response", "!=", True)),
    "remission = false": only(clause("remission", "=", False)),
    "failed trials =": only(clause("failed_adequate_trials", "=", 0)),
    "failed trials !=": only(clause("failed_adequate_trials", "!=", 2)),
    "maudsley between": only(clause("maudsley_staging_score", "between", [7, 10])),
    "maudsley exists": only(clause("maudsley_staging_score", "exists")),
    "months_since_onset <": only(clause("months_since_onset", "<", 12)),
    "months_since_onset = ": only(clause("months_since_onset", "=", 6)),
    "months_since_onset != (TRD unknown)": only(clause("months_since_onset", "!=", 6)),
    "episode_months >=": only(clause("episode_months", ">=", 24)),
    "episode_months between": only(clause("episode_months", "between", [6, 18])),
    "episode_months not_in": only(clause("episode_months", "not_in", [1, 2, 3])),
    "enrolled_on <=": only(clause("enrolled_on", "<=", "2100-01-01")),
    "enrolled_on !=": only(clause("enrolled_on", "!=", "2000-01-01")),
    "enrolled_on between": only(clause("enrolled_on", "between", ["2000-01-01", "2100-12-31"])),
    "enrolled_on > / <": only(
        clause("enrolled_on", ">", "2000-01-01"), clause("enrolled_on", "<", "2100-01-01")
    ),
    "enrolled_on = today-ish exists": only(clause("enrolled_on", "exists")),
    **{
        f"consent.{item} = {flag}": only(clause(f"consent.{item}", "=", flag))
        for item, flag in (
            ("registry_storage", True),
            ("contact_for_research", False),
            ("record_access", True),
            ("record_linkage", False),
            ("commercial_partners", False),
            ("samples", True),
            ("future_research", True),
        )
    },
    "consent.inform_gp !=": only(clause("consent.inform_gp", "!=", True)),
    # Follow-up (#21): a visit of one cohort (week_8 is TRD's) is unknown for the other.
    "followup.baseline = none": only(clause("followup.baseline", "=", "none")),
    "followup.week_8 in": only(clause("followup.week_8", "in", ["complete", "partial"])),
    "followup.month_3 != complete": only(clause("followup.month_3", "!=", "complete")),
    "followup.month_6 = complete": only(clause("followup.month_6", "=", "complete")),
    "followup.month_12 not_in": only(clause("followup.month_12", "not_in", ["none"])),
    "followup.month_24 exists": only(clause("followup.month_24", "exists")),
    "none excludes, unknown does not exclude": {
        "none": [clause("sex", "=", "female"), clause("imd_decile", "<", 3)]
    },
    "any of nested all": {
        "any": [
            {"all": [clause("cohort", "=", "EP"), clause("age", "<", 25)]},
            {"all": [clause("cohort", "=", "TRD"), clause("latest_score.PHQ9", ">=", 20)]},
        ]
    },
    "none of any of none (deep)": {
        "none": [
            {
                "any": [
                    clause("ethnicity_group", "=", "white"),
                    {"none": [clause("postcode_district", "startswith", "B1")]},
                ]
            }
        ]
    },
    "one group object with all, any and none": {
        "all": [
            {
                "all": [clause("age", ">=", 18)],
                "any": [clause("sex", "=", "male"), clause("imd_decile", "=", 1)],
                "none": [clause("diagnosis_icd10", "startswith", "F2")],
            }
        ]
    },
}


def test_the_cases_cover_every_field_and_operator() -> None:
    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict) and "field" in node:
            yield node
        elif isinstance(node, dict):
            for kind in ("all", "any", "none"):
                for member in node.get(kind, []):
                    yield from walk(member)

    used = [found for document in CASES.values() for found in walk(document)]

    assert {c["field"] for c in used} == set(catalogue())
    assert {c["op"] for c in used} == set(ALL_OPERATORS)


@pytest.mark.parametrize("audience", ["researcher", "partner"])
@pytest.mark.parametrize("name", list(CASES))
def test_count_matches_the_reference(
    registry: SeededRegistry, name: str, audience: Audience
) -> None:
    document = CASES[name]

    expected = reference_count(registry.rows, document, audience=audience, today=registry.today)

    assert engine_count(registry, document, audience) == expected


@pytest.mark.parametrize("name", ["contract example", "none excludes, unknown does not exclude"])
def test_matching_rows_are_the_references(registry: SeededRegistry, name: str) -> None:
    document = CASES[name]
    expected = {
        row["participant_pk"]
        for row in registry.rows
        if eligible(row, document, audience="researcher", today=registry.today)
    }

    assert engine_matches(registry, document, "researcher") == expected
    assert expected  # a case that matches no one would prove little


def test_the_seeded_cohort_exercises_what_the_cases_claim(registry: SeededRegistry) -> None:
    rows = registry.rows
    # Unknown values, withdrawn and non-consenting people are all present.
    assert sum(row["sex"] is None for row in rows) >= PARTICIPANTS // BLANK_EVERY - 1
    assert any(row["imd_decile"] is None and row["participant_pk"] % BLANK_EVERY for row in rows)
    assert sum(not row["contactable"] and row["consent_contact_for_research"] for row in rows) > 0
    assert sum(row["contactable"] and not row["consent_commercial_partners"] for row in rows) > 0
    assert {row["cohort"] for row in rows} == {"EP", "TRD"}


def test_withdrawn_and_uncontactable_are_never_counted(registry: SeededRegistry) -> None:
    uncontactable = {row["participant_pk"] for row in registry.rows if not row["contactable"]}
    # Even a document that asks only for those without consent to contact finds no one.
    asks_for_them = only(clause("consent.contact_for_research", "=", False))

    assert uncontactable
    assert engine_matches(registry, {}, "researcher").isdisjoint(uncontactable)
    assert engine_count(registry, asks_for_them, "researcher") == 0
    assert engine_count(registry, {}, "researcher") == len(registry.rows) - len(uncontactable)


def test_partners_count_only_those_who_agreed_to_commercial_partners(
    registry: SeededRegistry,
) -> None:
    for_researchers = engine_matches(registry, {}, "researcher")
    for_partners = engine_matches(registry, {}, "partner")
    refused = {
        row["participant_pk"] for row in registry.rows if not row["consent_commercial_partners"]
    }

    assert for_partners == for_researchers - refused
    assert for_partners < for_researchers


def test_not_equal_and_not_in_leave_out_unknown_values(registry: SeededRegistry) -> None:
    unknown_sex = {row["participant_pk"] for row in registry.rows if row["sex"] is None}
    not_female = engine_matches(registry, only(clause("sex", "!=", "female")), "researcher")
    not_in = engine_matches(registry, only(clause("sex", "not_in", ["female"])), "researcher")
    excluded = engine_matches(registry, {"none": [clause("sex", "=", "female")]}, "researcher")

    assert not_female.isdisjoint(unknown_sex)
    assert not_in == not_female
    # `none` keeps those whose sex is unknown: the clause is false for them, not unknown.
    assert excluded - not_female == unknown_sex & engine_matches(registry, {}, "researcher")


def test_site_criteria_join_nothing_when_site_is_unused(registry: SeededRegistry) -> None:
    without_site = count_statement(parse_criteria({}, role="researcher"), audience="researcher")
    with_site = count_statement(
        parse_criteria(only(clause("site", "=", "RXT")), role="researcher"), audience="researcher"
    )

    assert "site" not in str(without_site).replace("participant_facts", "")
    assert "site.code" in str(with_site)


def test_the_statement_is_one_select(registry: SeededRegistry) -> None:
    criteria = parse_criteria(CASES["contract example"], role="researcher")
    with registry.app.test_request_context():
        statement = count_statement(criteria, audience="partner", today=registry.today)
        rows = session().execute(statement).all()
    assert len(rows) == 1
    assert isinstance(select(statement.subquery()), type(statement))


ELAPSED_CASES = [name for name in CASES if name.split()[0] in ("age", "months_since_onset")]
ELAPSED_CASES += [name for name in CASES if name.startswith("episode_months")]


@pytest.mark.parametrize("shift", ["first of this month", "first of next month", "29 February"])
@pytest.mark.parametrize("name", ELAPSED_CASES)
def test_ages_and_months_on_boundary_days(registry: SeededRegistry, name: str, shift: str) -> None:
    # Birth and illness months are stored as their first day: on the 1st of a month some
    # people cross a whole year or month exactly, which an off-by-one would miscount.
    this_month = registry.today.replace(day=1)
    today = {
        "first of this month": this_month,
        "first of next month": (this_month + dt.timedelta(days=32)).replace(day=1),
        "29 February": dt.date(2028, 2, 29),
    }[shift]
    document = CASES[name]
    criteria = parse_criteria(document, role=Role.RESEARCHER)
    with registry.app.test_request_context():
        counted = session().scalar(count_statement(criteria, audience="researcher", today=today))

    assert counted == reference_count(registry.rows, document, audience="researcher", today=today)
