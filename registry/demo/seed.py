"""Synthetic demonstration cohorts: ``registry demo seed --participants N [--seed S]``.

People are generated from a seeded random stream, so one seed always gives the same
demographics, clinical histories and scores (participant ids and ciphertexts are random
each time). Their NHS numbers are in the 999 test range, never issued to a patient. They
are enrolled through ``enrol_batch``, the path every enrolment takes; their assessments and
treatment trials are then bulk-inserted in the same transaction, scored item by item by the
registry's own scoring, and the batch's facts rows refreshed.

The demographic mix is Birmingham's, where the demo sites are. Figures are rounded and
approximate, good enough for a demonstration and not for analysis:

- ethnicity: ONS Census 2021, Birmingham local authority, ethnic group (TS021): White 48.6%,
  Asian 31.0%, Black 10.9%, Mixed 4.8%, Other 4.7%; the split within each group is
  approximate (Pakistani the largest Asian group), and a few "not stated" and "not known"
  are added, as clinical records have them;
- deprivation: MHCLG English Indices of Deprivation 2019: about 43% of Birmingham's
  residents live in the most deprived decile of English neighbourhoods;
- sex: ONS mid-2021 estimates, about 51% female;
- cohorts, ages and diagnoses: an early-intervention service sees mostly people aged 18 to
  35; treatment-resistant depression mostly people aged 30 to 60.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import Any

from flask import current_app
from sqlalchemy import insert, select

from registry import clock
from registry.assessments.drugs import drug_list, drug_named
from registry.assessments.instruments import Instrument, instrument, score_items
from registry.assessments.models import Assessment, TreatmentTrial
from registry.assessments.treatment import TrialDefinition, current_definition
from registry.audit.actions import Actor, record_event
from registry.auth import actions as auth_actions
from registry.auth.models import Site
from registry.config import Settings
from registry.consents.actions import add_consent_form
from registry.consents.commands import ConsentAnswers, EnrolmentConsent, NamedConsultee
from registry.consents.items import CONSENT_ITEMS
from registry.consents.models import CAPACITY_CONFIRMED, CAPACITY_CONSULTEE, ConsentForm
from registry.db import session
from registry.enrolment.actions import Refusal, enrol_batch
from registry.enrolment.commands import Enrol
from registry.errors import Forbidden
from registry.facts.derive import refresh_facts_for
from registry.participants.commands import ClinicalDetails
from registry.participants.models import Participant
from registry.participants.reference import diagnosis_fits
from registry.participants.synthetic import synthetic_nhs_numbers

# Birmingham-area NHS organisation codes; the first is the site `registry demo users` makes.
DEMO_SITES: tuple[tuple[str, str, float], ...] = (
    ("RXT", "Demo Mental Health Trust (synthetic)", 0.70),
    ("RRK", "Demo University Hospitals (synthetic)", 0.10),
    ("RYW", "Demo Community Healthcare (synthetic)", 0.10),
    ("RQ3", "Demo Children's and Young People's Service (synthetic)", 0.10),
)
CONSENT_FORM_EFFECTIVE = dt.date(2020, 1, 1)
INFORMATION_SHEET = """# {name}: participant information sheet (demonstration)

This sheet is **synthetic**, made by `registry demo seed` for demonstrations.

- **Why:** the registry helps researchers find studies you might take part in.
- **What:** we keep your contact details sealed, and share only pseudonymised data.
- **Your choice:** each consent item is agreed separately; you may withdraw at any time.
"""

COHORT_SHARE = {"EP": 0.40, "TRD": 0.60}
# Percent of people: ONS 2021, Birmingham (see the module docstring); Z and 99 added.
ETHNICITY_WEIGHTS = {
    "A": 42.9, "B": 1.3, "C": 4.4,  # White 48.6
    "H": 5.8, "J": 17.0, "K": 4.7, "L": 2.3, "R": 1.2,  # Asian 31.0
    "M": 4.3, "N": 5.5, "P": 1.1,  # Black 10.9
    "D": 2.1, "E": 0.4, "F": 1.1, "G": 1.2,  # Mixed 4.8
    "S": 4.7,  # Other 4.7
    "Z": 2.0, "99": 1.0,
}  # fmt: skip
IMD_DECILE_WEIGHTS = {1: 43, 2: 15, 3: 10, 4: 8, 5: 6, 6: 5, 7: 4, 8: 4, 9: 3, 10: 2}
IMD_UNKNOWN_SHARE = 0.03
SEX_WEIGHTS = {"female": 50.5, "male": 49.0, "not_stated": 0.5}
# Gender identity beside sex: mostly the same, a few non-binary, other or not stated.
GENDER_BY_SEX = {"female": "2", "male": "1", "not_stated": "Z"}
GENDER_OTHER_WEIGHTS = {"3": 0.6, "4": 0.2, "Z": 0.8, "X": 0.4}
# Birmingham's B1 to B76, less the numbers no district has.
POSTCODE_DISTRICTS = tuple(f"B{n}" for n in range(1, 77) if n not in {22, 39, 41, *range(51, 60)})
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a postcode's inward code uses
DIAGNOSES = {
    "EP": {
        "F20.0": 24, "F20.3": 4, "F20.9": 6, "F22.0": 7, "F23.1": 8, "F23.9": 6, "F25.0": 5,
        "F25.1": 4, "F28": 3, "F29": 17, "F30.2": 3, "F31.2": 5, "F32.3": 5, "F33.3": 3,
    },
    "TRD": {"F32.1": 8, "F32.2": 24, "F32.9": 4, "F33.1": 22, "F33.2": 42},
}  # fmt: skip
# Consent items answered yes; the rest are refused (registry storage is required).
CONSENT_YES_SHARE = {
    "registry_storage": 1.0,
    "contact_for_research": 0.92,
    "record_access": 0.86,
    "record_linkage": 0.80,
    "commercial_partners": 0.70,
    "samples": 0.50,
    "future_research": 0.90,
    "inform_gp": 0.85,
}
CONSULTEE_SHARE = {"EP": 0.04, "TRD": 0.01}
# Each person is followed on one scale, 1 to 4 times; TRD improves slowly, EP faster.
SCALES = {
    "EP": {"PANSS": 50, "BPRS": 25, "CGI_S": 25},
    "TRD": {"PHQ9": 60, "QIDS_SR16": 20, "MADRS": 20},
}
RATING_NOISE = 0.35  # per item, as a share of its range: triangular noise up to this
OCCASION_WEIGHTS = {1: 25, 2: 30, 3: 25, 4: 20}
BASELINE_SEVERITY = {"EP": (0.20, 0.50), "TRD": (0.45, 0.85)}  # share of the scale's range
CHANGE_PER_OCCASION = {"EP": -0.08, "TRD": -0.03}
ANTIDEPRESSANTS = (
    "sertraline",
    "citalopram",
    "escitalopram",
    "fluoxetine",
    "mirtazapine",
    "venlafaxine",
    "duloxetine",
    "vortioxetine",
    "trazodone",  # every name on the coded list (drugs.toml), so each gets its code
    "agomelatine",
)
# Failed adequate trials per TRD person: most have at least two, as TRD is defined.
FAILED_TRIALS_WEIGHTS = {0: 6, 1: 12, 2: 35, 3: 25, 4: 14, 5: 8}
EXTRA_TRIALS_WEIGHTS = {0: 60, 1: 30, 2: 10}  # trials that did not fail: response, side effects
MAX_TRIALS = 5
GIVEN_NAMES = (
    "Aaliyah", "Aisha", "Amelia", "Amir", "Ayaan", "Chloe", "Daniel", "Ebony", "Fatima",
    "Grace", "Hamza", "Harpreet", "Ibrahim", "Isla", "Jack", "Jamal", "Kwame", "Leah",
    "Liam", "Maryam", "Mohammed", "Nia", "Oliver", "Priya", "Rhys", "Ruby", "Sana",
    "Tariq", "Wei", "Yusuf", "Zainab", "Zara",
)  # fmt: skip
FAMILY_NAMES = (
    "Ahmed", "Akhtar", "Ali", "Begum", "Bibi", "Brown", "Chen", "Clarke", "Davies",
    "Evans", "Hussain", "Iqbal", "Jones", "Kaur", "Khan", "Mahmood", "Mensah", "Miah",
    "Murphy", "Okafor", "Patel", "Rahman", "Riaz", "Shah", "Singh", "Smith", "Taylor",
    "Thomas", "Walker", "Williams", "Wilson", "Wright",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SyntheticAssessment:
    instrument: str
    administered_on: dt.date
    items: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SyntheticTrial:
    drug: str
    started_on: dt.date
    adequate_dose: bool
    weeks: int
    outcome: str
    # As the seed stores them: what the counting rules read of a trial (treatment.Trial).
    modality: str = "antidepressant"
    adherence: str = "adequate"
    response_percent: int | None = None


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    enrolment: Enrol
    assessments: tuple[SyntheticAssessment, ...]
    trials: tuple[SyntheticTrial, ...]


@dataclass
class SeedReport:
    enrolled: int = 0
    already_enrolled: int = 0
    assessments: int = 0
    trials: int = 0


# -- generation (no database) -------------------------------------------------------------


class _Weighted:
    """A weighted choice with its cumulative weights worked out once (random.choices does
    that on every call, which shows in a million draws)."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.values = list(weights)
        self.cumulative = list(accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cumulative, rng.random() * self.total)]


class PeopleGenerator:
    """Synthetic people for one seed, in the same order every time."""

    def __init__(
        self, *, seed: int, today: dt.date, settings: Settings, definition: TrialDefinition
    ) -> None:
        # Seeded on purpose (the same seed, the same cohort): nothing here is a secret.
        self.rng = random.Random(seed)  # noqa: S311
        self.nhs_numbers = synthetic_nhs_numbers(random.Random(f"nhs-{seed}"))  # noqa: S311
        self.today = today
        self.settings = settings
        self.definition = definition
        self.cohort = _Weighted(COHORT_SHARE)
        self.site = _Weighted({code: share for code, _, share in DEMO_SITES})
        self.ethnicity = _Weighted(ETHNICITY_WEIGHTS)
        self.imd_decile = _Weighted(IMD_DECILE_WEIGHTS)
        self.sex = _Weighted(SEX_WEIGHTS)
        self.gender_other = _Weighted(GENDER_OTHER_WEIGHTS)
        self.diagnosis = {
            cohort: _Weighted(
                {
                    code: weight
                    for code, weight in codes.items()
                    if diagnosis_fits(cohort, code, settings)
                }
            )
            for cohort, codes in DIAGNOSES.items()
        }
        self.scale = {cohort: _Weighted(weights) for cohort, weights in SCALES.items()}
        self.occasions = _Weighted(OCCASION_WEIGHTS)
        self.failed_trials = _Weighted(FAILED_TRIALS_WEIGHTS)
        self.extra_trials = _Weighted(EXTRA_TRIALS_WEIGHTS)

    def __iter__(self) -> Iterator[SyntheticPerson]:
        while True:
            yield self.person()

    def person(self) -> SyntheticPerson:
        rng = self.rng
        cohort: str = self.cohort(rng)
        birth = self._birth_date(cohort)
        trials = self._trials() if cohort == "TRD" else []
        # Long enough ago for the trials (about four months each) to have happened.
        months_ago = rng.randint(max(1, 4 * len(trials)), 36)
        illness_month = _first_of_month(_months_before(self.today, months_ago))
        trial_rows = self._dated_trials(trials, illness_month)
        site: str = self.site(rng)
        nhs_number = next(self.nhs_numbers)
        contact = self._contact()
        demographics = self._demographics()
        enrolment = Enrol(
            cohort=cohort,
            site=site,
            nhs_number=nhs_number,
            date_of_birth=birth,
            consent=self._consent(cohort),
            clinical=self._clinical(cohort, illness_month),
            **contact,
            **demographics,
        )
        return SyntheticPerson(
            enrolment=enrolment,
            assessments=self._assessments(cohort, illness_month),
            trials=trial_rows,
        )

    def _birth_date(self, cohort: str) -> dt.date:
        rng = self.rng
        settings = self.settings
        if cohort == "EP":
            low, high = settings.ep_min_age, settings.ep_max_age
            typical, share = (18, 35), 0.8
        else:
            low, high = settings.trd_min_age, 85
            typical, share = (30, 60), 0.7
        age = rng.randint(*typical) if rng.random() < share else rng.randint(low, high)
        age = min(max(age, low), high)  # the settings may narrow the cohort's ages
        # Their birthday `age` years ago fell 0 to 364 days before today: exactly `age` now.
        return _years_before(self.today, age) - dt.timedelta(days=rng.randrange(365))

    def _contact(self) -> dict[str, Any]:
        rng = self.rng
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        inward = f"{rng.randrange(10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
        return {
            "given_name": given,
            "family_name": family,
            "postcode": f"{rng.choice(POSTCODE_DISTRICTS)} {inward}",
            # example.org and Ofcom's drama range: addresses and numbers no one has.
            "email": f"{given}.{family}{rng.randrange(1000)}@example.org".lower()
            if rng.random() < 0.7
            else None,
            "phone": f"07700900{rng.randrange(1000):03d}" if rng.random() < 0.85 else None,
        }

    def _demographics(self) -> dict[str, Any]:
        rng = self.rng
        sex: str = self.sex(rng)
        gender = self.gender_other(rng) if rng.random() < 0.02 else GENDER_BY_SEX[sex]
        decile = None if rng.random() < IMD_UNKNOWN_SHARE else self.imd_decile(rng)
        return {
            "sex": sex,
            "gender_identity": gender,
            "ethnicity": self.ethnicity(rng),
            "imd_decile": decile,
            "imd_version": None if decile is None else "IoD2019",
        }

    def _consent(self, cohort: str) -> EnrolmentConsent:
        rng = self.rng
        consultee = None
        if rng.random() < CONSULTEE_SHARE[cohort]:
            consultee = NamedConsultee(
                type="personal" if rng.random() < 0.8 else "nominated",
                name=f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}",
            )
        signed_on = self.today - dt.timedelta(days=rng.randrange(90))
        answers = {item: rng.random() < CONSENT_YES_SHARE[item] for item in CONSENT_ITEMS}
        return EnrolmentConsent(
            form_version=f"{cohort}-PIS-2.0",
            signed_on=signed_on,
            items=ConsentAnswers.of(answers),
            capacity=CAPACITY_CONFIRMED if consultee is None else CAPACITY_CONSULTEE,
            consultee=consultee,
        )

    def _clinical(self, cohort: str, illness_month: dt.date) -> ClinicalDetails:
        rng = self.rng
        clinical: dict[str, Any] = {"diagnosis_icd10": self.diagnosis[cohort](rng)}
        if cohort == "TRD":
            return ClinicalDetails(**clinical, episode_start=illness_month)
        clinical["psychosis_onset"] = illness_month
        # Untreated psychosis lasts weeks to months (skewed); dup_weeks follows the dates.
        untreated = dt.timedelta(weeks=min(rng.expovariate(1 / 16), 150))
        if rng.random() < 0.85:
            clinical["first_antipsychotic_on"] = min(illness_month + untreated, self.today)
        if rng.random() < 0.90:
            accepted = illness_month + untreated + dt.timedelta(days=rng.randrange(-14, 28))
            clinical["eip_accepted_on"] = min(max(accepted, illness_month), self.today)
        return ClinicalDetails(**clinical)

    def _assessments(self, cohort: str, illness_month: dt.date) -> tuple[SyntheticAssessment, ...]:
        rng = self.rng
        scale = instrument(self.scale[cohort](rng))
        span = max((self.today - illness_month).days, 1)
        days = sorted(rng.randrange(span) for _ in range(self.occasions(rng)))
        severity = rng.uniform(*BASELINE_SEVERITY[cohort])
        assessments = []
        for occasion, day in enumerate(days):
            level = severity + CHANGE_PER_OCCASION[cohort] * occasion
            assessments.append(
                SyntheticAssessment(
                    scale.code,
                    illness_month + dt.timedelta(days=day),
                    self._ratings(scale, level),
                )
            )
        return tuple(assessments)

    def _ratings(self, scale: Instrument, level: float) -> tuple[int, ...]:
        """One rating per item around ``level`` (a share of each item's range)."""
        draw = self.rng.random  # the difference of two uniforms: triangular, cheap
        return tuple(
            min(item.max, max(item.min, round(item.min + (item.max - item.min) * share)))
            for item in scale.items
            for share in (level + (draw() - draw()) * RATING_NOISE,)
        )

    def _trials(self) -> list[tuple[bool, str]]:
        """(whether it failed, drug) per trial, in order; dated once the episode is known."""
        rng = self.rng
        failed: int = self.failed_trials(rng)
        total = min(MAX_TRIALS, max(1, failed + self.extra_trials(rng)))
        failing = set(rng.sample(range(total), min(failed, total)))
        drugs = rng.sample(ANTIDEPRESSANTS, total)
        return [(i in failing, drug) for i, drug in enumerate(drugs)]

    def _dated_trials(
        self, trials: Sequence[tuple[bool, str]], episode_start: dt.date
    ) -> tuple[SyntheticTrial, ...]:
        rng = self.rng
        # A failed trial fails under the definition in force; the others never count.
        failing_outcome = sorted(self.definition.failing_outcomes)[0]
        min_weeks = self.definition.min_weeks
        started = episode_start + dt.timedelta(weeks=rng.randint(0, 4))
        dated = []
        for failed, drug in trials:
            if failed:
                weeks, outcome = rng.randint(min_weeks, max(min_weeks, 12)), failing_outcome
            elif rng.random() < 0.5:
                weeks, outcome = rng.randint(6, 12), "response"
            else:  # stopped early for side effects
                weeks, outcome = rng.randint(1, 3), "intolerance"
            dated.append(SyntheticTrial(drug, _first_of_month(started), True, weeks, outcome))
            started += dt.timedelta(weeks=weeks + rng.randint(1, 4))
        return tuple(dated)


def _drug_code(name: str) -> str | None:
    drug = drug_named(name)
    assert drug is not None, name  # ANTIDEPRESSANTS are names on the list
    return drug.vtm


def synthetic_people(
    count: int, *, seed: int, today: dt.date, settings: Settings, definition: TrialDefinition
) -> list[SyntheticPerson]:
    """The first ``count`` people of a seed."""
    generator = PeopleGenerator(seed=seed, today=today, settings=settings, definition=definition)
    return list(islice(generator, count))


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year without one
        return day.replace(year=day.year - years, day=28)


# -- seeding (the database) ---------------------------------------------------------------


def ensure_demo_sites(*, by: Actor) -> None:
    """The demo sites, made through the site action if they are not there yet."""
    codes = [code for code, _, _ in DEMO_SITES]
    existing = set(session().scalars(select(Site.code).where(Site.code.in_(codes))))
    for code, name, _ in DEMO_SITES:
        if code not in existing:
            auth_actions.add_site(code=code, name=name, by=by)


def ensure_demo_consent_forms(*, by: Actor) -> None:
    """Each cohort's version 2.0 form, in force since 2020, if it is not there yet."""
    existing = {
        (cohort, version)
        for cohort, version in session().execute(select(ConsentForm.cohort, ConsentForm.version))
    }
    for cohort, name in (("EP", "Early psychosis"), ("TRD", "Treatment-resistant depression")):
        version = f"{cohort}-PIS-2.0"
        if (cohort, version) not in existing:
            add_consent_form(
                cohort=cohort,
                version=version,
                effective_on=CONSENT_FORM_EFFECTIVE,
                file_name=f"{version}.md",
                document=INFORMATION_SHEET.format(name=name).encode("utf-8"),
                by=by,
            )


def prepare_demo(*, by: Actor) -> None:
    """Refuse production; make the demo sites and consent forms if they are not there yet."""
    if current_app.config["SETTINGS"].is_production:
        raise Forbidden("demo data is refused in production mode")
    ensure_demo_sites(by=by)
    ensure_demo_consent_forms(by=by)


def people_to_seed(
    count: int, *, seed: int, today: dt.date | None = None
) -> Iterator[SyntheticPerson]:
    """The first ``count`` people of a seed under the registry's settings, made as taken."""
    generator = PeopleGenerator(
        seed=seed,
        today=today or clock.today(),
        settings=current_app.config["SETTINGS"],
        definition=current_definition(),
    )
    return islice(generator, count)


def seed_demo(
    count: int,
    *,
    seed: int,
    by: Actor,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    today: dt.date | None = None,
) -> SeedReport:
    """Enrol ``count`` synthetic people with their clinical records, a batch at a time, in
    the caller's transaction (``registry demo seed`` commits each batch instead).

    People of this seed who are already enrolled (a second run) are skipped, with their
    records: nothing is entered twice.
    """
    prepare_demo(by=by)
    report = SeedReport()
    people = people_to_seed(count, seed=seed, today=today)
    while batch := list(islice(people, batch_size)):
        seed_batch(batch, by=by, report=report)
        if progress is not None:
            progress(len(batch))
    return report


def seed_batch(batch: Sequence[SyntheticPerson], *, by: Actor, report: SeedReport) -> None:
    """Enrol a batch of people with their assessments and trials, counted in the report."""
    db = session()
    outcomes = enrol_batch([person.enrolment for person in batch], by=by, own_site=None)
    enrolled: list[tuple[int, SyntheticPerson]] = []
    for person, outcome in zip(batch, outcomes, strict=True):
        if not isinstance(outcome, Refusal):
            enrolled.append((outcome, person))
        elif outcome.code == "duplicate_participant":
            report.already_enrolled += 1
        else:  # the generator made something the schema would refuse: a bug, not data
            raise outcome.error()
    if not enrolled:
        return
    assessments = [
        _assessment_row(pk, assessment, by)
        for pk, person in enrolled
        for assessment in person.assessments
    ]
    trials = [
        {
            "participant_pk": pk,
            "modality": trial.modality,
            "drug": trial.drug,
            "drug_code": _drug_code(trial.drug),
            "drug_list_version": drug_list().version,
            "adherence": trial.adherence,
            "started_on": trial.started_on,
            "adequate_dose": trial.adequate_dose,
            "weeks": trial.weeks,
            "outcome": trial.outcome,
            "recorded_by_id": by.user_id,
        }
        for pk, person in enrolled
        for trial in person.trials
    ]
    # render_nulls: rows with and without subscales go in one executemany, not one each.
    if assessments:
        db.execute(insert(Assessment).execution_options(render_nulls=True), assessments)
    if trials:
        db.execute(insert(TreatmentTrial).execution_options(render_nulls=True), trials)
    refresh_facts_for([pk for pk, _ in enrolled])
    record_event(
        "demo.seed_clinical",
        by=by,
        details={
            "participants": len(enrolled),
            "assessments": len(assessments),
            "trials": len(trials),
        },
    )
    report.enrolled += len(enrolled)
    report.assessments += len(assessments)
    report.trials += len(trials)


def _assessment_row(pk: int, assessment: SyntheticAssessment, by: Actor) -> dict[str, Any]:
    scale = instrument(assessment.instrument)
    score = score_items(scale, assessment.items)
    return {
        "participant_pk": pk,
        "instrument": scale.code,
        "scale_version": scale.version,
        "administered_on": assessment.administered_on,
        "items": list(assessment.items),
        "total": score.total,
        "subscales": score.subscales or None,
        "band": score.band,
        "recorded_by_id": by.user_id,
    }


def registry_is_empty() -> bool:
    """No participant enrolled yet (``scripts/run --demo`` seeds only then)."""
    return session().scalar(select(Participant.id).limit(1)) is None
