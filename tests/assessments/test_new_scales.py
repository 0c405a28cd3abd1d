"""The scales added for early-psychosis and TRD research (issue #19), and the BPRS source.

Pure: no app and no database. Expected ranges and bands are written out from the sources
cited in instruments.toml, not read from it.
"""

from __future__ import annotations

import copy
import tomllib
from importlib.resources import files
from typing import Any

import pytest

from registry.assessments.instruments import (
    _parse,
    band_for,
    instrument,
    score_items,
    score_total,
)
from registry.errors import ValidationFailed

NEW = ("SOFAS", "PSP", "CGI_I", "CDSS", "CSSRS_SCREEN")


def messages(error: pytest.ExceptionInfo[ValidationFailed], field: str) -> list[str]:
    assert list(error.value.fields) == [field]
    return error.value.fields[field]


def table(code: str) -> dict[str, Any]:
    text = files("registry.assessments").joinpath("data/instruments.toml").read_text("utf-8")
    return copy.deepcopy(tomllib.loads(text)[code])


# -- BPRS: the 18-item form is not the 1962 paper's -----------------------------------


def test_bprs_source_says_the_1962_original_had_16_items() -> None:
    source = instrument("BPRS").source

    assert "16-item" in source
    assert "Excitement" in source and "Disorientation" in source
    assert "Overall JE, Klett CJ" in source


def test_bprs_corrected_source_is_a_new_version() -> None:
    assert instrument("BPRS").version != "2026-11"


# -- what every new scale carries --------------------------------------------------------


@pytest.mark.parametrize("code", NEW)
def test_new_scale_has_source_licence_and_version(code: str) -> None:
    scale = instrument(code)

    assert scale.source and scale.licence and scale.version == "2026-12"


@pytest.mark.parametrize(
    ("code", "storable"),
    [("SOFAS", True), ("PSP", False), ("CGI_I", True), ("CDSS", True), ("CSSRS_SCREEN", True)],
)
def test_new_scale_says_whether_its_licence_lets_items_be_stored(code: str, storable: bool) -> None:
    assert instrument(code).items_storable is storable


# -- SOFAS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "band"),
    [
        (1, "persistent inability to maintain minimal personal hygiene"),
        (10, "persistent inability to maintain minimal personal hygiene"),
        (11, "unable to function independently"),
        (50, "serious impairment"),
        (51, "moderate difficulty"),
        (70, "some difficulty"),
        (71, "no more than slight impairment"),
        (91, "superior functioning"),
        (100, "superior functioning"),
    ],
)
def test_sofas_single_rating_is_the_total_banded_by_its_ten_point_range(
    rating: int, band: str
) -> None:
    score = score_items(instrument("SOFAS"), [rating])

    assert (score.total, score.band) == (rating, band)


@pytest.mark.parametrize("rating", [0, 101])
def test_sofas_rating_outside_1_to_100_is_refused(rating: int) -> None:
    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("SOFAS"), [rating])

    assert messages(error, "items") == [
        "Item 1 (Social and occupational functioning) must be a whole number from 1 to 100."
    ]


def test_sofas_bands_are_flagged_as_shortened_wording() -> None:
    assert all(band.confirm for band in instrument("SOFAS").bands)


# -- PSP: licensed, total only -----------------------------------------------------------


def test_psp_items_are_refused_because_the_licence_allows_the_total_only() -> None:
    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("PSP"), [2, 2, 3, 1])

    assert messages(error, "items") == [
        "The PSP licence does not allow its item scores to be stored: give the total only."
    ]


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (1, "poor functioning, needs intensive support or supervision"),
        (30, "poor functioning, needs intensive support or supervision"),
        (31, "variable disability"),
        (70, "variable disability"),
        (71, "mild difficulties at most"),
        (100, "mild difficulties at most"),
    ],
)
def test_psp_total_is_banded_as_the_authors_group_it(total: int, band: str) -> None:
    assert score_total(instrument("PSP"), total).band == band


@pytest.mark.parametrize("total", [0, 101])
def test_psp_total_outside_1_to_100_is_refused(total: int) -> None:
    with pytest.raises(ValidationFailed) as error:
        score_total(instrument("PSP"), total)

    assert messages(error, "total") == ["The PSP total must be a whole number from 1 to 100."]


# -- CGI-I ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "band"),
    [(1, "very much improved"), (4, "no change"), (7, "very much worse")],
)
def test_cgi_i_rating_is_its_improvement_in_words(rating: int, band: str) -> None:
    assert score_items(instrument("CGI_I"), [rating]).band == band


def test_cgi_i_answers_name_every_rating_in_words() -> None:
    (item,) = instrument("CGI_I").items

    assert item.answers[0] == "very much improved"
    assert item.answers[-1] == "very much worse"
    assert len(item.answers) == 7


@pytest.mark.parametrize("rating", [0, 8])
def test_cgi_i_rating_outside_1_to_7_is_refused(rating: int) -> None:
    with pytest.raises(ValidationFailed):
        score_items(instrument("CGI_I"), [rating])


# -- CDSS ----------------------------------------------------------------------------------


def test_cdss_total_of_6_is_below_the_depression_threshold() -> None:
    score = score_items(instrument("CDSS"), [1, 1, 1, 1, 1, 1, 0, 0, 0])

    assert (score.total, score.band) == (6, "below the threshold for a depressive episode")


def test_cdss_total_of_7_suggests_a_depressive_episode() -> None:
    score = score_items(instrument("CDSS"), [1, 1, 1, 1, 1, 1, 1, 0, 0])

    assert (score.total, score.band) == (7, "a depressive episode is likely")


def test_cdss_all_highest_is_27() -> None:
    assert score_items(instrument("CDSS"), [3] * 9).total == 27


def test_cdss_rating_of_4_is_refused_by_item() -> None:
    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("CDSS"), [0, 0, 0, 0, 0, 0, 0, 4, 0])

    assert messages(error, "items") == ["Item 8 (Suicide) must be a whole number from 0 to 3."]


# -- C-SSRS screener: a risk level from the items answered yes ------------------------------

NO = [0] * 7


def answered_yes(*questions: int) -> list[int]:
    return [1 if number in questions else 0 for number in range(1, 8)]


@pytest.mark.parametrize(
    ("yes_to", "total", "band"),
    [
        ((), 0, "no risk identified"),
        ((1,), 1, "low risk"),
        ((1, 2), 1, "low risk"),
        ((1, 2, 3), 2, "moderate risk"),
        ((6,), 2, "moderate risk"),
        ((1, 2, 4), 3, "high risk"),
        ((5,), 3, "high risk"),
        ((6, 7), 3, "high risk"),
        ((1, 2, 3, 4, 5, 6, 7), 3, "high risk"),
    ],
)
def test_cssrs_screen_band_is_the_highest_risk_answered_yes(
    yes_to: tuple[int, ...], total: int, band: str
) -> None:
    score = score_items(instrument("CSSRS_SCREEN"), answered_yes(*yes_to))

    assert (score.total, score.band) == (total, band)


def test_cssrs_screen_answer_other_than_yes_or_no_is_refused() -> None:
    with pytest.raises(ValidationFailed) as error:
        score_items(instrument("CSSRS_SCREEN"), [2, 0, 0, 0, 0, 0, 0])

    assert messages(error, "items") == [
        "Item 1 (Wished to be dead (past month)) must be a whole number from 0 to 1."
    ]


def test_cssrs_screen_recorded_as_a_risk_level_alone_is_banded() -> None:
    assert score_total(instrument("CSSRS_SCREEN"), 3).band == "high risk"


def test_cssrs_screen_risk_level_above_high_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        band_for(instrument("CSSRS_SCREEN"), 4)


def test_cssrs_screen_items_are_answered_in_words() -> None:
    assert all(item.answers == ("no", "yes") for item in instrument("CSSRS_SCREEN").items)


# -- the data file's cross-checks for the new kinds -------------------------------------


def test_facts_check_refuses_a_risk_level_that_is_no_band() -> None:
    broken = table("CSSRS_SCREEN")
    broken["risk_levels"]["3"] = 5

    with pytest.raises(ValueError, match="each risk level must be a band's lower bound"):
        _parse("CSSRS_SCREEN", broken)


def test_facts_check_refuses_an_item_without_a_risk_level() -> None:
    broken = table("CSSRS_SCREEN")
    del broken["risk_levels"]["7"]

    with pytest.raises(ValueError, match="every item exactly one level"):
        _parse("CSSRS_SCREEN", broken)


def test_facts_check_refuses_risk_items_that_are_not_yes_no() -> None:
    broken = table("CSSRS_SCREEN")
    broken["items"][0] = {"label": "Wish", "min": 0, "max": 2}

    with pytest.raises(ValueError, match="must be yes/no"):
        _parse("CSSRS_SCREEN", broken)


def test_facts_check_refuses_a_total_only_scale_that_would_store_items() -> None:
    broken = table("PSP")
    broken["items_storable"] = True

    with pytest.raises(ValueError, match="must set items_storable = false"):
        _parse("PSP", broken)


def test_facts_check_refuses_answers_that_do_not_cover_every_rating() -> None:
    broken = table("CGI_I")
    broken["items"][0]["answers"] = broken["items"][0]["answers"][:6]

    with pytest.raises(ValueError, match="item 1 needs one answer per rating"):
        _parse("CGI_I", broken)
