"""Safe data entry on the clinician's pages (issue #21): dates in day, month and year boxes
with the NHS.UK messages, the patient banner on every page about one participant (read
once, audited once), and error summaries that name the question."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import clock
from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.consents.actions import withdraw_participant
from registry.consents.commands import Withdraw
from registry.db import session
from registry.participants.models import Participant
from tests.conftest import Account, new_nhs_number, post_form
from tests.participants.test_web import enrolled, enrolment_form, page_of

pytestmark = pytest.mark.usefixtures("consent_forms")


@pytest.fixture
def clinician(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    sign_in(create_account(Role.CLINICIAN))
    return client


@pytest.fixture
def another_site(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    """A browser signed in as a clinician of another site."""
    browser = app.test_client()
    sign_in(create_account(Role.CLINICIAN), test_client=browser)
    return browser


def identity_reads(app: Flask, participant_id: str) -> int:
    with app.app_context():
        return (
            session().scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "participant.read_identity",
                    AuditEvent.participant_id == participant_id,
                )
            )
            or 0
        )


def enrol_with_boxes(client: FlaskClient, **boxes: str) -> Any:
    """An enrolment whose date of birth is typed box by box (``boxes``: day, month, year)."""
    answers: dict[str, object] = {
        name: value for name, value in enrolment_form("TRD").items() if name != "date_of_birth"
    }
    answers |= {f"date_of_birth-{part}": value for part, value in boxes.items()}
    return post_form(client, "/participants/enrol/TRD", answers)


# -- dates ----------------------------------------------------------------------------------

DATE_OF_BIRTH_CASES = [
    pytest.param(
        {"day": "12", "year": "1990"},
        "Date of birth must include a month",
        "#date_of_birth-month",
        id="no-month",
    ),
    pytest.param(
        {"year": "1990"},
        "Date of birth must include a day and month",
        "#date_of_birth-day",
        id="no-day-or-month",
    ),
    pytest.param(
        {"day": "31", "month": "2", "year": "1990"},
        "Date of birth must be a real date",
        "#date_of_birth-day",
        id="not-a-real-date",
    ),
    pytest.param(
        {"day": "12", "month": "April", "year": "1990"},
        "Date of birth must be a real date",
        "#date_of_birth-month",
        id="month-in-words",
    ),
    pytest.param(
        {"day": "12", "month": "4", "year": "90"},
        "Year must include 4 numbers",
        "#date_of_birth-year",
        id="two-digit-year",
    ),
    pytest.param(
        {"day": "1", "month": "1", "year": str(clock.today().year + 1)},
        "Date of birth must be in the past",
        "#date_of_birth-day",
        id="in-the-future",
    ),
    pytest.param({}, "Enter their date of birth.", "#date_of_birth-day", id="blank"),
]


@pytest.mark.parametrize(("boxes", "message", "link"), DATE_OF_BIRTH_CASES)
def test_date_of_birth_error_names_the_part_and_highlights_its_box(
    clinician: FlaskClient, boxes: dict[str, str], message: str, link: str
) -> None:
    response = enrol_with_boxes(clinician, **boxes)

    page = page_of(response)
    assert response.status_code == 422
    assert (link, message) in page.summary
    assert page.error_at("date_of_birth") == message
    assert "nhsuk-input--error" in (page.inputs[link[1:]].get("class") or "")
    for part, value in boxes.items():
        assert page.value(f"date_of_birth-{part}") == value  # what was typed is kept


def test_date_of_birth_error_highlights_only_the_missing_box(clinician: FlaskClient) -> None:
    page = page_of(enrol_with_boxes(clinician, day="12", year="1990"))

    assert "nhsuk-input--error" in (page.inputs["date_of_birth-month"].get("class") or "")
    assert "nhsuk-input--error" not in (page.inputs["date_of_birth-day"].get("class") or "")


def test_date_typed_in_boxes_is_enrolled(clinician: FlaskClient) -> None:
    response = enrol_with_boxes(clinician, day="12", month="4", year="1990")

    page = page_of(clinician.get(response.headers["Location"]))
    assert response.status_code == 302
    assert "12 April 1990" in page.text_of("identity")


# -- error summaries ------------------------------------------------------------------------


def test_unanswered_consent_items_are_named_once_each(clinician: FlaskClient) -> None:
    answers = enrolment_form("TRD", consent_samples=None, consent_inform_gp=None)

    page = page_of(post_form(clinician, "/participants/enrol/TRD", answers))

    assert page.summary == [
        ("#consent_samples", "Answer whether they agree to their samples being stored"),
        ("#consent_inform_gp", "Answer whether they agree to their GP being told they have joined"),
    ]


def test_future_episode_month_is_one_summary_entry_shown_at_its_field(
    clinician: FlaskClient,
) -> None:
    next_year = str(clock.today().year + 1)
    answers = enrolment_form("TRD", episode_start=f"{next_year}-01")

    page = page_of(post_form(clinician, "/participants/enrol/TRD", answers))

    message = "Month the current episode began must be today or in the past"
    assert page.summary == [("#episode_start-month", message)]
    assert page.error_at("episode_start") == message


# -- the patient banner ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/correct",
        "/consent",
        "/assessments/new",
        "/assessments/new?instrument=PHQ9",
        "/treatment-trials/new",
    ],
)
def test_page_about_one_participant_shows_the_banner_from_one_audited_read(
    app: Flask, clinician: FlaskClient, path: str
) -> None:
    number = new_nhs_number()
    participant_id = enrolled(clinician, "TRD", nhs_number=number, date_of_birth="1990-04-12")
    before = identity_reads(app, participant_id)

    page = page_of(clinician.get(f"/participants/{participant_id}{path}"))

    banner = page.text_of("patient-banner")
    age = clock.today().year - 1990 - ((clock.today().month, clock.today().day) < (4, 12))
    assert f"{number[:3]} {number[3:6]} {number[6:]}" in banner
    assert f"12 April 1990 ({age} years)" in banner
    assert "Treatment-resistant depression (TRD)" in banner
    assert re.search(r"Site\s*Test Trust \(S[0-9A-F]{6}\)", banner)  # the site in words
    assert "Ada" in banner
    assert identity_reads(app, participant_id) == before + 1


def test_refused_form_keeps_its_banner_read_on_record(app: Flask, clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "TRD")
    url = f"/participants/{participant_id}/assessments/new?instrument=PHQ9"
    clinician.get(url)
    before = identity_reads(app, participant_id)

    response = post_form(clinician, url, {"administered_on": "2026-01-01"})  # no items

    assert response.status_code == 422
    assert "Ada" in page_of(response).text_of("patient-banner")
    # The GET that fetched the form, and the refused POST's page: both were seen.
    assert identity_reads(app, participant_id) == before + 2


# -- a withdrawn participant's old link -----------------------------------------------------


def withdraw_fully(app: Flask, participant_id: str) -> None:
    with app.test_request_context():
        participant = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert participant is not None
        withdrawal = Withdraw(
            level="full",
            reason_code="participant_request",
            reason=None,
            requested_by="participant",
            consultee_type=None,
        )
        withdraw_participant(participant, withdrawal, by=Actor.command_line())
        session().commit()


def test_own_sites_withdrawn_participant_link_says_they_withdrew(
    app: Flask, clinician: FlaskClient
) -> None:
    participant_id = enrolled(clinician, "TRD")
    withdraw_fully(app, participant_id)

    response = clinician.get(f"/participants/{participant_id}")

    page = page_of(response)
    today = clock.today()
    assert response.status_code == 410
    assert page.text_of("withdrawn") == (
        f"This participant withdrew from the registry on {today.day} {today:%B %Y}"
    )
    assert "Ada" not in page.text


def test_other_sites_withdrawn_participant_link_is_not_found(
    app: Flask, clinician: FlaskClient, another_site: FlaskClient
) -> None:
    participant_id = enrolled(clinician, "TRD")
    withdraw_fully(app, participant_id)

    response = another_site.get(f"/participants/{participant_id}")

    assert response.status_code == 404
    assert "withdrew" not in response.get_data(as_text=True)


# -- correcting the NHS number and date of birth on the page --------------------------------

REASON = "Day and month swapped when typed"


def test_mistyped_date_of_birth_is_corrected_with_a_reason(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "TRD", date_of_birth="1990-04-12")
    url = f"/participants/{participant_id}/correct"

    response = post_form(clinician, url, {"date_of_birth": "1990-12-04", "reason": REASON})

    shown = page_of(clinician.get(f"/participants/{participant_id}"))
    assert response.status_code == 302
    assert shown.text_of("notice").endswith("Their record has been corrected.")
    assert "4 December 1990" in shown.text_of("identity")


def test_corrected_birth_after_the_episode_start_is_refused_at_the_field(
    clinician: FlaskClient,
) -> None:
    participant_id = enrolled(clinician, "TRD", date_of_birth="1985-03-01", episode_start="2000-01")
    url = f"/participants/{participant_id}/correct"

    response = post_form(clinician, url, {"date_of_birth": "2005-03-01", "reason": REASON})

    page = page_of(response)
    assert response.status_code == 422
    assert page.summary == [
        ("#date_of_birth-day", "The episode start (January 2000) is before this date of birth.")
    ]
    assert "1 March 1985" in page.text_of("patient-banner")  # unchanged


def test_identifier_correction_without_a_reason_asks_for_one(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "TRD", date_of_birth="1990-04-12")
    url = f"/participants/{participant_id}/correct"

    response = post_form(clinician, url, {"date_of_birth": "1990-12-04"})

    page = page_of(response)
    assert response.status_code == 422
    assert page.summary == [("#reason", "Say why the NHS number or date of birth was wrong.")]
    assert "12 April 1990" in page.text_of("patient-banner")  # unchanged


def test_correction_to_a_number_already_enrolled_is_refused_at_the_field(
    clinician: FlaskClient,
) -> None:
    taken = new_nhs_number()
    enrolled(clinician, "TRD", nhs_number=taken)
    participant_id = enrolled(clinician, "TRD")
    url = f"/participants/{participant_id}/correct"

    response = post_form(clinician, url, {"nhs_number": taken, "reason": REASON})

    page = page_of(response)
    assert response.status_code == 422
    assert page.error_at("nhs_number") == "This person is already enrolled."


# -- the consultee's questions, revealed by the answer that needs them ------------------------


def test_consultee_questions_sit_under_the_answer_that_reveals_them(
    clinician: FlaskClient,
) -> None:
    html = clinician.get("/participants/enrol/TRD").get_data(as_text=True)

    assert 'data-aria-controls="conditional-capacity-2"' in html
    conditional = html[html.index('id="conditional-capacity-2"') :]
    assert 'name="consultee_type"' in conditional[: conditional.index("</fieldset>")] or (
        'name="consultee_type"' in conditional
    )


def test_hidden_consultee_answers_are_ignored_when_they_have_capacity(
    app: Flask, clinician: FlaskClient
) -> None:
    answers = enrolment_form(
        "TRD", capacity="confirmed", consultee_type="personal", consultee_name="Grace Example"
    )

    response = post_form(clinician, "/participants/enrol/TRD", answers)

    assert response.status_code == 302, page_of(response).summary
