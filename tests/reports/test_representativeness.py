"""The representativeness report against hand-computed figures, on a small fixed cohort."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from registry.config import ConfigurationError, Settings
from registry.reports.references import ReferenceProblem, parse_shares, shipped_references
from registry.reports.report import intended_age_shares
from registry.reports.stats import representation, wilson_interval
from tests.conftest import PASSWORD, ApiUser, enrol

pytestmark = pytest.mark.usefixtures("consent_forms")

REPORT = "/api/v1/cohorts/TRD/representativeness"


# -- the statistics, by hand ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, table I (Wilson method 3).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (10, 100, 0.0552, 0.1744),
    ],
)
def test_wilson_interval_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_a_ratio_carries_the_interval() -> None:
    # 2 of 10 are Asian; Birmingham's Asian share is 31.0%.
    rep = representation(2, 10, 31.0)
    assert rep.share == 0.2
    assert rep.ratio == pytest.approx(0.2 / 0.31)
    low, high = wilson_interval(2, 10)
    assert (rep.ratio_low, rep.ratio_high) == pytest.approx((low / 0.31, high / 0.31))


def test_the_flag_is_judged_on_the_interval_not_the_point_ratio() -> None:
    # The worked example: 5 of 100 against 10.9% is a ratio of 0.46 whose interval
    # (0.20-1.03) includes 0.8 (and 1): uncertain, not under-represented.
    rep = representation(5, 100, 10.9)
    assert rep.ratio == pytest.approx(0.459, abs=1e-3)
    assert (rep.ratio_low, rep.ratio_high) == pytest.approx((0.198, 1.025), abs=1e-3)
    assert rep.status(0.8) == "uncertain"
    # Even the upper bound below 0.8: under-represented.
    assert representation(1, 100, 31.0).status(0.8) == "under-represented"
    # The whole interval above the threshold: nothing to say.
    assert representation(80, 100, 48.6).status(0.8) is None
    # The threshold is the caller's (a setting): at 0.3 the worked example is not flagged.
    assert representation(5, 100, 10.9).status(0.15) is None


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_the_threshold_setting_is_more_than_0_and_at_most_1(value: str) -> None:
    assert Settings.from_mapping({}).representation_threshold == 0.8
    assert Settings.from_mapping({"representation_threshold": "1"}).representation_threshold == 1
    with pytest.raises(ConfigurationError, match="representation_threshold"):
        Settings.from_mapping({"representation_threshold": value})


def test_reference_ages_are_restricted_to_the_intended_use_pro_rata() -> None:
    shares = shipped_references()["census-2021-birmingham"].shares["age_band"]
    ep = intended_age_shares(shares, 14, 65)
    # 0-17 keeps 4 of its 18 years (14-17); 65-74 keeps 1 of 10; 75+ none.
    kept = {
        "0-17": 25.1 * 4 / 18, "18-24": 11.4, "25-34": 14.6, "35-44": 13.6,
        "45-54": 12.1, "55-64": 10.1, "65-74": 7.0 / 10, "75+": 0.0,
    }  # fmt: skip
    total = sum(kept.values())
    assert ep == pytest.approx({band: 100 * share / total for band, share in kept.items()})
    assert sum(intended_age_shares(shares, 18, None).values()) == pytest.approx(100)
    assert intended_age_shares(shares, 18, None)["0-17"] == 0


# -- the report on a fixed cohort -------------------------------------------------------------


@pytest.fixture
def cohort(client: FlaskClient, api_user: Callable[..., ApiUser]) -> dict[str, list[str]]:
    """Ten TRD participants: 6 White British, 2 Indian, 1 not stated, 1 not known."""
    clinician = api_user(Role.CLINICIAN)
    made: dict[str, list[str]] = {}
    for ethnicity, n, extra in (
        ("A", 6, {"sex": "female"}),
        ("H", 2, {"sex": "male", "imd_decile": 9}),
        ("Z", 1, {"gender_identity": "Z", "imd_decile": None, "imd_version": None}),
        ("99", 1, {"gender_identity": "X", "sex": "not_stated"}),
    ):
        made[ethnicity] = [enrol(client, clinician, ethnicity=ethnicity, **extra) for _ in range(n)]
    return made


def attribute(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in report["attributes"] if a["name"] == name)


def group(report: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    return next(g for g in attribute(report, name)["groups"] if g["group"] == value)


def test_shares_ratios_and_flags_against_birmingham(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    researcher = api_user(Role.RESEARCHER)
    report = client.get(
        f"{REPORT}?reference=census-2021-birmingham", headers=researcher.headers
    ).get_json()

    assert report["reference"]["id"] == "census-2021-birmingham"
    assert report["reference"]["name"] == "Birmingham residents, 2021 (general population)"
    # Beside the general population: TRD's need-based reference.
    assert report["second_reference"]["id"] == "need-trd-birmingham"
    ethnic = attribute(report, "ethnicity_group")
    assert (ethnic["total"], ethnic["known"]) == (10, 8)
    white, asian, black = (group(report, "ethnicity_group", g) for g in ("white", "asian", "black"))
    assert white["share"] == pytest.approx(6 / 8)
    assert white["ratio"] == pytest.approx((6 / 8) / 0.486)
    assert white["ratio_ci"] == pytest.approx([b / 0.486 for b in wilson_interval(6, 8)])
    assert not white["flagged"] and white["status"] is None
    # 2 of 8 against 31.0%: a ratio of 0.806 whose interval spans 0.8.
    assert asian["ratio"] == pytest.approx((2 / 8) / 0.31) and not asian["flagged"]
    assert asian["status"] == "uncertain"
    # None of 8 is Black, but 8 people cannot show that 10.9% is missed: the interval of
    # the ratio runs to about 3, so uncertain, not flagged (the point ratio flagged it).
    assert black["counts"]["enrolled"] == 0 and black["ratio"] == 0
    assert black["status"] == "uncertain" and not black["flagged"]
    # Sex has figures in both references: each group row carries both.
    female = group(report, "sex", "female")
    assert female["reference_share"] == pytest.approx(0.51)
    assert female["second"]["reference_share"] > female["reference_share"]
    assert group(report, "ethnicity_group", "mixed")["reference_to_confirm"] is True
    # Detailed categories: no reference, counts and shares only.
    indian = group(report, "ethnicity", "H")
    assert indian["counts"]["enrolled"] == 2 and indian["ratio"] is None
    assert indian["label"] == "Asian or Asian British - Indian"


def test_missingness_keeps_not_stated_and_not_known_apart(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    report = client.get(REPORT, headers=api_user(Role.ADMIN).headers).get_json()

    for name, stated, known in (
        ("ethnicity_group", 1, 1),
        ("ethnicity", 1, 1),
        ("gender_identity", 1, 1),
        ("sex", 1, 0),
        ("imd_quintile_iod2019", 0, 1),
    ):
        missing = attribute(report, name)["missing"]
        assert (missing["not_stated"]["count"], missing["not_known"]["count"]) == (stated, known), (
            name
        )
    imd = attribute(report, "imd_quintile_iod2019")
    assert group(report, "imd_quintile_iod2019", "1")["counts"]["enrolled"] == 7  # decile 2
    assert group(report, "imd_quintile_iod2019", "5")["counts"]["enrolled"] == 2  # decile 9
    assert imd["has_reference"] is True  # Birmingham's IoD2019 distribution, need-weighted
    assert group(report, "imd_decile_iod2019", "2")["counts"]["enrolled"] == 7


def test_attrition_follows_people_through_the_stages(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    admin = api_user(Role.ADMIN)
    for participant_id, level in ((cohort["H"][0], "no_further_contact"), (cohort["A"][0], "full")):
        response = client.post(
            f"/api/v1/participants/{participant_id}/withdrawal",
            json={"level": level, "password": PASSWORD},
            headers=admin.headers,
        )
        assert response.status_code == 201

    report = client.get(REPORT, headers=admin.headers).get_json()

    asian = group(report, "ethnicity_group", "asian")["counts"]
    assert asian["enrolled"] == 2
    assert asian["contactable"] == 1
    assert asian["withdrawn_no_further_contact"] == 1
    assert group(report, "ethnicity_group", "white")["counts"]["enrolled"] == 5
    assert report["withdrawn_fully"] == 1


def test_the_report_as_csv_has_a_row_per_group_and_missing_kind(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    response = client.get(
        f"{REPORT}?format=csv&reference=census-2021-birmingham",
        headers=api_user(Role.RESEARCHER).headers,
    )

    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    asian = next(r for r in rows if r["attribute"] == "ethnicity_group" and r["group"] == "asian")
    assert asian["enrolled"] == "2" and asian["flagged"] == "False"
    assert asian["status"] == "uncertain"
    assert float(asian["ratio"]) == pytest.approx((2 / 8) / 0.31, abs=1e-4)
    # The second comparator's columns: TRD's need-based reference has figures for sex.
    male = next(r for r in rows if r["attribute"] == "sex" and r["group"] == "male")
    assert male["second_reference"] == "need-trd-birmingham"
    assert float(male["second_reference_share"]) < float(male["reference_share"])
    assert male["second_ratio"] and male["second_ratio_ci_low"] and male["second_ratio_ci_high"]
    not_known = next(
        r for r in rows if r["attribute"] == "ethnicity_group" and r["group"] == "not_known"
    )
    assert not_known["enrolled"] == "1"


def test_england_and_wales_and_unknown_references(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    researcher = api_user(Role.RESEARCHER)
    report = client.get(
        f"{REPORT}?reference=census-2021-england-wales", headers=researcher.headers
    ).get_json()
    assert group(report, "ethnicity_group", "white")["reference_share"] == pytest.approx(0.817)
    # The IoD covers England only: England and Wales has no deprivation figures ...
    assert attribute(report, "imd_quintile_iod2019")["has_reference"] is False
    assert attribute(report, "age_band")["has_reference"] is False
    # ... England has them, each national decile about a tenth of residents.
    england = client.get(
        f"{REPORT}?reference=iod2019-england", headers=researcher.headers
    ).get_json()
    assert england["reference"]["name"] == "England, Indices of Deprivation 2019"
    assert group(england, "imd_quintile_iod2019", "1")["reference_share"] == pytest.approx(0.2)
    assert group(england, "imd_decile_iod2019", "1")["reference_share"] == pytest.approx(0.1)
    missing = client.get(f"{REPORT}?reference=nowhere", headers=researcher.headers)
    assert missing.status_code == 404
    assert (
        client.get("/api/v1/cohorts/XYZ/representativeness", headers=researcher.headers).status_code
        == 404
    )


# -- loading a reference ----------------------------------------------------------------------

GOOD_CSV = """attribute,group,share_percent,confirm
ethnicity_group,white,60.0,no
ethnicity_group,asian,25.0,no
ethnicity_group,black,8.0,no
ethnicity_group,mixed,4.0,yes
ethnicity_group,other,3.0,
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("group,attribute\n", "first line"),
        (GOOD_CSV.replace("60.0", "59.0"), "sum to 99.0"),
        (GOOD_CSV.replace("white,", "beige,"), "line 2: unknown ethnicity_group group"),
        (
            GOOD_CSV.replace("other,3.0,", "asian,3.0,"),
            "line 6: ethnicity_group asian is given twice",
        ),
        (GOOD_CSV.replace("60.0", "sixty"), "line 2: share_percent must be a number"),
        (GOOD_CSV.replace("60.0", "nan"), "line 2: share_percent must be a number"),
        (GOOD_CSV + "age,18-24,1,no\n", "line 7: unknown attribute"),
        (GOOD_CSV.replace(",yes", ",maybe"), "line 5: confirm must be"),
        (GOOD_CSV.replace("ethnicity_group,other,3.0,\n", ""), "no share for other"),
        # Found by the fuzzer: a bare carriage return inside a field was a 500.
        (GOOD_CSV + "sex,female\r)x,1,no\n", "not valid CSV"),
    ],
)
def test_a_bad_reference_csv_is_refused_with_its_line(text: str, problem: str) -> None:
    with pytest.raises(ReferenceProblem) as caught:
        parse_shares(text)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_an_admin_loads_a_reference_and_reports_use_it(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    admin = api_user(Role.ADMIN)
    body = {
        "reference_id": "icb-2021-bsol",
        "name": "Birmingham and Solihull ICB, Census 2021",
        "geography": "Birmingham and Solihull ICB",
        "geography_code": "E54000055",
        "year": 2021,
        "source": "ONS Census 2021 TS021, aggregated to the ICB.",
        "shares_csv": GOOD_CSV,
    }
    bad = client.post(
        "/api/v1/reference-populations",
        json={**body, "shares_csv": GOOD_CSV.replace("60.0", "50.0")},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert "sum to 90.0" in bad.get_json()["error"]["fields"]["shares_csv"][0]

    made = client.post("/api/v1/reference-populations", json=body, headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    again = client.post("/api/v1/reference-populations", json=body, headers=admin.headers)
    assert again.get_json()["name"].endswith("(version 2)")

    report = client.get(f"{REPORT}?reference=icb-2021-bsol", headers=admin.headers).get_json()
    assert group(report, "ethnicity_group", "white")["reference_share"] == pytest.approx(0.6)
    assert report["reference"]["loaded"] is True
    ids = [
        r["id"]
        for r in client.get("/api/v1/reference-populations", headers=admin.headers).get_json()[
            "items"
        ]
    ]
    assert ids == [
        "census-2021-birmingham",
        "census-2021-england-wales",
        "iod2019-england",
        "need-ep-birmingham",
        "need-trd-birmingham",
        "icb-2021-bsol",
    ]
    shipped = client.post(
        "/api/v1/reference-populations",
        json={**body, "reference_id": "census-2021-birmingham"},
        headers=admin.headers,
    )
    assert shipped.status_code == 422


# -- the datasheet ----------------------------------------------------------------------------

DATASHEET_HEADINGS = (
    "# Datasheet:",
    "## Identity and access",
    "## Motivation",
    "### Intended uses",
    "### Uses to avoid",
    "## Curators' assumptions",
    "## Composition",
    "### Key intersections",
    "## How each attribute was obtained",
    "## Groups at risk of disparate outcomes",
    "## Missingness",
    "## Collection and selection",
    "## Follow-up and retention",
    "### Follow-up schedule",
    "### Retention at follow-up visits",
    "### Groups retained worse than the cohort",
    "## Definitions and their sources",
    "## Comparison with the intended-use population",
    "### Attrition",
    "## Limitations",
    "## Governance",
)


def test_the_datasheet_has_every_section_and_keeps_written_versions(
    client: FlaskClient, api_user: Callable[..., ApiUser], cohort: dict[str, list[str]]
) -> None:
    admin = api_user(Role.ADMIN)
    url = "/api/v1/cohorts/TRD/datasheet"
    for text in (
        "Adults with depression that has not responded to two treatments.",
        "Adults with treatment-resistant depression in Birmingham.",
    ):
        response = client.put(f"{url}/sections/summary", json={"text": text}, headers=admin.headers)
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2

    markdown = client.get(f"{url}?format=md", headers=admin.headers)
    assert markdown.mimetype == "text/markdown"
    text = markdown.get_data(as_text=True)
    positions = [text.index(heading) for heading in DATASHEET_HEADINGS]
    assert positions == sorted(positions)
    assert "Adults with treatment-resistant depression in Birmingham." in text
    assert "_Version 2" in text
    assert "not responded to two" not in text  # the old version is kept, not shown
    assert "| Asian | 2 | 25.0% (7.1%\N{EN DASH}59.1%) |" in text  # 2 of 8 known
    assert "under-represented" in text

    sheet = client.get(url, headers=admin.headers).get_json()
    assert sheet["identity"]["version"].endswith(".2")
    # 8 people with a known ethnic group cannot show any group is missed: none is flagged,
    # though the point ratio of each absent group is 0.
    assert sheet["flagged"] == []
    assert "uncertain" in text
    unknown = client.put(f"{url}/sections/gossip", json={"text": "x"}, headers=admin.headers)
    assert unknown.status_code == 422
