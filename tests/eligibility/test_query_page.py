"""The eligibility query page, through the Flask test client: what researchers and partners
see, how the form's rows become criteria and the rulebook's errors come back to them,
breakdowns, saved queries, and the partner limits."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.db import session
from tests.conftest import Account, ApiUser, csrf_token_from
from tests.eligibility.test_eligibility_api import enrol
from tests.participants.test_web import page_of

pytestmark = pytest.mark.usefixtures("consent_forms")

PAGE = "/eligibility/"
ADULTS = ("age", ">=", "18")
TRD_ADULTS = {"cohort": "TRD", "combine": "all"}


# -- builders -------------------------------------------------------------------------------


def rows(*clauses: tuple[str, str, str]) -> dict[str, str]:
    """Clause rows as the form posts them."""
    posted: dict[str, str] = {}
    for i, (field, op, value) in enumerate(clauses):
        posted |= {f"clauses-{i}-field": field, f"clauses-{i}-op": op, f"clauses-{i}-value": value}
    return posted


def submit(client: FlaskClient, action: str, data: dict[str, str], **kwargs: Any) -> Any:
    """Press one of the page's buttons: each posts the whole form to its own route."""
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    return client.post(f"/eligibility/{action}", data={**data, "csrf_token": token}, **kwargs)


def count(client: FlaskClient, data: dict[str, str]) -> Any:
    return submit(client, "count", data)


def audit_events(app: Flask, action: str) -> int:
    with app.app_context():
        return (
            session().scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


class Answer(HTMLParser):
    """The breakdown as a reader meets it: the table's rows, and the chart's bars."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.table: list[list[str]] = []
        self.bars: dict[str, tuple[str, float]] = {}  # category -> (figure, bar width)
        self._in_table = False
        self._cell: list[str] | None = None
        self._bar: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._in_table = found.get("data-testid") == "breakdown"
        elif tag == "tr" and self._in_table:
            self.table.append([])
        elif tag in ("th", "td") and self._in_table:
            self._cell = []
        elif tag == "g" and "data-category" in found:
            self._bar = found["data-category"] or ""
            self.bars[self._bar] = (found["data-figure"] or "", 0.0)
        elif tag == "rect" and self._bar is not None:
            self.bars[self._bar] = (self.bars[self._bar][0], float(found["width"] or 0))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._in_table = False
        elif tag == "g":
            self._bar = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def answer_of(response: Any) -> Answer:
    return Answer(response.get_data(as_text=True))


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def researcher_web(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    """``client``, signed in as a new researcher."""
    sign_in(create_account(Role.RESEARCHER))
    return client


@pytest.fixture
def partner_account(create_account: Callable[..., Account]) -> Account:
    return create_account(Role.PARTNER)  # of "Example Pharma Ltd"


@pytest.fixture
def partner_web(
    client: FlaskClient, partner_account: Account, sign_in: Callable[..., Any]
) -> FlaskClient:
    """``client``, signed in as ``partner_account``."""
    sign_in(partner_account)
    return client


@pytest.fixture
def settings_with(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def change(**values: Any) -> None:
        monkeypatch.setitem(
            app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], **values)
        )

    return change


# -- who may use the page -------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.ADMIN])
def test_roles_that_do_not_query_are_refused(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    sign_in(create_account(role))
    token = csrf_token_from(client.get("/").get_data(as_text=True))

    answers = {url: client.get(url).status_code for url in (PAGE, "/eligibility/saved/x")}
    answers |= {
        f"POST {action}": client.post(
            f"/eligibility/{action}", data={"csrf_token": token}
        ).status_code
        for action in ("count", "edit", "save", "saved/x/versions")
    }

    assert set(answers.values()) == {403}, answers


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PARTNER])
def test_home_page_links_researchers_and_partners_to_the_page(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    sign_in(create_account(role))

    assert f'href="{PAGE}"' in client.get("/").get_data(as_text=True)


def test_fields_offered_are_the_roles_own(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    app: Flask,
) -> None:
    sign_in(create_account(Role.RESEARCHER))
    researcher_page = client.get(PAGE).get_data(as_text=True)
    partner_client = app.test_client()
    sign_in(create_account(Role.PARTNER), test_client=partner_client)
    partner_page = partner_client.get(PAGE).get_data(as_text=True)

    assert '<option value="site"' in researcher_page
    assert '<option value="age"' in partner_page
    assert '<option value="site"' in partner_page  # with noise and a budget (issue #18)
    assert '<option value="postcode_district"' not in partner_page


# -- counting -------------------------------------------------------------------------------


def test_researcher_sees_the_exact_count(
    client: FlaskClient, clinician: ApiUser, researcher_web: FlaskClient
) -> None:
    enrol(client, clinician, 3)

    response = count(client, TRD_ADULTS | rows(ADULTS))

    assert response.status_code == 200
    page = page_of(response)
    assert page.text_of("count") == "3"
    assert "disclosure-controlled" not in page.text


@pytest.mark.usefixtures("without_noise")
def test_partner_sees_small_counts_as_under_ten_with_the_rule(
    client: FlaskClient, clinician: ApiUser, partner_web: FlaskClient
) -> None:
    enrol(client, clinician, 3)

    page = page_of(count(client, TRD_ADULTS | rows(ADULTS)))

    assert page.text_of("count") == "<10"
    assert "fewer than 10 (none at all included)" in page.text_of("disclosure-rule")
    assert "rounded to the nearest 5" in page.text_of("disclosure-rule")


@pytest.mark.usefixtures("without_noise")
def test_partner_sees_larger_counts_rounded_to_five(
    client: FlaskClient, clinician: ApiUser, partner_web: FlaskClient
) -> None:
    enrol(client, clinician, 12)

    page = page_of(count(client, TRD_ADULTS | rows(ADULTS)))

    assert page.text_of("count") == "10"


def test_values_typed_as_text_are_read_as_their_fields_type(
    client: FlaskClient, clinician: ApiUser, researcher_web: FlaskClient
) -> None:
    enrol(client, clinician, 2)
    enrol(client, clinician, 1, sex="male")
    enrol(client, clinician, 1, sex="not_stated")

    page = page_of(
        count(
            client,
            TRD_ADULTS
            | rows(
                ("age", "between", "18 to 65"),
                ("sex", "in", "female, male"),
                ("consent.commercial_partners", "=", "true"),
                ("enrolled_on", "exists", ""),
            ),
        )
    )

    assert page.text_of("count") == "3"


def test_any_of_the_clauses_joins_them_with_or(
    client: FlaskClient, clinician: ApiUser, researcher_web: FlaskClient
) -> None:
    enrol(client, clinician, 2)
    enrol(client, clinician, 1, sex="male")
    enrol(client, clinician, 1, sex="not_stated")

    either = {"cohort": "TRD", "combine": "any"}
    page = page_of(count(client, either | rows(("sex", "=", "female"), ("sex", "=", "male"))))

    assert page.text_of("count") == "3"


def test_clause_error_shows_at_its_row_and_writes_nothing(
    app: Flask, client: FlaskClient, researcher_web: FlaskClient
) -> None:
    before = audit_events(app, "eligibility.count")

    response = count(client, TRD_ADULTS | rows(ADULTS, ("", "", ""), ("age", ">=", "old")))

    assert response.status_code == 422
    page = page_of(response)
    message = "The value must be a whole number."
    assert page.summary == [("#clauses-2-value", message)]
    assert page.error_at("clauses-2-value") == message
    assert page.value("clauses-2-value") == "old"  # kept, to be put right
    assert audit_events(app, "eligibility.count") == before


def test_blank_parts_of_a_row_are_asked_for_in_the_forms_words(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    response = count(
        client, TRD_ADULTS | rows(("age", "", ""), ("", ">=", "5"), ("age", "between", ""))
    )

    assert response.status_code == 422
    assert page_of(response).summary == [
        ("#clauses-0-op", "Select an operator."),
        ("#clauses-1-field", "Select a field."),
        ("#clauses-2-value", "Enter a value."),
    ]


def test_a_range_typed_without_to_says_how_to_type_it(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    response = count(client, TRD_ADULTS | rows(("age", "between", "18-65")))

    assert response.status_code == 422
    assert page_of(response).error_at("clauses-0-value") == (
        "Give both ends with \u201cto\u201d between them, for example 18 to 65."
    )


def test_a_field_partners_may_not_use_is_refused_at_its_row(
    client: FlaskClient, partner_web: FlaskClient
) -> None:
    response = count(client, TRD_ADULTS | rows(("ethnicity", "in", "A")))

    assert response.status_code == 422
    assert page_of(response).error_at("clauses-0-field") == "Your role may not use this field."


# -- rows, without JavaScript ---------------------------------------------------------------


def test_add_a_clause_keeps_what_was_typed_and_counts_nothing(
    app: Flask, client: FlaskClient, researcher_web: FlaskClient
) -> None:
    before = audit_events(app, "eligibility.count")

    response = submit(client, "edit", TRD_ADULTS | rows(ADULTS) | {"add_clause": "add"})

    assert response.status_code == 200
    page = page_of(response)
    assert page.selected["clauses-0-field"] == "age"
    assert page.value("clauses-0-value") == "18"
    assert page.value("clauses-1-value") is None  # the new, empty row
    assert "clauses-2-value" not in page.inputs
    assert page.text_of("answer") == ""  # no count shown
    assert audit_events(app, "eligibility.count") == before


def test_remove_a_clause_takes_out_that_row_only(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    three = rows(ADULTS, ("sex", "=", "male"), ("imd_decile", "<=", "3"))

    response = submit(client, "edit", TRD_ADULTS | three | {"remove_clause": "1"})

    assert response.status_code == 200
    page = page_of(response)
    assert [page.value(f"clauses-{i}-value") for i in range(2)] == ["18", "3"]
    assert page.selected["clauses-1-field"] == "imd_decile"
    assert "clauses-2-value" not in page.inputs


def test_removing_the_only_clause_leaves_an_empty_row(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    page = page_of(submit(client, "edit", rows(ADULTS) | {"remove_clause": "0"}))

    assert page.value("clauses-0-value") is None
    assert "clauses-1-value" not in page.inputs


# -- breakdowns -----------------------------------------------------------------------------


def test_breakdown_table_and_chart_show_the_same_exact_figures(
    client: FlaskClient, clinician: ApiUser, researcher_web: FlaskClient
) -> None:
    enrol(client, clinician, 3)
    enrol(client, clinician, 2, sex="male")

    response = count(client, TRD_ADULTS | rows(ADULTS) | {"breakdown_1": "sex"})

    assert response.status_code == 200
    answer = answer_of(response)
    assert answer.table == [  # in words, never codes
        ["Sex", "Count"],
        ["Female", "3"],
        ["Male", "2"],
        ["Not stated", "0"],
        ["Total", "5"],
    ]
    figures = {category: figure for category, (figure, _) in answer.bars.items()}
    assert figures == {"Female": "3", "Male": "2", "Not stated": "0"}
    widths = {category: width for category, (_, width) in answer.bars.items()}
    assert widths["Male"] / widths["Female"] == pytest.approx(2 / 3, abs=0.01)
    assert widths["Not stated"] == 0


@pytest.mark.usefixtures("without_noise")
def test_partner_breakdown_shows_small_cells_as_under_ten_without_bars(
    client: FlaskClient, clinician: ApiUser, partner_web: FlaskClient
) -> None:
    enrol(client, clinician, 12)
    enrol(client, clinician, 2, sex="male")

    answer = answer_of(count(client, TRD_ADULTS | rows(ADULTS) | {"breakdown_1": "sex"}))

    assert answer.table[1:] == [
        ["Female", "10"],
        ["Male", "<10"],
        ["Not stated", "<10"],
        ["Total", "15"],  # 14, the sum of the cells, to the nearest 5
    ]
    assert answer.bars["Male"] == ("<10", 0.0)
    assert answer.bars["Female"][1] > 0


def test_two_field_breakdown_is_a_table_with_totals(
    client: FlaskClient, clinician: ApiUser, researcher_web: FlaskClient
) -> None:
    enrol(client, clinician, 2)
    enrol(client, clinician, 1, cohort="EP", sex="male")

    answer = answer_of(
        count(client, {"combine": "all"} | {"breakdown_1": "sex", "breakdown_2": "cohort"})
    )

    ep, trd = "Early psychosis (EP)", "Treatment-resistant depression (TRD)"
    assert answer.table == [
        ["Sex \u2192 Cohort", ep, trd, "Total"],
        ["Female", "0", "2", "2"],
        ["Male", "1", "0", "1"],
        ["Not stated", "0", "0", "0"],
        ["Total", "1", "2", "3"],
    ]
    assert set(answer.bars) == {
        f"{sex}, {cohort}" for sex in ("Female", "Male", "Not stated") for cohort in (ep, trd)
    }


def test_breakdown_by_the_same_field_twice_is_refused_at_the_second(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    response = count(client, TRD_ADULTS | {"breakdown_1": "sex", "breakdown_2": "sex"})

    assert response.status_code == 422
    assert page_of(response).error_at("breakdown_2") == "Name each field once."


# -- criteria as JSON -----------------------------------------------------------------------


def nested(value: Any = 18) -> str:
    return json.dumps(
        {
            "cohort": "TRD",
            "all": [
                {
                    "any": [
                        {"field": "sex", "op": "=", "value": "male"},
                        {"field": "age", "op": ">=", "value": value},
                    ]
                }
            ],
        }
    )


def test_nested_criteria_given_as_json_are_counted(
    client: FlaskClient, clinician: ApiUser, researcher_web: FlaskClient
) -> None:
    enrol(client, clinician, 2)

    page = page_of(count(client, {"advanced": nested()}))

    assert page.text_of("count") == "2"


def test_json_and_clauses_together_are_refused(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    response = count(client, rows(ADULTS) | {"advanced": nested()})

    assert response.status_code == 422
    assert (
        page_of(response)
        .error_at("advanced")
        .startswith("Give the criteria either as clauses or as JSON, not both")
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("{", "This is not JSON: check the brackets, commas and quotes."),
        (nested("old"), "all[0].any[1].value: The value must be a whole number."),
        ("[1]", "Send the criteria as a JSON object."),
    ],
)
def test_json_errors_show_at_the_json_with_their_path(
    client: FlaskClient, researcher_web: FlaskClient, typed: str, message: str
) -> None:
    response = count(client, {"advanced": typed})

    assert response.status_code == 422
    assert page_of(response).summary == [("#advanced", message)]


# -- saved queries --------------------------------------------------------------------------


def saved_location(response: Any) -> str:
    assert response.status_code == 302, page_of(response).summary
    location: str = response.headers["Location"]
    assert location.startswith("/eligibility/saved/")
    return location


def test_a_saved_query_loads_back_into_the_form(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    form = TRD_ADULTS | rows(ADULTS, ("sex", "in", "female, male")) | {"breakdown_1": "sex"}

    location = saved_location(submit(client, "save", form | {"query_name": "TRD adults"}))
    response = client.get(location)

    assert response.status_code == 200
    page = page_of(response)
    assert "Your query has been saved." in page.text
    assert "TRD adults" in page.text_of("saved-queries")
    assert "TRD adults" in page.text_of("loaded") and "version 1." in page.text_of("loaded")
    assert page.selected["cohort"] == "TRD"
    assert page.selected["clauses-0-field"] == "age"
    assert page.selected["clauses-0-op"] == ">="
    assert page.value("clauses-0-value") == "18"
    # A coded field's values come back ticked, by their labels.
    assert "checked" in page.inputs["clauses-1-choices"]
    assert "checked" in page.inputs["clauses-1-choices-2"]
    assert "clauses-1-value" not in page.inputs
    assert page.selected["breakdown_1"] == "sex"
    assert page.text_of("saved-criteria").startswith(
        "Treatment-resistant depression (TRD) \u00b7 Age in years at least 18 \u00b7 Sex is one "
        "of Female or Male"
    )


def test_saving_without_a_name_is_refused_at_the_name(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    response = submit(client, "save", TRD_ADULTS | rows(ADULTS) | {"query_name": "  "})

    assert response.status_code == 422
    page = page_of(response)
    assert page.error_at("query_name") == "Give the query a name of 1 to 120 characters."
    assert "You have no saved queries yet." in page.text


def test_saving_invalid_criteria_is_refused_at_the_row(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    response = submit(
        client, "save", TRD_ADULTS | rows(("age", ">=", "old")) | {"query_name": "Bad"}
    )

    assert response.status_code == 422
    assert page_of(response).error_at("clauses-0-value") == "The value must be a whole number."


def test_a_loaded_query_saves_as_its_next_version(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    location = saved_location(
        submit(client, "save", TRD_ADULTS | rows(ADULTS) | {"query_name": "Adults"})
    )
    query_id = location.rsplit("/", 1)[-1]

    response = submit(
        client,
        f"saved/{query_id}/versions",
        TRD_ADULTS | rows(("age", ">=", "40")) | {"query_id": query_id},
    )

    assert saved_location(response) == location
    page = page_of(client.get(location))
    assert "version 2." in page.text_of("loaded")
    assert page.value("clauses-0-value") == "40"


def test_a_nested_saved_query_loads_into_the_json_box(
    client: FlaskClient, researcher_web: FlaskClient
) -> None:
    location = saved_location(
        submit(client, "save", {"advanced": nested(), "query_name": "Men or adults"})
    )

    page = page_of(client.get(location))

    assert json.loads(page.text_of("advanced")) == json.loads(nested())
    assert page.value("clauses-0-value") is None


def test_someone_elses_query_is_not_found(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    researcher_web: FlaskClient,
) -> None:
    location = saved_location(
        submit(client, "save", TRD_ADULTS | rows(ADULTS) | {"query_name": "Mine"})
    )
    other = app.test_client()
    sign_in(create_account(Role.RESEARCHER), test_client=other)

    assert other.get(location).status_code == 404
    assert "Mine" not in other.get(PAGE).get_data(as_text=True)


def test_partners_see_queries_shared_in_their_organisation(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    partner_web: FlaskClient,
) -> None:
    form = TRD_ADULTS | rows(ADULTS) | {"query_name": "Shared adults", "shared": "y"}
    location = saved_location(submit(client, "save", form))
    colleague = app.test_client()
    sign_in(create_account(Role.PARTNER), test_client=colleague)

    page = page_of(colleague.get(PAGE))

    assert "Shared adults" in page.text_of("saved-queries")
    assert "Example Pharma Ltd" in page.text_of("saved-queries")
    assert colleague.get(location).status_code == 200


# -- partner limits -------------------------------------------------------------------------


def test_partner_page_shows_the_budget_and_warns_before_its_last_question(
    client: FlaskClient, partner_web: FlaskClient, settings_with: Callable[..., None]
) -> None:
    settings_with(privacy_query_cost=0.01, privacy_allowance=0.02)
    assert page_of(client.get(PAGE)).text_of("questions-left") == "2"
    assert page_of(client.get(PAGE)).text_of("budget-warning") == ""

    page = page_of(count(client, TRD_ADULTS | rows(ADULTS)))

    assert page.text_of("questions-left") == "1"
    assert "Your next new question is the last one" in page.text_of("budget-warning")


def test_partner_over_budget_gets_a_429_page_keeping_the_form(
    app: Flask, client: FlaskClient, partner_web: FlaskClient, settings_with: Callable[..., None]
) -> None:
    settings_with(privacy_allowance=0.01)
    assert count(client, TRD_ADULTS | rows(ADULTS)).status_code == 200
    assert count(client, TRD_ADULTS | rows(ADULTS)).status_code == 200  # the same: no cost

    response = count(client, TRD_ADULTS | rows(("age", ">=", "19")))

    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 30 * 24 * 3600
    page = page_of(response)
    assert "used its privacy budget" in page.text_of("refusal")
    assert page.value("clauses-0-value") == "19"
    assert page.text_of("count") == ""
    assert audit_events(app, "refused.privacy_budget_exhausted") == 1


def test_partner_rate_limit_is_shared_with_the_api(
    client: FlaskClient,
    partner_web: FlaskClient,
    partner_account: Account,
    issue_token: Callable[..., str],
    settings_with: Callable[..., None],
) -> None:
    settings_with(partner_query_limit="2 per hour")
    token = {"Authorization": f"Bearer {issue_token(partner_account)}"}
    by_api = client.post(
        "/api/v1/eligibility/count", json={"criteria": {"cohort": "EP"}}, headers=token
    )
    by_page = count(client, TRD_ADULTS | rows(("age", ">=", "20")))

    refused = count(client, TRD_ADULTS | rows(("age", ">=", "30")))

    assert (by_api.status_code, by_page.status_code) == (200, 200)
    assert refused.status_code == 429
    assert "Too many requests" in page_of(refused).text
    assert (
        client.post(
            "/api/v1/eligibility/count", json={"criteria": {"cohort": "TRD"}}, headers=token
        ).status_code
        == 429
    )


def test_researchers_are_not_rate_limited_as_partners(
    client: FlaskClient, researcher_web: FlaskClient, settings_with: Callable[..., None]
) -> None:
    settings_with(partner_query_limit="1 per hour", privacy_allowance=0.0)

    answers = {count(client, TRD_ADULTS | rows(ADULTS)).status_code for _ in range(3)}

    assert answers == {200}
