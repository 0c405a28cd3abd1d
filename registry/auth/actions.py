"""Accounts, passwords, second factors and API tokens. Every change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, func, select

from registry.audit.actions import Actor, record_event
from registry.auth.models import ApiToken, OneTimeSecret, Site, User
from registry.auth.permissions import SECOND_FACTOR_ROLES, Role
from registry.config import Settings
from registry.crypto import key_provider
from registry.crypto.fields import FieldCipher, FieldContext
from registry.crypto.keys import ONE_TIME_SECRET_PURPOSE, TOTP_SECRET_PURPOSE
from registry.db import session, utcnow
from registry.errors import Conflict, NotFound, StepUpFailed, ValidationFailed

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
TOKEN_PREFIX = "mhr_"  # noqa: S105 - a marker that lets secret scanners spot leaked tokens
TOTP_STEP_SECONDS = 30
# How long a new password or token waits for the page that shows it (a redirect away).
ONE_TIME_SECRET_LIFETIME = dt.timedelta(minutes=10)
TOKEN_MAX_DAYS = 365


# -- passwords ------------------------------------------------------------------------


def password_hasher() -> PasswordHasher:
    settings: Settings = current_app.config["SETTINGS"]
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def check_password_rules(password: str) -> list[str]:
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"Use at least {PASSWORD_MIN_LENGTH} characters.")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"Use at most {PASSWORD_MAX_LENGTH} characters.")
    return problems


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, ~120 bits


def _dummy_hash() -> str:
    """A real hash to verify against for unknown users, so timing does not tell them apart."""
    cached: str | None = current_app.extensions.get("registry.dummy_hash")
    if cached is None:
        cached = password_hasher().hash(secrets.token_urlsafe(16))
        current_app.extensions["registry.dummy_hash"] = cached
    return cached


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Audited either way."""
    user = session().scalar(select(User).where(User.email == normalise_email(email)))
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(), password)
        verified = user is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified or user is None or not user.is_active:
        record_event(
            "auth.sign_in",
            by=Actor.anonymous(),
            outcome="denied",
            target_type="user" if user else None,
            target_id=user.id if user else None,
            details={"reason": "bad_credentials" if not verified else "inactive"},
        )
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def _record_own_act(user: User, action: str, **event: Any) -> None:
    """Audit something a user did to their own account."""
    record_event(action, by=Actor.for_user(user), target_type="user", target_id=user.id, **event)


def needs_second_factor(user: User) -> bool:
    settings: Settings = current_app.config["SETTINGS"]
    return settings.totp_required and user.role in SECOND_FACTOR_ROLES


def record_sign_in(
    user: User, *, second_factor: bool, method: str = "password", provider_mfa: bool = False
) -> None:
    """``method`` is how the person proved who they are ("password" or "oidc");
    ``provider_mfa`` whether the identity provider vouched for the second factor."""
    user.last_sign_in_at = utcnow()
    details: dict[str, Any] = {"second_factor": second_factor, "method": method}
    if provider_mfa:
        details["second_factor_by"] = "provider"
    _record_own_act(user, "auth.sign_in", details=details)


def password_allowed(user: User) -> bool:
    """Whether this role may still sign in with a local password (REGISTRY_PASSWORD_ROLES);
    the others sign in through the identity provider. Bearer tokens are unaffected."""
    settings: Settings = current_app.config["SETTINGS"]
    return user.role.value in settings.password_role_values


def refuse_password(user: User) -> None:
    """The password was right, but this role signs in through the identity provider."""
    _record_own_act(
        user,
        "auth.sign_in",
        outcome="denied",
        details={"method": "password", "reason": "password_sign_in_off"},
    )


def sign_out(
    user: User, *, through_provider: bool = False, ends_provider_session: bool = False
) -> None:
    """End every session of this user: cookies name the old generation and stop working.
    After a sign-in through the identity provider, the audit says whether the browser was
    sent on to end the provider's session too ("ended") or that session may live on
    ("left": turned off, or the provider cannot end it); nothing says whose it was."""
    user.session_generation += 1
    details = None
    if through_provider:
        details = {"provider_session": "ended" if ends_provider_session else "left"}
    _record_own_act(user, "auth.sign_out", details=details)


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """Replace the password, once the current one is proved (a failure is audited).

    Every session of the user ends (the generation is bumped), in case the old password
    was stolen and used elsewhere: the caller re-issues the session that made the change.
    """
    if authenticate(user.email, current_password) is None:
        raise ValidationFailed({"current_password": ["Your current password is not correct."]})
    problems = check_password_rules(new_password)
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = password_hasher().hash(new_password)
    user.password_must_change = False
    user.session_generation += 1
    _record_own_act(user, "user.change_password", details={"sessions_ended": True})


# -- second factor (TOTP) -------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_provisioning_uri(user: User, secret: str) -> str:
    settings: Settings = current_app.config["SETTINGS"]
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=settings.totp_issuer)


def _totp_cipher() -> FieldCipher:
    """TOTP secrets sealed by the key provider: in an HSM, under a key that never leaves it."""
    return FieldCipher(None, aead=key_provider().aead(TOTP_SECRET_PURPOSE))


def _totp_context(user: User) -> FieldContext:
    return FieldContext(table="user_account", column="totp_secret", participant_id=str(user.id))


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step whose code this is, or None: the current step, or the one before it
    (a code typed as the step turns), so a code works for at most 60 seconds. A code from
    the next step (a phone clock running fast) is refused."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    current_step = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in (current_step, current_step - 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol_second_factor(user: User, *, secret: str, code: str) -> bool:
    """Keep the secret only once the user has proved their app holds it."""
    step = _matching_step(secret, code, utcnow())
    if step is None:
        _record_own_act(user, "auth.totp_enrol", outcome="denied")
        return False
    user.totp_secret_sealed = _totp_cipher().seal(secret, context=_totp_context(user))
    user.totp_last_step = step
    _record_own_act(user, "auth.totp_enrol")
    return True


def verify_second_factor(user: User, code: str) -> bool:
    """Accept each code once: a step at or before the last accepted one is refused."""
    if user.totp_secret_sealed is None:
        return False
    secret = _totp_cipher().open_text(user.totp_secret_sealed, context=_totp_context(user))
    step = _matching_step(secret, code, utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        _record_own_act(
            user,
            "auth.totp_verify",
            outcome="denied",
            details={"reason": "reused" if step is not None else "wrong_code"},
        )
        return False
    user.totp_last_step = step
    return True


def end_pending_sign_in(user: User) -> None:
    """Too many wrong security codes: the password has to be given again."""
    _record_own_act(
        user, "auth.second_factor_ended", outcome="denied", details={"reason": "too_many_codes"}
    )


def require_step_up(
    user: User, *, password: str | None = None, code: str | None = None, purpose: str
) -> None:
    """The signed-in user proves it is still them before an act that cannot be undone (a
    full withdrawal): their password, or a security code not used before. On every path,
    page or API, cookie or token; ``StepUpFailed`` is audited in a transaction of its own."""
    if code:
        method = "security_code"
        confirmed = verify_second_factor(user, code)
    elif password:
        method = "password"
        try:
            confirmed = password_hasher().verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            confirmed = False
    else:
        method, confirmed = "none", False
    if not confirmed:
        raise StepUpFailed(method=method, purpose=purpose)


# -- users and sites ------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class NewUser:
    user: User
    password: str | None  # the generated one-time password, shown once; None if given


def create_user(
    *,
    email: str,
    name: str,
    role: Role,
    site_code: str | None = None,
    organisation: str | None = None,
    password: str | None = None,
    by: Actor,
) -> NewUser:
    db = session()
    email = normalise_email(email)
    problems: dict[str, list[str]] = {}
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        problems["email"] = ["Enter an email address like name@example.nhs.uk."]
    if not name.strip():
        problems["name"] = ["Enter the person's name."]
    site = _site_for_role(role, site_code, organisation, problems)
    generated = None
    if password is None:
        generated = password = generate_password()
    elif rule_problems := check_password_rules(password):
        problems["password"] = rule_problems
    if problems:
        raise ValidationFailed(problems)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("user_exists", "A user with that email address already exists.")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        site=site,
        organisation=(organisation or "").strip() or None,
        password_hash=password_hasher().hash(password),
        password_must_change=generated is not None,
    )
    db.add(user)
    db.flush()
    record_event(
        "user.create",
        by=by,
        target_type="user",
        target_id=user.id,
        details={"role": role.value, "site": site.code if site else None},
    )
    return NewUser(user=user, password=generated)


def _site_for_role(
    role: Role, site_code: str | None, organisation: str | None, problems: dict[str, list[str]]
) -> Site | None:
    """The site a user of ``role`` belongs to (clinicians only, and they must), adding what is
    wrong to ``problems``; a partner must name their organisation."""
    site = None
    if role is Role.CLINICIAN:
        if not site_code:
            problems["site"] = ["A clinician needs a site (--site CODE)."]
        else:
            site = session().scalar(select(Site).where(Site.code == site_code.upper()))
            if site is None:
                problems["site"] = [f"No site with code {site_code.upper()}."]
    elif site_code:
        problems["site"] = ["Only clinicians belong to a site."]
    if role is Role.PARTNER and not (organisation or "").strip():
        problems["organisation"] = ["A partner needs an organisation (--organisation ORG)."]
    return site


def find_user_by_email(email: str) -> User:
    user = session().scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound("No user with that email address.")
    return user


def find_user(user_id: int) -> User:
    user = session().get(User, user_id)
    if user is None:
        raise NotFound("No user with that id.")
    return user


LAST_ADMIN_MESSAGE = (
    "{name} is the only active admin: the registry would have no one to manage it. "
    "Make someone else an admin first."
)


def _refuse_losing_the_last_admin(user: User) -> None:
    """An act that leaves no active admin is refused: nobody could undo it from a page."""
    if not (user.is_active and user.role is Role.ADMIN):
        return
    others = session().scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict("last_admin", LAST_ADMIN_MESSAGE.format(name=user.name))


def change_access(
    user: User,
    *,
    role: Role,
    site_code: str | None = None,
    organisation: str | None = None,
    by: Actor,
) -> bool:
    """Change a user's role, site or organisation, with the rules ``create_user`` applies.
    Sessions and tokens go on: every request reads the role afresh. Whether anything changed."""
    problems: dict[str, list[str]] = {}
    site = _site_for_role(role, site_code, organisation, problems)
    if problems:
        raise ValidationFailed(problems)
    organisation = (organisation or "").strip() or None
    before = (user.role, user.site_id, user.organisation)
    if (role, site.id if site else None, organisation) == before:
        return False
    if role is not Role.ADMIN:
        _refuse_losing_the_last_admin(user)
    record_event(
        "user.change_access",
        by=by,
        target_type="user",
        target_id=user.id,
        details={
            "role": [user.role.value, role.value],
            "site": [user.site.code if user.site else None, site.code if site else None],
            "organisation_changed": organisation != user.organisation,
        },
    )
    user.role, user.site, user.organisation = role, site, organisation
    return True


def deactivate_user(user: User, *, by: Actor) -> None:
    if not user.is_active:
        return
    _refuse_losing_the_last_admin(user)
    user.is_active = False
    user.deactivated_at = utcnow()
    _sign_out_everywhere(user, revoke_tokens=True, at=user.deactivated_at)
    record_event("user.deactivate", by=by, target_type="user", target_id=user.id)


def reactivate_user(user: User, *, by: Actor) -> None:
    """Let a deactivated user sign in again. Their API tokens stay revoked."""
    if user.is_active:
        return
    user.is_active = True
    user.deactivated_at = None
    record_event("user.reactivate", by=by, target_type="user", target_id=user.id)


def reset_second_factor(user: User, *, by: Actor) -> None:
    """Forget a lost second factor: the user sets one up again at their next sign-in. Every
    session ends too, in case the lost phone was taken."""
    user.totp_secret_sealed = None
    user.totp_last_step = None
    user.session_generation += 1
    record_event("user.reset_second_factor", by=by, target_type="user", target_id=user.id)


def end_sessions(user: User, *, by: Actor, revoke_tokens: bool = False) -> int:
    """End every web session of the user without deactivating them (their cookies name the
    old generation); with ``revoke_tokens``, revoke their API tokens too. The user can sign
    in again at once. Returns how many tokens were revoked."""
    revoked = _sign_out_everywhere(user, revoke_tokens=revoke_tokens, at=utcnow())
    record_event(
        "user.end_sessions",
        by=by,
        target_type="user",
        target_id=user.id,
        details={"tokens_revoked": revoked},
    )
    return revoked


def _sign_out_everywhere(user: User, *, revoke_tokens: bool, at: dt.datetime) -> int:
    """End every web session (cookies name the old generation) and, if asked, revoke the
    live API tokens; how many tokens were revoked."""
    user.session_generation += 1
    if not revoke_tokens:
        return 0
    live = [token for token in user_tokens(user) if token.revoked_at is None]
    for token in live:
        token.revoked_at = at
    return len(live)


SITE_NAME_MAX = 200


def _site_name_problems(name: str) -> list[str]:
    if not name.strip():
        return ["Enter the site's name."]
    if len(name.strip()) > SITE_NAME_MAX:
        return [f"A site's name is at most {SITE_NAME_MAX} characters."]
    return []


def add_site(*, code: str, name: str, by: Actor) -> Site:
    code = code.strip().upper()
    problems: dict[str, list[str]] = {}
    if not (2 <= len(code) <= 16 and code.isalnum()):
        problems["code"] = ["A site code is 2 to 16 letters and digits, e.g. RXT."]
    if name_problems := _site_name_problems(name):
        problems["name"] = name_problems
    if problems:
        raise ValidationFailed(problems)
    db = session()
    if db.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise Conflict("site_exists", f"A site with code {code} already exists.")
    site = Site(code=code, name=name.strip())
    db.add(site)
    db.flush()
    record_event("site.add", by=by, target_type="site", target_id=site.id, details={"code": code})
    return site


def find_site_by_code(code: str) -> Site:
    site = session().scalar(select(Site).where(Site.code == code.strip().upper()))
    if site is None:
        raise NotFound("There is no site with this code.")
    return site


def rename_site(site: Site, *, name: str, by: Actor) -> Site:
    if problems := _site_name_problems(name):
        raise ValidationFailed({"name": problems})
    if site.name != name.strip():
        site.name = name.strip()
        # The audit log refuses any "name" key (a person's, elsewhere): the code says which.
        record_event(
            "site.rename", by=by, target_type="site", target_id=site.id, details={"code": site.code}
        )
    return site


def deactivate_site(site: Site, *, by: Actor) -> Site:
    """The site enrols no one from now on; its participants and users stay. Idempotent."""
    if site.is_active:
        site.is_active = False
        site.deactivated_at = utcnow()
        record_event(
            "site.deactivate",
            by=by,
            target_type="site",
            target_id=site.id,
            details={"code": site.code},
        )
    return site


def reactivate_site(site: Site, *, by: Actor) -> Site:
    if not site.is_active:
        site.is_active = True
        site.deactivated_at = None
        record_event(
            "site.reactivate",
            by=by,
            target_type="site",
            target_id=site.id,
            details={"code": site.code},
        )
    return site


# -- API tokens -----------------------------------------------------------------------


def _token_digest(token: str) -> bytes:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def issue_token(user: User, *, name: str, expires_days: int, by: Actor) -> IssuedToken:
    problems: dict[str, list[str]] = {}
    if not user.is_active:
        problems["email"] = ["That user is deactivated."]
    if not 1 <= expires_days <= TOKEN_MAX_DAYS:
        problems["expires_days"] = [f"A token lasts between 1 and {TOKEN_MAX_DAYS} days."]
    if not 1 <= len(name.strip()) <= 100:
        problems["name"] = ["A token's label is 1 to 100 characters."]
    if problems:
        raise ValidationFailed(problems)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip(),
        token_hash=_token_digest(secret),
        expires_at=utcnow() + dt.timedelta(days=expires_days),
    )
    session().add(token)
    session().flush()
    record_event(
        "token.issue",
        by=by,
        target_type="api_token",
        target_id=token.id,
        details={"user_id": user.id, "expires_days": expires_days},
    )
    return IssuedToken(token=token, secret=secret)


def revoke_token(token_id: int, *, by: Actor, owner: User | None = None) -> ApiToken:
    """Revoke a token at once; with ``owner``, only one of theirs (another's is not found)."""
    token = session().get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound(f"No token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event(
            "token.revoke",
            by=by,
            target_type="api_token",
            target_id=token.id,
            details={"user_id": token.user_id},
        )
    return token


def user_tokens(user: User) -> list[ApiToken]:
    return list(session().scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def token_for_secret(secret: str) -> ApiToken | None:
    """The bearer token with this secret, if it is known, unexpired and unrevoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = session().scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(secret)))
    now = utcnow()
    if token is None or not token.is_usable(now):
        return None
    # Record last use at minute precision: enough to spot stale tokens, no write per call.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return token


# -- secrets shown once -----------------------------------------------------------------


def _one_time_context(secret_id: str) -> FieldContext:
    return FieldContext(table="one_time_secret", column="secret", participant_id=secret_id)


def hold_secret(secret: str, *, owner: User) -> str:
    """Keep a new password or token, sealed, for the next page to show ``owner`` once; the
    id to find it by. Secrets nobody came for are deleted."""
    db = session()
    db.execute(
        delete(OneTimeSecret).where(OneTimeSecret.created_at < utcnow() - ONE_TIME_SECRET_LIFETIME)
    )
    secret_id = secrets.token_urlsafe(32)
    db.add(
        OneTimeSecret(
            id=secret_id,
            owner_id=owner.id,
            secret_sealed=_one_time_cipher().seal(secret, context=_one_time_context(secret_id)),
        )
    )
    db.flush()
    return secret_id


def take_secret(secret_id: str, *, owner: User) -> str | None:
    """The held secret, once: it is deleted as it is read. None if it was shown already,
    waited too long, or is someone else's."""
    db = session()
    held = db.get(OneTimeSecret, secret_id)
    if held is None or held.owner_id != owner.id:
        return None
    db.delete(held)
    db.flush()
    if held.created_at < utcnow() - ONE_TIME_SECRET_LIFETIME:
        return None
    return _one_time_cipher().open_text(held.secret_sealed, context=_one_time_context(secret_id))


def _one_time_cipher() -> FieldCipher:
    """AES-GCM under the provider's own key for one-time secrets (inside the HSM there)."""
    return FieldCipher(None, aead=key_provider().aead(ONE_TIME_SECRET_PURPOSE))
