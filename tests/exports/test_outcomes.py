"""Response and remission in a researcher's extract and rows, and the new scales in the
assessments table."""

from __future__ import annotations

import io
from typing import Any

import pytest

from registry.facts.outcomes import OUTCOME_COLUMNS
from tests.exports.conftest import ALL_VARIABLES, World

OUTCOMES = "participants.outcomes"


def _madrs_series(world: World, *totals_by_day: tuple[str, int]) -> str:
    participant_id = world.enrol("TRD")  # episode from 2025-06
    for day, total in totals_by_day:
        body = {"instrument": "MADRS", "administered_on": day, "total": total}
        assert world.assess(participant_id, **body).status_code == 201
    return participant_id


def test_extract_holds_each_participants_response_and_remission(world: World) -> None:
    _madrs_series(world, ("2025-07-10", 30), ("2025-10-02", 10))
    world.enrol("EP")
    grant_id = world.grant(variables=["participants.cohort", OUTCOMES])

    extract = world.extract(grant_id)

    rows = {row["cohort"]: row for row in extract.rows("participants.csv")}
    assert list(rows["TRD"]) == ["pseudonym", "cohort", *OUTCOME_COLUMNS]
    assert {name: rows["TRD"][name] for name in OUTCOME_COLUMNS} == {
        "outcome_scale": "MADRS",
        "outcome_baseline_total": "30",
        "outcome_baseline_on": "2025-07",  # the month policy
        "outcome_latest_total": "10",
        "outcome_latest_on": "2025-10",
        "response": "true",
        "remission": "true",
        "outcome_definitions": "2026-12",
    }
    assert {rows["EP"][name] for name in OUTCOME_COLUMNS} == {""}
    described = {row["column"]: row for row in extract.rows("data_dictionary.csv")}
    assert described["response"]["variable"] == OUTCOMES
    assert described["remission"]["type"] == "true/false"


@pytest.mark.slow
def test_parquet_extract_types_response_as_boolean(world: World) -> None:
    import pyarrow.parquet as pq

    _madrs_series(world, ("2025-07-10", 30), ("2025-10-02", 16))
    grant_id = world.grant(variables=["participants.cohort", OUTCOMES])

    table = pq.read_table(
        io.BytesIO(world.extract(grant_id, "parquet").files["participants.parquet"])
    )

    assert table.column("response").to_pylist() == [False]
    assert table.column("outcome_latest_total").to_pylist() == [16]


def test_outcome_dates_are_shifted_with_the_participants_other_dates(world: World) -> None:
    _madrs_series(world, ("2025-07-10", 30), ("2025-10-02", 10))
    grant_id = world.grant(
        variables=[OUTCOMES, "assessments.administered_on"],
        date_policy="shift",
        max_shift_days=30,
    )

    extract = world.extract(grant_id)

    (person,) = extract.rows("participants.csv")
    administered = [row["administered_on"] for row in extract.rows("assessments.csv")]
    assert [person["outcome_baseline_on"], person["outcome_latest_on"]] == administered


def test_researcher_rows_can_be_chosen_by_response_only_when_the_grant_shows_it(
    world: World,
) -> None:
    _madrs_series(world, ("2025-07-10", 30), ("2025-10-02", 10))
    _madrs_series(world, ("2025-07-10", 30), ("2025-10-02", 20))
    shown = world.grant(variables=["participants.cohort", OUTCOMES])
    hidden = world.grant(variables=["participants.cohort"])
    criteria = {"cohort": "TRD", "all": [{"field": "response", "op": "=", "value": True}]}

    def rows(grant_id: str) -> Any:
        return world.client.post(
            "/api/v1/eligibility/participants",
            json={"grant": grant_id, "criteria": criteria},
            headers=world.researcher.headers,
        )

    chosen = rows(shown)
    refused = rows(hidden)

    assert chosen.status_code == 200, chosen.get_json()
    assert [row["response"] for row in chosen.get_json()["items"]] == [True]
    assert refused.status_code == 422


def test_new_scales_are_exported_as_assessments(world: World) -> None:
    participant_id = world.enrol("EP")
    answers = [1, 1, 1, 0, 0, 0, 0]
    assert world.assess(participant_id, instrument="CSSRS_SCREEN", items=answers).status_code == 201
    assert world.assess(participant_id, instrument="PSP", total=45).status_code == 201
    grant_id = world.grant(variables=ALL_VARIABLES)

    rows = world.extract(grant_id).rows("assessments.csv")

    assert {(row["instrument"], row["total"], row["band"], row["items"]) for row in rows} == {
        ("CSSRS_SCREEN", "2", "moderate risk", "[1,1,1,0,0,0,0]"),
        ("PSP", "45", "variable disability", ""),
    }


def test_a_total_recorded_alone_has_empty_items_in_the_csv(world: World) -> None:
    participant_id = world.enrol("TRD")
    assert world.assess(participant_id, instrument="MADRS", total=30).status_code == 201
    grant_id = world.grant(variables=["assessments.total", "assessments.items"])

    (row,) = world.extract(grant_id).rows("assessments.csv")

    assert (row["total"], row["items"]) == ("30", "")
