"""The check before adding a consent-form version (#20 item 8): how many participants will
need re-consent, per site, counted as the re-consent list counts them, before anything is
added; the file is chosen on the check page."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import clock
from registry.consents.queries import current_form
from tests.conftest import ApiUser, csrf_token_from, typed_dates
from tests.consents.test_withdrawal_api import enrol, withdrawn
from tests.participants.test_web import page_of

pytestmark = pytest.mark.usefixtures("consent_forms")

PAGE = "/admin/consent-forms/"
TODAY = clock.today()
PDF = b"%PDF-1.7\n% a tiny information sheet\n%%EOF\n"
SITE_ROW = re.compile(r"\((S[0-9A-F]+)\) (\d+)")


@pytest.fixture
def people(
    client: FlaskClient, api_user: Callable[..., ApiUser], admin: ApiUser
) -> dict[str, ApiUser]:
    """Three TRD participants at one site and two at another, one EP participant, and one
    TRD participant who withdrew (never asked to re-consent)."""
    first, second = api_user("clinician"), api_user("clinician")
    for _ in range(3):
        enrol(client, first)
    for _ in range(2):
        enrol(client, second)
    enrol(client, first, cohort="EP")
    withdrawn(client, admin, enrol(client, second), "no_further_contact")
    return {"first": first, "second": second}


def details(admin_web: FlaskClient, **answers: str) -> Any:
    """The first step: cohort, version and date, as an admin types them."""
    token = csrf_token_from(admin_web.get(PAGE).get_data(as_text=True))
    data = {"csrf_token": token, "cohort": "TRD", "version": "TRD-PIS-3.0"}
    typed = typed_dates({**data, "effective_on": TODAY.isoformat(), **answers})
    return admin_web.post(PAGE, data=typed)


def confirm(admin_web: FlaskClient, check: Any, *, file: bool = True, **answers: str) -> Any:
    """The check page's button, with the details it carries and the file chosen there."""
    html = check.get_data(as_text=True)
    data: dict[str, Any] = {"csrf_token": csrf_token_from(html), "step": "confirm"}
    parts = ("effective_on-day", "effective_on-month", "effective_on-year")
    for name in ("cohort", "version", *parts):
        found = re.search(f'type="hidden" name="{name}" value="([^"]*)"', html)
        assert found, name
        data[name] = found.group(1)
    data.update(answers)
    if file:
        data["document"] = (io.BytesIO(PDF), "sheet.pdf")
    return admin_web.post(PAGE, data=data, content_type="multipart/form-data")


def reconsent_total(admin_web: FlaskClient) -> str:
    return page_of(admin_web.get("/admin/consents/reconsent")).text_of("reconsent-total")


def test_the_check_page_counts_who_will_need_reconsent_as_the_list_will(
    app: Flask, admin_web: FlaskClient, people: dict[str, ApiUser]
) -> None:
    check = details(admin_web)

    assert check.status_code == 200
    page = page_of(check)
    assert page.text_of("reconsent-count").startswith(
        "5 participants in TRD will need to re-consent as soon as you add it, at 2 sites."
    )
    assert page.text_of("reconsent-by-site").endswith("Total 5")
    with app.app_context():  # nothing added yet
        form = current_form("TRD")
        assert form is not None and form.version == "TRD-PIS-2.0"
    assert reconsent_total(admin_web) == "0 participants at 0 sites."

    added = confirm(admin_web, check)

    assert added.status_code == 302
    assert reconsent_total(admin_web) == "5 participants at 2 sites."
    listed = page_of(admin_web.get("/admin/consents/reconsent")).text_of("reconsent-sites")
    assert sorted(SITE_ROW.findall(listed)) == sorted(
        SITE_ROW.findall(page.text_of("reconsent-by-site"))
    )
    assert sorted(int(n) for _, n in SITE_ROW.findall(listed)) == [2, 3]


def test_a_later_version_says_from_which_date(
    admin_web: FlaskClient, people: dict[str, ApiUser]
) -> None:
    later = TODAY + dt.timedelta(days=30)

    check = details(admin_web, effective_on=later.isoformat())
    added = confirm(admin_web, check)

    text = page_of(check).text_of("reconsent-count")
    assert text.startswith(
        f"From {later.day} {later:%B %Y} , 5 participants in TRD will need to re-consent"
    )
    assert added.status_code == 302
    assert reconsent_total(admin_web) == "0 participants at 0 sites."  # not yet in force


def test_a_version_older_than_a_later_one_changes_no_ones_consent(
    admin_web: FlaskClient, people: dict[str, ApiUser]
) -> None:
    confirm(admin_web, details(admin_web, effective_on=TODAY.isoformat()))

    check = details(admin_web, version="TRD-PIS-2.5", effective_on="2024-01-01")

    assert "TRD-PIS-3.0" in page_of(check).text_of("not-in-force")
    assert page_of(check).text_of("reconsent-count") == ""


def test_adding_without_choosing_the_file_is_refused_on_the_check_page(
    app: Flask, admin_web: FlaskClient, people: dict[str, ApiUser]
) -> None:
    check = details(admin_web)

    refused = confirm(admin_web, check, file=False)

    assert refused.status_code == 422
    page = page_of(refused)
    assert page.error_at("document") == "Choose the information sheet file."
    assert "5 participants in TRD" in page.text_of("reconsent-count")  # still the check page
    assert "<title>Error:" in refused.get_data(as_text=True).replace("\n", "")
    with app.app_context():
        form = current_form("TRD")
        assert form is not None and form.version == "TRD-PIS-2.0"


def test_changing_the_details_goes_back_to_the_form_with_them_kept(
    admin_web: FlaskClient, people: dict[str, ApiUser]
) -> None:
    check = details(admin_web)

    back = confirm(admin_web, check, file=False, step="change")

    assert back.status_code == 200
    assert page_of(back).value("version") == "TRD-PIS-3.0"
    assert "Add a version" in page_of(back).text


def test_missing_details_are_refused_before_the_check_page(admin_web: FlaskClient) -> None:
    refused = details(admin_web, version="")

    assert refused.status_code == 422
    assert page_of(refused).error_at("version") == "Enter the version, for example TRD-PIS-2.0."
