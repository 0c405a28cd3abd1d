"""Typed settings, read once from an optional TOML file and the environment.

Precedence: built-in defaults < TOML file (``REGISTRY_CONFIG``, else ``config/registry.toml``
in the working directory if present) < environment variables. environs reads each value with
marshmallow's fields and validators, and every unreadable or senseless value is named at once.
Production refuses to start on anything unsafe, naming what is wrong, rather than running
half-protected.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from environs import Env, EnvValidationError
from limits import parse_many
from marshmallow import ValidationError, fields
from marshmallow.validate import OneOf, Range, Validator
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
    "REGISTRY_KEY_PROVIDER": "key_provider",
    "REGISTRY_PKCS11_MODULE": "pkcs11_module",
    "REGISTRY_PKCS11_TOKEN": "pkcs11_token",
    "REGISTRY_PKCS11_PIN_FILE": "pkcs11_pin_file",
    "REDIS_URL": "redis_url",
    "REGISTRY_RATE_LIMIT_PREFIX": "rate_limit_prefix",
    "REGISTRY_INSTANCE_PATH": "instance_path",
    "REGISTRY_SESSION_COOKIE_SECURE": "session_cookie_secure",
    "REGISTRY_TOTP_REQUIRED": "totp_required",
    "REGISTRY_ALLOW_SYNTHETIC_NHS_NUMBERS": "allow_synthetic_nhs_numbers",
    "REGISTRY_EXPECTED_POPULATION": "expected_population",
    "REGISTRY_LOG_LEVEL": "log_level",
    "REGISTRY_LOG_FORMAT": "log_format",
    "REGISTRY_PROXY_HOPS": "proxy_hops",
    "REGISTRY_OIDC_ISSUER": "oidc_issuer",
    "REGISTRY_OIDC_CLIENT_ID": "oidc_client_id",
    "REGISTRY_OIDC_CLIENT_SECRET": "oidc_client_secret",
    "REGISTRY_OIDC_PROVIDER_NAME": "oidc_provider_name",
    "REGISTRY_OIDC_MFA_AMR": "oidc_mfa_amr",
    "REGISTRY_OIDC_MFA_ACR": "oidc_mfa_acr",
    "REGISTRY_OIDC_SUBJECT_CLAIM": "oidc_subject_claim",
    "REGISTRY_OIDC_END_PROVIDER_SESSION": "oidc_end_provider_session",
    "REGISTRY_OIDC_MAX_AGE_SECONDS": "oidc_max_age_seconds",
    "REGISTRY_PASSWORD_ROLES": "password_roles",
}
# Secrets that may come from the environment (or a file it names), never the TOML file,
# which is readable by whoever can read the deployment's configuration.
SECRET_FILES = {"REGISTRY_OIDC_CLIENT_SECRET_FILE": "oidc_client_secret"}
_NOT_IN_TOML = frozenset(SECRET_FILES.values())
ALL_ROLES = "clinician,researcher,admin,partner"  # registry.auth.permissions.Role, in words


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
    # Where the keys live: "file" (the keyring above) or "pkcs11" (an HSM: the module's path,
    # the token's label, and a file holding the user PIN; the PIN itself is never a setting).
    key_provider: str = "file"
    pkcs11_module: str | None = None
    pkcs11_token: str | None = None
    pkcs11_pin_file: str | None = None
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
    # "text" for people, "json" (one object per line) for a SIEM; registry/logs.py.
    log_format: str = "text"
    # How many reverse proxies in front of the app append to X-Forwarded-For (and set
    # X-Forwarded-Proto). 0 trusts no forwarding header: the client address is the socket's.
    # Set it to exactly the number of proxies, or a client can spoof its address.
    proxy_hops: int = 0

    # Single sign-on through an OpenID Connect provider (registry/auth/oidc.py): off unless
    # oidc_issuer is set. The secret comes from the environment or a file, never the TOML.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_provider_name: str | None = None  # the button's label: "Sign in with <name>"
    # Comma-separated amr / acr values that count as multi-factor: a token asserting one
    # skips the registry's own security code. Empty: the security code is always asked.
    oidc_mfa_amr: str = ""
    oidc_mfa_acr: str = ""
    # The claim that names the person for good: "sub" (OpenID Connect's), or "oid" for
    # Microsoft Entra ID, whose sub differs per application while its object id is the one
    # the trust's directory shows (so an admin can link an account to it beforehand).
    oidc_subject_claim: str = "sub"
    # Whether signing out of the registry after a sign-in through the provider goes on to
    # end the provider's session too (OpenID Connect RP-Initiated Logout), so the next
    # person at a shared workstation is not signed straight back in as the last one.
    oidc_end_provider_session: bool = True
    # How long ago, at most, a person may have proved who they are to the provider for a
    # sign-in to count (OpenID Connect max_age; the token's auth_time is checked against
    # it). Unset: the idle timeout, so that once the registry's session has timed out the
    # next person at a shared workstation is not let in on the provider's session of the
    # last one. 0: the person proves who they are to the provider at every sign-in.
    oidc_max_age_seconds: int | None = None
    # Sign-ins through the provider started, and answers from it, per client address: far
    # above what people need, even many behind one address, but a flood is refused.
    oidc_sign_in_limit_per_address: str = "30 per minute"
    # Roles that may still sign in with a local password (comma-separated).
    password_roles: str = ALL_ROLES

    # Cohort rules (DOMAIN: NHS England EIP access standard 14-65; TRD adults only).
    ep_min_age: int = 14
    ep_max_age: int = 65
    trd_min_age: int = 18
    # Protocol choices over the diagnostic sets (registry/participants/data/reference.toml):
    # whether EP also takes the affective psychoses (F30.2, F31.2, F31.5, F32.3, F33.3) and
    # the substance-induced psychoses (F1x.5; the EIP access standard takes them), and
    # whether TRD takes F33.4, recurrent depression currently in remission.
    ep_affective_psychoses: bool = True
    ep_substance_induced_psychosis: bool = False
    trd_in_remission: bool = False
    # Named in registry/assessments/data/treatment.toml; recorded with every count.
    failed_trials_definition: str = "eu-pearl-2022"

    # How often one partner may ask (a throttle, not a privacy defence: the budget is).
    partner_query_limit: str = "120 per hour"
    # Partners' figures under differential privacy (registry/privacy; README, Decisions):
    # each fresh question costs privacy_query_cost (zCDP rho; the noise's standard
    # deviation is 1/sqrt(2 rho), about 7 at 0.01), and an organisation may spend
    # privacy_allowance in any privacy_period_days. The same question again within
    # privacy_consistency_hours gets the same answer at no cost. privacy_delta only
    # converts rho to the (epsilon, delta) people quote.
    privacy_query_cost: float = 0.01
    privacy_allowance: float = 0.25
    privacy_period_days: int = 30
    privacy_consistency_hours: int = 24
    privacy_delta: float = 1e-6

    # Representativeness reports: a group is "under-represented" when the upper bound of
    # its representation ratio's 95% interval is below this, "uncertain" when the interval
    # contains it. A convention (0.8 is common), not a number any standard sets.
    representation_threshold: float = 0.8

    # Recruitment: whether lists open only when a second admin confirms the approval, and
    # contact fatigue (on how many open lists at once; approaches in any 12 months).
    recruitment_two_person_rule: bool = False
    contact_max_open_lists: int = 2
    contact_max_approaches_per_year: int = 3
    # The fewest people a list may hold when approved: a partner follows the list's funnel,
    # and figures about fewer people describe the people themselves. 0 turns it off.
    recruitment_min_list_size: int = 10

    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.PRODUCTION

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def oidc_max_age(self) -> int:
        """The max_age every sign-in through the provider asks for, in seconds."""
        if self.oidc_max_age_seconds is not None:
            return self.oidc_max_age_seconds
        return self.idle_timeout_minutes * 60

    @property
    def oidc_mfa_amr_values(self) -> frozenset[str]:
        return _words(self.oidc_mfa_amr)

    @property
    def oidc_mfa_acr_values(self) -> frozenset[str]:
        return _words(self.oidc_mfa_acr)

    @property
    def password_role_values(self) -> frozenset[str]:
        return _words(self.password_roles)

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
            if in_toml := sorted(_NOT_IN_TOML & set(values)):
                raise ConfigurationError(
                    f"{', '.join(in_toml)} may not be in {path}: set it in the environment "
                    "or name a file holding it (REGISTRY_OIDC_CLIENT_SECRET_FILE)"
                )
        for env_name, field_name in ENVIRONMENT_NAMES.items():
            if env_name in environ and environ[env_name] != "":
                values[field_name] = environ[env_name]
        for env_name, field_name in SECRET_FILES.items():
            if environ.get(env_name):
                values[field_name] = _read_secret_file(env_name, Path(environ[env_name]))
        values.update(overrides)
        settings = cls.from_mapping(values)
        settings.check()
        return settings

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from values by field name, as text (the environment) or typed (TOML):
        each read by its type and checked by its rules, every problem named at once."""
        unknown = sorted(set(values) - set(_PARSERS) - {"mode"})
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")
        mode = Mode(values.get("mode", Mode.DEVELOPMENT))
        given = {**_MODE_DEFAULTS[mode], **values}
        given.pop("mode", None)
        reader = _SettingsReader(given)
        read = {name: reader.read(name) for name in given}
        try:
            reader.seal()
        except EnvValidationError as error:
            raise ConfigurationError(_describe(error.error_messages)) from None
        settings = cls(mode=mode, **read)
        settings._check_consistency()
        return settings

    def _check_consistency(self) -> None:
        """Rules between settings (each value's own are in _RULES)."""
        problems = []
        if not 0 < self.ep_min_age <= self.ep_max_age:
            problems.append("need 0 < ep_min_age <= ep_max_age")
        if self.migration_database_url:
            problems.extend(self._migration_url_problems(self.migration_database_url))
        if self.key_provider == "pkcs11":
            problems.extend(self.pkcs11_problems())
        problems.extend(self._sign_in_problems())
        if problems:
            raise ConfigurationError("; ".join(problems))

    def _sign_in_problems(self) -> list[str]:
        """Single sign-on complete or absent, and every role left a way to sign in."""
        problems = []
        unknown = sorted(self.password_role_values - _words(ALL_ROLES))
        if unknown:
            problems.append(
                f"password_roles names no such role: {', '.join(unknown)} "
                f"(roles: {ALL_ROLES.replace(',', ', ')})"
            )
        if not self.oidc_enabled:
            if self.password_role_values != _words(ALL_ROLES):
                problems.append(
                    "password_roles leaves some roles no way to sign in: set oidc_issuer "
                    "(REGISTRY_OIDC_ISSUER) too, or keep every role"
                )
            if self.oidc_mfa_amr or self.oidc_mfa_acr:
                problems.append("oidc_mfa_amr and oidc_mfa_acr need oidc_issuer")
            return problems
        issuer = urlsplit(self.oidc_issuer or "")
        if issuer.scheme not in ("http", "https") or not issuer.netloc:
            problems.append("oidc_issuer must be a URL like https://login.example.org/tenant")
        elif issuer.query or issuer.fragment:
            problems.append("oidc_issuer may not have a query or fragment")
        for name in ("oidc_client_id", "oidc_client_secret", "oidc_provider_name"):
            if not (getattr(self, name) or "").strip():
                problems.append(f"{name} is needed with oidc_issuer")
        return problems

    def check(self) -> None:
        """Refuse settings that would run production unprotected; name every problem."""
        if not self.is_production:
            return
        problems = []
        if not self.database_url:
            problems.append("DATABASE_URL is not set")
        elif self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must be PostgreSQL in production")
        if not self.secret_key or len(self.secret_key) < 32:
            problems.append("SECRET_KEY is not set (at least 32 characters)")
        if self.key_provider == "file" and not self.keyring_path:
            problems.append("REGISTRY_KEYRING is not set (production never creates a keyring)")
        if not self.session_cookie_secure:
            problems.append("session cookies must be Secure in production")
        if not self.totp_required:
            problems.append("the second factor cannot be turned off in production")
        if self.allow_synthetic_nhs_numbers:
            problems.append("synthetic NHS numbers are not allowed in production")
        # Below partners' smallest shown figure (registry.eligibility.disclosure.THRESHOLD),
        # a recruitment list's funnel would follow individuals.
        if self.recruitment_min_list_size < 10:
            problems.append("recruitment_min_list_size must be at least 10 in production")
        if self.oidc_issuer and not self.oidc_issuer.startswith("https://"):
            problems.append("REGISTRY_OIDC_ISSUER must be an https URL in production")
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))

    def pkcs11_problems(self) -> list[str]:
        """An HSM needs its module, a token and the PIN file, each there at start-up."""
        problems = []
        if not self.pkcs11_module:
            problems.append("REGISTRY_PKCS11_MODULE is not set (the PKCS#11 module's path)")
        elif not Path(self.pkcs11_module).is_file():
            problems.append(f"REGISTRY_PKCS11_MODULE names no file: {self.pkcs11_module}")
        if not self.pkcs11_token:
            problems.append("REGISTRY_PKCS11_TOKEN is not set (the token's label)")
        if not self.pkcs11_pin_file:
            problems.append("REGISTRY_PKCS11_PIN_FILE is not set (a file holding the PIN)")
        elif not Path(self.pkcs11_pin_file).is_file():
            problems.append(f"REGISTRY_PKCS11_PIN_FILE names no file: {self.pkcs11_pin_file}")
        elif self.is_production and Path(self.pkcs11_pin_file).stat().st_mode & 0o077:
            problems.append("REGISTRY_PKCS11_PIN_FILE is readable by others; chmod 600 it")
        return problems

    def _migration_url_problems(self, migration_url: str) -> list[str]:
        """Two roles on one PostgreSQL database, or the split protects nothing (the URLs
        themselves are never repeated: they may hold passwords)."""
        name = "REGISTRY_MIGRATION_DATABASE_URL"
        try:
            owner = make_url(migration_url)
            app = make_url(self.database_url) if self.database_url else None
        except ArgumentError:
            return [f"{name} or DATABASE_URL is not a database URL"]
        if app is None:
            return [f"{name} needs DATABASE_URL, the app's own role"]
        if owner.get_backend_name() != "postgresql" or app.get_backend_name() != "postgresql":
            return [f"{name} is for PostgreSQL only (SQLite has no roles)"]
        if (owner.host, owner.port, owner.database) != (app.host, app.port, app.database):
            return [f"{name} and DATABASE_URL name different databases"]
        if owner.username == (self.database_app_role or app.username):
            return [f"{name} must connect as the schema's owner, a role other than the app's"]
        return []

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


class _Rate(Validator):
    """A rate limit as Flask-Limiter reads it ("30 per minute", "10/hour;100/day")."""

    def __call__(self, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValidationError(
                f"must be a rate such as '30 per minute', not {value!r}"
            ) from None
        return value


# Flask-Limiter reads a limit only when a request meets it: checked here, a mistyped one
# stops the start-up instead of answering that request with a 500.
_RATES = (
    "sign_in_limit_per_account",
    "sign_in_limit_per_address",
    "api_rate_limit",
    "security_event_limit",
    "oidc_sign_in_limit_per_address",
    "partner_query_limit",
)

# Each value's own rules (marshmallow validators, run as environs reads the value).
_RULES: dict[str, Validator] = {
    **{name: _Rate() for name in _RATES},
    "oidc_subject_claim": OneOf(("sub", "oid"), error="must be sub or oid, not {input!r}"),
    "key_provider": OneOf(["file", "pkcs11"], error="must be file or pkcs11, not {input!r}"),
    "log_format": OneOf(("text", "json"), error="must be text or json, not {input!r}"),
    "proxy_hops": Range(min=0, error="must be 0 or more, not {input}"),
    "oidc_max_age_seconds": Range(min=0, error="must be 0 or more, not {input}"),
    "trd_min_age": Range(min=1, error="must be at least 1"),
    "contact_max_open_lists": Range(min=1, error="must be at least 1"),
    "contact_max_approaches_per_year": Range(min=1, error="must be at least 1"),
    "recruitment_min_list_size": Range(min=0, error="must be 0 or more, not {input}"),
    "privacy_query_cost": Range(min=0, min_inclusive=False, error="must be more than 0"),
    "privacy_allowance": Range(min=0, error="must be 0 or more"),
    "privacy_period_days": Range(min=1, error="must be at least 1"),
    "privacy_consistency_hours": Range(min=0, error="must be 0 or more"),
    "representation_threshold": Range(
        min=0, max=1, min_inclusive=False, error="must be more than 0 and at most 1"
    ),
    "privacy_delta": Range(
        min=0, max=1, min_inclusive=False, max_inclusive=False, error="must be between 0 and 1"
    ),
}


class _SettingField:
    """Mixed into each field below: messages that read after the setting's name."""

    default_error_messages: dict[str, str | list[Any] | dict[Any, Any]] = {
        "null": "must have a value"
    }


class _TrueOrFalse(_SettingField, fields.Boolean):
    default_error_messages = {"invalid": "must be true or false, not {input!r}"}


class _WholeNumber(_SettingField, fields.Integer):
    default_error_messages = {"invalid": "must be a whole number, not {input!r}"}


class _WholeNumberOrNone(_WholeNumber):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_none = True


class _Number(_SettingField, fields.Float):
    default_error_messages = {"invalid": "must be a number, not {input!r}"}


class _Text(_SettingField, fields.String):
    default_error_messages = {"invalid": "must be text"}


class _TextOrNone(_Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_none = True


class _Table(_SettingField, fields.Dict):
    default_error_messages = {"invalid": "must be a table"}


# The marshmallow field that reads each type a setting can have, registered with environs as
# a parser of that name; a setting of a type not here fails at import, not at start-up.
_FIELDS_BY_TYPE: dict[object, tuple[str, type[fields.Field[Any]]]] = {
    bool: ("true_or_false", _TrueOrFalse),
    int: ("whole_number", _WholeNumber),
    int | None: ("whole_number_or_none", _WholeNumberOrNone),
    float: ("number", _Number),
    str: ("text", _Text),
    str | None: ("text_or_none", _TextOrNone),
    Mapping[str, Any]: ("table", _Table),
}
_PARSERS = {
    name: _FIELDS_BY_TYPE[kind][0]
    for name, kind in get_type_hints(Settings).items()
    if name != "mode"  # read first, since it chooses the other defaults
}


class _SettingsReader(Env):
    """environs over a mapping of settings by field name. environs reads os.environ, but the
    values here come from a TOML table, the environment and overrides together (and tests pass
    plain dicts). Errors are deferred: seal() raises them all together."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(eager=False)
        self._given = values
        for parser, field_class in _FIELDS_BY_TYPE.values():
            self.add_parser_from_field(parser, field_class)

    def _get_value(self, env_key: str, default: Any) -> Any:
        # Where environs looks values up (its own FileAwareEnv overrides this too).
        return self._given.get(env_key, default)

    def read(self, name: str) -> Any:
        parse = getattr(self, _PARSERS[name])
        return parse(name, validate=_RULES.get(name))


def _words(text: str) -> frozenset[str]:
    """A comma-separated setting as a set of its non-empty, trimmed values."""
    return frozenset(word.strip() for word in text.split(",") if word.strip())


def _read_secret_file(env_name: str, path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigurationError(f"{env_name} names a file that cannot be read: {path}") from (
            error
        )
    if not secret:
        raise ConfigurationError(f"{env_name} names an empty file: {path}")
    return secret


def _describe(errors: Mapping[str, Any] | list[str]) -> str:
    if not isinstance(errors, Mapping):
        return "; ".join(errors)
    return "; ".join(f"{name} {message}" for name in errors for message in errors[name])
