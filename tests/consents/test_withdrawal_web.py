"""The admin's withdrawal pages and re-consent list, and the clinician's consent page, through
the Flask test client: who may use them, each level through the two steps, the password or
security code a full withdrawal needs, and the action's refusals shown on the page."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import clock
from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth import actions as auth_actions
from registry.auth.models import Site
from registry.auth.permissions import Role
from registry.consents.actions import add_consent_form
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS
from registry.consents.models import ConsentItemEvent, ConsentRecord, Withdrawal
from registry.db import session, utcnow
from registry.facts.derive import current_consent
from registry.participants.models import Participant
from tests.conftest import Account, ApiUser, csrf_token_from, enrol, post_form
from tests.participants.test_web import page_of

pytestmark = pytest.mark.usefixtures("consent_forms")

LEVELS = ("no_further_contact", "no_further_data", "full")
W1, W2, W3 = LEVELS
LAST_WEEK = (clock.today() - dt.timedelta(days=7)).isoformat()
TODAY = clock.today().isoformat()
YESTERDAY = clock.today() - dt.timedelta(days=1)


# -- builders -------------------------------------------------------------------------------


@pytest.fixture
def site(create_site: Callable[..., Site]) -> Site:
    return create_site()


@pytest.fixture
def clinician(api_user: Callable[..., ApiUser], site: Site) -> ApiUser:
    """A clinician of ``site``, with a token."""
    return api_user(Role.CLINICIAN, site=site)


@pytest.fixture
def clinician_web(
    app: Flask,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    site: Site,
) -> FlaskClient:
    """A browser signed in as a clinician of the participants' site."""
    browser = app.test_client()
    sign_in(create_account(Role.CLINICIAN, site=site), test_client=browser)
    return browser


CHOICES = {"reason_code": "participant_request", "requested_by": "participant"}


def choose(client: FlaskClient, participant_id: str, level: str, **answers: str) -> Any:
    """The first step: the level and reason chosen, "Continue" pressed."""
    return post_form(
        client,
        f"/admin/participants/{participant_id}/withdraw",
        {"level": level, **CHOICES, "step": "check", **answers},
    )


def confirm(client: FlaskClient, participant_id: str, level: str, **answers: str) -> Any:
    """The second step, as the confirmation page sends it back."""
    return post_form(
        client,
        f"/admin/participants/{participant_id}/withdraw",
        {"level": level, **CHOICES, "step": "confirm", **answers},
    )


def participant_row(app: Flask, participant_id: str) -> Participant:
    with app.app_context():
        found = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert found is not None
        return found


def withdrawals_of(app: Flask, participant_id: str) -> list[str]:
    with app.app_context():
        return list(
            session().scalars(
                select(Withdrawal.level)
                .join(Participant, Participant.id == Withdrawal.participant_pk)
                .where(Participant.participant_id == participant_id)
                .order_by(Withdrawal.id)
            )
        )


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            session().scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def add_newer_form(app: Flask, cohort: str = "TRD", version: str = "TRD-PIS-3.0") -> None:
    with app.test_request_context():
        add_consent_form(
            cohort=cohort,
            version=version,
            effective_on=YESTERDAY,
            file_name="pis.md",
            document=b"# Participant information sheet, version 3\n",
            by=Actor.command_line(),
        )
        session().commit()


# -- who may use the pages ------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/participants/",
    "/admin/participants/P-0000000000AA",
    "/admin/participants/P-0000000000AA/withdraw",
    "/admin/consents/reconsent",
]


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.RESEARCHER, Role.PARTNER])
def test_admin_pages_refuse_other_roles(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    sign_in(create_account(role))
    token = csrf_token_from(client.get("/").get_data(as_text=True))

    answers = {url: client.get(url).status_code for url in ADMIN_PAGES}
    answers["POST withdraw"] = client.post(
        ADMIN_PAGES[2], data={"csrf_token": token, "level": W3, "step": "confirm"}
    ).status_code

    assert set(answers.values()) == {403}, answers


def test_each_admin_page_renders_for_an_admin(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    pages = [
        "/",
        "/admin/participants/",
        f"/admin/participants/{participant_id}",
        f"/admin/participants/{participant_id}/withdraw",
        "/admin/consents/reconsent",
        "/admin/consent-forms/",
    ]

    assert {url: client.get(url).status_code for url in pages} == dict.fromkeys(pages, 200)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/admin/participants/"' in home
    assert 'href="/admin/consents/reconsent"' in home


def test_admin_finds_a_participant_by_the_id_they_were_given(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    found = client.get("/admin/participants/", query_string={"participant_id": participant_id})
    typed_loosely = client.get(
        "/admin/participants/", query_string={"participant_id": f" {participant_id.lower()} "}
    )
    unknown = client.get("/admin/participants/", query_string={"participant_id": "P-NOSUCH"})
    blank = client.get("/admin/participants/", query_string={"participant_id": ""})

    assert found.status_code == 302
    assert found.headers["Location"] == f"/admin/participants/{participant_id}"
    assert typed_loosely.headers["Location"] == f"/admin/participants/{participant_id}"
    assert unknown.status_code == 422
    assert page_of(unknown).error_at("participant_id") == (
        "No participant has this id. Check it has been typed correctly."
    )
    assert page_of(blank).error_at("participant_id").startswith("Enter the participant id")


def test_an_unknown_participant_has_no_admin_page(
    client: FlaskClient, admin_web: FlaskClient
) -> None:
    assert client.get("/admin/participants/P-NOSUCH").status_code == 404
    assert client.get("/admin/participants/P-NOSUCH/withdraw").status_code == 404


# -- the two steps --------------------------------------------------------------------------


def test_withdrawal_page_names_each_level_in_plain_words(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    page = page_of(client.get(f"/admin/participants/{participant_id}/withdraw"))

    assert [page.inputs[f"level{suffix}"]["value"] for suffix in ("", "-2", "-3")] == [W1, W2, W3]
    assert "W1 No further contact They are never approached again." in page.text
    assert "Their data is kept and used." in page.text
    assert "W2 No further data" in page.text
    assert "nothing new is recorded about them" in page.text
    assert "W3 Full withdrawal Their identity is destroyed and cannot be recovered." in page.text
    assert "A record that they withdrew is kept." in page.text
    assert "Do not include their name, NHS number" in page.text


@pytest.mark.parametrize(
    ("level", "effect"),
    [
        (W1, "They are never approached again. Their data is kept and used."),
        (W2, "They are never approached again and nothing new is recorded about them."),
    ],
)
def test_each_level_goes_through_a_confirmation_that_restates_its_effect(
    app: Flask,
    client: FlaskClient,
    admin_web: FlaskClient,
    clinician: ApiUser,
    clinician_web: FlaskClient,
    level: str,
    effect: str,
) -> None:
    participant_id = enrol(client, clinician)
    note = "Finds the follow-up calls too much."

    checked = choose(client, participant_id, level, reason=note)
    assert checked.status_code == 200
    shown = page_of(checked)
    assert effect in shown.text_of("effect")
    assert note in shown.text_of("chosen")
    assert "password" not in shown.inputs  # only a full withdrawal asks for it
    assert withdrawals_of(app, participant_id) == []  # nothing yet

    done = confirm(client, participant_id, level, reason=note)

    assert done.status_code == 302
    assert done.headers["Location"] == f"/admin/participants/{participant_id}"
    after = page_of(client.get(done.headers["Location"]))
    assert f"Withdrawal recorded: W{LEVELS.index(level) + 1} " in after.text_of("notice")
    assert effect in after.text_of("notice")
    assert withdrawals_of(app, participant_id) == [level]
    assert participant_row(app, participant_id).withdrawal_level == level
    clinician_sees = page_of(clinician_web.get(f"/participants/{participant_id}"))
    assert "Withdrawn: W" in clinician_sees.text_of("withdrawal-level")
    has_links = "Record a rating scale" in clinician_sees.text
    assert has_links is (level == W1)  # W2: nothing new may be recorded


def test_change_on_the_confirmation_goes_back_with_the_answers_kept(
    app: Flask, client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    back = post_form(
        client,
        f"/admin/participants/{participant_id}/withdraw",
        {"level": W2, **CHOICES, "reason": "Moving away.", "step": "change"},
    )

    page = page_of(back)
    assert back.status_code == 200
    assert page.checked["level"] == W2
    assert page.selected["reason_code"] == "participant_request"
    assert "Moving away." in page.text
    assert withdrawals_of(app, participant_id) == []


def test_unanswered_questions_are_listed_and_nothing_is_written(
    app: Flask, client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    response = post_form(
        client, f"/admin/participants/{participant_id}/withdraw", {"step": "check"}
    )

    page = page_of(response)
    assert response.status_code == 422
    assert page.summary == [
        ("#level", "Choose how far they are withdrawing."),
        ("#reason_code", "Select the reason."),
        ("#requested_by", "Say who asked for the withdrawal."),
    ]
    assert withdrawals_of(app, participant_id) == []


def test_a_consultee_must_be_said_to_be_personal_or_nominated(
    app: Flask, client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    response = confirm(client, participant_id, W1, requested_by="consultee")
    accepted = confirm(
        client, participant_id, W1, requested_by="consultee", consultee_type="nominated"
    )

    assert response.status_code == 422
    assert page_of(response).error_at("consultee_type") == (
        "Say whether the consultee is personal or nominated."
    )
    assert accepted.status_code == 302
    assert withdrawals_of(app, participant_id) == [W1]
    history = page_of(client.get(f"/admin/participants/{participant_id}")).text
    assert (
        "A consultee, on their behalf: nominated consultee (someone independent of the study)"
        in history
    )


def test_the_consultee_is_asked_about_only_under_a_consultees_request(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    html = client.get(f"/admin/participants/{participant_id}/withdraw").get_data(as_text=True)

    revealed_from = html.index('id="conditional-requested_by-2"')
    assert 'value="consultee"' in html[html.rindex("<input", 0, revealed_from) : revealed_from]
    assert html.index('name="consultee_type"') > revealed_from


def test_a_laxer_level_is_refused_with_the_actions_message(
    app: Flask, client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    assert confirm(client, participant_id, W2).status_code == 302

    shown = page_of(client.get(f"/admin/participants/{participant_id}/withdraw"))
    response = confirm(client, participant_id, W1)

    assert "They have already withdrawn: W2 No further data" in shown.text_of("current-level")
    assert response.status_code == 422
    message = page_of(response).error_at("level")
    assert message.startswith("This participant has already withdrawn at the stricter level")
    assert ("#level", message) in page_of(response).summary
    assert withdrawals_of(app, participant_id) == [W2]


def test_the_same_level_again_changes_nothing_and_says_so(
    app: Flask, client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    confirm(client, participant_id, W1)

    again = confirm(client, participant_id, W1)

    assert again.status_code == 302
    notice = page_of(client.get(again.headers["Location"])).text_of("notice")
    assert notice.endswith(
        "They had already withdrawn at this level (W1 No further contact): nothing has changed."
    )
    assert withdrawals_of(app, participant_id) == [W1]


# -- full withdrawal: the admin proves it is them -------------------------------------------


def test_full_withdrawal_asks_for_a_password_or_security_code(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    page = page_of(choose(client, participant_id, W3, reason="Wants nothing kept."))

    assert "This cannot be undone." in page.text
    assert "Their identity is destroyed and cannot be recovered." in page.text_of("effect")
    assert "Not kept for a full withdrawal" in page.text_of("chosen")
    assert page.inputs["password"]["type"] == "password"
    assert "code" in page.inputs


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"password": "not the password"}, "password", "Your password is not correct."),
        ({"code": "000000"}, "code", "The security code is not correct, or it was already used."),
        ({}, "password", "Enter your password, or a security code from your app."),
    ],
    ids=["wrong-password", "wrong-code", "neither"],
)
def test_full_withdrawal_with_a_wrong_password_or_code_writes_nothing_but_is_audited(
    app: Flask,
    client: FlaskClient,
    admin_web: FlaskClient,
    admin_account: Account,
    clinician: ApiUser,
    answers: dict[str, str],
    field: str,
    message: str,
) -> None:
    participant_id = enrol(client, clinician)
    refusals = len(events(app, "auth.reauthenticate"))

    response = confirm(client, participant_id, W3, **answers)

    page = page_of(response)
    assert response.status_code == 422
    assert page.error_at(field) == message
    assert (f"#{field}", message) in page.summary
    assert withdrawals_of(app, participant_id) == []
    row = participant_row(app, participant_id)
    assert row.status == "active" and row.withdrawal_level is None
    audited = events(app, "auth.reauthenticate")[refusals:]
    assert [(e.actor, e.outcome, e.purpose) for e in audited] == [
        (f"user:{admin_account.user.id}", "denied", "confirm full withdrawal")
    ]
    assert "not the password" not in audited[0].details


def test_full_withdrawal_with_the_right_password_destroys_their_identity(
    app: Flask,
    client: FlaskClient,
    admin_web: FlaskClient,
    admin_account: Account,
    clinician: ApiUser,
    clinician_web: FlaskClient,
) -> None:
    participant_id = enrol(client, clinician)
    confirm(client, participant_id, W3, password="a wrong one")

    done = confirm(
        client, participant_id, W3, password=admin_account.password, reason="Do not keep."
    )

    assert done.status_code == 302
    after = page_of(client.get(done.headers["Location"]))
    assert "Withdrawal recorded: W3 Full withdrawal." in after.text_of("notice")
    row = participant_row(app, participant_id)
    assert row.status == "shredded" and row.withdrawal_level == W3
    assert withdrawals_of(app, participant_id) == [W3]
    with app.app_context():
        kept = session().scalar(select(Withdrawal).where(Withdrawal.participant_pk == row.id))
        assert kept is not None and kept.reason_sealed is None
    assert participant_id not in clinician_web.get("/participants/").get_data(as_text=True)
    # Their site's old link now says that they withdrew (410), and nothing about them.
    assert clinician_web.get(f"/participants/{participant_id}").status_code == 410
    # Nothing more to record for them.
    page = page_of(client.get(f"/admin/participants/{participant_id}/withdraw"))
    assert "They have withdrawn fully" in page.text and "level" not in page.inputs


def test_full_withdrawal_with_a_new_security_code(
    app: Flask,
    client: FlaskClient,
    admin_web: FlaskClient,
    admin_account: Account,
    clinician: ApiUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    participant_id = enrol(client, clinician)
    assert admin_account.totp_secret is not None
    totp = pyotp.TOTP(admin_account.totp_secret)

    used_at_sign_in = confirm(client, participant_id, W3, code=totp.now())
    # Thirty seconds on, the app shows a new code (a code from the future is refused).
    later = utcnow() + dt.timedelta(seconds=30)
    monkeypatch.setattr(auth_actions, "utcnow", lambda: later)
    next_code = confirm(client, participant_id, W3, code=totp.at(later))

    assert used_at_sign_in.status_code == 422  # each code is accepted once only
    assert next_code.status_code == 302
    assert participant_row(app, participant_id).status == "shredded"


def test_repeated_wrong_passwords_are_throttled(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    answers = [confirm(client, participant_id, W3, password="guess").status_code for _ in range(11)]

    assert answers == [422] * 10 + [429]


# -- who needs re-consent -------------------------------------------------------------------


def test_reconsent_list_shows_participants_on_a_superseded_version(
    app: Flask,
    client: FlaskClient,
    admin_web: FlaskClient,
    clinician: ApiUser,
    clinician_web: FlaskClient,
    site: Site,
) -> None:
    trd = enrol(client, clinician, "TRD")
    ep = enrol(client, clinician, "EP")
    withdrawn = enrol(client, clinician, "TRD")
    confirm(client, withdrawn, W1)
    before = page_of(client.get("/admin/consents/reconsent"))

    add_newer_form(app, "TRD", "TRD-PIS-3.0")
    after = page_of(client.get("/admin/consents/reconsent"))

    assert trd not in before.text
    listed = after.text_of(f"reconsent-{site.code}")
    assert trd in listed and "TRD-PIS-2.0" in listed and "TRD-PIS-3.0" in listed
    assert ep not in listed  # EP's version is still in force
    assert withdrawn not in listed  # not approached again
    assert f"Test Trust ({site.code}) 1" in after.text_of("reconsent-sites")
    shown = page_of(clinician_web.get(f"/participants/{trd}"))
    assert "Re-consent needed" in shown.text_of("reconsent")
    assert "version TRD-PIS-3.0 is now in force" in shown.text_of("reconsent")


# -- the clinician's consent page -----------------------------------------------------------


def consent_answers(**changes: str) -> dict[str, str]:
    return {
        "signed_on": LAST_WEEK,
        "capacity": "confirmed",
        **{f"consent_{item}": "yes" for item in CONSENT_ITEMS},
        **changes,
    }


def test_clinician_revokes_commercial_partners_and_the_history_shows_it(
    app: Flask, client: FlaskClient, clinician: ApiUser, clinician_web: FlaskClient
) -> None:
    participant_id = enrol(client, clinician)
    url = f"/participants/{participant_id}/consent"
    form = page_of(clinician_web.get(url))
    assert form.selected["form_version"] == "TRD-PIS-2.0"
    assert all(form.checked[f"consent_{item}"] == "yes" for item in CONSENT_ITEMS)

    response = post_form(
        clinician_web,
        url,
        consent_answers(form_version="TRD-PIS-2.0", consent_commercial_partners="no"),
    )

    assert response.status_code == 302
    shown = page_of(clinician_web.get(response.headers["Location"]))
    assert shown.text_of("notice").endswith("Their change of consent has been recorded.")
    history = shown.text_of("consent-history")
    assert "Consent at enrolment" in history
    assert f"{CONSENT_ITEM_TEXT['commercial_partners']}: No (was Yes)" in history
    assert f"{CONSENT_ITEM_TEXT['samples']}:" not in history  # unchanged, so not sent
    assert "Test Clinician" in history
    assert f"{CONSENT_ITEM_TEXT['commercial_partners']} No" in shown.text_of("consent")
    with app.app_context():
        pk = participant_row(app, participant_id).id
        assert current_consent(pk)["commercial_partners"] is False
        latest = session().scalar(
            select(ConsentRecord)
            .where(ConsentRecord.participant_pk == pk)
            .order_by(ConsentRecord.id.desc())
        )
        assert latest is not None and latest.kind == "change"
        items = session().scalars(
            select(ConsentItemEvent.item).where(ConsentItemEvent.record_id == latest.id)
        )
        assert list(items) == ["commercial_partners"]


def test_clinician_takes_consent_on_a_newer_version(
    app: Flask, client: FlaskClient, clinician: ApiUser, clinician_web: FlaskClient
) -> None:
    participant_id = enrol(client, clinician)
    add_newer_form(app)
    url = f"/participants/{participant_id}/consent"
    form = page_of(clinician_web.get(url))
    assert form.selected["form_version"] == "TRD-PIS-3.0"
    assert not any(f"consent_{item}" in form.checked for item in CONSENT_ITEMS)  # none assumed

    partial = post_form(
        clinician_web,
        url,
        {
            "form_version": "TRD-PIS-3.0",
            "signed_on": TODAY,
            "capacity": "confirmed",
            "consent_registry_storage": "yes",
        },
    )
    response = post_form(
        clinician_web,
        url,
        consent_answers(form_version="TRD-PIS-3.0", signed_on=TODAY, consent_samples="no"),
    )

    assert partial.status_code == 422
    assert page_of(partial).error_at("consent_samples") == (
        "Consent on a new form version answers every item."
    )
    assert response.status_code == 302
    shown = page_of(clinician_web.get(response.headers["Location"]))
    assert "Their consent on TRD-PIS-3.0 has been recorded." in shown.text_of("notice")
    assert "Re-consent needed" not in shown.text
    history = shown.text_of("consent-history")
    assert "TRD-PIS-3.0" in history and "Consent on a new version:" in history
    assert f"{CONSENT_ITEM_TEXT['samples']}: No (was Yes)" in history
    assert page_of(client.get("/admin/consents/reconsent")).text.count(participant_id) == 0


def test_consent_errors_show_at_their_fields_and_write_nothing(
    app: Flask, client: FlaskClient, clinician: ApiUser, clinician_web: FlaskClient
) -> None:
    participant_id = enrol(client, clinician)
    url = f"/participants/{participant_id}/consent"
    with app.app_context():
        before = session().scalar(select(func.count()).select_from(ConsentRecord))

    leaving = post_form(
        clinician_web,
        url,
        consent_answers(form_version="TRD-PIS-2.0", consent_registry_storage="no"),
    )
    nothing = post_form(clinician_web, url, {"form_version": "TRD-PIS-2.0"})

    assert leaving.status_code == 422
    assert page_of(leaving).error_at("consent_registry_storage") == (
        "Leaving the registry is a withdrawal, which an admin records."
    )
    summary = page_of(nothing).summary
    assert ("#signed_on-day", "Enter the date they signed.") in summary
    assert ("#capacity", "Say whether they have capacity to consent.") in summary
    with app.app_context():
        assert session().scalar(select(func.count()).select_from(ConsentRecord)) == before


def test_no_further_data_leaves_the_clinician_nothing_to_record(
    client: FlaskClient, admin_web: FlaskClient, clinician: ApiUser, clinician_web: FlaskClient
) -> None:
    participant_id = enrol(client, clinician)
    confirm(client, participant_id, W2)

    shown = page_of(clinician_web.get(f"/participants/{participant_id}"))
    form = page_of(clinician_web.get(f"/participants/{participant_id}/consent"))
    refused = post_form(
        clinician_web,
        f"/participants/{participant_id}/consent",
        consent_answers(form_version="TRD-PIS-2.0", consent_samples="no"),
    )

    assert "W2 No further data" in shown.text_of("withdrawal-level")
    assert "Record a rating scale" not in shown.text
    assert "Record new consent" not in shown.text
    assert "nothing new can be recorded for them" in form.text and "signed_on" not in form.inputs
    assert refused.status_code == 422
    assert "withdrawn from further data collection" in page_of(refused).summary[0][1]


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PARTNER, Role.ADMIN])
def test_consent_page_is_for_clinicians_only(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    sign_in(create_account(role))

    assert client.get("/participants/P-0000000000AA/consent").status_code == 403


def test_consent_page_does_not_find_another_sites_participant(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
) -> None:
    participant_id = enrol(client, clinician)
    elsewhere = app.test_client()
    sign_in(create_account(Role.CLINICIAN), test_client=elsewhere)

    assert elsewhere.get(f"/participants/{participant_id}/consent").status_code == 404


def test_the_consent_change_audit_names_no_one(
    app: Flask, client: FlaskClient, clinician: ApiUser, clinician_web: FlaskClient
) -> None:
    participant_id = enrol(client, clinician)
    post_form(
        clinician_web,
        f"/participants/{participant_id}/consent",
        consent_answers(form_version="TRD-PIS-2.0", consent_inform_gp="no"),
    )

    recorded = [e for e in events(app, "consent.record") if e.participant_id == participant_id]

    assert len(recorded) == 1
    assert json.loads(recorded[0].details)["items"] == {"inform_gp": False}
