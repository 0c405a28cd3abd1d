"""Real-browser fixtures: a live server on its own database, and Debian's Chromium.

The live server gets a fresh, migrated database of its own (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set) rather than the rolled-back per-test transaction of
tests/conftest.py: the server answers from other threads, which cannot share that
connection. So browser tests must never request the ``app`` fixture; they use
``live_server.app`` and ``live_server.create_account`` instead, and their data persists
for the whole session (give every account a unique email address).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from registry import create_app
from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.permissions import Role
from registry.consents.actions import add_consent_form
from registry.db import session
from tests.conftest import PASSWORD, fresh_database, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# -- the live server ------------------------------------------------------------------


@dataclass(frozen=True)
class LiveAccount:
    email: str
    password: str
    role: Role
    site_code: str | None = None


@dataclass
class LiveServer:
    url: str
    app: Flask

    def add_site(self, code: str | None = None, name: str = "Browser Test Trust") -> str:
        """Add a site through the app's own action; returns its code."""
        with self.app.test_request_context():
            site = auth_actions.add_site(
                code=code or f"B{secrets.token_hex(3).upper()}", name=name, by=Actor.command_line()
            )
            session().commit()
            return site.code

    def create_account(
        self,
        role: Role | str = Role.RESEARCHER,
        *,
        site_code: str | None = None,
        email: str | None = None,
        password: str = PASSWORD,
    ) -> LiveAccount:
        """A user with a known password and no second factor (clinicians get a new site).

        An explicit password means ``password_must_change`` is False, so the account
        goes straight to its home page (after setting up TOTP, for clinicians and admins).
        """
        role = Role(role)
        if role is Role.CLINICIAN and site_code is None:
            site_code = self.add_site()
        email = email or f"{role.value}-{secrets.token_hex(4)}@example.nhs.uk"
        with self.app.test_request_context():
            auth_actions.create_user(
                email=email,
                name=f"Browser {role.value.title()}",
                role=role,
                site_code=site_code,
                organisation="Example Pharma Ltd" if role is Role.PARTNER else None,
                password=password,
                by=Actor.command_line(),
            )
            session().commit()
        return LiveAccount(email=email, password=password, role=role, site_code=site_code)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path
) -> Iterator[LiveServer]:
    with fresh_database(tmp_path_factory.mktemp("live-db")) as url:
        app = create_app(make_settings(url, keyring_path, tmp_path_factory.mktemp("live-inst")))
        with served(app) as server:
            yield server


@contextmanager
def served(app: Flask) -> Iterator[LiveServer]:
    """``app`` answering on a loopback port from a thread of this process (so a test's
    monkeypatching reaches it); stopped, and its connections closed, afterwards."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        # Close pooled connections before the database is dropped underneath them.
        app.extensions["registry.db"].engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist's --dist loadgroup (scripts/test) every browser test goes to one
    worker, so only one starts Chromium and a live server."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


# -- the browser ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so ``page`` can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    """A page in a fresh context (no cookies carried over); screenshot if the test failed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    new_page = context.new_page()
    try:
        yield new_page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            try:
                new_page.screenshot(path=str(artifacts_dir / f"failed-{name}.png"), full_page=True)
            except Exception as exc:  # the page may be gone; never hide the real failure
                print(f"could not take a failure screenshot: {exc}")
        context.close()


# -- shared steps ----------------------------------------------------------------------

# Runs before any page script, so it sees every violation the page causes.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
      + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


def sign_in(page: Page, live_server: LiveServer, email: str, password: str) -> None:
    """Sign in through the real pages, setting up the authenticator app where the role
    needs one (its first sign-in), and arrive on the home page."""
    page.goto(f"{live_server.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    if page.url.endswith("/sign-in/set-up-security-code"):
        key = (page.get_by_test_id("totp-key").text_content() or "").strip()
        page.get_by_label("Security code").fill(pyotp.TOTP(key).now())
        page.get_by_role("button", name="Turn on two-step sign-in").click()
    # An admin's home is the dashboard; every other role's welcomes them.
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Welcome|Dashboard"))


def add_consent_forms(live_server: LiveServer) -> dict[str, str]:
    """A consent-form version per cohort, unique to this test (the live database is shared)."""
    suffix = secrets.token_hex(3).upper()
    versions = {cohort: f"{cohort}-PIS-B{suffix}" for cohort in ("EP", "TRD")}
    with live_server.app.test_request_context():
        for cohort, version in versions.items():
            add_consent_form(
                cohort=cohort,
                version=version,
                effective_on=dt.date(2020, 1, 1),
                file_name="pis.md",
                document=b"# Participant information sheet\n",
                by=Actor.command_line(),
            )
        session().commit()
    return versions


def fill_date(page: Page, question: str, iso: str) -> None:
    """Type an ISO date (or a ``YYYY-MM`` month) into the NHS.UK date input asking
    ``question``, box by box, as a clinician would."""
    group = page.get_by_role("group", name=question, exact=True)
    parts = iso.split("-")
    year, month = parts[0], parts[1].lstrip("0")
    if len(parts) == 3:
        group.get_by_label("Day", exact=True).fill(parts[2].lstrip("0"))
    group.get_by_label("Month", exact=True).fill(month)
    group.get_by_label("Year", exact=True).fill(year)
