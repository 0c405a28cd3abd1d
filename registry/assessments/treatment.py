"""What counts as a failed adequate antidepressant trial, from ``data/treatment.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from flask import current_app
from sqlalchemy import select

from registry.assessments.models import TreatmentTrial
from registry.db import session


@dataclass(frozen=True, slots=True)
class TrialDefinition:
    name: str
    description: str
    source: str
    min_weeks: int
    adequate_dose: bool
    failing_outcomes: frozenset[str]

    def counts_as_failed(self, *, adequate_dose: bool, weeks: int, outcome: str) -> bool:
        return (
            (adequate_dose or not self.adequate_dose)
            and weeks >= self.min_weeks
            and outcome in self.failing_outcomes
        )


@cache
def _data() -> dict[str, Any]:
    text = resources.files("registry.assessments").joinpath("data/treatment.toml").read_text()
    return tomllib.loads(text)


def trial_outcomes() -> tuple[str, ...]:
    return tuple(_data()["outcomes"])


def definitions() -> dict[str, TrialDefinition]:
    return {
        name: TrialDefinition(
            name=name,
            description=d["description"],
            source=d["source"],
            min_weeks=d["min_weeks"],
            adequate_dose=d["adequate_dose"],
            failing_outcomes=frozenset(d["failing_outcomes"]),
        )
        for name, d in _data()["definitions"].items()
    }


def current_definition() -> TrialDefinition:
    """The definition the settings name (checked at start-up)."""
    return definitions()[current_app.config["SETTINGS"].failed_trials_definition]


def failed_adequate_trials(participant_pk: int) -> int:
    definition = current_definition()
    trials = session().scalars(
        select(TreatmentTrial).where(TreatmentTrial.participant_pk == participant_pk)
    )
    return sum(
        definition.counts_as_failed(
            adequate_dose=trial.adequate_dose, weeks=trial.weeks, outcome=trial.outcome
        )
        for trial in trials
    )
