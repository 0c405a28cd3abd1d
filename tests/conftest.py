"""Shared fixtures: a migrated database per run, an app, and a rolled-back transaction per test.

The database is SQLite unless TEST_DATABASE_URL names a PostgreSQL server, in which case a
fresh ``registry_test_<random>`` database is made there and dropped afterwards. Either way
the schema comes from the Alembic migrations, as in production.

Each test runs inside one outer transaction that is rolled back at the end; the app's
commits become savepoint releases (warehouse's pattern), so tests never see each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import re
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from registry import clock, create_app
from registry.audit.actions import Actor, record_event
from registry.auth import actions as auth_actions
from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.config import Settings
from registry.consents.actions import add_consent_form
from registry.consents.items import CONSENT_ITEMS
from registry.crypto.keys import LocalKeyring
from registry.db import session
from registry.extensions import limiter
from registry.migrations import upgrade
from registry.participants.synthetic import synthetic_nhs_numbers

PASSWORD = "correct horse battery staple"


# -- databases ------------------------------------------------------------------------


def _postgres_server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def on_postgresql() -> bool:
    return _postgres_server_url() is not None


@contextmanager
def fresh_database(tmp_dir: Path, *, migrated: bool = True) -> Iterator[str]:
    """A new database of the backend under test, migrated unless asked not to (a restore
    target); removed afterwards."""
    server = _postgres_server_url()
    if server is None:
        path = tmp_dir / f"registry_test_{secrets.token_hex(4)}.sqlite3"
        url = f"sqlite:///{path}"
        if migrated:
            upgrade(url)
        yield url
        return
    name = f"registry_test_{secrets.token_hex(6)}"
    admin_url = make_url(server).set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def isolated_app(tmp_path: Path, **settings: Any) -> Iterator[tuple[Flask, str]]:
    """(app, database URL) on a database and keyring of their own, with real commits:
    for threads, dumps and anything else the per-test rolled-back transaction would hide.
    Keyword arguments are settings."""
    keyring = tmp_path / "keyring.json"
    LocalKeyring.create(keyring)
    with fresh_database(tmp_path) as url, _limiter_store_kept():
        app = create_app(make_settings(url, keyring, tmp_path / "instance", **settings))
        try:
            yield app, url
        finally:
            app.extensions["registry.db"].engine.dispose()


@contextmanager
def _limiter_store_kept() -> Iterator[None]:
    """Put Flask-Limiter's store back afterwards. There is one limiter per process, and
    each create_app points it at that app's store: after an app on Redis, the session's app
    would count in Redis, and each test's limiter.reset() would wipe every counter there,
    those of tests running in parallel included."""
    store, strategy = limiter._storage, limiter._limiter
    try:
        yield
    finally:
        limiter._storage, limiter._limiter = store, strategy


def committed_accounts(app: Flask, site_code: str, roles: Sequence[Role]) -> list[dict[str, str]]:
    """On an isolated app: a site, the consent forms, and one account per role (in order)
    with a bearer token, all committed; the tokens' headers, in the same order."""
    with app.test_request_context():
        by = Actor.command_line()
        site = auth_actions.add_site(code=site_code, name=f"{site_code} Trust", by=by)
        headers = []
        for n, role in enumerate(roles):
            user = auth_actions.create_user(
                email=f"{role.value}.{n}@example.nhs.uk",
                name=f"{role.value} {n}",
                role=role,
                site_code=site.code if role is Role.CLINICIAN else None,
                organisation="Example Pharma Ltd" if role is Role.PARTNER else None,
                password=PASSWORD,
                by=by,
            ).user
            token = auth_actions.issue_token(user, name="test", expires_days=1, by=by)
            headers.append({"Authorization": f"Bearer {token.secret}"})
        add_consent_forms(by)
        session().commit()
    return headers


# One day for the whole run: many tests write their dates at collection, and a run that
# crosses midnight would otherwise have the registry judge them by the next day (a birthday
# "today" becomes yesterday's, a day "in the future" becomes today).
_THE_DAY = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    day = dt.date.today()
    _THE_DAY.setattr(clock, "today", lambda: day)


def pytest_unconfigure(config: pytest.Config) -> None:
    _THE_DAY.undo()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def keyring_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    LocalKeyring.create(path)
    return path


# -- key providers ---------------------------------------------------------------------
# TEST_KEY_PROVIDER=pkcs11 puts every app's keys in a SoftHSM2 token instead of a keyring
# file: one token per keyring path (so two apps on one keyring share keys), in a token
# directory of this process's own (each xdist worker has one).

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_PIN = "2468"
_softhsm_tokens: dict[Path, dict[str, str]] = {}


def testing_pkcs11() -> bool:
    return os.environ.get("TEST_KEY_PROVIDER", "file") == "pkcs11"


def softhsm_token(directory: Path) -> dict[str, str]:
    """A fresh, empty SoftHSM2 token: the settings that name it (its PIN in a file there)."""
    if "REGISTRY_TEST_SOFTHSM" not in os.environ:
        # Before the library first loads in this process: it reads SOFTHSM2_CONF once.
        # Exported, so apps in subprocesses find the same tokens.
        home = Path(tempfile.mkdtemp(prefix="softhsm-"))
        (home / "tokens").mkdir()
        conf = home / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n"
            "log.level = ERROR\n"
        )
        os.environ["SOFTHSM2_CONF"] = str(conf)
        os.environ["REGISTRY_TEST_SOFTHSM"] = str(home)
    label = f"registry-test-{secrets.token_hex(4)}"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            *("softhsm2-util", "--init-token", "--free", "--label", label),
            *("--pin", SOFTHSM_PIN, "--so-pin", "13579"),
        ],
        check=True,
        capture_output=True,
    )
    directory.mkdir(parents=True, exist_ok=True)
    pin_file = directory / f"{label}.pin"
    pin_file.write_text(SOFTHSM_PIN)
    pin_file.chmod(0o600)
    return {
        "key_provider": "pkcs11",
        "pkcs11_module": SOFTHSM_MODULE,
        "pkcs11_token": label,
        "pkcs11_pin_file": str(pin_file),
    }


def key_provider_settings(keyring_path: Path) -> dict[str, str]:
    """Under TEST_KEY_PROVIDER=pkcs11, the token standing for this keyring; else nothing."""
    if not testing_pkcs11():
        return {}
    if keyring_path not in _softhsm_tokens:
        _softhsm_tokens[keyring_path] = softhsm_token(keyring_path.parent)
    return _softhsm_tokens[keyring_path]


# Passwords are hashed at argon2's floor in tests: the real parameters cost ~40 ms a hash
# here and the fixtures hash thousands. test_auth_actions checks what a real Settings gets.
CHEAP_PASSWORD_HASHING = {"argon2_memory_kib": 8, "argon2_time_cost": 1, "argon2_parallelism": 1}


def make_settings(database_url: str, keyring_path: Path, instance: Path, **extra: Any) -> Settings:
    return Settings.from_mapping(
        {
            "mode": "test",
            "database_url": database_url,
            "keyring_path": str(keyring_path),
            "instance_path": str(instance),
            **key_provider_settings(keyring_path),
            **CHEAP_PASSWORD_HASHING,
            **extra,
        }
    )


def cheap_hashing_config(directory: Path) -> Path:
    """A REGISTRY_CONFIG file with the cheap hashing, for apps started in a subprocess."""
    path = directory / "cheap-hashing.toml"
    lines = [f"{name} = {value}" for name, value in CHEAP_PASSWORD_HASHING.items()]
    path.write_text("\n".join(["[registry]", *lines, ""]))
    return path


@pytest.fixture(scope="session")
def app(
    database_url: str, keyring_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    flask_app = create_app(
        make_settings(database_url, keyring_path, tmp_path_factory.mktemp("inst"))
    )
    yield flask_app
    # Close pooled connections before the database is dropped underneath them.
    flask_app.extensions["registry.db"].engine.dispose()


@pytest.fixture(autouse=True)
def _rolled_back_transaction(request: pytest.FixtureRequest) -> Iterator[Connection | None]:
    """Wrap every test that uses the app in one transaction, rolled back afterwards."""
    if "app" not in request.fixturenames:
        yield None
        return
    flask_app: Flask = request.getfixturevalue("app")
    db = flask_app.extensions["registry.db"]
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.sessionmaker
    db.sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    limiter.reset()
    try:
        yield connection
    finally:
        db.sessionmaker = original
        outer.rollback()
        connection.close()


@pytest.fixture
def connection(_rolled_back_transaction: Connection) -> Connection:
    return _rolled_back_transaction


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- builders -------------------------------------------------------------------------


@dataclass
class Account:
    user: User
    password: str
    totp_secret: str | None = None

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def site_code(self) -> str:
        """The code of a clinician's site (other roles have none)."""
        assert self.user.site is not None, f"a {self.user.role.value} has no site"
        return self.user.site.code


@pytest.fixture
def create_site(app: Flask) -> Callable[..., Site]:
    def build(code: str | None = None, name: str = "Test Trust") -> Site:
        with app.test_request_context():
            site = auth_actions.add_site(
                code=code or f"S{secrets.token_hex(3).upper()}", name=name, by=Actor.command_line()
            )
            session().commit()
            return site

    return build


@pytest.fixture
def create_account(app: Flask, create_site: Callable[..., Site]) -> Callable[..., Account]:
    """Build a user of a role (clinicians get a site) with a known password and TOTP set up."""

    def build(
        role: Role | str = Role.RESEARCHER,
        *,
        site: Site | None = None,
        with_totp: bool = True,
        email: str | None = None,
    ) -> Account:
        role = Role(role)
        if role is Role.CLINICIAN and site is None:
            site = create_site()
        with app.test_request_context():
            created = auth_actions.create_user(
                email=email or f"{role.value}-{secrets.token_hex(4)}@example.nhs.uk",
                name=f"Test {role.value.title()}",
                role=role,
                site_code=site.code if site else None,
                organisation="Example Pharma Ltd" if role is Role.PARTNER else None,
                password=PASSWORD,
                by=Actor.command_line(),
            )
            user = created.user
            secret = None
            if with_totp and role in (Role.CLINICIAN, Role.ADMIN):
                secret = pyotp.random_base32()
                code = pyotp.TOTP(secret).now()
                assert auth_actions.enrol_second_factor(user, secret=secret, code=code)
                user.totp_last_step = None  # let the test sign in with the current code
            session().commit()
            return Account(user=user, password=PASSWORD, totp_secret=secret)

    return build


@pytest.fixture
def issue_token(app: Flask) -> Callable[..., str]:
    def build(account: Account, *, expires_days: int = 30) -> str:
        with app.test_request_context():
            user = session().get(User, account.user.id)
            assert user is not None
            issued = auth_actions.issue_token(
                user, name="test", expires_days=expires_days, by=Actor.command_line()
            )
            session().commit()
            return issued.secret

    return build


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF token field"
    return match.group(1)


def post_form(client: FlaskClient, url: str, data: Mapping[str, object], **kwargs: Any) -> Any:
    """Submit a form as a browser would: load the page first to get its CSRF token."""
    page = client.get(url)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(url, data={**typed_dates(data), "csrf_token": token}, **kwargs)


_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?$")


def typed_dates(data: Mapping[str, object]) -> dict[str, object]:
    """Dates given as ISO text (``2026-03-05``, or ``2025-09`` for a month) typed into the
    page's day, month and year boxes, as a clinician would type them."""
    typed: dict[str, object] = {}
    for name, value in data.items():
        match = _ISO_DATE.match(value) if isinstance(value, str) else None
        if match is None:
            typed[name] = value
            continue
        year, month, day = match.groups()
        typed |= {f"{name}-year": year, f"{name}-month": month.lstrip("0")}
        if day is not None:
            typed[f"{name}-day"] = day.lstrip("0")
    return typed


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[..., Any]:
    """Sign an account in through the real pages, second factor included."""

    def do(account: Account, *, test_client: FlaskClient | None = None) -> Any:
        web = test_client or client
        response = post_form(
            web, "/sign-in", {"email": account.email, "password": account.password}
        )
        if account.totp_secret:
            assert response.status_code == 302, response.get_data(as_text=True)
            response = post_form(
                web,
                "/sign-in/security-code",
                {"code": pyotp.TOTP(account.totp_secret).now()},
            )
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do


# -- participants ---------------------------------------------------------------------

_nhs_numbers = synthetic_nhs_numbers(random.Random())


def new_nhs_number() -> str:
    return next(_nhs_numbers)


CONSENT_YES = {item: True for item in CONSENT_ITEMS}


def enrolment_body(cohort: str = "TRD", **overrides: Any) -> dict[str, Any]:
    """A valid API enrolment body for a new synthetic person (as in API.md)."""
    clinical: dict[str, Any] = (
        {"diagnosis_icd10": "F33.2", "episode_start": "2025-06"}
        if cohort == "TRD"
        else {"diagnosis_icd10": "F20.0", "psychosis_onset": "2025-09"}
    )
    body: dict[str, Any] = {
        "cohort": cohort,
        "nhs_number": new_nhs_number(),
        "given_name": "Ada",
        "family_name": f"Example{secrets.token_hex(3)}",
        "date_of_birth": "1990-04-12" if cohort == "TRD" else "2001-02-03",
        "postcode": "B15 2TT",
        "email": "ada@example.org",
        "phone": "0121 496 0000",
        "sex": "female",
        "gender_identity": "2",
        "ethnicity": "H",
        "imd_decile": 2,
        "imd_version": "IoD2019",
        "consent": {
            "form_version": f"{cohort}-PIS-2.0",
            "signed_on": "2026-11-20",
            "items": dict(CONSENT_YES),
        },
        "clinical": clinical,
    }
    body.update(overrides)
    return body


def enrol(client: FlaskClient, user: ApiUser, cohort: str = "TRD", **overrides: Any) -> str:
    """Enrol a new synthetic person through the API as ``user``; their participant id."""
    response = client.post(
        "/api/v1/participants", json=enrolment_body(cohort, **overrides), headers=user.headers
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["participant_id"])


def add_consent_forms(by: Actor, cohorts: tuple[str, ...] = ("EP", "TRD")) -> None:
    """Version 2.0 of each cohort's form, in force since 2020 (inside an app context)."""
    for cohort in cohorts:
        add_consent_form(
            cohort=cohort,
            version=f"{cohort}-PIS-2.0",
            effective_on=dt.date(2020, 1, 1),
            file_name="pis.md",
            document=b"# Participant information sheet\n",
            by=by,
        )


@pytest.fixture
def consent_forms(app: Flask) -> None:
    """Version 2.0 of each cohort's form, in force since 2020."""
    with app.test_request_context():
        add_consent_forms(Actor.command_line())
        session().commit()


@dataclass
class ApiUser:
    account: Account
    headers: dict[str, str]


@pytest.fixture
def api_user(
    create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> Callable[..., ApiUser]:
    """An account of a role with a bearer token, ready for API calls."""

    def build(role: Role | str = Role.CLINICIAN, **kwargs: Any) -> ApiUser:
        account = create_account(role, **kwargs)
        return ApiUser(account, {"Authorization": f"Bearer {issue_token(account)}"})

    return build


# One vocabulary in every module: ``admin``, ``clinician``, ``researcher`` and ``partner``
# are always an ApiUser (a new account of the role with a bearer token; a module may
# override one only with another ApiUser). A test client signed in through the pages as a
# role is ``<role>_web`` (either ``client`` itself or a browser of its own, as the module's
# fixture says), and ``<role>_account`` is its Account where a test needs that too.


@pytest.fixture
def clinician(api_user: Callable[..., ApiUser]) -> ApiUser:
    """A clinician of a new site, with a token."""
    return api_user("clinician")


@pytest.fixture
def researcher(api_user: Callable[..., ApiUser]) -> ApiUser:
    return api_user("researcher")


@pytest.fixture
def partner(api_user: Callable[..., ApiUser]) -> ApiUser:
    return api_user("partner")  # of "Example Pharma Ltd"


@pytest.fixture
def admin(api_user: Callable[..., ApiUser]) -> ApiUser:
    return api_user("admin")


@pytest.fixture
def admin_account(create_account: Callable[..., Account]) -> Account:
    return create_account(Role.ADMIN)


@pytest.fixture
def admin_web(
    client: FlaskClient, admin_account: Account, sign_in: Callable[..., Any]
) -> FlaskClient:
    """``client``, signed in as ``admin_account`` (with a security code): modules
    whose pages need a signed-in admin share it."""
    sign_in(admin_account)
    return client


@pytest.fixture
def settings_with(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change settings for one test (they are read from app.config at each use)."""

    def change(**values: Any) -> None:
        monkeypatch.setitem(
            app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], **values)
        )

    return change


@pytest.fixture
def without_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partners' figures with no noise, so a test can assert the published form ("<10",
    rounding to 5) of a known count; the noise itself is tested in tests/privacy."""
    monkeypatch.setattr("registry.privacy.actions.noisy_counts", lambda counts, rho: list(counts))


# -- the audit log ----------------------------------------------------------------------


def append_events(app: Flask, count: int) -> list[int]:
    """Append ``count`` test events to the audit chain, committed; their seqs."""
    with app.test_request_context():
        seqs = [
            record_event("test.event", by=Actor.command_line(), details={"n": n}).seq
            for n in range(count)
        ]
        session().commit()
    return seqs


@pytest.fixture
def tamper(connection: Connection) -> Iterator[Callable[[str], None]]:
    """Run SQL as the database owner with the append-only triggers out of the way.

    Inside the test's transaction, so the triggers come back when it is rolled back.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        connection.execute(text("DROP TRIGGER audit_event_no_update"))
        connection.execute(text("DROP TRIGGER audit_event_no_delete"))

    def run(sql: str) -> None:
        connection.exec_driver_sql(sql)

    yield run
