"""The query page in words (issue #22): fields by label within groups, operators in words,
coded values picked by their labels, the count's criteria as a sentence, saved queries and
their versions' changes in words, and the way from a count to a recruitment request."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from flask.testing import FlaskClient

from tests.conftest import ApiUser
from tests.eligibility.test_eligibility_api import count as api_count
from tests.eligibility.test_eligibility_api import enrol
from tests.eligibility.test_query_page import (
    ADULTS,
    TRD_ADULTS,
    count,
    partner_account,  # noqa: F401 (a fixture partner_web uses)
    partner_web,  # noqa: F401 (a fixture)
    researcher_web,  # noqa: F401 (a fixture)
    rows,
    saved_location,
    submit,
)
from tests.participants.test_web import page_of

pytestmark = pytest.mark.usefixtures("consent_forms")


@pytest.mark.usefixtures("researcher_web")
def test_fields_are_offered_by_label_within_their_groups(client: FlaskClient) -> None:
    html = client.get("/eligibility/").get_data(as_text=True)

    select = html.split('id="clauses-0-field"')[1].split("</select>")[0]
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups == [
        "Demographics",
        "Diagnosis",
        "Scores",
        "Treatment history",
        "Follow-up",
        "Consent",
    ]
    phq9 = re.search(r'<option value="latest_score.PHQ9"[^>]*data-hint="([^"]*)">([^<]*)<', select)
    assert phq9 is not None
    assert phq9.groups() == ("A whole number from 0 to 27", "Latest PHQ-9 total")
    operators = html.split('id="clauses-0-op"')[1].split("</select>")[0]
    assert ">at least<" in operators and ">is one of<" in operators
    assert "latest_score.PHQ9" not in html.split('data-testid="fields"')[1].split("</th>")[1]


@pytest.mark.usefixtures("researcher_web")
def test_a_coded_field_shows_its_values_to_tick_by_label(client: FlaskClient) -> None:
    response = submit(client, "edit", rows(("ethnicity", "", "")) | {"show_values": "y"})

    page = page_of(response)
    assert "clauses-0-value" not in page.inputs
    assert page.inputs["clauses-0-choices"]["value"] == "A"
    assert "White \u2013 British (A)" in response.get_data(as_text=True)


@pytest.mark.usefixtures("researcher_web")
def test_values_ticked_count_the_same_as_the_api_with_codes(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    enrol(client, clinician, 2, ethnicity="J")
    enrol(client, clinician, 1, ethnicity="A", sex="male")
    coded = {
        "cohort": "TRD",
        "all": [
            {"field": "sex", "op": "=", "value": "female"},
            {"field": "age", "op": "between", "value": [18, 65]},
            {"field": "ethnicity", "op": "in", "value": ["A", "J"]},
        ],
    }
    by_api = api_count(client, researcher, coded).get_json()["count"]

    posted = TRD_ADULTS | rows(
        ("sex", "", ""), ("age", "between", "18 to 65"), ("ethnicity", "", "")
    )
    response = client.post(
        "/eligibility/count",
        data={
            **posted,
            "clauses-0-choices": "female",
            "clauses-2-choices": ["A", "J"],
            "csrf_token": _token(client),
        },
    )

    assert response.status_code == 200
    page = page_of(response)
    assert page.text_of("count") == str(by_api) and by_api >= 2
    assert page.text_of("criteria-sentence") == (
        "Treatment-resistant depression (TRD) \u00b7 Sex is Female \u00b7 Age in years between "
        "18 and 65 \u00b7 Ethnic category is one of White \u2013 British (A) or Asian or Asian "
        "British \u2013 Pakistani (J)"
    )


@pytest.mark.usefixtures("researcher_web")
def test_a_coded_field_with_nothing_ticked_asks_for_a_value_by_its_label(
    client: FlaskClient,
) -> None:
    response = count(client, TRD_ADULTS | rows(ADULTS, ("sex", "", "")))

    assert response.status_code == 422
    page = page_of(response)
    assert page.error_at("clauses-1-choices") == "Choose a value for Sex."
    assert ("#clauses-1-choices", "Choose a value for Sex.") in page.summary


@pytest.mark.usefixtures("researcher_web")
def test_researchers_are_not_offered_a_recruitment_request(client: FlaskClient) -> None:
    page = page_of(count(client, TRD_ADULTS | rows(ADULTS)))

    assert "ask-to-recruit" not in page.text_of("answer") and page.text_of("ask-to-recruit") == ""


@pytest.mark.usefixtures("partner_web")
def test_a_partners_count_offers_the_request_carrying_its_criteria_in_the_body(
    client: FlaskClient,
) -> None:
    html = count(client, TRD_ADULTS | rows(ADULTS)).get_data(as_text=True)

    form = html.split('data-testid="ask-to-recruit"')[0].rsplit("<form", 1)[1]
    assert 'method="post"' in form and 'action="/recruitment/new"' in form
    hidden = html.split('data-testid="ask-to-recruit"')[1].split("</form>")[0]
    carried = re.search(r'name="criteria_json" value="([^"]+)"', hidden)
    assert carried is not None
    assert json.loads(unescape(carried[1])) == {
        "cohort": "TRD",
        "all": [{"field": "age", "op": ">=", "value": 18}],
    }
    assert "Ask to recruit these people" in hidden


@pytest.mark.usefixtures("researcher_web")
def test_saved_queries_show_the_criteria_and_each_versions_changes_in_words(
    client: FlaskClient,
) -> None:
    phq = ("latest_score.PHQ9", ">=", "15")
    location = saved_location(
        submit(client, "save", TRD_ADULTS | rows(phq) | {"query_name": "PHQ"})
    )
    query_id = location.rsplit("/", 1)[-1]
    submit(
        client,
        f"saved/{query_id}/versions",
        TRD_ADULTS
        | rows(("latest_score.PHQ9", ">=", "20"), ("sex", "", ""))
        | {"query_id": query_id, "clauses-1-choices": "female"},
    )

    page = page_of(client.get("/eligibility/"))

    assert "Latest PHQ-9 total at least 20 \u00b7 Sex is Female" in page.text_of("saved-criteria")
    assert page.text_of("saved-changes") == (
        "Version 2: Latest PHQ-9 total at least 15 \u2192 at least 20; added: Sex is Female"
    )


def _token(client: FlaskClient) -> str:
    from tests.conftest import csrf_token_from

    return csrf_token_from(client.get("/eligibility/").get_data(as_text=True))
