"""The coded values enrolment accepts, loaded once from ``data/reference.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from registry.config import Settings


@dataclass(frozen=True, slots=True)
class OptionalSet:
    """Diagnoses a cohort takes only when a setting says so (a protocol choice)."""

    setting: str  # the boolean in registry.config.Settings that switches it on
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CohortRule:
    name: str
    diagnosis_prefixes: tuple[str, ...]
    optional: dict[str, OptionalSet]
    month_field: str  # the clinical month that dates the illness: onset or episode start
    source: str  # where the diagnostic set and age rules come from


@dataclass(frozen=True, slots=True)
class Reference:
    ethnicity: dict[str, tuple[str, str]]  # code -> (description, ONS 2021 group)
    ethnicity_groups: dict[str, str]  # ONS 2021 group -> its name in words
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
        ethnicity_groups=dict(data["ethnicity"]["groups"]),
        sex=dict(data["sex"]["codes"]),
        gender_identity=dict(data["gender_identity"]["codes"]),
        imd_versions=tuple(data["imd"]["versions"]),
        cohorts={
            cohort: CohortRule(
                name=rule["name"],
                diagnosis_prefixes=tuple(rule["diagnosis_prefixes"]),
                optional={
                    name: OptionalSet(setting=o["setting"], prefixes=tuple(o["prefixes"]))
                    for name, o in rule.get("optional", {}).items()
                },
                month_field=rule["month_field"],
                source=" ".join(rule["source"].split()),
            )
            for cohort, rule in data["cohorts"].items()
        },
        versions={name: data[name]["version"] for name in ("ethnicity", "sex", "gender_identity")},
    )


def diagnosis_fits(cohort: str, code: str, settings: Settings) -> bool:
    """Whether an ICD-10 code belongs to the cohort's diagnostic set under these settings.

    A code in an optional set is decided by that set's setting alone, so an optional set
    can also carve an exclusion out of the base set (F33.4 out of F33).
    """
    rule = reference().cohorts[cohort]
    for optional in rule.optional.values():
        if code.startswith(optional.prefixes):
            return bool(getattr(settings, optional.setting))
    return code.startswith(rule.diagnosis_prefixes)
