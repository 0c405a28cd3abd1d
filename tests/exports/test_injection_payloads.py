"""SQL, HTML and spreadsheet-formula payloads at every place a user's text comes in (#10):
criteria values, saved-query names, searches, CSV import cells, and the extracts that go
out. Each is refused with a field message or stored exactly, never a 500; what a page
shows is escaped; what a CSV holds never runs as a formula in a spreadsheet.

One payload table is used throughout.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select, update

from registry.assessments.models import TreatmentTrial
from registry.audit.actions import Actor
from registry.auth.models import Site
from registry.consents.actions import add_consent_form
from registry.csv_cells import FORMULA_STARTS, defuse, defused, runs_as_formula
from registry.db import session
from registry.eligibility.catalogue import catalogue
from registry.exports.catalogue import BOOLEAN, DATE, INTEGER, TEXT, ExportColumn
from registry.exports.extract import CsvTable
from registry.participants.identity import find_by_nhs_number, unseal_identity
from registry.participants.models import Participant
from registry.reports.datasheet import report_csv
from tests.conftest import ApiUser, csrf_token_from, enrol, enrolment_body
from tests.exports.conftest import World
from tests.participants.test_import import csv_row, invoke, reported_columns, write_csv
from tests.participants.test_web import page_of

SQL, HTML, FORMULA = "sql", "html", "formula"


@dataclasses.dataclass(frozen=True)
class Payload:
    kind: str
    text: str

    @property
    def in_csv(self) -> str:
        """The cell a CSV file must hold: formulas behind an apostrophe, the rest verbatim."""
        return "'" + self.text if self.kind == FORMULA else self.text

    @property
    def in_html(self) -> str:
        return str(escape(self.text))


PAYLOADS = {
    "sql-drop": Payload(SQL, "'; DROP TABLE participant; --"),
    "sql-or": Payload(SQL, "1' OR '1'='1"),
    "html-script": Payload(HTML, "<script>alert(1)</script>"),
    "html-attribute": Payload(HTML, '"><img src=x onerror=alert(1)>'),
    "formula-cmd": Payload(FORMULA, "=cmd|' /C calc'!A0"),
    "formula-hyperlink": Payload(FORMULA, '=HYPERLINK("http://example.invalid","x")'),
    "formula-plus": Payload(FORMULA, "+SUM(1+1)"),
    "formula-minus": Payload(FORMULA, "-2+3"),
    "formula-at": Payload(FORMULA, "@SUM(1)"),
}
# Formulas in disguise, for the CSV rule and the files it writes (entry points trim or
# refuse white space and control characters before anything is stored): spreadsheets skip
# leading white space, and some read the full-width signs as formulas too.
FORMULA_VARIANTS = {
    "formula-after-spaces": Payload(FORMULA, '  =HYPERLINK("http://example.invalid","x")'),
    "formula-after-line-feed": Payload(FORMULA, "\n=cmd|' /C calc'!A0"),
    "formula-after-space-and-tab": Payload(FORMULA, " \t+SUM(1+1)"),
    "formula-full-width-equals": Payload(FORMULA, "\uff1dcmd|' /C calc'!A0"),
    "formula-full-width-plus": Payload(FORMULA, "\uff0bSUM(1+1)"),
    "formula-full-width-minus": Payload(FORMULA, "\uff0d2+3"),
    "formula-full-width-at": Payload(FORMULA, "\uff20SUM(1)"),
    "formula-ideographic-space-then-equals": Payload(FORMULA, "\u3000=1+1"),
}
EACH = [pytest.param(payload, id=name) for name, payload in PAYLOADS.items()]
CELLS = {**PAYLOADS, **FORMULA_VARIANTS}
EACH_CELL = [pytest.param(payload, id=name) for name, payload in CELLS.items()]

COUNT = "/api/v1/eligibility/count"
SAVED = "/api/v1/eligibility/saved-queries"
PARTICIPANTS = "/api/v1/participants"


def participants_in_database(app: Flask) -> int:
    with app.app_context():
        return session().scalar(select(func.count()).select_from(Participant)) or 0


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", EACH_CELL)
def test_the_rule_puts_an_apostrophe_before_formulas_only(payload: Payload) -> None:
    assert defuse(payload.text) == payload.in_csv


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_defused(start: str) -> None:
    assert defuse(f"{start}1+1") == f"'{start}1+1"
    assert defuse(f"a{start}1") == f"a{start}1"  # only at the start


def test_the_rule_leaves_values_that_are_not_text_alone() -> None:
    values = [-2, -0.5, 0, dt.date(2025, 7, 1), True, False, None, "", "sertraline", "16-24"]
    values += ["  sertraline", "a =b", " 16-24", "   "]

    assert defused(values) == values


def test_representativeness_csv_uses_the_rule_on_text_cells_only() -> None:
    payloads = list(CELLS.values())
    report = {
        "cohort": "TRD",
        "reference": {"id": "+ref"},
        "retention": {"visits": []},
        "attributes": [
            {
                "name": "sex",
                "groups": [
                    {
                        "group": payload.text,
                        "label": payload.text,
                        "counts": {"eligible": -1, "enrolled": 2},
                        "share": -0.25,
                        "share_ci": [-0.5, 0.1],
                        "reference_share": 0.5,
                        "reference_to_confirm": False,
                        "ratio": None,
                        "ratio_ci": None,
                        "flagged": True,
                    }
                    for payload in payloads
                ],
                "missing": {
                    "=not_stated": {
                        "by_stage": {"eligible": 3, "enrolled": 0},
                        "share": 0.5,
                        "share_ci": [0.1, 0.9],
                    }
                },
            }
        ],
    }

    rows = csv_cells(report_csv(report))

    by_group = rows[1 : 1 + len(payloads)]
    assert [row[:7] for row in by_group] == [
        ["TRD", "'+ref", "sex", p.in_csv, p.in_csv, "-1", "2"] for p in payloads
    ]
    assert {tuple(row[7:10]) for row in by_group} == {("-0.25", "-0.5", "0.1")}  # numbers
    assert rows[-1][:7] == ["TRD", "'+ref", "sex", "'=not_stated", "'=not stated", "3", "0"]


def test_csv_extract_table_defuses_text_cells_and_no_other(tmp_path: Path) -> None:
    columns = [
        ExportColumn("pseudonym", TEXT, "key"),
        ExportColumn("drug", TEXT, "free text"),
        ExportColumn("weeks", INTEGER, "n"),
        ExportColumn("started_on", DATE, "month"),
        ExportColumn("adequate_dose", BOOLEAN, "yes/no"),
    ]
    table = CsvTable(tmp_path / "t.csv", columns)
    table.write(
        [("S-1", payload.text, -2, "2025-07", True) for payload in CELLS.values()]
        + [("S-2", None, None, None, None), ("S-3", "-", -1, dt.date(2025, 7, 3), False)]
    )
    table.close()

    rows = csv_cells((tmp_path / "t.csv").read_text(encoding="utf-8"))

    assert rows[0] == ["pseudonym", "drug", "weeks", "started_on", "adequate_dose"]
    assert rows[1:] == [
        *(["S-1", payload.in_csv, "-2", "2025-07", "true"] for payload in CELLS.values()),
        ["S-2", "", "", "", ""],
        ["S-3", "'-", "-1", "2025-07-03", "false"],
    ]


# -- criteria values ---------------------------------------------------------------------------

LETTERS = "must be letters, digits (and dots in a diagnosis code) only."


def code_of(max_length: int) -> Callable[[str], str]:
    """The refusal of a typed code: too long, else not letters and digits."""
    return lambda text: (
        f"must be at most {max_length} characters." if len(text) > max_length else LETTERS
    )


def one_of(field: str) -> Callable[[str], str]:
    """The refusal of a value not in a coded field's list: its choices, in words."""
    labels = catalogue()[field].value_labels or ()
    return lambda text: f"must be one of: {'; '.join(labels)}."


# (field, op, value sent as a list?, the refusal): the catalogue's string fields a
# researcher may use, with an operator each takes.
STRING_CLAUSES = [
    pytest.param("postcode_district", "=", False, code_of(4), id="postcode_district-="),
    pytest.param("postcode_district", "startswith", False, code_of(4), id="postcode-startswith"),
    pytest.param("ethnicity", "=", False, one_of("ethnicity"), id="ethnicity-="),
    pytest.param(
        "ethnicity_group",
        "in",
        True,
        one_of("ethnicity_group"),
        id="ethnicity_group-in",
    ),
    pytest.param("site", "in", True, code_of(16), id="site-in"),
    pytest.param("diagnosis_icd10", "startswith", False, code_of(8), id="diagnosis-startswith"),
]


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize(("field", "op", "as_list", "refusal"), STRING_CLAUSES)
@pytest.mark.parametrize("payload", EACH)
def test_criteria_value_payloads_are_refused_at_the_value(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    researcher: ApiUser,
    payload: Payload,
    field: str,
    op: str,
    as_list: bool,
    refusal: Callable[[str], str],
) -> None:
    enrol(client, clinician)
    before = participants_in_database(app)
    value = [payload.text] if as_list else payload.text
    criteria = {"cohort": "TRD", "all": [{"field": field, "op": op, "value": value}]}

    response = client.post(COUNT, json={"criteria": criteria}, headers=researcher.headers)

    assert response.status_code == 422, response.get_json()
    what = "Item 1" if as_list else "The value"
    assert response.get_json()["error"]["fields"] == {
        "all[0].value": [f"{what} {refusal(payload.text)}"]
    }
    assert participants_in_database(app) == before
    everyone = client.post(COUNT, json={"criteria": {"cohort": "TRD"}}, headers=researcher.headers)
    assert everyone.status_code == 200
    assert everyone.get_json()["count"] >= 1  # the table is there, and its rows


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_criteria_field_operator_and_breakdown_payloads_are_refused(
    client: FlaskClient, researcher: ApiUser, payload: Payload
) -> None:
    criteria = {
        "cohort": "TRD",
        "all": [
            {"field": payload.text, "op": "=", "value": "B15"},
            {"field": "postcode_district", "op": payload.text, "value": "B15"},
        ],
    }

    response = client.post(COUNT, json={"criteria": criteria}, headers=researcher.headers)
    broken_down = client.post(
        COUNT,
        json={"criteria": {"cohort": "TRD"}, "breakdown": [payload.text]},
        headers=researcher.headers,
    )

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"] == {
        "all[0].field": ["Unknown field; see the field catalogue."],
        "all[1].op": ["Use one of =, !=, <, <=, >, >=, between, in, not_in, startswith, exists."],
    }
    assert broken_down.status_code == 422, broken_down.get_json()
    assert broken_down.get_json()["error"]["fields"] == {
        "breakdown[0]": ["Not a field you can break down by."]
    }


# -- saved query names ---------------------------------------------------------------------------


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_saved_query_name_is_stored_exactly_and_shown_escaped(
    client: FlaskClient,
    researcher: ApiUser,
    sign_in: Callable[..., Any],
    payload: Payload,
) -> None:
    criteria = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}

    saved = client.post(
        SAVED, json={"name": payload.text, "criteria": criteria}, headers=researcher.headers
    )

    assert saved.status_code == 201, saved.get_json()
    query_id = saved.get_json()["query_id"]
    assert saved.get_json()["name"] == payload.text
    again = client.get(f"{SAVED}/{query_id}", headers=researcher.headers)
    assert again.get_json()["name"] == payload.text
    listed = client.get(SAVED, headers=researcher.headers).get_json()["items"]
    assert [item["name"] for item in listed] == [payload.text]

    sign_in(researcher.account)
    pages = {url: client.get(url) for url in ("/eligibility/", f"/eligibility/saved/{query_id}")}
    for response in pages.values():
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert payload.in_html in html
        if payload.in_html != payload.text:
            assert payload.text not in html
        assert "<script>alert" not in html and "<img src=x" not in html
        # read back as the user reads it: the list of saved queries shows the name
        assert page_of(response).text_of("saved-queries").count(payload.text) == 1
    loaded = page_of(pages[f"/eligibility/saved/{query_id}"]).text_of("loaded")
    assert loaded == f"This is {payload.text} , version 1."  # the name is in <strong>


def eligibility_form(
    client: FlaskClient, clause: tuple[str, str, str], **more: str
) -> dict[str, str]:
    """The query page's form, as a researcher fills it in: one TRD clause, and more fields."""
    field, op, value = clause
    page = client.get("/eligibility/").get_data(as_text=True)
    return {
        "cohort": "TRD",
        "combine": "all",
        "clauses-0-field": field,
        "clauses-0-op": op,
        "clauses-0-value": value,
        "csrf_token": csrf_token_from(page),
        **more,
    }


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_saved_query_name_typed_in_the_page_is_stored_exactly(
    client: FlaskClient,
    researcher: ApiUser,
    sign_in: Callable[..., Any],
    payload: Payload,
) -> None:
    sign_in(researcher.account)
    form = eligibility_form(client, ("age", ">=", "18"), query_name=payload.text)

    response = client.post("/eligibility/save", data=form)

    assert response.status_code == 302, page_of(response).summary
    listed = client.get(SAVED, headers=researcher.headers).get_json()["items"]
    assert [item["name"] for item in listed] == [payload.text]


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_criteria_value_typed_in_the_page_comes_back_escaped_at_its_row(
    client: FlaskClient,
    researcher: ApiUser,
    sign_in: Callable[..., Any],
    payload: Payload,
) -> None:
    sign_in(researcher.account)
    form = eligibility_form(client, ("postcode_district", "=", payload.text))

    response = client.post("/eligibility/count", data=form)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    shown = page_of(response)
    assert shown.value("clauses-0-value") == payload.text  # kept, to be put right
    message = f"The value {code_of(4)(payload.text)}"
    assert shown.summary == [("#clauses-0-value", message)]
    assert shown.error_at("clauses-0-value") == message


# -- search strings ------------------------------------------------------------------------------


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_nhs_number_search_payloads_are_refused_at_the_field(
    app: Flask, client: FlaskClient, clinician: ApiUser, payload: Payload
) -> None:
    enrol(client, clinician)
    before = participants_in_database(app)

    response = client.post(
        f"{PARTICIPANTS}/search", json={"nhs_number": payload.text}, headers=clinician.headers
    )

    assert response.status_code == 422, response.get_json()
    message = (
        "Length must be between 1 and 20."
        if len(payload.text) > 20
        else "An NHS number has 10 digits."
    )
    assert response.get_json()["error"]["fields"] == {"nhs_number": [message]}
    assert payload.text not in response.get_data(as_text=True)
    assert participants_in_database(app) == before


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_site_filter_payloads_find_no_one_or_are_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, payload: Payload
) -> None:
    enrol(client, clinician)
    before = participants_in_database(app)

    response = client.get(
        PARTICIPANTS, query_string={"site": payload.text}, headers=clinician.headers
    )

    if len(payload.text) <= 16:  # a site code is at most 16 characters
        assert response.status_code == 200, response.get_json()
        assert (response.get_json()["total"], response.get_json()["items"]) == (0, [])
    else:
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["fields"] == {
            "site": ["Longer than maximum length 16."]
        }
    assert participants_in_database(app) == before


# -- CSV import cells ------------------------------------------------------------------------------


@pytest.mark.usefixtures("consent_forms")
def test_import_stores_name_payloads_exactly_and_refuses_postcode_payloads(
    app: Flask, tmp_path: Path, create_site: Callable[..., Site]
) -> None:
    site = create_site()
    named = [csv_row(site, given_name=p.text, family_name=p.text) for p in PAYLOADS.values()]
    postcoded = [csv_row(site, postcode=p.text) for p in PAYLOADS.values()]
    rows = [cell for pair in zip(named, postcoded, strict=True) for cell in pair]
    path = write_csv(tmp_path / "payloads.csv", rows)
    before = participants_in_database(app)

    code, output = invoke(app, path)

    lines = output.splitlines()
    assert code == 1
    refused_lines = range(3, 2 + len(rows), 2)  # the header is line 1; every second row
    assert reported_columns(lines) == {line: ["postcode"] for line in refused_lines}
    assert [line for line in lines if line.startswith("line ")] == [
        f"line {line}: postcode: Enter a full UK postcode, like B15 2TT." for line in refused_lines
    ]
    assert lines[-1] == f"imported {len(named)}, already enrolled 0, rejected {len(postcoded)}"
    for payload in PAYLOADS.values():
        assert payload.text not in output
    for row in rows:
        assert row["nhs_number"] not in output
    assert participants_in_database(app) == before + len(named)
    with app.app_context():
        for row, payload in zip(named, PAYLOADS.values(), strict=True):
            participant = find_by_nhs_number(row["nhs_number"])
            assert participant is not None
            identity = unseal_identity(participant)
            assert (identity.given_name, identity.family_name) == (payload.text, payload.text)
            assert identity.postcode == row["postcode"]
        for row in postcoded:
            assert find_by_nhs_number(row["nhs_number"]) is None


@pytest.mark.usefixtures("consent_forms")
@pytest.mark.parametrize("payload", EACH)
def test_enrolled_name_payload_is_shown_escaped_on_the_participant_page(
    client: FlaskClient, clinician: ApiUser, sign_in: Callable[..., Any], payload: Payload
) -> None:
    participant_id = enrol(client, clinician, given_name=payload.text, family_name="Example")

    sign_in(clinician.account)
    response = client.get(f"/participants/{participant_id}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert payload.in_html in html
    if payload.in_html != payload.text:
        assert payload.text not in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert payload.text in page_of(response).text


# -- extracts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", EACH)
def test_drug_payloads_are_refused_by_the_trial_api(world: World, payload: Payload) -> None:
    participant_id = world.enrol()

    response = world.trial(participant_id, drug=payload.text)

    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["error"]["fields"]) == ["drug"]


def _trials_with_drugs(world: World, drugs: list[str]) -> None:
    """A TRD participant with one trial per drug name. The API allows only what a drug name
    can hold (a letter first), so the names are written into the stored rows afterwards, as
    a row from before that rule, or written by any other path, would hold them."""
    participant_id = world.enrol()
    for months, _ in enumerate(drugs):  # monthly from July 2025 (after the episode start)
        started = f"{2025 + (6 + months) // 12}-{(6 + months) % 12 + 1:02d}"
        assert world.trial(participant_id, started_on=started).status_code == 201
    with world.context():
        participant = world.participant(participant_id)
        ids = session().scalars(
            select(TreatmentTrial.id)
            .where(TreatmentTrial.participant_pk == participant.id)
            .order_by(TreatmentTrial.started_on)
        )
        for trial_id, drug in zip(ids.all(), drugs, strict=True):
            session().execute(
                update(TreatmentTrial).where(TreatmentTrial.id == trial_id).values(drug=drug)
            )
        session().commit()


# Consent-form versions are text an admin types (1 to 32 characters).
VERSIONED = [p for p in PAYLOADS.values() if len(p.text) <= 32]


def _consents_on_versions(world: World, versions: list[str]) -> None:
    """A participant who signed each consent-form version, added as an admin adds one."""
    with world.context():
        for version in versions:
            add_consent_form(
                cohort="TRD",
                version=version,
                effective_on=dt.date(2020, 1, 1),
                file_name="pis.md",
                document=b"# Participant information sheet\n",
                by=Actor.command_line(),
            )
        session().commit()
    for version in versions:
        body = enrolment_body("TRD")
        world.enrol(consent={**body["consent"], "form_version": version})


def test_csv_extract_puts_an_apostrophe_before_formula_text_only(world: World) -> None:
    payloads = list(CELLS.values())
    _trials_with_drugs(world, [p.text for p in payloads])
    _consents_on_versions(world, [p.text for p in VERSIONED])
    grant_id = world.grant()

    extract = world.extract(grant_id, "csv")

    trials = extract.files["treatment_trials.csv"].decode("utf-8")
    assert [row[1] for row in csv_cells(trials)[1:]] == [p.in_csv for p in payloads]
    consent = extract.rows("consent.csv")
    assert sorted(row["form_version"] for row in consent) == sorted(
        [p.in_csv for p in VERSIONED] + ["TRD-PIS-2.0"]  # the trial-holder's own form
    )
    formulas = [
        (name, cell)
        for name, data in extract.files.items()
        if name.endswith(".csv")
        for row in csv_cells(data.decode("utf-8"))
        for cell in row
        if runs_as_formula(cell)
    ]
    assert formulas == []  # no cell of any file would run
    dictionary = {row["column"]: row for row in extract.rows("data_dictionary.csv")}
    assert dictionary["drug"]["type"] == (
        "text (a leading ' is added to a cell beginning with = + - @ or their full-width "
        "forms, after any spaces, or with a tab or CR)"
    )
    assert dictionary["weeks"]["type"] == "integer"
    assert extract.manifest["text_cells"].startswith(
        "Text cells beginning with = + - @ (or their full-width forms), perhaps after "
        "spaces or line breaks, or with a tab or a carriage return, are written with a "
        "leading apostrophe (')"
    )


@pytest.mark.slow
def test_parquet_extract_keeps_the_exact_text(world: World) -> None:
    import pyarrow.parquet as pq

    payloads = list(CELLS.values())
    _trials_with_drugs(world, [p.text for p in payloads])
    _consents_on_versions(world, [p.text for p in VERSIONED])
    grant_id = world.grant()

    extract = world.extract(grant_id, "parquet")

    trials = pq.read_table(io.BytesIO(extract.files["treatment_trials.parquet"])).to_pylist()
    assert [row["drug"] for row in trials] == [p.text for p in payloads]
    consent = pq.read_table(io.BytesIO(extract.files["consent.parquet"])).to_pylist()
    assert sorted(row["form_version"] for row in consent) == sorted(
        [p.text for p in VERSIONED] + ["TRD-PIS-2.0"]
    )
    dictionary = {row["column"]: row for row in extract.rows("data_dictionary.csv")}
    assert dictionary["drug"]["type"] == "text"
    assert extract.manifest["text_cells"] == (
        "Text columns hold the stored text exactly; nothing is added to any cell."
    )
