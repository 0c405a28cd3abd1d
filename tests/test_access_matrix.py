"""Every route, for every kind of caller, against a declared policy.

The route list comes from the app's URL map, so a new route without a policy entry fails
here until someone decides who may use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from registry import clock
from registry.auth.models import ApiToken
from registry.auth.permissions import Role
from registry.db import session, utcnow
from tests.conftest import Account, enrolment_body

CALLERS = ["anonymous", "clinician", "researcher", "admin", "partner", "expired", "revoked"]
_site_codes = (f"M{n:04d}" for n in itertools.count())


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def _signed_in(status: int, **by_role: int) -> dict[str, int]:
    return {
        "anonymous": 401,
        "expired": 401,
        "revoked": 401,
        **{role.value: by_role.get(role.value, status) for role in Role},
    }


# (method, rule) -> (request body factory or None, caller -> expected status)
API_POLICY: dict[tuple[str, str], tuple[Callable[[], Any] | None, dict[str, int]]] = {
    ("GET", "/api/v1/health"): (None, _everyone(200)),
    ("GET", "/api/v1/openapi.json"): (None, _everyone(200)),
    ("GET", "/api/v1/me"): (None, _signed_in(200)),
    ("GET", "/api/v1/sites"): (None, _signed_in(200)),
    ("POST", "/api/v1/sites"): (
        lambda: {"code": next(_site_codes), "name": "Matrix site"},
        _signed_in(403, admin=201),
    ),
    ("GET", "/api/v1/audit"): (None, _signed_in(403, admin=200)),
    ("GET", "/api/v1/consent-forms"): (None, _signed_in(403, admin=200, clinician=200)),
    ("GET", "/api/v1/eligibility/fields"): (None, _signed_in(403, researcher=200, partner=200)),
    ("POST", "/api/v1/eligibility/count"): (None, _signed_in(403, researcher=422, partner=422)),
    # Rows for researchers only under a data-access grant (#16): an empty body is a 422;
    # see test_rows_reach_researchers_only_under_a_grant_naming_them for the rule itself.
    ("POST", "/api/v1/eligibility/participants"): (None, _signed_in(403, researcher=422)),
    ("POST", "/api/v1/eligibility/saved-queries"): (
        None,
        _signed_in(403, researcher=422, partner=422),
    ),
    ("GET", "/api/v1/eligibility/saved-queries"): (
        None,
        _signed_in(403, researcher=200, partner=200),
    ),
    # The literal "<query_id>" is no one's saved query: allowed roles get 404 for it.
    ("GET", "/api/v1/eligibility/saved-queries/<query_id>"): (
        None,
        _signed_in(403, researcher=404, partner=404),
    ),
    ("POST", "/api/v1/eligibility/saved-queries/<query_id>/versions"): (
        None,
        _signed_in(403, researcher=422, partner=422),
    ),
    # Recruitment: "<request_id>" is no one's request, so allowed roles get 404 for it.
    ("POST", "/api/v1/recruitment-requests"): (None, _signed_in(403, partner=422)),
    ("GET", "/api/v1/recruitment-requests"): (
        None,
        _signed_in(403, partner=200, admin=200, clinician=200),
    ),
    ("GET", "/api/v1/recruitment-requests/<request_id>"): (
        None,
        _signed_in(403, partner=404, admin=404, clinician=404),
    ),
    ("POST", "/api/v1/recruitment-requests/<request_id>/decision"): (
        None,
        _signed_in(403, admin=422),
    ),
    ("POST", "/api/v1/recruitment-requests/<request_id>/confirmation"): (
        None,
        _signed_in(403, admin=404),
    ),
    ("POST", "/api/v1/recruitment-requests/<request_id>/closure"): (
        None,
        _signed_in(403, admin=404, partner=404),
    ),
    ("GET", "/api/v1/recruitment-requests/<request_id>/contacts"): (
        None,
        _signed_in(403, clinician=404),
    ),
    ("PATCH", "/api/v1/recruitment-requests/<request_id>/contacts/<participant_id>"): (
        None,
        _signed_in(403, clinician=422),
    ),
    ("GET", "/api/v1/recruitment-requests/<request_id>/funnel"): (
        None,
        _signed_in(403, partner=404, admin=404),
    ),
    # Reports: "<cohort>" is no cohort, so allowed roles get 404 for it.
    ("GET", "/api/v1/cohorts/<cohort>/representativeness"): (
        None,
        _signed_in(403, researcher=404, admin=404),
    ),
    ("GET", "/api/v1/cohorts/<cohort>/datasheet"): (
        None,
        _signed_in(403, researcher=404, admin=404),
    ),
    ("PUT", "/api/v1/cohorts/<cohort>/datasheet/sections/<section>"): (
        None,
        _signed_in(403, admin=422),
    ),
    ("GET", "/api/v1/reference-populations"): (None, _signed_in(403, researcher=200, admin=200)),
    ("POST", "/api/v1/reference-populations"): (None, _signed_in(403, admin=422)),
    # Data-access grants and exports (issue #9). Admins manage grants; researchers export
    # under the grants that name them. "<grant_id>" is no one's grant: allowed roles get 404
    # (an empty body is a 422 first where there is a body to check).
    ("GET", "/api/v1/grants"): (None, _signed_in(403, admin=200, researcher=200)),
    ("POST", "/api/v1/grants"): (None, _signed_in(403, admin=422)),
    ("GET", "/api/v1/grants/variables"): (None, _signed_in(403, admin=200, researcher=200)),
    ("GET", "/api/v1/grants/<grant_id>"): (None, _signed_in(403, admin=404, researcher=404)),
    ("POST", "/api/v1/grants/<grant_id>/researchers"): (None, _signed_in(403, admin=422)),
    ("DELETE", "/api/v1/grants/<grant_id>/researchers/<user_id>"): (
        None,
        _signed_in(403, admin=404),
    ),
    ("POST", "/api/v1/grants/<grant_id>/revocation"): (None, _signed_in(403, admin=404)),
    ("POST", "/api/v1/grants/<grant_id>/exports"): (None, _signed_in(403, researcher=404)),
    ("GET", "/api/v1/grants/<grant_id>/fhir"): (None, _signed_in(403, researcher=404)),
    # Scales as FHIR Questionnaires (#19): no personal data, so public, as a canonical URL
    # must resolve for whoever reads a Bundle. "<questionnaire_id>" is no scale: 404.
    ("GET", "/api/v1/fhir/Questionnaire/<questionnaire_id>"): (None, _everyone(404)),
    # Participant routes: an empty body is a 422 once the role is allowed; the literal
    # "<participant_id>" is no one's participant, so allowed roles get 404 for it.
    ("POST", "/api/v1/participants"): (None, _signed_in(403, clinician=422)),
    # Clinicians: their own site's list. Researchers: rows only under a grant, so without
    # one (no ?grant=) a 422 naming it; and no participant by registry id at all.
    ("GET", "/api/v1/participants"): (None, _signed_in(403, clinician=200, researcher=422)),
    ("POST", "/api/v1/participants/search"): (None, _signed_in(403, clinician=422)),
    # The follow-up worklist (#21): clinicians their own site's, admins every site's.
    ("GET", "/api/v1/participants/due"): (None, _signed_in(403, clinician=200, admin=200)),
    ("GET", "/api/v1/participants/<participant_id>"): (
        None,
        _signed_in(403, clinician=404),
    ),
    ("PATCH", "/api/v1/participants/<participant_id>"): (None, _signed_in(403, clinician=422)),
    ("POST", "/api/v1/participants/<participant_id>/assessments"): (
        None,
        _signed_in(403, clinician=422),
    ),
    ("GET", "/api/v1/participants/<participant_id>/assessments"): (
        None,
        _signed_in(403, clinician=404),
    ),
    ("POST", "/api/v1/participants/<participant_id>/withdrawal"): (
        None,
        _signed_in(403, admin=422),
    ),
    ("POST", "/api/v1/participants/<participant_id>/consents"): (
        None,
        _signed_in(403, clinician=422),
    ),
    ("POST", "/api/v1/participants/<participant_id>/treatment-trials"): (
        None,
        _signed_in(403, clinician=422),
    ),
    ("GET", "/api/v1/participants/<participant_id>/treatment-trials"): (
        None,
        _signed_in(403, clinician=404),
    ),
    ("GET", "/api/v1/participants/<participant_id>/timeline"): (None, _signed_in(403, admin=404)),
    # Voiding a record entered in error (#21): clinicians; no reason given is a 422.
    ("POST", "/api/v1/participants/<participant_id>/assessments/<assessment_id>/void"): (
        None,
        _signed_in(403, clinician=422),
    ),
    ("POST", "/api/v1/participants/<participant_id>/treatment-trials/<trial_id>/void"): (
        None,
        _signed_in(403, clinician=422),
    ),
    # Partners' privacy budgets (#18): admins only; an empty body is a 422.
    ("GET", "/api/v1/privacy/budgets"): (None, _signed_in(403, admin=200)),
    ("PUT", "/api/v1/privacy/allowance"): (None, _signed_in(403, admin=422)),
}

# Web pages, as an anonymous browser sees them.
WEB_POLICY: dict[tuple[str, str], int] = {
    ("GET", "/"): 200,
    ("GET", "/sign-in"): 200,
    ("POST", "/sign-in"): 400,  # no CSRF token
    ("GET", "/sign-in/security-code"): 302,  # no password given yet: back to sign-in
    ("POST", "/sign-in/security-code"): 400,
    ("GET", "/sign-in/set-up-security-code"): 302,
    ("POST", "/sign-in/set-up-security-code"): 400,
    # Single sign-on: no identity provider is configured here (tests/test_oidc_sign_in.py).
    ("GET", "/sign-in/oidc"): 404,
    ("GET", "/sign-in/oidc/callback"): 404,
    ("POST", "/sign-out"): 400,
    ("GET", "/account/password"): 302,
    ("POST", "/account/password"): 400,
    ("GET", "/admin/consent-forms/"): 302,  # to sign-in
    ("POST", "/admin/consent-forms/"): 400,
    ("GET", "/participants/"): 302,
    ("GET", "/participants/due"): 302,
    ("POST", "/participants/search"): 400,
    ("GET", "/participants/enrol/<cohort>"): 302,
    ("POST", "/participants/enrol/<cohort>"): 400,
    ("GET", "/participants/<participant_id>"): 302,
    ("GET", "/participants/<participant_id>/correct"): 302,
    ("POST", "/participants/<participant_id>/correct"): 400,
    ("GET", "/participants/<participant_id>/assessments/new"): 302,
    ("POST", "/participants/<participant_id>/assessments/new"): 400,
    ("GET", "/participants/<participant_id>/treatment-trials/new"): 302,
    ("POST", "/participants/<participant_id>/treatment-trials/new"): 400,
    ("GET", "/participants/<participant_id>/consent"): 302,
    ("GET", "/participants/<participant_id>/assessments/<assessment_id>/void"): 302,
    ("POST", "/participants/<participant_id>/assessments/<assessment_id>/void"): 400,
    ("GET", "/participants/<participant_id>/treatment-trials/<trial_id>/void"): 302,
    ("POST", "/participants/<participant_id>/treatment-trials/<trial_id>/void"): 400,
    ("POST", "/participants/<participant_id>/consent"): 400,
    ("GET", "/admin/participants/"): 302,
    ("GET", "/admin/participants/<participant_id>"): 302,
    ("GET", "/admin/participants/<participant_id>/withdraw"): 302,
    ("POST", "/admin/participants/<participant_id>/withdraw"): 400,
    ("GET", "/admin/consents/reconsent"): 302,
    # Data-access grants (issue #9): sign in first; a POST without a CSRF token is refused.
    ("GET", "/grants/"): 302,
    ("GET", "/grants/<grant_id>"): 302,
    ("POST", "/grants/<grant_id>/extract"): 400,
    # Sites and data-access grants for admins (issue #20): sign in first; a POST without a
    # CSRF token is refused.
    ("GET", "/admin/sites/"): 302,
    ("GET", "/admin/sites/new"): 302,
    ("POST", "/admin/sites/new"): 400,
    ("GET", "/admin/sites/<code>/rename"): 302,
    ("POST", "/admin/sites/<code>/rename"): 400,
    ("GET", "/admin/sites/<code>/deactivate"): 302,
    ("POST", "/admin/sites/<code>/deactivate"): 400,
    ("POST", "/admin/sites/<code>/reactivate"): 400,
    ("GET", "/admin/grants/"): 302,
    ("GET", "/admin/grants/new"): 302,
    ("POST", "/admin/grants/new"): 400,
    ("GET", "/admin/grants/<grant_id>"): 302,
    ("POST", "/admin/grants/<grant_id>/researchers"): 400,
    ("POST", "/admin/grants/<grant_id>/researchers/<user_id>/removal"): 400,
    ("GET", "/admin/grants/<grant_id>/renew"): 302,
    ("POST", "/admin/grants/<grant_id>/renew"): 400,
    ("GET", "/admin/grants/<grant_id>/revoke"): 302,
    ("POST", "/admin/grants/<grant_id>/revoke"): 400,
    ("GET", "/eligibility/"): 302,
    ("POST", "/eligibility/count"): 400,
    ("POST", "/eligibility/edit"): 400,
    ("POST", "/eligibility/save"): 400,
    ("GET", "/eligibility/saved/<query_id>"): 302,
    ("POST", "/eligibility/saved/<query_id>/versions"): 400,
    # Recruitment pages (issue #7): sign in first; a POST without a CSRF token is refused.
    ("GET", "/recruitment/"): 302,
    ("GET", "/recruitment/new"): 302,
    ("POST", "/recruitment/new"): 400,
    ("GET", "/recruitment/<request_id>"): 302,
    ("POST", "/recruitment/<request_id>/decision"): 400,
    ("GET", "/recruitment/<request_id>/approval"): 302,
    ("POST", "/recruitment/<request_id>/approval"): 400,
    ("POST", "/recruitment/<request_id>/confirmation"): 400,
    ("GET", "/recruitment/<request_id>/closure"): 302,
    ("POST", "/recruitment/<request_id>/closure"): 400,
    ("GET", "/recruitment/<request_id>/contacts"): 302,
    ("POST", "/recruitment/<request_id>/contacts/<participant_id>"): 400,
    # Representativeness pages (issue #8): sign in first; a POST without a CSRF token is
    # refused.
    ("GET", "/reports/"): 302,
    ("GET", "/reports/<cohort>"): 302,
    ("GET", "/reports/<cohort>/representativeness.csv"): 302,
    ("GET", "/reports/<cohort>/datasheet"): 302,
    ("GET", "/reports/<cohort>/datasheet.md"): 302,
    ("GET", "/reports/<cohort>/datasheet/<section>"): 302,
    ("POST", "/reports/<cohort>/datasheet/<section>"): 400,
    ("GET", "/reports/references"): 302,
    ("POST", "/reports/references"): 400,
    # Partners' privacy budgets (#18): sign in first; a POST without a CSRF token is refused.
    ("GET", "/admin/audit/"): 302,
    ("POST", "/admin/audit/check"): 400,
    ("GET", "/admin/audit/events.csv"): 302,
    ("GET", "/admin/privacy/"): 302,
    ("GET", "/admin/privacy/allowance"): 302,
    ("POST", "/admin/privacy/allowance"): 400,
    # Users and API tokens (#20): sign in first; a POST without a CSRF token is refused.
    ("GET", "/admin/users/"): 302,
    ("GET", "/admin/users/new"): 302,
    ("POST", "/admin/users/new"): 400,
    ("GET", "/admin/users/<user_id>"): 302,
    ("GET", "/admin/users/<user_id>/one-time-password"): 302,
    ("POST", "/admin/users/<user_id>/access"): 400,
    ("POST", "/admin/users/<user_id>/sessions"): 400,
    ("POST", "/admin/users/<user_id>/second-factor"): 400,
    ("POST", "/admin/users/<user_id>/sso"): 400,
    ("POST", "/admin/users/<user_id>/reactivate"): 400,
    ("GET", "/admin/users/<user_id>/deactivate"): 302,
    ("POST", "/admin/users/<user_id>/deactivate"): 400,
    ("POST", "/admin/users/<user_id>/tokens/<token_id>/revoke"): 400,
    ("GET", "/account/tokens"): 302,
    ("POST", "/account/tokens"): 400,
    ("GET", "/account/tokens/<token_id>/new"): 302,
    ("POST", "/account/tokens/<token_id>/revoke"): 400,
}


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_policy(app: Flask) -> None:
    assert _routes(app) == set(API_POLICY) | set(WEB_POLICY)


@pytest.fixture
def callers(
    app: Flask, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in Role:
        headers[role.value] = {"Authorization": f"Bearer {issue_token(create_account(role))}"}
    for kind in ("expired", "revoked"):
        token = issue_token(create_account(Role.ADMIN))
        headers[kind] = {"Authorization": f"Bearer {token}"}
        with app.app_context():
            change = (
                {"expires_at": utcnow() - dt.timedelta(minutes=1)}
                if kind == "expired"
                else {"revoked_at": utcnow()}
            )
            session().execute(
                update(ApiToken).where(ApiToken.id == _latest_token_id()).values(**change)
            )
            session().commit()
    return headers


def _latest_token_id() -> int:
    from sqlalchemy import func, select

    token_id: int | None = session().scalar(select(func.max(ApiToken.id)))
    assert token_id is not None
    return token_id


@pytest.mark.parametrize(("method", "rule"), sorted(API_POLICY))
def test_api_route_answers_each_caller_as_declared(
    client: FlaskClient, callers: dict[str, dict[str, str]], method: str, rule: str
) -> None:
    body, expected = API_POLICY[(method, rule)]

    answers = {
        caller: client.open(
            rule, method=method, headers=headers, json=body() if body else None
        ).status_code
        for caller, headers in callers.items()
    }

    assert answers == expected


@pytest.mark.parametrize(("method", "rule"), sorted(WEB_POLICY))
def test_web_route_answers_anonymous_as_declared(
    client: FlaskClient, method: str, rule: str
) -> None:
    response = client.open(rule, method=method)

    assert response.status_code == WEB_POLICY[(method, rule)]


# -- participant rows for researchers (#16) ---------------------------------------------------

ROW_ROUTES = [("GET", "/api/v1/participants"), ("POST", "/api/v1/eligibility/participants")]


@pytest.mark.parametrize(("method", "rule"), ROW_ROUTES)
def test_rows_reach_researchers_only_under_a_grant_naming_them(
    client: FlaskClient,
    callers: dict[str, dict[str, str]],
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
    method: str,
    rule: str,
) -> None:
    """A researcher gets rows only under a grant that names them; a grant naming someone
    else answers exactly as one that does not exist. Partners and admins never get rows."""
    researcher = create_account(Role.RESEARCHER)
    callers = {**callers, "researcher": {"Authorization": f"Bearer {issue_token(researcher)}"}}

    def grant_naming(email: str) -> str:
        body = {
            "title": "Matrix study",
            "ethics_reference": "1004567",
            "cohorts": ["TRD"],
            "variables": ["participants.sex"],
            "expires_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
            "researchers": [email],
        }
        response = client.post("/api/v1/grants", json=body, headers=callers["admin"])
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def ask(caller: str, grant: str | None) -> Any:
        given = {} if grant is None else {"grant": grant}
        if method == "GET":
            return client.get(rule, query_string=given, headers=callers[caller])
        return client.post(rule, json={"criteria": {}, **given}, headers=callers[caller])

    theirs = grant_naming(researcher.email)
    someone_elses = grant_naming(create_account(Role.RESEARCHER).email)

    answers = {
        "researcher, no grant": ask("researcher", None).status_code,
        "researcher, their grant": ask("researcher", theirs).status_code,
        "researcher, another's grant": ask("researcher", someone_elses).status_code,
        "researcher, no such grant": ask("researcher", "0" * 16).status_code,
        "clinician": ask("clinician", theirs).status_code,
        "partner": ask("partner", theirs).status_code,
        "admin": ask("admin", theirs).status_code,
    }

    assert answers == {
        "researcher, no grant": 422,
        "researcher, their grant": 200,
        "researcher, another's grant": 404,
        "researcher, no such grant": 404,
        "clinician": 422 if method == "GET" else 403,  # their own list takes no grant
        "partner": 403,
        "admin": 403,
    }
    assert ask("researcher", someone_elses).get_json() == ask("researcher", "0" * 16).get_json()


# -- another site's clinician ----------------------------------------------------------------

# Every route that names a participant, from the URL map: a new one is covered at once.
PARTICIPANT_ROUTES = sorted(
    (method, rule) for method, rule in {*API_POLICY, *WEB_POLICY} if "<participant_id>" in rule
)


@dataclasses.dataclass
class TwoSites:
    participant_id: str  # enrolled at site A
    own: dict[str, str]  # bearer headers of a clinician at A
    other: dict[str, str]  # and of one at site B
    other_account: Account


@pytest.fixture
def two_sites(
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
    consent_forms: None,
) -> TwoSites:
    own, other = (create_account(Role.CLINICIAN) for _ in range(2))
    headers = [{"Authorization": f"Bearer {issue_token(account)}"} for account in (own, other)]
    response = client.post("/api/v1/participants", json=enrolment_body(), headers=headers[0])
    assert response.status_code == 201
    return TwoSites(response.get_json()["participant_id"], headers[0], headers[1], other)


@pytest.mark.parametrize(
    ("method", "rule"), [r for r in PARTICIPANT_ROUTES if r[1].startswith("/api")]
)
def test_another_sites_clinician_cannot_tell_a_participant_exists(
    client: FlaskClient, two_sites: TwoSites, method: str, rule: str
) -> None:
    """To a clinician of another site, a real participant answers exactly as a participant
    who does not exist: never a success, never a different status."""
    participant_id, own, other = two_sites.participant_id, two_sites.own, two_sites.other

    def answer(headers: dict[str, str], pid: str) -> int:
        path = rule.replace("<participant_id>", pid)
        return client.open(path, method=method, headers=headers, json={}).status_code

    theirs = answer(other, participant_id)
    assert theirs == answer(other, "P-000000000000")
    assert theirs >= 400
    if method == "GET" and answer(own, participant_id) < 400:
        assert theirs == 404


@pytest.mark.parametrize(
    "rule", [rule for method, rule in PARTICIPANT_ROUTES if method == "GET" and rule[:4] != "/api"]
)
def test_another_sites_clinician_finds_no_participant_page(
    client: FlaskClient, two_sites: TwoSites, sign_in: Callable[..., Any], rule: str
) -> None:
    sign_in(two_sites.other_account)

    def status(pid: str) -> int:
        return client.get(rule.replace("<participant_id>", pid)).status_code

    assert status(two_sites.participant_id) == status("P-000000000000")
    assert status(two_sites.participant_id) in (403, 404)
