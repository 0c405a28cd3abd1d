"""Malformed input (issue #16, finding 5): JSON nested thousands deep, lone surrogates and
control characters. Each used to be a 500, and the surrogate one also told a clinician
whether an NHS number was enrolled at another site (409 against 500) without an audit
entry. A body nested too deep is now a 400 in the error shape; a text field holding such a
character is a 422 naming the field, found by the schema before anything reads the
database; a page's form holding a control character is a 400; and the CSV import reports
such a line instead of stopping.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields
from sqlalchemy import func, select

from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth.models import Site
from registry.auth.permissions import Role
from registry.db import session
from registry.enrolment.importing import COLUMNS, import_participants
from registry.input_rules import MAX_JSON_DEPTH, InputSchema
from registry.participants.models import Participant
from registry.recruitment.models import RecruitmentRequest
from tests.conftest import Account, ApiUser, enrolment_body, new_nhs_number, post_form
from tests.participants.test_import import csv_row, invoke, reported_columns, write_csv
from tests.participants.test_web import enrol as enrol_through_the_form
from tests.participants.test_web import page_of
from tests.test_api import assert_error

pytestmark = pytest.mark.usefixtures("consent_forms")

ENROL = "/api/v1/participants"
DEEP = 5_000
SURROGATE = "\ud800"
ADULT_TRD = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}
REQUEST = {
    "study_title": "SERENE-2",
    "sponsor": "Example Pharma Ltd",
    "ethics_reference": "1004567",
    "criteria": ADULT_TRD,
    "target": 40,
}


def written(app: Flask) -> list[int]:
    """[participants, audit events, recruitment requests] in the database now."""
    with app.app_context():
        db = session()
        return [
            int(db.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Participant, AuditEvent, RecruitmentRequest)
        ]


def nested(depth: int, kind: str = "array") -> str:
    """A JSON value ``depth`` containers deep."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def raw_json(body: dict[str, Any], **raw_values: str) -> str:
    """``body`` as JSON, with each ``"<name>"`` placeholder value replaced by raw JSON."""
    text = json.dumps(body)
    for name, value in raw_values.items():
        text = text.replace(json.dumps(f"<{name}>"), value)
    return text


def post_raw(client: FlaskClient, url: str, text: str, user: ApiUser) -> Any:
    return client.post(url, data=text, content_type="application/json", headers=user.headers)


def set_at(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    holder = body
    *parents, name = path.split(".")
    for parent in parents:
        holder = holder[parent]
    holder[name] = value
    return body


# -- nesting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize(
    ("url", "role", "body"),
    [
        pytest.param(ENROL, Role.CLINICIAN, enrolment_body(given_name="<deep>"), id="enrolment"),
        pytest.param(
            "/api/v1/eligibility/count", Role.RESEARCHER, {"criteria": "<deep>"}, id="count"
        ),
        pytest.param(
            "/api/v1/recruitment-requests",
            Role.PARTNER,
            {**REQUEST, "criteria": "<deep>"},
            id="recruitment-request",
        ),
        pytest.param(
            "/api/v1/eligibility/saved-queries",
            Role.RESEARCHER,
            {"name": "Deep", "criteria": "<deep>"},
            id="saved-query",
        ),
    ],
)
def test_json_nested_thousands_deep_is_a_400_and_writes_nothing(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    url: str,
    role: Role,
    body: dict[str, Any],
    kind: str,
) -> None:
    user = api_user(role)
    before = written(app)

    response = post_raw(client, url, raw_json(body, deep=nested(DEEP, kind)), user)

    error = assert_error(response, 400, "bad_request")
    assert "nested" in error["message"]
    assert written(app) == before


def test_json_nested_at_the_limit_is_read_and_one_deeper_is_refused(
    client: FlaskClient, researcher: ApiUser
) -> None:
    # {"criteria": [[...]]}: the body is one level, the criteria the rest.
    at_limit = raw_json({"criteria": "<deep>"}, deep=nested(MAX_JSON_DEPTH - 1))
    too_deep = raw_json({"criteria": "<deep>"}, deep=nested(MAX_JSON_DEPTH))

    read = post_raw(client, "/api/v1/eligibility/count", at_limit, researcher)
    refused = post_raw(client, "/api/v1/eligibility/count", too_deep, researcher)

    assert_error(read, 422, "validation_error")  # read, and found not to be criteria
    assert_error(refused, 400, "bad_request")


# -- lone surrogates and control characters in the API -----------------------------------------


ENROLMENT_TEXT_FIELDS = [
    "given_name",
    "family_name",
    "postcode",
    "email",
    "phone",
    "nhs_number",
    "site",
    "sex",
    "consent.form_version",
    "clinical.diagnosis_icd10",
]


def value_at(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for key in path.split("."):
        value = value[key]
    return value


@pytest.mark.parametrize("field", ENROLMENT_TEXT_FIELDS)
def test_lone_surrogate_in_an_enrolment_field_is_refused_at_that_field(
    app: Flask, client: FlaskClient, clinician: ApiUser, field: str
) -> None:
    body = enrolment_body(site=clinician.account.site_code)
    set_at(body, field, f"{value_at(body, field)}{SURROGATE}")
    text = json.dumps(body)
    assert "\\ud800" in text  # sent as the JSON escape, as a client would
    before = written(app)

    response = post_raw(client, ENROL, text, clinician)

    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"], error["fields"]
    assert written(app) == before


@pytest.mark.parametrize(
    "character",
    ["\u0007", "\u001b", "\u007f", "\u0085", "\n", "\r", "\t"],
    ids=["bell", "escape", "delete", "next-line", "line-feed", "carriage-return", "tab"],
)
@pytest.mark.parametrize("field", ["given_name", "family_name", "consent.consultee.name"])
def test_control_character_in_a_name_is_refused_at_that_field(
    app: Flask, client: FlaskClient, clinician: ApiUser, character: str, field: str
) -> None:
    body = enrolment_body()
    if field.startswith("consent.consultee"):
        body["consent"]["capacity"] = "consultee"
        body["consent"]["consultee"] = {"type": "personal", "name": "Grace Example"}
    set_at(body, field, f"Ada{character}Lovelace")
    before = written(app)

    response = client.post(ENROL, json=body, headers=clinician.headers)

    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"], error["fields"]
    assert written(app) == before


def test_surrogate_enrolment_answers_alike_whether_or_not_the_number_is_enrolled_elsewhere(
    app: Flask, client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    site_a, site_b = api_user(Role.CLINICIAN), api_user(Role.CLINICIAN)
    enrolled = new_nhs_number()
    first = client.post(ENROL, json=enrolment_body(nhs_number=enrolled), headers=site_a.headers)
    assert first.status_code == 201, first.get_json()
    before = written(app)

    probe = post_raw(
        client,
        ENROL,
        json.dumps(enrolment_body(nhs_number=enrolled, family_name=f"Probe{SURROGATE}")),
        site_b,
    )
    control = post_raw(
        client,
        ENROL,
        json.dumps(enrolment_body(nhs_number=new_nhs_number(), family_name=f"Probe{SURROGATE}")),
        site_b,
    )

    assert_error(probe, 422, "validation_error")
    assert probe.get_json() == control.get_json()
    assert written(app) == before  # no audit entry either way: nothing to tell them apart


def test_surrogate_in_a_criteria_value_is_refused_at_its_path(
    app: Flask, client: FlaskClient, researcher: ApiUser
) -> None:
    criteria = {
        "cohort": "TRD",
        "all": [{"field": "postcode_district", "op": "=", "value": f"B15{SURROGATE}"}],
    }

    response = post_raw(
        client, "/api/v1/eligibility/count", json.dumps({"criteria": criteria}), researcher
    )

    error = assert_error(response, 422, "validation_error")
    assert "criteria.all.0.value" in error["fields"]


def test_surrogate_in_a_key_is_refused_without_echoing_it(
    client: FlaskClient, researcher: ApiUser
) -> None:
    text = json.dumps({"name": "Adults", "criteria": ADULT_TRD, f"x{SURROGATE}": 1})

    response = post_raw(client, "/api/v1/eligibility/saved-queries", text, researcher)

    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"_schema"}  # the place it is in, not the key
    assert "x\\ud800" not in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["lay_summary", "study_title", "sponsor"])
def test_escape_character_in_a_recruitment_request_is_refused_at_that_field(
    app: Flask, client: FlaskClient, partner: ApiUser, field: str
) -> None:
    before = written(app)

    response = client.post(
        "/api/v1/recruitment-requests",
        json={**REQUEST, field: "A study\u001b[2J of depression"},
        headers=partner.headers,
    )

    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"]
    assert written(app) == before


def test_free_text_keeps_its_line_breaks_and_tabs(client: FlaskClient, partner: ApiUser) -> None:
    summary = "Twelve weeks.\r\nOne tablet a day.\n\tNo extra visits."

    response = client.post(
        "/api/v1/recruitment-requests",
        json={**REQUEST, "lay_summary": summary},
        headers=partner.headers,
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["lay_summary"] == summary


def test_line_break_in_a_one_line_field_is_refused(client: FlaskClient, partner: ApiUser) -> None:
    response = client.post(
        "/api/v1/recruitment-requests",
        json={**REQUEST, "study_title": "SERENE-2\nInjected line"},
        headers=partner.headers,
    )

    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"study_title"}


def _subclasses(cls: type[Schema]) -> Iterator[type[Schema]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_input_schema_checks_the_text_it_is_given(app: Flask) -> None:
    """Pages and the CSV import load through the same schemas as the API, so the schema is
    where the rule must hold: every ``…Args`` schema, and every schema nested in one."""
    inputs = {
        cls
        for cls in _subclasses(Schema)
        if cls.__module__.startswith("registry.") and cls.__name__.endswith("Args")
    }
    nested = {
        type(field.schema)
        for cls in inputs
        for field in cls().load_fields.values()
        if isinstance(field, fields.Nested)
    }

    unchecked = sorted(cls.__name__ for cls in inputs | nested if not issubclass(cls, InputSchema))

    assert len(inputs) > 20
    assert unchecked == []


# -- pages ------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> Callable[[Role], FlaskClient]:
    def open_as(role: Role) -> FlaskClient:
        browser = app.test_client()
        sign_in(create_account(role), test_client=browser)
        return browser

    return open_as


def test_enrolment_form_with_a_control_character_is_a_bad_request(
    app: Flask, signed_in: Callable[[Role], FlaskClient]
) -> None:
    browser = signed_in(Role.CLINICIAN)
    before = written(app)

    response = enrol_through_the_form(browser, "TRD", given_name="Ada\u001b[2J")

    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)
    assert written(app) == before


def test_enrolment_form_with_a_tab_in_a_name_shows_it_at_the_field(
    app: Flask, signed_in: Callable[[Role], FlaskClient]
) -> None:
    browser = signed_in(Role.CLINICIAN)
    before = written(app)

    response = enrol_through_the_form(browser, "TRD", family_name="Love\tlace")

    assert response.status_code == 422
    assert page_of(response).error_at("family_name")
    assert written(app) == before


def test_recruitment_form_with_criteria_nested_thousands_deep_shows_the_problem(
    app: Flask, signed_in: Callable[[Role], FlaskClient]
) -> None:
    browser = signed_in(Role.PARTNER)
    answers = {
        "study_title": "SERENE-2",
        "sponsor": "Example Pharma Ltd",
        "ethics_reference": "1004567",
        "target": "40",
        "contact_from": "",
        "contact_until": "",
        "lay_summary": "",
        "saved_query": "",
        "criteria_json": nested(DEEP),
    }

    response = post_form(browser, "/recruitment/new", answers)

    assert response.status_code == 422
    assert "nested" in page_of(response).error_at("criteria_json")
    assert written(app)[2] == 0


# -- CSV import -------------------------------------------------------------------------------


def test_import_reports_lines_with_control_characters_and_enrols_the_rest(
    app: Flask, tmp_path: Path, create_site: Callable[..., Site]
) -> None:
    site = create_site()
    rows = [
        csv_row(site),
        csv_row(site, given_name="Ada\u0007"),
        csv_row(site, site=f"{site.code}\u0000"),
        csv_row(site, family_name="Love\u001blace"),
    ]

    code, output = invoke(app, write_csv(tmp_path / "people.csv", rows))

    assert code == 1, output
    assert reported_columns(output.splitlines()) == {
        3: ["given_name"],
        4: ["site"],
        5: ["family_name"],
    }
    assert "imported 1," in output


def test_import_reports_a_line_with_a_lone_surrogate_instead_of_stopping(
    app: Flask, create_site: Callable[..., Site]
) -> None:
    site = create_site()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows([csv_row(site), csv_row(site, given_name=f"Ada{SURROGATE}")])

    with app.test_request_context():
        report = import_participants(text.getvalue().splitlines(), by=Actor.command_line())

    assert report.imported == 1
    assert list(report.rejected) == [3]
    assert list(report.rejected[3]) == ["given_name"]
