"""Need-based comparators (EP defaults to one), caseloads loaded as counts, deprivation
editions kept apart, and each attribute's own source."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from registry.reports.references import ReferenceProblem, parse_shares, shipped_references
from tests.conftest import ApiUser, enrol

pytestmark = pytest.mark.usefixtures("consent_forms")

EP_REPORT = "/api/v1/cohorts/EP/representativeness"
TRD_REPORT = "/api/v1/cohorts/TRD/representativeness"


def attribute(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in report["attributes"] if a["name"] == name)


def group(report: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    return next(g for g in attribute(report, name)["groups"] if g["group"] == value)


def ratios(file: str, name: str) -> dict[str, float]:
    data = resources.files("registry.reports").joinpath("data", file).read_text()
    return {w["group"]: w["ratio"] for w in tomllib.loads(data)["weight"] if w["attribute"] == name}


def test_need_based_shares_are_census_shares_weighted_by_the_published_ratios() -> None:
    census = shipped_references()["census-2021-birmingham"].shares["ethnicity_group"]
    rr = ratios("need-ep-psychosis-incidence.toml", "ethnicity_group")
    need = shipped_references()["need-ep-birmingham"]
    total = sum(census[g] * rr[g] for g in census)
    for g in census:
        assert need.shares["ethnicity_group"][g] == pytest.approx(100 * census[g] * rr[g] / total)
    # Black residents are 10.9% of Birmingham but a far larger share of those who need EIP.
    assert need.shares["ethnicity_group"]["black"] > 2.5 * census["black"]
    assert need.kind == "need-based" and need.cohorts == ("EP",)
    assert "independent" in (need.method or "")
    # Figures resting on a ratio still to confirm are marked.
    assert ("ethnicity_group", "black") in need.to_confirm
    # No deprivation ratios for EP: the need-based reference says nothing about IMD.
    assert "imd_decile_iod2019" not in need.shares


def test_the_ep_report_defaults_to_the_need_based_comparator_with_the_census_beside_it(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    clinician = api_user(Role.CLINICIAN)
    # 8 White British, 2 Black Caribbean, 22 years old: 2 of 10 Black (20%).
    for ethnicity, n in (("A", 8), ("M", 2)):
        for _ in range(n):
            enrol(client, clinician, cohort="EP", ethnicity=ethnicity)

    report = client.get(EP_REPORT, headers=api_user(Role.RESEARCHER).headers).get_json()

    assert report["reference"]["id"] == "need-ep-birmingham"
    assert report["reference"]["kind"] == "need-based"
    assert report["second_reference"]["id"] == "census-2021-birmingham"
    black = group(report, "ethnicity_group", "black")
    need_share = shipped_references()["need-ep-birmingham"].shares["ethnicity_group"]["black"]
    assert black["reference_share"] == pytest.approx(need_share / 100)
    assert black["second"]["reference_share"] == pytest.approx(0.109)
    # 20% is above Birmingham's 10.9% but below the need-based share: the two comparators
    # tell different stories, and the report shows both with their intervals.
    assert black["ratio"] < 1 < black["second"]["ratio"]
    assert black["ratio_ci"] and black["second"]["ratio_ci"]
    ethnic = attribute(report, "ethnicity_group")
    assert "Halvorsrud" in ethnic["reference_source"]
    assert "TS021" in ethnic["second_reference_source"]
    # Sex: the Birmingham figure is the mid-2021 estimate, labelled as such.
    assert "mid-2021" in attribute(report, "sex")["second_reference_source"]
    assert "Census" not in report["second_reference"]["name"]

    chosen = client.get(
        f"{EP_REPORT}?reference=census-2021-birmingham", headers=api_user(Role.RESEARCHER).headers
    ).get_json()
    assert chosen["reference"]["id"] == "census-2021-birmingham"
    assert chosen["second_reference"]["id"] == "need-ep-birmingham"
    assert group(chosen, "ethnicity_group", "black")["ratio"] == pytest.approx(
        black["second"]["ratio"]
    )


def test_the_datasheet_says_which_comparator_is_which_and_cites_each_source(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    text = client.get(
        "/api/v1/cohorts/EP/datasheet?format=md", headers=api_user(Role.ADMIN).headers
    ).get_data(as_text=True)

    assert "**The comparator:** Birmingham, need-based for first-episode psychosis" in text
    assert "**Beside it:** Birmingham residents, 2021" in text
    assert "several-fold" in text and "independent" in text
    for citation in ("PLoS One 2012", "Psychol Med 2006", "SEPEA", "Oduola", "Halvorsrud"):
        assert citation in text, citation
    assert "STANDING Together's threshold" not in text
    assert "convention" in text


# -- a caseload, loaded as counts ----------------------------------------------------------

# MHSDS-style: people in contact with EIP services in Birmingham and Solihull ICB, by
# ethnic group and sex only (illustrative counts).
CASELOAD_CSV = """attribute,group,count,confirm
ethnicity_group,white,620,no
ethnicity_group,asian,410,no
ethnicity_group,black,330,no
ethnicity_group,mixed,90,no
ethnicity_group,other,50,yes
sex,female,560,no
sex,male,940,no
"""


def test_a_caseload_csv_of_counts_gives_shares_and_may_leave_attributes_out() -> None:
    shares, to_confirm = parse_shares(CASELOAD_CSV)
    assert shares["ethnicity_group"]["black"] == pytest.approx(100 * 330 / 1500)
    assert shares["sex"]["male"] == pytest.approx(100 * 940 / 1500)
    assert set(shares) == {"ethnicity_group", "sex"}
    assert to_confirm == {("ethnicity_group", "other")}
    with pytest.raises(ReferenceProblem, match="count must be a whole number"):
        parse_shares(CASELOAD_CSV.replace("620", "6.5"))
    with pytest.raises(ReferenceProblem, match="no count for other"):
        parse_shares(CASELOAD_CSV.replace("ethnicity_group,other,50,yes\n", ""))


def test_the_old_share_format_with_imd_quintile_is_still_accepted_as_iod2019() -> None:
    text = "attribute,group,share_percent,confirm\n" + "".join(
        f"imd_quintile,{q},20.0,no\n" for q in range(1, 6)
    )
    shares, _ = parse_shares(text)
    assert shares == {"imd_quintile_iod2019": {str(q): 20.0 for q in range(1, 6)}}


def test_an_admin_loads_an_eip_caseload_for_ep_and_reports_compare_with_it(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    admin = api_user(Role.ADMIN)
    body = {
        "reference_id": "eip-caseload-bsol",
        "name": "EIP caseload, Birmingham and Solihull ICB",
        "geography": "Birmingham and Solihull ICB",
        "geography_code": "E54000055",
        "year": 2025,
        "source": "NHS England, Mental Health Services Data Set: people in contact with EIP.",
        "shares_csv": CASELOAD_CSV,
        "kind": "caseload",
        "cohort": "EP",
    }
    wrong = client.post(
        "/api/v1/reference-populations", json={**body, "kind": "guess"}, headers=admin.headers
    )
    assert wrong.status_code == 422 and "kind" in wrong.get_json()["error"]["fields"]

    made = client.post("/api/v1/reference-populations", json=body, headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["kind"] == "caseload" and made.get_json()["cohorts"] == ["EP"]

    report = client.get(
        f"{EP_REPORT}?reference=eip-caseload-bsol", headers=admin.headers
    ).get_json()
    assert report["reference"]["kind"] == "caseload"
    assert report["second_reference"]["id"] == "need-ep-birmingham"
    assert group(report, "sex", "male")["reference_share"] == pytest.approx(940 / 1500)
    assert attribute(report, "age_band")["has_reference"] is False  # not in the caseload
    assert attribute(report, "age_band")["has_second_reference"] is True


# -- deprivation editions ------------------------------------------------------------------


def test_iod2019_and_iod2025_deciles_are_never_pooled(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    clinician = api_user(Role.CLINICIAN)
    for _ in range(3):
        enrol(client, clinician, imd_decile=1, imd_version="IoD2019")
    enrol(client, clinician, imd_decile=1, imd_version="IoD2025")
    enrol(client, clinician, imd_decile=None, imd_version=None)

    report = client.get(
        f"{TRD_REPORT}?reference=census-2021-birmingham", headers=api_user(Role.ADMIN).headers
    ).get_json()

    old, new = attribute(report, "imd_decile_iod2019"), attribute(report, "imd_decile_iod2025")
    assert group(report, "imd_decile_iod2019", "1")["counts"]["enrolled"] == 3
    assert group(report, "imd_decile_iod2025", "1")["counts"]["enrolled"] == 1
    # The person with no decile is not known in both; nobody is counted in both.
    assert (old["total"], old["known"]) == (4, 3)
    assert (new["total"], new["known"]) == (2, 1)
    assert old["label"] == "IMD decile (IoD2019, 1 most deprived)"
    # Birmingham: about 43% of residents in England's most deprived decile (IoD2019) ...
    assert group(report, "imd_decile_iod2019", "1")["reference_share"] == pytest.approx(0.43)
    # ... and no IoD2025 figures, so no IoD2025 comparison at all.
    assert new["has_reference"] is False
    assert group(report, "imd_quintile_iod2025", "1")["ratio"] is None


def test_the_trd_datasheet_cites_every_clinical_definition_it_rests_on(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    headers = api_user(Role.ADMIN).headers
    text = client.get("/api/v1/cohorts/TRD/datasheet?format=md", headers=headers).get_data(
        as_text=True
    )
    sheet = client.get("/api/v1/cohorts/TRD/datasheet", headers=headers).get_json()

    names = [d["name"] for d in sheet["definitions"]]
    assert {"Diagnostic set", "Failed adequate treatments", "Maudsley Staging Method"} <= set(names)
    assert "in remission (F33.4): excluded" in text
    for citation in ("Sforzini", "Fekadu", "Overall", "Posner", "Morosini", "Frank"):
        assert citation in text, citation
    assert "eu-pearl-2022@" in text


def test_the_ep_datasheet_names_its_protocol_choices_as_configured(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    text = client.get(
        "/api/v1/cohorts/EP/datasheet?format=md", headers=api_user(Role.ADMIN).headers
    ).get_data(as_text=True)

    assert "affective psychoses (F30.2, F31.2, F31.5, F32.3, F33.3): included" in text
    assert "substance induced psychosis (F10.5" in text and "F19.5): excluded" in text
    assert "Failed adequate treatments" not in text
