"""Typed settings, read once from an optional TOML file and the environment.

Precedence: built-in defaults < TOML file (``REGISTRY_CONFIG``, else ``config/registry.toml``
in the working directory if present) < environment variables. Production refuses to start
on anything unsafe, naming what is wrong, rather than running half-protected.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class Mode(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """Settings that must not be used; the message says which and why."""


# Environment variable -> settings field. Anything else in the environment is ignored.
ENVIRONMENT_NAMES = {
    "REGISTRY_MODE": "mode",
    "DATABASE_URL": "database_url",
    "REGISTRY_MIGRATION_DATABASE_URL": "migration_database_url",
    "REGISTRY_DATABASE_APP_ROLE": "database_app_role",
    "SECRET_KEY": "secret_key",
    "REGISTRY_KEYRING": "keyring_path",
    "REDIS_URL": "redis_url",
    "REGISTRY_RATE_LIMIT_PREFIX": "rate_limit_prefix",
    "REGISTRY_INSTANCE_PATH": "instance_path",
    "REGISTRY_SESSION_COOKIE_SECURE": "session_cookie_secure",
    "REGISTRY_TOTP_REQUIRED": "totp_required",
    "REGISTRY_ALLOW_SYNTHETIC_NHS_NUMBERS": "allow_synthetic_nhs_numbers",
    "REGISTRY_EXPECTED_POPULATION": "expected_population",
    "REGISTRY_LOG_LEVEL": "log_level",
    "REGISTRY_PROXY_HOPS": "proxy_hops",
}


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.DEVELOPMENT
    database_url: str | None = None
    # PostgreSQL: the schema's owner, for `registry db upgrade` and restores only; the app
    # connects with DATABASE_URL as a role that owns nothing (see registry/db_roles.py).
    migration_database_url: str | None = None
    # The role the owner grants the app's privileges to; default: DATABASE_URL's user.
    database_app_role: str | None = None
    secret_key: str | None = None
    # The local keyring file (KEK epochs, root secret for derived keys); mode 0600.
    keyring_path: str | None = None
    redis_url: str | None = None
    # Prefix of every throttle counter in Redis, so registries sharing one keep apart.
    rate_limit_prefix: str = "registry"
    instance_path: str | None = None

    session_cookie_secure: bool = True
    idle_timeout_minutes: int = 15
    absolute_timeout_hours: int = 12
    totp_required: bool = True
    totp_issuer: str = "MHMTC Registry"

    # Sign-in throttling (Flask-Limiter syntax). Per account the window is short so that an
    # attacker cannot lock a real user out for long; per address it is wider.
    sign_in_limit_per_account: str = "10 per 15 minutes"
    sign_in_limit_per_address: str = "50 per 15 minutes"
    # Wrong security codes one sign-in may make before the password is needed again.
    second_factor_attempts: int = 5
    api_rate_limit: str = "600 per minute"
    # Refusals audited per client address and kind (throttled, CSRF, denied): past this, a
    # flood is only counted in the application log, so it cannot fill the audit log.
    security_event_limit: str = "20 per 10 minutes"

    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    token_default_expiry_days: int = 90
    allow_synthetic_nhs_numbers: bool = False
    # Planned participants; sizes the NHS-number blind index (see registry.crypto).
    expected_population: int = 100_000
    log_level: str = "INFO"
    # How many reverse proxies in front of the app append to X-Forwarded-For (and set
    # X-Forwarded-Proto). 0 trusts no forwarding header: the client address is the socket's.
    # Set it to exactly the number of proxies, or a client can spoof its address.
    proxy_hops: int = 0

    # Cohort rules (DOMAIN: NHS England EIP access standard 14-65; TRD adults only).
    ep_min_age: int = 14
    ep_max_age: int = 65
    trd_min_age: int = 18
    # Whether EP also takes the affective psychoses (F30.2, F31.2, F31.5, F32.3, F33.3).
    ep_affective_psychoses: bool = True
    # Named in registry/assessments/data/treatment.toml; recorded with every count.
    failed_trials_definition: str = "eu-pearl-2022"

    # Differencing defences for partners' counts: how often one partner may ask, and how
    # many times the same (normalised) question within 30 days (i2b2's lockout is 7).
    partner_query_limit: str = "120 per hour"
    partner_repeat_limit: int = 7

    # Recruitment: whether lists open only when a second admin confirms the approval, and
    # contact fatigue (on how many open lists at once; approaches in any 12 months).
    recruitment_two_person_rule: bool = False
    contact_max_open_lists: int = 2
    contact_max_approaches_per_year: int = 3

    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.PRODUCTION

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        config_file = environ.get("REGISTRY_CONFIG")
        path = Path(config_file) if config_file else Path("config/registry.toml")
        if config_file and not path.is_file():
            raise ConfigurationError(f"REGISTRY_CONFIG points to a missing file: {path}")
        if path.is_file():
            with path.open("rb") as fh:
                values.update(tomllib.load(fh).get("registry", {}))
        for env_name, field_name in ENVIRONMENT_NAMES.items():
            if env_name in environ and environ[env_name] != "":
                values[field_name] = environ[env_name]
        values.update(overrides)
        settings = cls.from_mapping(values)
        settings.check()
        return settings

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")
        mode = Mode(values.get("mode", Mode.DEVELOPMENT))
        defaults = _MODE_DEFAULTS[mode]
        coerced: dict[str, Any] = {"mode": mode}
        for name, value in {**defaults, **values}.items():
            if name == "mode":
                continue
            coerced[name] = _coerce(name, value, known[name].type)
        return cls(**coerced)

    def check(self) -> None:
        """Refuse settings that would run production unprotected; name every problem."""
        if self.proxy_hops < 0:
            raise ConfigurationError(f"proxy_hops must be 0 or more, not {self.proxy_hops}")
        if self.migration_database_url:
            self._check_migration_url(self.migration_database_url)
        if not self.is_production:
            return
        problems = []
        if not self.database_url:
            problems.append("DATABASE_URL is not set")
        elif self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must be PostgreSQL in production")
        if not self.secret_key or len(self.secret_key) < 32:
            problems.append("SECRET_KEY is not set (at least 32 characters)")
        if not self.keyring_path:
            problems.append("REGISTRY_KEYRING is not set (production never creates a keyring)")
        if not self.session_cookie_secure:
            problems.append("session cookies must be Secure in production")
        if not self.totp_required:
            problems.append("the second factor cannot be turned off in production")
        if self.allow_synthetic_nhs_numbers:
            problems.append("synthetic NHS numbers are not allowed in production")
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))

    def _check_migration_url(self, migration_url: str) -> None:
        """Two roles on one PostgreSQL database, or the split protects nothing (the URLs
        themselves are never repeated: they may hold passwords)."""
        name = "REGISTRY_MIGRATION_DATABASE_URL"
        try:
            owner = make_url(migration_url)
            app = make_url(self.database_url) if self.database_url else None
        except ArgumentError:
            raise ConfigurationError(f"{name} or DATABASE_URL is not a database URL") from None
        if app is None:
            raise ConfigurationError(f"{name} needs DATABASE_URL, the app's own role")
        if owner.get_backend_name() != "postgresql" or app.get_backend_name() != "postgresql":
            raise ConfigurationError(f"{name} is for PostgreSQL only (SQLite has no roles)")
        if (owner.host, owner.port, owner.database) != (app.host, app.port, app.database):
            raise ConfigurationError(f"{name} and DATABASE_URL name different databases")
        if owner.username == (self.database_app_role or app.username):
            raise ConfigurationError(
                f"{name} must connect as the schema's owner, a role other than the app's"
            )

    def check_workers(self, workers: int) -> None:
        """Throttle counters live in each process's memory unless REDIS_URL names a shared
        store: with several workers every limit (sign-in, security codes, API, partners'
        queries) would be multiplied by their number. Production refuses that."""
        if workers > 1 and not self.redis_url and self.is_production:
            raise ConfigurationError(
                f"refusing to start in production: {workers} workers need REDIS_URL, or "
                "every throttle counts per worker (set REDIS_URL, or REGISTRY_WORKERS=1)"
            )


_MODE_DEFAULTS: dict[Mode, dict[str, Any]] = {
    Mode.DEVELOPMENT: {"session_cookie_secure": False, "allow_synthetic_nhs_numbers": True},
    Mode.TEST: {
        "session_cookie_secure": False,
        "allow_synthetic_nhs_numbers": True,
        "secret_key": "test-secret-key-not-for-production-use-0123456789",
    },
    Mode.PRODUCTION: {},
}


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    text = str(annotation)
    if value is None:
        return None
    if text.startswith("bool"):
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigurationError(f"{name} must be true or false, not {value!r}")
    if text.startswith("int"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None
    return value
