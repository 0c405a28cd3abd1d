"""The audit log as a page: filters, words, CSV, the chain's latest check; reads audited."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.actions import Actor, record_event
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.cli import main
from registry.db import session
from registry.eligibility.describe import describe
from tests.conftest import Account, append_events, csrf_token_from

URL = "/admin/audit/"


def _record(app: Flask, action: str, **entry: Any) -> int:
    with app.test_request_context():
        seq = record_event(action, by=Actor.command_line(), **entry).seq
        session().commit()
    return seq


def _last(app: Flask, action: str) -> AuditEvent:
    with app.app_context():
        event = session().scalar(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
        )
        assert event is not None
        session().expunge(event)
        return event


def test_events_show_in_words(app: Flask, admin_web: FlaskClient) -> None:
    _record(app, "recruitment.approve", target_type="recruitment_request", target_id="R-TEST1")

    page = admin_web.get(f"{URL}?action=recruitment.approve").get_data(as_text=True)

    assert "Someone at the command line" in page
    assert "approved recruitment request R-TEST1 on " in page


def test_filters_by_participant_and_outcome(app: Flask, admin_web: FlaskClient) -> None:
    _record(app, "participant.timeline", participant_id="P-FILTER1")
    _record(app, "participant.timeline", participant_id="P-OTHER22")

    page = admin_web.get(f"{URL}?participant_id=P-FILTER1&outcome=success").get_data(as_text=True)

    assert "P-FILTER1" in page and "P-OTHER22" not in page


def test_filters_by_the_command_line(app: Flask, admin_web: FlaskClient) -> None:
    _record(app, "facts.refresh")

    page = admin_web.get(f"{URL}?actor=command+line&action=auth.sign_in").get_data(as_text=True)

    assert "0 events" in page


def test_criteria_show_in_words_with_json_behind_a_toggle(
    app: Flask, admin_web: FlaskClient
) -> None:
    criteria = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}
    _record(app, "eligibility.count", details={"criteria": criteria})

    page = admin_web.get(f"{URL}?action=eligibility.count").get_data(as_text=True)

    assert f"Criteria: {describe(criteria)}" in page.replace("&#39;", "'")
    assert "Age in years at least 18" in describe(criteria)
    assert "Show the criteria as JSON" in page
    assert "&#34;cohort&#34;" in page or "&quot;cohort&quot;" in page


def _day(name: str, when: dt.date) -> str:
    """A date typed into the filter's boxes, as the GET form sends it."""
    return f"{name}-day={when.day}&{name}-month={when.month}&{name}-year={when.year}"


def test_a_bad_filter_is_refused_with_its_field_named(admin_web: FlaskClient) -> None:
    since, until = _day("since", dt.date(2026, 12, 5)), _day("until", dt.date(2026, 12, 1))
    response = admin_web.get(f"{URL}?{since}&{until}&action=no.such")

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Audit log" in page
    assert "The end date must be the same as or after the start date." in page
    assert "Choose an action from the list." in page


def test_viewing_is_audited_with_the_filters(app: Flask, admin_web: FlaskClient) -> None:
    admin_web.get(f"{URL}?outcome=denied&{_day('since', dt.date(2026, 1, 1))}")

    viewed = _last(app, "audit.view")
    assert json.loads(viewed.details)["filters"] == {"outcome": "denied", "since": "2026-01-01"}


def test_the_dates_keep_the_days_between_them_both_included(
    app: Flask, admin_web: FlaskClient
) -> None:
    _record(app, "site.add", target_type="site", target_id="TODAY1")
    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)

    from_today = admin_web.get(
        f"{URL}?action=site.add&{_day('since', today)}&{_day('until', today)}"
    )
    from_tomorrow = admin_web.get(f"{URL}?action=site.add&{_day('since', today + day)}")
    until_yesterday = admin_web.get(f"{URL}?action=site.add&{_day('until', today - day)}")

    assert "TODAY1" in from_today.get_data(as_text=True)
    assert "0 events" in from_tomorrow.get_data(as_text=True)
    assert "0 events" in until_yesterday.get_data(as_text=True)


def _inputs(page: str) -> dict[str, str]:
    """Each text box's name and value, as the browser would fill them."""
    boxes = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            boxes[name.group(1)] = value.group(1) if value else ""
    return boxes


def test_the_dates_are_typed_into_day_month_and_year_boxes(admin_web: FlaskClient) -> None:
    page = admin_web.get(f"{URL}?{_day('since', dt.date(2026, 3, 5))}").get_data(as_text=True)

    boxes = _inputs(page)
    assert (boxes["since-day"], boxes["since-month"], boxes["since-year"]) == ("5", "3", "2026")
    assert boxes["until-day"] == ""
    assert "since" not in boxes  # no ISO text box left


@pytest.mark.parametrize(
    ("query", "message", "failing"),
    [
        ("since-day=5&since-year=2026", "Start date must include a month", ["since-month"]),
        ("since-day=31&since-month=2&since-year=2026", "Start date must be a real date", []),
        ("until-day=1&until-month=2&until-year=26", "Year must include 4 numbers", ["until-year"]),
        ("until-day=x&until-month=2&until-year=2026", "End date must be a real date", []),
    ],
    ids=["missing-part", "not-a-real-date", "two-digit-year", "not-a-number"],
)
def test_a_date_the_log_cannot_read_says_why_in_nhs_words(
    admin_web: FlaskClient, query: str, message: str, failing: list[str]
) -> None:
    response = admin_web.get(f"{URL}?{query}")

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Audit log" in page
    assert page.count(message) == 2  # in the summary and at the date
    for box in failing:
        assert f'href="#{box}"' in page  # the summary's link lands on the box to change
    assert "nhsuk-input--error" in page


def test_the_csv_link_and_the_next_page_carry_the_date_boxes(
    app: Flask, admin_web: FlaskClient
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    query = f"action=site.add&{_day('since', today)}"
    _record(app, "site.add", target_type="site", target_id="LINKED")

    page = admin_web.get(f"{URL}?{query}").get_data(as_text=True)
    link = re.search(r'href="([^"]*events\.csv[^"]*)"', page)
    assert link is not None
    href = html.unescape(link.group(1))
    assert f"since-day={today.day}" in href and f"since-year={today.year}" in href
    assert "action=site.add" in href
    rows = list(csv.reader(io.StringIO(admin_web.get(href).get_data(as_text=True))))
    assert "LINKED" in [row[8] for row in rows[1:]]


def test_a_page_past_the_end_shows_the_last(admin_web: FlaskClient) -> None:
    response = admin_web.get(f"{URL}?page=9999")

    assert response.status_code == 200
    assert "No events match" not in response.get_data(as_text=True)


def test_csv_holds_the_filtered_events_formula_safe(app: Flask, admin_web: FlaskClient) -> None:
    _record(app, "site.add", target_type="site", target_id="=HYPERLINK(1)")
    _record(app, "site.add", target_type="site", target_id="KEPT")

    response = admin_web.get(f"{URL}events.csv?action=site.add&actor=command+line")

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert rows[0][0] == "Event number"
    targets = [row[8] for row in rows[1:]]
    assert targets[:2] == ["KEPT", "'=HYPERLINK(1)"]
    downloaded = _last(app, "audit.download")
    assert json.loads(downloaded.details)["filters"]["action"] == "site.add"


def test_checking_the_chain_records_and_shows_the_answer(
    app: Flask, admin_web: FlaskClient, admin_account: Account
) -> None:
    response = admin_web.post(
        f"{URL}check", data={"csrf_token": _csrf(admin_web)}, follow_redirects=True
    )

    page = response.get_data(as_text=True)
    assert "the chain was <strong>intact</strong>" in page
    assert f"by {admin_account.user.name} (admin)" in page
    assert json.loads(_last(app, "audit.verify").details)["intact"] is True


def test_a_chain_never_checked_says_so(admin_web: FlaskClient) -> None:
    page = admin_web.get(URL).get_data(as_text=True)

    assert "Never checked." in page


def test_a_check_at_the_command_line_shows_without_moving_the_chain(
    app: Flask, admin_web: FlaskClient
) -> None:
    seqs = append_events(app, 2)

    result = app.test_cli_runner().invoke(main, ["audit", "verify"])

    assert result.exit_code == 0, result.stderr
    assert _last(app, "test.event").seq == seqs[-1]  # nothing appended after the walk
    page = admin_web.get(URL).get_data(as_text=True)
    assert "by Someone at the command line: the chain was <strong>intact</strong>" in page


def test_a_check_against_the_anchors_shows_the_latest_anchor(
    app: Flask, admin_web: FlaskClient, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    append_events(app, 2)
    runner = app.test_cli_runner()
    assert runner.invoke(main, ["audit", "anchor", "--out", str(anchors)]).exit_code == 0
    append_events(app, 1)
    assert runner.invoke(main, ["audit", "anchor", "--out", str(anchors)]).exit_code == 0
    latest = json.loads(anchors.read_text().splitlines()[-1])["seq"]

    result = runner.invoke(main, ["audit", "verify", "--anchors", str(anchors)])

    assert result.exit_code == 0, result.stderr
    page = admin_web.get(URL).get_data(as_text=True)
    assert (
        f"It matched 2 anchors kept outside the database; the latest was taken at event "
        f"{latest}." in page
    )


def test_a_check_without_anchors_says_how_to_compare_them(
    app: Flask, admin_web: FlaskClient
) -> None:
    append_events(app, 1)
    assert app.test_cli_runner().invoke(main, ["audit", "verify"]).exit_code == 0

    page = admin_web.get(URL).get_data(as_text=True)

    assert "That check compared no anchors." in page


def test_a_broken_chain_found_at_the_command_line_shows_where(
    app: Flask, admin_web: FlaskClient, tamper: Callable[[str], None]
) -> None:
    seqs = append_events(app, 3)
    tamper(f"UPDATE audit_event SET details = '{{}}' WHERE seq = {seqs[1]}")

    result = app.test_cli_runner().invoke(main, ["audit", "verify"])

    assert result.exit_code == 1
    page = admin_web.get(URL).get_data(as_text=True)
    assert "the chain was <strong>broken</strong>" in page
    assert f"at event {seqs[1]}: event content does not match its MAC" in page


def _csrf(client: FlaskClient) -> str:
    return csrf_token_from(client.get(URL).get_data(as_text=True))


def test_only_admins_read_the_log(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    sign_in(create_account(Role.RESEARCHER))

    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}events.csv").status_code == 403
