"""The age bands participants are counted in: the census's (ONS mid-year estimates), so a
cohort compares with the population.

Each band has two labels because both are already published and read by others. The
census label is the ONS tables' own, used by the reference-population CSVs (shipped, and
loaded by admins) and the representativeness report. The participant label is what the
API's participant views and the research extracts have always given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgeBand:
    low: int  # the youngest age in the band, in whole years
    high: int | None  # the oldest, or None for the open top band
    census_label: str
    participant_label: str


BANDS = (
    AgeBand(0, 17, "0-17", "under 18"),
    AgeBand(18, 24, "18-24", "18-24"),
    AgeBand(25, 34, "25-34", "25-34"),
    AgeBand(35, 44, "35-44", "35-44"),
    AgeBand(45, 54, "45-54", "45-54"),
    AgeBand(55, 64, "55-64", "55-64"),
    AgeBand(65, 74, "65-74", "65-74"),
    AgeBand(75, None, "75+", "75 and over"),
)
_BY_CENSUS_LABEL = {band.census_label: band for band in BANDS}


def band_for_age(age: int) -> AgeBand:
    """The band of someone ``age`` whole years old; any age below the first band's is in it."""
    return next((band for band in reversed(BANDS) if age >= band.low), BANDS[0])


def band_by_census_label(label: str) -> AgeBand:
    return _BY_CENSUS_LABEL[label]
