"""The one definition of the census age bands, as the views, extracts and reports use it."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from registry.participants.age_bands import BANDS, band_by_census_label, band_for_age
from registry.participants.queries import age_band_on
from registry.reports.references import AGE_BANDS


def test_bands_run_on_from_birth_without_gaps() -> None:
    assert BANDS[0].low == 0
    assert BANDS[-1].high is None
    for lower, upper in itertools.pairwise(BANDS):
        assert lower.high is not None
        assert upper.low == lower.high + 1


def test_each_census_label_names_its_years() -> None:
    for band in BANDS[:-1]:
        assert band.census_label == f"{band.low}-{band.high}"
        assert band_by_census_label(band.census_label) is band
    assert BANDS[-1].census_label == f"{BANDS[-1].low}+"
    assert tuple(band.census_label for band in BANDS) == AGE_BANDS


@pytest.mark.parametrize(
    ("age", "label"),
    [(0, "under 18"), (17, "under 18"), (18, "18-24"), (24, "18-24"), (25, "25-34"),
     (74, "65-74"), (75, "75 and over"), (103, "75 and over")],
)  # fmt: skip
def test_a_participant_is_shown_in_the_band_of_their_whole_years(age: int, label: str) -> None:
    assert band_for_age(age).participant_label == label
    born = dt.date(1950, 3, 1)
    assert age_band_on(born, dt.date(1950 + age, 3, 1)) == label  # on the birthday
