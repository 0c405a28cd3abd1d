"""The clinician's assessment page for the scales added in issue #19: answers in words,
a total alone where the licence allows no more, and what is refused where it was typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from tests.conftest import Account, post_form
from tests.participants.test_web import LAST_WEEK, enrolled, page_of

pytestmark = pytest.mark.usefixtures("consent_forms")


@pytest.fixture
def clinician(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    sign_in(create_account(Role.CLINICIAN))
    return client


def url_for_scale(participant_id: str, code: str) -> str:
    return f"/participants/{participant_id}/assessments/new?instrument={code}"


def test_the_chooser_offers_every_new_scale_by_its_short_name(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "EP")

    chooser = page_of(clinician.get(f"/participants/{participant_id}/assessments/new"))

    listed = chooser.text_of("instruments")
    for name in ("SOFAS", "PSP", "CGI-I", "CDSS", "C-SSRS screener"):
        assert f"{name} :" in listed


def test_cssrs_screen_is_answered_yes_or_no_and_shows_the_risk_in_words(
    clinician: FlaskClient,
) -> None:
    participant_id = enrolled(clinician, "EP")
    url = url_for_scale(participant_id, "CSSRS_SCREEN")
    form = page_of(clinician.get(url))
    answers = {f"item_{n}": "1" if n in (1, 2, 3) else "0" for n in range(1, 8)}

    response = post_form(clinician, url, {"administered_on": LAST_WEEK, **answers})
    shown = page_of(clinician.get(response.headers["Location"]))

    assert "1. Wished to be dead (past month) No Yes" in form.text
    assert "risk level is worked out" in form.text
    assert response.status_code == 302
    assert shown.text_of("notice").endswith("C-SSRS screener total 2, moderate risk")


def test_cgi_i_offers_improvement_in_words(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "EP")

    form = page_of(clinician.get(url_for_scale(participant_id, "CGI_I")))

    assert "Very much improved" in form.text
    assert "Very much worse" in form.text
    assert form.inputs["item_1"]["value"] == "1"


def test_psp_asks_for_the_total_only_and_records_it(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "EP")
    url = url_for_scale(participant_id, "PSP")
    form = page_of(clinician.get(url))

    response = post_form(clinician, url, {"administered_on": LAST_WEEK, "total": "45"})
    shown = page_of(clinician.get(response.headers["Location"]))

    assert "total" in form.inputs and "item_1" not in form.inputs
    assert "licence allows only the total" in form.text
    assert shown.text_of("notice").endswith("PSP total 45, variable disability")


def test_psp_total_out_of_range_is_refused_at_the_total(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "EP")
    url = url_for_scale(participant_id, "PSP")

    response = post_form(clinician, url, {"administered_on": LAST_WEEK, "total": "0"})

    assert response.status_code == 422
    assert page_of(response).error_at("total") == (
        "The PSP total must be a whole number from 1 to 100."
    )


def test_psp_without_a_total_asks_for_it(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "EP")

    response = post_form(
        clinician, url_for_scale(participant_id, "PSP"), {"administered_on": LAST_WEEK}
    )

    assert response.status_code == 422
    assert ("#total", "Enter the total.") in page_of(response).summary


def test_sofas_is_typed_as_one_number(clinician: FlaskClient) -> None:
    participant_id = enrolled(clinician, "EP")
    url = url_for_scale(participant_id, "SOFAS")

    response = post_form(clinician, url, {"administered_on": LAST_WEEK, "item_1": "55"})
    shown = page_of(clinician.get(response.headers["Location"]))

    assert shown.text_of("notice").endswith("SOFAS total 55, moderate difficulty")
