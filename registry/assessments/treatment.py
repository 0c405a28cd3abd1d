"""Treatment trials in the current episode, by the rules in ``data/treatment.toml``: which
count as failed adequate treatments (distinct treatments, under the configured definition)
and the Maudsley Staging Method score."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import select

from registry.assessments.models import Assessment, TreatmentTrial
from registry.db import session
from registry.participants.models import Participant


class Trial(Protocol):
    """What the rules read of a trial: a ``TreatmentTrial`` or a row of its columns."""

    @property
    def drug(self) -> str | None: ...
    @property
    def modality(self) -> str: ...
    @property
    def started_on(self) -> dt.date: ...
    @property
    def adequate_dose(self) -> bool: ...
    @property
    def weeks(self) -> int: ...
    @property
    def outcome(self) -> str: ...
    @property
    def adherence(self) -> str: ...
    @property
    def response_percent(self) -> int | None: ...


class Rating(Protocol):
    @property
    def instrument(self) -> str: ...
    @property
    def administered_on(self) -> dt.date: ...
    @property
    def band(self) -> str: ...


@cache
def _data() -> dict[str, Any]:
    text = resources.files("registry.assessments").joinpath("data/treatment.toml").read_text()
    return tomllib.loads(text)


def trial_outcomes() -> tuple[str, ...]:
    return tuple(_data()["outcomes"])


def modalities() -> tuple[str, ...]:
    return tuple(_data()["modalities"])


def drug_modalities() -> frozenset[str]:
    return frozenset(_data()["drug_modalities"])


def adherence_levels() -> tuple[str, ...]:
    return tuple(_data()["adherence"])


def stop_reasons() -> tuple[str, ...]:
    return tuple(_data()["stop_reasons"])


def dose_units() -> tuple[str, ...]:
    return tuple(_data()["dose_units"])


def in_episode(trial: Trial, episode_start: dt.date | None) -> bool:
    return episode_start is None or trial.started_on >= episode_start


def treatment_key(trial: Trial) -> tuple[str, str]:
    """Which treatment a trial is: the same drug in the same strategy is the same treatment
    however often it is tried; a non-drug modality is one treatment."""
    return (trial.modality, trial.drug or trial.modality)


@dataclass(frozen=True, slots=True)
class TrialDefinition:
    name: str
    version: int
    description: str
    source: str
    min_weeks: int
    adequate_dose: bool
    counted_adherence: frozenset[str]
    counted_modalities: frozenset[str]
    failing_outcomes: frozenset[str]
    failing_below_percent: int

    @property
    def label(self) -> str:
        """What is stored beside a count: the definition and its version."""
        return f"{self.name}@{self.version}"

    def counts_as_failed(self, trial: Trial, episode_start: dt.date | None = None) -> bool:
        """Whether the trial is an adequate treatment that failed (in the current episode)."""
        if trial.response_percent is not None and trial.outcome != "intolerance":
            failed = trial.response_percent < self.failing_below_percent
        else:
            failed = trial.outcome in self.failing_outcomes
        return (
            failed
            and trial.modality in self.counted_modalities
            and (trial.adequate_dose or not self.adequate_dose)
            and trial.weeks >= self.min_weeks
            and trial.adherence in self.counted_adherence
            and in_episode(trial, episode_start)
        )

    def failed_treatments(
        self,
        trials: Iterable[Trial],
        episode_start: dt.date | None,
        *,
        modalities: frozenset[str] | None = None,
    ) -> int:
        """How many distinct treatments failed (of ``modalities``, when given)."""
        return len(
            {
                treatment_key(trial)
                for trial in trials
                if self.counts_as_failed(trial, episode_start)
                and (modalities is None or trial.modality in modalities)
            }
        )


def definitions() -> dict[str, TrialDefinition]:
    return {
        name: TrialDefinition(
            name=name,
            version=d["version"],
            description=d["description"],
            source=d["source"],
            min_weeks=d["min_weeks"],
            adequate_dose=d["adequate_dose"],
            counted_adherence=frozenset(d["counted_adherence"]),
            counted_modalities=frozenset(d["counted_modalities"]),
            failing_outcomes=frozenset(d["failing_outcomes"]),
            failing_below_percent=d["failing_below_percent"],
        )
        for name, d in _data()["definitions"].items()
    }


def current_definition() -> TrialDefinition:
    """The definition the settings name (checked at start-up)."""
    return definitions()[current_app.config["SETTINGS"].failed_trials_definition]


# -- the Maudsley Staging Method ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staging:
    """A Maudsley Staging Method score, or None with the reason it cannot be derived; the
    note also says what was assumed."""

    score: int | None
    note: str

    @property
    def band(self) -> str | None:
        if self.score is None:
            return None
        return "mild" if self.score <= 6 else "moderate" if self.score <= 10 else "severe"


def _points(ladder: Sequence[Sequence[int]], value: int) -> int:
    return next(points for upper, points in ladder if value <= upper)


def maudsley_source() -> str:
    """Where the Maudsley Staging Method comes from, with the version of its rules here."""
    rules = _data()["maudsley"]
    return f"{' '.join(rules['source'].split())} (registry rules version {rules['version']})"


def maudsley(
    trials: Sequence[Trial],
    episode_start: dt.date | None,
    ratings: Iterable[Rating],
    definition: TrialDefinition,
) -> Staging:
    """Stage treatment resistance from the recorded history (rules: ``[maudsley]``)."""
    rules = _data()["maudsley"]
    scales = rules["severity_scales"]
    # The latest rating on a depression scale; on the same day the earlier-listed scale.
    rating = max(
        (r for r in ratings if r.instrument in scales),
        key=lambda r: (r.administered_on, -scales.index(r.instrument)),
        default=None,
    )
    antidepressants = frozenset({"antidepressant", "combination"})
    failures = definition.failed_treatments(trials, episode_start, modalities=antidepressants)
    missing = []
    if failures == 0:
        missing.append("no failed antidepressant treatment in this episode (staging starts at one)")
    if episode_start is None:
        missing.append("the episode's start is not recorded")
    if rating is None:
        missing.append("no depression rating (" + ", ".join(scales) + ") to stage severity")
    elif rating.band not in rules["severity"]:
        missing.append(f"the {rating.instrument} band cannot be staged")
    if missing or rating is None or episode_start is None:
        return Staging(None, "Not staged: " + "; ".join(missing) + ".")
    in_this_episode = [trial for trial in trials if in_episode(trial, episode_start)]
    augmented = any(t.modality in rules["augmentation_modalities"] for t in in_this_episode)
    ect = any(t.modality == "ect" for t in in_this_episode)
    on = rating.administered_on
    months = (on.year - episode_start.year) * 12 + on.month - episode_start.month
    severity = rules["severity"][rating.band]
    score = (
        _points(rules["failures"], failures)
        + int(augmented)
        + int(ect)
        + _points(rules["duration"], max(months, 0))
        + severity
    )
    note = f"Staged at the {rating.instrument} of {on:%B %Y}"
    if severity == 4:
        note += "; psychotic features are not recorded, so severe is scored without psychosis"
    return Staging(score, note + ".")


# -- per participant --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TreatmentFacts:
    failed_adequate_trials: int
    staging: Staging

    def columns(self, definition: TrialDefinition) -> dict[str, Any]:
        """The participant's facts-row columns these give."""
        return {
            "failed_adequate_trials": self.failed_adequate_trials,
            "failed_trials_definition": definition.label,
            # The note (why no score) is prose for the pages, read from the history there:
            # kept out of the table every count scans, where it would widen every row.
            "msm_score": self.staging.score,
        }


NO_TRIALS = TreatmentFacts(0, Staging(None, "Not staged: no treatment trial recorded."))

_TRIAL_COLUMNS = (
    TreatmentTrial.participant_pk,
    TreatmentTrial.drug,
    TreatmentTrial.modality,
    TreatmentTrial.started_on,
    TreatmentTrial.adequate_dose,
    TreatmentTrial.weeks,
    TreatmentTrial.outcome,
    TreatmentTrial.adherence,
    TreatmentTrial.response_percent,
)
_RATING_COLUMNS = (
    Assessment.participant_pk,
    Assessment.instrument,
    Assessment.administered_on,
    Assessment.band,
)


def treatment_facts_of(episode_starts: Mapping[int, dt.date | None]) -> dict[int, TreatmentFacts]:
    """The treatment facts of each participant (pk -> their episode start), in two queries."""
    definition = current_definition()
    pks = list(episode_starts)
    db = session().connection()
    trials: dict[int, list[Any]] = defaultdict(list)
    in_force = select(*_TRIAL_COLUMNS).where(
        TreatmentTrial.participant_pk.in_(pks), TreatmentTrial.voided_at.is_(None)
    )
    for trial in db.execute(in_force):
        trials[trial.participant_pk].append(trial)
    ratings: dict[int, list[Any]] = defaultdict(list)
    scales = _data()["maudsley"]["severity_scales"]
    # Only those with a trial are staged: most refreshes (EP, new TRD) need no ratings here.
    staged = [pk for pk in pks if trials[pk]]
    if staged:
        rows = db.execute(
            select(*_RATING_COLUMNS).where(
                Assessment.participant_pk.in_(staged),
                Assessment.instrument.in_(scales),
                Assessment.voided_at.is_(None),
            )
        )
        for row in rows:
            ratings[row.participant_pk].append(row)
    return {
        pk: TreatmentFacts(
            definition.failed_treatments(trials[pk], start),
            maudsley(trials[pk], start, ratings[pk], definition),
        )
        if trials[pk]
        else NO_TRIALS
        for pk, start in episode_starts.items()
    }


def treatment_facts(participant: Participant) -> TreatmentFacts:
    return treatment_facts_of({participant.id: participant.episode_start})[participant.id]


def failed_adequate_trials(participant: Participant) -> int:
    """Distinct adequate failed treatments under the current definition."""
    return treatment_facts(participant).failed_adequate_trials
