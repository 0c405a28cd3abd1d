"""The coded values enrolment accepts, loaded once from ``data/reference.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class CohortRule:
    name: str
    diagnosis_prefixes: tuple[str, ...]
    affective_psychosis_prefixes: tuple[str, ...]
    month_field: str  # the clinical month that dates the illness: onset or episode start
    source: str  # where the diagnostic set and age rules come from


@dataclass(frozen=True, slots=True)
class Reference:
    ethnicity: dict[str, tuple[str, str]]  # code -> (description, ONS 2021 group)
    sex: dict[str, str]
    gender_identity: dict[str, str]
    imd_versions: tuple[str, ...]
    cohorts: dict[str, CohortRule]
    versions: dict[str, str]  # which classification each coded attribute follows

    def ethnicity_group(self, code: str) -> str:
        return self.ethnicity[code][1]


@cache
def reference() -> Reference:
    text = resources.files("registry.participants").joinpath("data/reference.toml").read_text()
    data: dict[str, Any] = tomllib.loads(text)
    return Reference(
        ethnicity={code: (d, g) for code, (d, g) in data["ethnicity"]["codes"].items()},
        sex=dict(data["sex"]["codes"]),
        gender_identity=dict(data["gender_identity"]["codes"]),
        imd_versions=tuple(data["imd"]["versions"]),
        cohorts={
            cohort: CohortRule(
                name=rule["name"],
                diagnosis_prefixes=tuple(rule["diagnosis_prefixes"]),
                affective_psychosis_prefixes=tuple(rule["affective_psychosis_prefixes"]),
                month_field=rule["month_field"],
                source=" ".join(rule["source"].split()),
            )
            for cohort, rule in data["cohorts"].items()
        },
        versions={name: data[name]["version"] for name in ("ethnicity", "sex", "gender_identity")},
    )


def diagnosis_fits(cohort: str, code: str, *, affective_psychoses: bool) -> bool:
    """Whether an ICD-10 code belongs to the cohort's diagnostic set."""
    rule = reference().cohorts[cohort]
    prefixes = rule.diagnosis_prefixes
    if affective_psychoses:
        prefixes += rule.affective_psychosis_prefixes
    return code.startswith(prefixes)
