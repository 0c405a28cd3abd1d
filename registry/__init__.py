"""The MHMTC research registry: ``create_app`` is the one place that wires it together."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import sys
import uuid
from pathlib import Path

from flask import Flask, g, request, session
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from registry.api import api
from registry.api.inputs import refuse_nul_in_path, refuse_unreadable_page_input
from registry.audit.actions import append_kept_records
from registry.auth import oidc
from registry.auth.session import init_login
from registry.config import ConfigurationError, Mode, Settings
from registry.crypto import open_pkcs11
from registry.crypto.keys import default_keyring_path, open_keyring
from registry.db import Database
from registry.db import session as database_session
from registry.errors import register_error_handlers
from registry.extensions import csrf, limiter
from registry.logs import configure_logging, log_requests

log = logging.getLogger(__name__)

SESSION_COOKIE = "registry_session"
# Browsers keep a __Host- cookie only if it is Secure, has Path=/ and no Domain: so it cannot
# be set by a sibling subdomain or over plain http, nor sent to another host.
SECURE_SESSION_COOKIE = f"__Host-{SESSION_COOKIE}"


def content_security_policy(settings: Settings) -> str:
    """Only the registry's own resources. Forms post to the registry, and may lead on only
    to the identity provider (signing out redirects there to end its session too)."""
    form_action = " ".join(filter(None, ["'self'", oidc.sign_out_origin(settings)]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.load()
    _check_failed_trials_definition(settings)
    app = Flask(__name__, instance_path=settings.instance_path or None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)
    _configure_logging(settings)
    _configure_flask(app, settings)
    _configure_templates(app)

    Database(settings.database_url or _default_database_url(app)).init_app(app)
    _load_keyring(app, settings)

    init_login(app)
    csrf.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    register_error_handlers(app)
    _connect_receivers()
    _register_blueprints(app)
    _register_request_hooks(app, settings)
    _log_requests_as_json(app, settings)
    if settings.proxy_hops > 0:
        # Trust exactly that many proxies' X-Forwarded-For and -Proto (the rightmost entries,
        # which they appended); anything a client put further left is ignored.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _check_failed_trials_definition(settings: Settings) -> None:
    """Who is counted as treatment-resistant depends on it. The definitions are the assessments
    package's data, which config (a foundation) may not import: so it is checked here, where
    the app is wired; every other rule is checked as the settings are read."""
    from registry.assessments.treatment import definitions

    if settings.failed_trials_definition not in definitions():
        raise ConfigurationError(
            f"failed_trials_definition must be one of {', '.join(sorted(definitions()))}"
        )


def _configure_flask(app: Flask, settings: Settings) -> None:
    app.config.update(
        SETTINGS=settings,
        TESTING=settings.mode is Mode.TEST,
        SECRET_KEY=settings.secret_key or _development_secret_key(app),
        SESSION_COOKIE_NAME=(
            SECURE_SESSION_COOKIE if settings.session_cookie_secure else SESSION_COOKIE
        ),
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_PATH="/",  # the __Host- prefix needs Path=/ and no Domain
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.absolute_timeout_hours),
        REMEMBER_COOKIE_DURATION=dt.timedelta(seconds=0),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session, which expires itself
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in protect_from_csrf, which knows about tokens
        # No Referer check over https: Referrer-Policy: no-referrer means browsers send none
        # (and Origin: null), so it would refuse every form. The token is bound to the
        # session, whose __Host- cookie neither plain http nor a subdomain can plant.
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX=settings.rate_limit_prefix,
        RATELIMIT_HEADERS_ENABLED=True,
        API_TITLE="MHMTC Research Registry API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Enrolment, cohort queries and recruitment for the EP and TRD "
                "research cohorts. Errors always have the shape "
                '{"error": {"status", "code", "message", "fields"}}.'
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )


def _configure_templates(app: Flask) -> None:
    # nhsuk-frontend-jinja's macros expect ChainableUndefined (see its README).
    app.jinja_options = {
        "undefined": ChainableUndefined,
        "loader": ChoiceLoader(
            [
                FileSystemLoader(str(Path(app.root_path) / "templates")),
                PackageLoader("nhsuk_frontend_jinja"),
            ]
        ),
        "autoescape": True,
    }
    app.jinja_env.globals["nhsuk_css_installed"] = (
        Path(app.static_folder or "") / "nhsuk" / "nhsuk-frontend.min.css"
    ).is_file()
    app.jinja_env.globals["nhsuk_js_installed"] = (
        Path(app.static_folder or "") / "nhsuk" / "nhsuk-frontend.min.js"
    ).is_file()


def _default_database_url(app: Flask) -> str:
    return f"sqlite:///{Path(app.instance_path) / 'registry.sqlite3'}"


def _development_secret_key(app: Flask) -> str:
    """Development and test only (production refuses to start without SECRET_KEY)."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _load_keyring(app: Flask, settings: Settings) -> None:
    if settings.key_provider == "pkcs11":
        provider, created = open_pkcs11(settings, create_if_missing=not settings.is_production)
        if created:
            print(f"WARNING: made new keys in {provider.describe()}.", file=sys.stderr)
        app.extensions["registry.keys"] = provider
        return
    # Development keeps its keyring beside its database, in the instance folder, so two
    # checkouts on one machine never share one; production requires REGISTRY_KEYRING.
    path = Path(settings.keyring_path or Path(app.instance_path) / "keyring.json")
    if not settings.keyring_path:
        _warn_of_old_keyring(path)
    keyring, created = open_keyring(path, create_if_missing=not settings.is_production)
    if created:
        print(
            f"WARNING: created a new keyring at {path}. It holds the keys that protect every "
            "participant's identifiers: back it up separately from the database, never commit "
            "it, and in production use REGISTRY_KEYRING with a managed key.",
            file=sys.stderr,
        )
    app.extensions["registry.keys"] = keyring


def _warn_of_old_keyring(path: Path) -> None:
    """Earlier versions kept the development keyring in the user's config folder. It is not
    read any more, never silently: data written under it cannot be read with another."""
    old = default_keyring_path()
    if old.exists() and old.resolve() != path.resolve():
        print(
            f"WARNING: a development keyring from an earlier version is at {old}; it is no "
            f"longer read. This checkout's keyring is {path}. Data written under the old "
            "keyring (participants' identities) cannot be read without it: if this "
            f"checkout's database was made with it, stop the server and move it here "
            f'(mv "{old}" "{path}"); if not, delete it once no checkout needs it.',
            file=sys.stderr,
        )


def _connect_receivers() -> None:
    """Import the modules whose receivers react to the signals of the layers below them
    (``registry.signals``), so the reactions are connected wherever an app exists: pages,
    API, commands and tests alike. Importing a module twice connects nothing twice."""
    import registry.auth.refusals
    import registry.facts.derive
    import registry.recruitment.actions  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from registry.api.audit import blp as audit_api
    from registry.api.auth import blp as auth_api
    from registry.api.auth import sites_blp as sites_api
    from registry.api.consents import blp as consent_forms_api
    from registry.api.eligibility import blp as eligibility_api
    from registry.api.exports import blp as exports_api
    from registry.api.fhir import blp as fhir_api
    from registry.api.followup import blp as followup_api
    from registry.api.health import blp as health_api
    from registry.api.participants import blp as participants_api
    from registry.api.privacy import blp as privacy_api
    from registry.api.recruitment import blp as recruitment_api
    from registry.api.reports import blp as reports_api
    from registry.web import filters, navigation
    from registry.web.account import bp as account_web
    from registry.web.admin.audit import bp as admin_audit_web
    from registry.web.admin.grants import bp as admin_grants
    from registry.web.admin.sites import bp as admin_sites
    from registry.web.admin.users import bp as admin_users_web
    from registry.web.auth.views import bp as auth_views
    from registry.web.consents.views import bp as consent_views
    from registry.web.eligibility.views import bp as eligibility_web
    from registry.web.exports.views import bp as exports_web
    from registry.web.followup.views import bp as followup_web
    from registry.web.participants.views import bp as participants_web
    from registry.web.privacy.views import bp as privacy_web
    from registry.web.recruitment.views import bp as recruitment_web
    from registry.web.reports.views import bp as reports_web
    from registry.web.views import bp as home_views

    filters.init_app(app)  # what every page's template may call, once for the app
    app.jinja_env.globals["nav_items"] = navigation.nav_items  # each role's header sections
    app.register_blueprint(auth_views)
    app.register_blueprint(home_views)
    app.register_blueprint(consent_views)
    app.register_blueprint(participants_web)
    app.register_blueprint(followup_web)
    app.register_blueprint(eligibility_web)
    app.register_blueprint(recruitment_web)
    app.register_blueprint(exports_web)
    app.register_blueprint(reports_web)
    app.register_blueprint(privacy_web)
    app.register_blueprint(admin_audit_web)
    app.register_blueprint(admin_sites)
    app.register_blueprint(admin_grants)
    app.register_blueprint(admin_users_web)
    app.register_blueprint(account_web)
    for blueprint in (
        health_api,
        auth_api,
        sites_api,
        consent_forms_api,
        participants_api,
        followup_api,
        eligibility_api,
        recruitment_api,
        reports_api,
        exports_api,
        fhir_api,
        audit_api,
        privacy_api,
    ):
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")


def _register_request_hooks(app: Flask, settings: Settings) -> None:
    app.url_value_preprocessor(refuse_nul_in_path)

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = uuid.uuid4().hex

    app.before_request(refuse_unreadable_page_input)

    @app.before_request
    def protect_from_csrf() -> None:
        """Every state-changing request made with the session cookie needs a CSRF token.

        A request carrying an Authorization header is exempt: a browser cannot attach one
        cross-site, so it cannot be forged that way (and a bad token gets 401 anyway).
        """
        if request.method in {"GET", "HEAD", "OPTIONS", "TRACE"}:
            return
        if request.routing_exception is not None:
            return  # no such route or method: the 404/405 follows and nothing changes
        if request.path.startswith("/api/") and (
            request.headers.get("Authorization") or "_user_id" not in session
        ):
            return  # not authenticated by cookie: nothing to forge (401 follows if needed)
        csrf.protect()

    @app.after_request
    def finish_transaction(response: Response) -> Response:
        """The request owns the transaction: commit on success, roll back on any error. What
        the request kept on record (a refusal) is appended after the rollback, and committed:
        the one place that writes for a request that failed."""
        if g.get("db_session") is None and not g.get("kept_on_record"):
            return response  # the request never touched the database
        db_session = database_session()  # opened now if only what was kept on record needs it
        if response.status_code >= 400:
            db_session.rollback()
        append_kept_records()
        db_session.commit()
        return response

    policy = content_security_policy(settings)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        headers["X-Request-ID"] = g.get("request_id", "")
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if settings.is_production:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response


def _configure_logging(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)


def _log_requests_as_json(app: Flask, settings: Settings) -> None:
    if settings.log_format == "json":
        log_requests(app)
