"""Tests for rating-scale scoring. Pure: no app and no database.

The expected ranges and bands are written out here from the domain notes rather than read
from instruments.toml, so a slip in the data file fails a test instead of passing silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from registry.assessments.instruments import (
    INSTRUMENT_CODES,
    band_for,
    instrument,
    score_items,
    score_total,
)
from registry.errors import ValidationFailed

# code: (number of items, lowest total, highest total)
RANGES = {
    "PHQ9": (9, 0, 27),
    "GAD7": (7, 0, 21),
    "MADRS": (10, 0, 60),
    "HAMD17": (17, 0, 52),
    "QIDS_SR16": (16, 0, 27),
    "PANSS": (30, 30, 210),
    "BPRS": (18, 18, 126),
    "CGI_S": (1, 1, 7),
}

# code: [(lowest total, highest total, band)], covering each scale's whole range.
BANDS = {
    "PHQ9": [
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately severe"),
        (20, 27, "severe"),
    ],
    "GAD7": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
    "MADRS": [(0, 6, "normal"), (7, 19, "mild"), (20, 34, "moderate"), (35, 60, "severe")],
    "HAMD17": [(0, 7, "none"), (8, 16, "mild"), (17, 23, "moderate"), (24, 52, "severe")],
    "QIDS_SR16": [
        (0, 5, "none"),
        (6, 10, "mild"),
        (11, 15, "moderate"),
        (16, 20, "severe"),
        (21, 27, "very severe"),
    ],
    "PANSS": [
        (30, 57, "borderline or not ill"),
        (58, 74, "mildly ill"),
        (75, 94, "moderately ill"),
        (95, 115, "markedly ill"),
        (116, 210, "severely ill"),
    ],
    "BPRS": [
        (18, 30, "borderline or not ill"),
        (31, 40, "mildly ill"),
        (41, 52, "moderately ill"),
        (53, 126, "markedly ill"),
    ],
    "CGI_S": [
        (1, 1, "normal, not at all ill"),
        (2, 2, "borderline mentally ill"),
        (3, 3, "mildly ill"),
        (4, 4, "moderately ill"),
        (5, 5, "markedly ill"),
        (6, 6, "severely ill"),
        (7, 7, "among the most extremely ill"),
    ],
}

BAND_EDGES = [
    pytest.param(code, total, label, id=f"{code}-{total}")
    for code, bands in BANDS.items()
    for lowest, highest, label in bands
    for total in sorted({lowest, highest})
]

HAMD17_FOUR_POINT_ITEMS = {1, 2, 3, 7, 8, 9, 10, 11, 15}


def messages(error: pytest.ExceptionInfo[ValidationFailed], field: str) -> list[str]:
    assert list(error.value.fields) == [field]
    return error.value.fields[field]


def lowest_ratings(code: str) -> list[int]:
    return [item.min for item in instrument(code).items]


def highest_ratings(code: str) -> list[int]:
    return [item.max for item in instrument(code).items]


# -- the catalogue --------------------------------------------------------------------


def test_instrument_codes_are_in_registry_order() -> None:
    assert INSTRUMENT_CODES == (
        "PHQ9",
        "GAD7",
        "MADRS",
        "HAMD17",
        "QIDS_SR16",
        "PANSS",
        "BPRS",
        "CGI_S",
        "SOFAS",
        "PSP",
        "CGI_I",
        "CDSS",
        "CSSRS_SCREEN",
    )


@pytest.mark.parametrize("code", list(RANGES))
def test_instrument_known_code_has_items_range_version_and_source(code: str) -> None:
    count, lowest, highest = RANGES[code]

    scale = instrument(code)

    assert (scale.code, len(scale.items), scale.total_min, scale.total_max) == (
        code,
        count,
        lowest,
        highest,
    )
    assert scale.version
    assert scale.source


@pytest.mark.parametrize("code", ["phq9", "PHQ-9", "", "<script>alert(1)</script>", None, []])
def test_instrument_unknown_code_lists_the_choices_without_echoing(code: object) -> None:
    with pytest.raises(ValidationFailed) as error:
        instrument(code)  # type: ignore[arg-type]

    assert messages(error, "instrument") == [
        "Choose one of PHQ9, GAD7, MADRS, HAMD17, QIDS_SR16, PANSS, BPRS, CGI_S, SOFAS, PSP, "
        "CGI_I, CDSS, CSSRS_SCREEN."
    ]


@pytest.mark.parametrize(("code", "total"), [("PANSS", 58), ("PANSS", 116), ("BPRS", 31)])
def test_instrument_approximate_thresholds_are_marked_to_confirm(code: str, total: int) -> None:
    band = next(band for band in instrument(code).bands if band.lower == total)

    assert band.confirm
    assert f"≈{total}" in band.note


@pytest.mark.parametrize("code", ["PHQ9", "GAD7", "MADRS", "HAMD17", "QIDS_SR16", "CGI_S"])
def test_instrument_published_thresholds_are_not_marked_to_confirm(code: str) -> None:
    assert not any(band.confirm for band in instrument(code).bands)


# -- totals from items ----------------------------------------------------------------


@pytest.mark.parametrize("code", list(RANGES))
def test_score_items_all_lowest_gives_lowest_total_and_band(code: str) -> None:
    _, lowest, _ = RANGES[code]

    score = score_items(instrument(code), lowest_ratings(code))

    assert (score.total, score.band) == (lowest, BANDS[code][0][2])


@pytest.mark.parametrize("code", list(RANGES))
def test_score_items_all_highest_gives_highest_total_and_band(code: str) -> None:
    _, _, highest = RANGES[code]

    score = score_items(instrument(code), highest_ratings(code))

    assert (score.total, score.band) == (highest, BANDS[code][-1][2])


def test_score_items_phq9_sums_items() -> None:
    score = score_items(instrument("PHQ9"), [1, 1, 1, 1, 1, 2, 2, 0, 0])

    assert score.total == 9
    assert score.band == "mild"
    assert score.subscales == {}


def test_score_items_panss_gives_positive_negative_and_general_subscales() -> None:
    ratings = [2] * 7 + [3] * 7 + [1] * 16

    score = score_items(instrument("PANSS"), ratings)

    assert score.subscales == {"positive": 14, "negative": 21, "general": 16}
    assert score.total == 51
    assert score.band == "borderline or not ill"


def test_score_items_panss_subscales_span_their_ranges() -> None:
    lowest = score_items(instrument("PANSS"), lowest_ratings("PANSS"))
    highest = score_items(instrument("PANSS"), highest_ratings("PANSS"))

    assert lowest.subscales == {"positive": 7, "negative": 7, "general": 16}
    assert highest.subscales == {"positive": 49, "negative": 49, "general": 112}


def test_score_items_qids_sleep_domain_counts_its_highest_item() -> None:
    ratings = [3, 0, 1, 2] + [0] * 12

    score = score_items(instrument("QIDS_SR16"), ratings)

    assert score.total == 3


def test_score_items_qids_sums_the_highest_item_of_each_domain() -> None:
    # sleep 2 (of 1,2,0,1), sad mood 1, appetite/weight 3 (of 0,3,1,2), concentration 2,
    # view of self 0, death or suicide 1, interest 2, energy 3, psychomotor 2 (of 2,1).
    ratings = [1, 2, 0, 1, 1, 0, 3, 1, 2, 2, 0, 1, 2, 3, 2, 1]

    score = score_items(instrument("QIDS_SR16"), ratings)

    assert score.total == 16
    assert score.band == "severe"


def test_score_items_hamd17_accepts_four_on_its_four_point_items() -> None:
    ratings = [4 if n in HAMD17_FOUR_POINT_ITEMS else 0 for n in range(1, 18)]

    score = score_items(instrument("HAMD17"), ratings)

    assert score.total == 36
    assert score.band == "severe"


def test_score_items_hamd17_rejects_three_on_its_two_point_items() -> None:
    ratings = [0 if n in HAMD17_FOUR_POINT_ITEMS else 3 for n in range(1, 18)]

    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("HAMD17"), ratings)

    found = messages(error, "items")
    assert [message.split(" (")[0] for message in found] == [
        f"Item {n}" for n in (4, 5, 6, 12, 13, 14, 16, 17)
    ]
    assert found[0] == "Item 4 (Insomnia: early) must be a whole number from 0 to 2."
    assert all(message.endswith("from 0 to 2.") for message in found)


# -- bad items ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "ratings", "expected"),
    [
        ("PHQ9", [0] * 8, "PHQ9 has 9 items; 8 were given."),
        ("PHQ9", [0] * 10, "PHQ9 has 9 items; 10 were given."),
        ("PHQ9", [0], "PHQ9 has 9 items; 1 was given."),
        ("PHQ9", [], "PHQ9 has 9 items; none were given."),
        ("CGI_S", [4, 4], "CGI_S has 1 item; 2 were given."),
    ],
)
def test_score_items_wrong_count_says_how_many_are_needed(
    code: str, ratings: list[int], expected: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        score_items(instrument(code), ratings)

    assert messages(error, "items") == [expected]


@pytest.mark.parametrize("ratings", ["000000000", b"000000000", {"1": 0}, 0, None])
def test_score_items_not_a_list_asks_for_a_list(ratings: object) -> None:
    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("PHQ9"), ratings)  # type: ignore[arg-type]

    assert messages(error, "items") == ["Give the PHQ9 items as a list of 9 numbers."]


def test_score_items_out_of_range_names_every_bad_item() -> None:
    ratings = [0, 0, 4, 0, 0, 0, 0, 0, -1]

    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("PHQ9"), ratings)

    assert messages(error, "items") == [
        "Item 3 (Sleep) must be a whole number from 0 to 3.",
        "Item 9 (Thoughts of self-harm) must be a whole number from 0 to 3.",
    ]


def test_score_items_panss_zero_is_below_the_lowest_rating() -> None:
    ratings = [1] * 29 + [0]

    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("PANSS"), ratings)

    assert messages(error, "items") == [
        "Item 30 (G16 Active social avoidance) must be a whole number from 1 to 7."
    ]


@pytest.mark.parametrize("bad", [True, False, 2.0, 1.5, "2", None, [2], "<b>2</b>"])
def test_score_items_non_integer_rating_is_rejected_without_echoing(bad: object) -> None:
    ratings: Sequence[object] = [0, bad, 0, 0, 0, 0, 0]

    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("GAD7"), ratings)  # type: ignore[arg-type]

    assert messages(error, "items") == [
        "Item 2 (Not able to stop or control worrying) must be a whole number from 0 to 3."
    ]


# -- totals given without items -------------------------------------------------------


@pytest.mark.parametrize(("code", "total", "label"), BAND_EDGES)
def test_band_for_every_band_boundary(code: str, total: int, label: str) -> None:
    assert band_for(instrument(code), total) == label


@pytest.mark.parametrize(("code", "total", "label"), BAND_EDGES)
def test_score_total_every_band_boundary_has_no_subscales(
    code: str, total: int, label: str
) -> None:
    score = score_total(instrument(code), total)

    assert (score.total, score.subscales, score.band) == (total, {}, label)


@pytest.mark.parametrize(
    ("code", "total", "expected"),
    [
        ("PHQ9", -1, "The PHQ9 total must be a whole number from 0 to 27."),
        ("PHQ9", 28, "The PHQ9 total must be a whole number from 0 to 27."),
        ("PANSS", 29, "The PANSS total must be a whole number from 30 to 210."),
        ("PANSS", 211, "The PANSS total must be a whole number from 30 to 210."),
        ("CGI_S", 0, "The CGI_S total must be a whole number from 1 to 7."),
    ],
)
def test_score_total_out_of_range_gives_the_range(code: str, total: int, expected: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        score_total(instrument(code), total)

    assert messages(error, "total") == [expected]


@pytest.mark.parametrize("bad", [True, 12.0, "12", None])
def test_score_total_non_integer_is_rejected_without_echoing(bad: object) -> None:
    with pytest.raises(ValidationFailed) as error:
        score_total(instrument("PHQ9"), bad)  # type: ignore[arg-type]

    assert messages(error, "total") == ["The PHQ9 total must be a whole number from 0 to 27."]


def test_band_for_out_of_range_total_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as error:
        band_for(instrument("MADRS"), 61)

    assert messages(error, "total") == ["The MADRS total must be a whole number from 0 to 60."]
