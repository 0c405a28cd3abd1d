"""Signing out after a sign-in through the provider, in Debian's Chromium: the browser is
let on to the provider's end_session_endpoint (the sign-out button is a form, and browsers
hold a form's redirects to the page's form-action), and comes back to the sign-in page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import Page, expect

from registry import create_app
from registry.auth.permissions import Role
from tests.browser.conftest import RECORD_CSP_VIOLATIONS, LiveServer, served
from tests.conftest import _limiter_store_kept, fresh_database, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def registry_with_provider(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, issuer: str
) -> Iterator[LiveServer]:
    """A live registry of its own whose clinicians sign in through the provider."""
    with fresh_database(tmp_path_factory.mktemp("oidc-live-db")) as url, _limiter_store_kept():
        settings = make_settings(
            url,
            keyring_path,
            tmp_path_factory.mktemp("oidc-live-inst"),
            oidc_issuer=issuer,
            oidc_client_id="registry",
            oidc_client_secret="not-a-real-secret",
            oidc_provider_name="NHS Care Identity",
            oidc_mfa_amr="mfa",
            password_roles="researcher,partner",
        )
        with served(create_app(settings)) as server:
            yield server


def test_sign_out_goes_on_to_end_the_providers_session_and_comes_back(
    page: Page, registry_with_provider: LiveServer, issuer: str
) -> None:
    live = registry_with_provider
    clinician = live.create_account(Role.CLINICIAN)
    subject = "browser-clinician"
    claims: dict[str, Any] = {"email": clinician.email, "email_verified": True, "amr": ["mfa"]}
    assert requests.put(f"{issuer}/users/{subject}", json=claims, timeout=10).status_code == 204
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    page.goto(f"{live.url}/sign-in")
    page.get_by_role("button", name="Sign in with NHS Care Identity").click()
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(f"{live.url}/")
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(re.escape(f"{issuer}/oauth2/end_session?")))
    assert page.evaluate("window.__cspViolations") == []
    page.get_by_role("button", name="End session").click()
    expect(page).to_have_url(f"{live.url}/sign-in")
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{live.url}/account/password")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
