"""Single sign-on through an OpenID Connect provider: the rules (the views are thin).

Authorisation-code flow with PKCE. The state, nonce and code verifier live in the server
side of the sign-in (the signed session) and are used once: the callback takes them out
before it does anything else, so a replayed callback finds nothing to complete. The ID token
is checked with joserfc (Authlib's successor for JOSE): signature against the provider's
published keys, issuer, audience, expiry, issued-at, nonce and, if present, azp.

Every sign-in asks the provider for a person who proved who they are within max_age seconds
(by default the registry's idle timeout), and the token's auth_time must show it: once the
registry's own session has timed out, the next person at a shared workstation is not let
in on the provider's session of the last one.

Signing out of the registry after a sign-in through the provider goes on to the provider's
end_session_endpoint (RP-Initiated Logout 1.0), so its session ends too.

An account is found by the provider's subject, or on first use by a verified email address
to an account an admin created beforehand, which then records the subject. Signing in never
creates an account. No token, code, email address or subject is logged or audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from sqlalchemy import select

from registry.audit.actions import Actor, keep_on_record, record_event
from registry.auth.actions import normalise_email
from registry.auth.models import User
from registry.config import Settings
from registry.db import session
from registry.errors import ValidationFailed

SCOPES = "openid email profile"
HTTP_TIMEOUT_SECONDS = 10
METADATA_TTL_SECONDS = 3600
CLOCK_LEEWAY_SECONDS = 60
SIGN_IN_WINDOW_SECONDS = 600  # from the button to the callback
ALGORITHMS = ("RS256", "PS256", "ES256")  # never "none", never a shared-secret HMAC

# Why a sign-in was refused, as audited (no claim values, only the kind of failure).
REASONS = frozenset(
    {
        "no_sign_in_in_progress",  # a replayed or stale callback: nothing left to complete
        "state_mismatch",
        "provider_refused",  # the provider sent an error back (the person cancelled...)
        "provider_unavailable",
        "code_refused",  # the token endpoint would not exchange the code (a replayed code)
        "token_invalid",  # bad signature, unreadable, missing claims, future iat
        "wrong_issuer",
        "wrong_audience",
        "token_expired",
        "nonce_mismatch",
        "no_auth_time",  # max_age was asked for: the token must say when they signed in
        "authentication_too_old",  # they proved who they are longer ago than max_age
        "email_not_verified",
        "unknown_account",
        "subject_mismatch",  # the email's account is linked to someone else at the provider
        "inactive",
    }
)


class SignInRefused(Exception):
    """The provider's answer does not sign anyone in; ``reason`` is one of REASONS."""

    def __init__(self, reason: str, *, user_id: int | None = None) -> None:
        assert reason in REASONS
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id


@dataclass(frozen=True)
class PendingSignIn:
    """What the callback needs, kept in the session between the button and the callback."""

    state: str
    nonce: str
    code_verifier: str
    started_at: float
    max_age: int  # seconds, as asked of the provider

    def to_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, value: object) -> PendingSignIn | None:
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                state=str(value["state"]),
                nonce=str(value["nonce"]),
                code_verifier=str(value["code_verifier"]),
                started_at=float(value["started_at"]),
                max_age=int(value["max_age"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None  # RP-Initiated Logout 1.0, if the provider has it


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, and whether it vouches for a second factor."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]
    multi_factor: bool


_lock = threading.Lock()
_metadata: dict[str, tuple[float, ProviderMetadata]] = {}
_keys: dict[str, KeySet] = {}


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError):
        raise SignInRefused("provider_unavailable") from None
    if not isinstance(body, dict):
        raise SignInRefused("provider_unavailable")
    return body


def provider_metadata(issuer: str) -> ProviderMetadata:
    """The provider's endpoints from its discovery document, cached for an hour."""
    with _lock:
        cached = _metadata.get(issuer)
    if cached and time.monotonic() - cached[0] < METADATA_TTL_SECONDS:
        return cached[1]
    body = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    try:
        metadata = ProviderMetadata(
            issuer=str(body["issuer"]),
            authorization_endpoint=str(body["authorization_endpoint"]),
            token_endpoint=str(body["token_endpoint"]),
            jwks_uri=str(body["jwks_uri"]),
            end_session_endpoint=_web_address(body.get("end_session_endpoint")),
        )
    except KeyError:
        raise SignInRefused("provider_unavailable") from None
    # OpenID Connect Discovery 4.3: the document must name the issuer it was fetched for.
    if metadata.issuer != issuer:
        raise SignInRefused("provider_unavailable")
    with _lock:
        _metadata[issuer] = (time.monotonic(), metadata)
    return metadata


def _web_address(value: object) -> str | None:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        return None
    return value


def _key_set(metadata: ProviderMetadata, *, refresh: bool = False) -> KeySet:
    with _lock:
        keys = None if refresh else _keys.get(metadata.jwks_uri)
    if keys is None:
        try:
            keys = KeySet.import_key_set(_get_json(metadata.jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError):
            raise SignInRefused("provider_unavailable") from None
        with _lock:
            _keys[metadata.jwks_uri] = keys
    return keys


def _code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(settings: Settings, *, redirect_uri: str) -> tuple[str, PendingSignIn]:
    """The provider's authorisation URL to send the browser to, and what to keep for the
    callback."""
    metadata = provider_metadata(_issuer(settings))
    pending = PendingSignIn(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        started_at=time.time(),
        max_age=settings.oidc_max_age,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": _code_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
            # Core 3.1.2.1: re-authenticate anyone who proved who they are longer ago than
            # this (0: every time), and put auth_time in the ID token.
            "max_age": str(pending.max_age),
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}", pending


def complete(
    settings: Settings,
    *,
    pending: PendingSignIn | None,
    params: Mapping[str, str],
    redirect_uri: str,
) -> Identity:
    """Check the provider's answer to this browser's sign-in and the ID token it leads to.
    ``pending`` must already be out of the session (single use)."""
    if pending is None or time.time() - pending.started_at > SIGN_IN_WINDOW_SECONDS:
        raise SignInRefused("no_sign_in_in_progress")
    if not hmac.compare_digest(params.get("state", ""), pending.state):
        raise SignInRefused("state_mismatch")
    if params.get("error") or not params.get("code"):
        raise SignInRefused("provider_refused")
    metadata = provider_metadata(_issuer(settings))
    id_token = _exchange_code(
        settings, metadata, code=params["code"], pending=pending, redirect_uri=redirect_uri
    )
    claims = validate_id_token(
        settings,
        metadata,
        id_token,
        nonce=pending.nonce,
        max_age=pending.max_age,
        asked_at=pending.started_at,
    )
    return Identity(
        issuer=metadata.issuer,
        subject=str(claims[settings.oidc_subject_claim]),
        claims=claims,
        multi_factor=asserts_multi_factor(settings, claims),
    )


def sign_out_origin(settings: Settings) -> str | None:
    """The origin the sign-out may send the browser on to: the issuer's, when the registry
    ends the provider's session. The pages' Content-Security-Policy names it in form-action,
    since browsers hold a form's redirects to that too (the sign-out button is a form)."""
    if not settings.oidc_enabled or not settings.oidc_end_provider_session:
        return None
    return _origin(_issuer(settings))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = "" if parts.port in (None, default_port) else f":{parts.port}"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{scheme}://{host}{port}"


def end_session_url(settings: Settings, *, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser once the registry's own session has ended, so that the
    provider's session ends too (OpenID Connect RP-Initiated Logout 1.0); ``None`` when it
    cannot: turned off, no end_session_endpoint in the provider's discovery document, the
    provider unreachable, or an endpoint on another origin than the issuer's (the pages'
    form-action would stop the browser). The registry is named by client_id, not by an
    id_token_hint: the ID token carries the person's email address, and URLs are logged.
    The provider may insist on post_logout_redirect_uri being registered with it."""
    origin = sign_out_origin(settings)
    if origin is None:
        return None
    try:
        endpoint = provider_metadata(_issuer(settings)).end_session_endpoint
    except SignInRefused:
        return None
    if endpoint is None or _origin(endpoint) != origin:
        return None
    query = urlencode(
        {
            "client_id": settings.oidc_client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
    )
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query}"


def _issuer(settings: Settings) -> str:
    if not settings.oidc_issuer:
        raise SignInRefused("provider_unavailable")
    return settings.oidc_issuer


def _exchange_code(
    settings: Settings,
    metadata: ProviderMetadata,
    *,
    code: str,
    pending: PendingSignIn,
    redirect_uri: str,
) -> str:
    """The ID token for this code (client_secret_basic: RFC 6749 2.3.1 form-encodes the
    id and secret before the Basic scheme)."""
    auth = (
        quote(settings.oidc_client_id or "", safe=""),
        quote(settings.oidc_client_secret or "", safe=""),
    )
    try:
        response = requests.post(
            metadata.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.code_verifier,
            },
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        raise SignInRefused("provider_unavailable") from None
    if response.status_code != 200:
        raise SignInRefused("code_refused")
    try:
        id_token = response.json().get("id_token")
    except (ValueError, AttributeError):
        raise SignInRefused("token_invalid") from None
    if not isinstance(id_token, str):
        raise SignInRefused("token_invalid")
    return id_token


def validate_id_token(
    settings: Settings,
    metadata: ProviderMetadata,
    id_token: str,
    *,
    nonce: str,
    max_age: int,
    asked_at: float,
) -> dict[str, Any]:
    """The ID token's claims, once its signature and every claim that binds it to this
    sign-in have been checked (OpenID Connect Core 3.1.3.7), and its auth_time shows the
    person proved who they are no more than ``max_age`` seconds before the sign-in began
    (``asked_at``)."""
    try:
        try:
            token = jwt.decode(id_token, _key_set(metadata), algorithms=list(ALGORITHMS))
        except JoseError:
            # The provider may have rotated its keys since they were cached: fetch once more.
            token = jwt.decode(
                id_token, _key_set(metadata, refresh=True), algorithms=list(ALGORITHMS)
            )
    except (JoseError, ValueError):
        raise SignInRefused("token_invalid") from None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": metadata.issuer},
        aud={"essential": True, "value": settings.oidc_client_id or ""},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise SignInRefused("token_expired") from None
    except InvalidClaimError as error:
        reason = {"iss": "wrong_issuer", "aud": "wrong_audience", "nonce": "nonce_mismatch"}
        raise SignInRefused(reason.get(error.claim, "token_invalid")) from None
    except (MissingClaimError, ClaimError, JoseError):
        raise SignInRefused("token_invalid") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # Core 3.1.3.7 (4, 5): with several audiences, azp must name this client.
    azp = claims.get("azp")
    if (azp is not None or len(audiences) > 1) and azp != settings.oidc_client_id:
        raise SignInRefused("wrong_audience")
    for name in {"sub", settings.oidc_subject_claim}:
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise SignInRefused("token_invalid")
    _check_auth_time(claims.get("auth_time"), max_age=max_age, asked_at=asked_at)
    return claims


def _check_auth_time(auth_time: object, *, max_age: int, asked_at: float) -> None:
    """Core 3.1.2.1 and 3.1.3.7 (13): with max_age asked for, auth_time is required, and
    the person must have proved who they are within max_age of the request. The provider
    weighed max_age when the browser reached it, just after ``asked_at``; measured from
    then, a person who took a minute at the provider's page is not refused for it. The
    clock skew allowed is the one for iat and exp."""
    if auth_time is None:
        raise SignInRefused("no_auth_time")
    # A JSON number (NumericDate); not a boolean, NaN or infinity.
    if isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
        raise SignInRefused("token_invalid")
    if not math.isfinite(auth_time) or auth_time > time.time() + CLOCK_LEEWAY_SECONDS:
        raise SignInRefused("token_invalid")
    if auth_time < asked_at - max_age - CLOCK_LEEWAY_SECONDS:
        raise SignInRefused("authentication_too_old")


def asserts_multi_factor(settings: Settings, claims: Mapping[str, Any]) -> bool:
    """Whether the token says a second factor was used, by a value the configuration
    names: an amr entry (RFC 8176: "mfa", "otp", "hwk"...) or the acr."""
    amr = claims.get("amr")
    amr_values = (
        {value for value in amr if isinstance(value, str)} if isinstance(amr, list) else set()
    )
    acr = claims.get("acr")
    return bool(amr_values & settings.oidc_mfa_amr_values) or (
        isinstance(acr, str) and acr in settings.oidc_mfa_acr_values
    )


def find_account(identity: Identity) -> User:
    """The account this person signs in to: linked by subject, or on first use by a
    verified email address to an account an admin created (which then records the
    subject). Never creates one."""
    db = session()
    user = db.scalar(
        select(User).where(
            User.oidc_issuer == identity.issuer, User.oidc_subject == identity.subject
        )
    )
    if user is None:
        user = _first_use(identity)
    if not user.is_active:
        raise SignInRefused("inactive", user_id=user.id)
    return user


def _first_use(identity: Identity) -> User:
    email = identity.claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise SignInRefused("unknown_account")
    # Only a provider's verified address: an unverified one could be anyone's claim.
    if identity.claims.get("email_verified") is not True:
        raise SignInRefused("email_not_verified")
    user = session().scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise SignInRefused("unknown_account")
    if user.oidc_subject is not None:
        raise SignInRefused("subject_mismatch", user_id=user.id)
    if not user.is_active:
        raise SignInRefused("inactive", user_id=user.id)
    user.oidc_issuer = identity.issuer
    user.oidc_subject = identity.subject
    record_event(
        "auth.oidc_link",
        by=Actor.for_user(user),
        target_type="user",
        target_id=user.id,
        details={"method": "oidc", "matched_by": "verified_email"},
    )
    return user


SUBJECT_MAX_LENGTH = 255  # user_account.oidc_subject


def link_subject(user: User, *, issuer: str, subject: str | None, by: Actor) -> bool:
    """An admin links the account to the provider's subject for this person (``None``
    unlinks it), for providers that do not vouch for email addresses (Microsoft Entra ID
    sends no ``email_verified``), or to move a person to a new identity. False if nothing
    changed. The subject itself stays out of the audit log, as at sign-in."""
    subject = (subject or "").strip() or None
    if subject is not None and len(subject) > SUBJECT_MAX_LENGTH:
        raise ValidationFailed(
            {"subject": [f"A subject is at most {SUBJECT_MAX_LENGTH} characters."]}
        )
    if (user.oidc_issuer, user.oidc_subject) == ((issuer, subject) if subject else (None, None)):
        return False
    if subject is not None:
        holder = session().scalar(
            select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
        )
        if holder is not None and holder.id != user.id:
            raise ValidationFailed(
                {"subject": ["Another account is already linked to this subject."]}
            )
    record_event(
        "auth.oidc_link" if subject else "auth.oidc_unlink",
        by=by,
        target_type="user",
        target_id=user.id,
        details={"method": "oidc", "matched_by": "admin"},
    )
    user.oidc_issuer, user.oidc_subject = (issuer, subject) if subject else (None, None)
    return True


def keep_refusal_on_record(refused: SignInRefused) -> None:
    """Audit a refused sign-in: the request is rolled back (nothing it linked stays), and
    the refusal appended after."""
    keep_on_record(
        "auth.sign_in",
        by=Actor.anonymous(),
        outcome="denied",
        target_type="user" if refused.user_id is not None else None,
        target_id=refused.user_id,
        details={"method": "oidc", "reason": refused.reason},
    )
