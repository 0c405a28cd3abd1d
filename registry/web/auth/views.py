"""Sign-in, second factor, sign-out and password change pages (thin: rules live in actions)."""

from __future__ import annotations

import hashlib
import secrets
import time

import segno
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user
from werkzeug.wrappers import Response

from registry.auth import actions, code_attempts, oidc
from registry.auth.models import User
from registry.auth.session import (
    reissue_session,
    safe_next_url,
    signed_in_through_provider,
    signed_in_user,
    start_session,
)
from registry.config import Settings
from registry.db import session as db_session
from registry.errors import ValidationFailed
from registry.extensions import limiter
from registry.web.auth.forms import ChangePasswordForm, SecurityCodeForm, SignInForm

bp = Blueprint("auth", __name__)

PENDING_SECONDS = 300  # between the password and the second factor


def _settings() -> Settings:
    from flask import current_app

    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _account_key() -> str:
    """Throttle per account (hashed, so the limiter's store holds no email addresses)."""
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def _pending_account_key() -> str:
    """Security-code guesses count against the account whose password was given, as the
    signed session names it: never anything the request itself can choose."""
    user_id, _, _ = str(session.get("pending_user", "")).partition(":")
    return f"pending-account:{user_id}"


def _failed(response: Response) -> bool:
    return bool(g.get("sign_in_failed"))


_per_account = limiter.limit(
    lambda: _settings().sign_in_limit_per_account,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="sign-in-account",
)
# One bucket per account for both security-code pages (setting one up is guessing too).
_per_pending_account = limiter.shared_limit(
    lambda: _settings().sign_in_limit_per_account,
    key_func=_pending_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="security-code-account",
)
_per_address = limiter.limit(
    lambda: _settings().sign_in_limit_per_address,
    methods=["POST"],
    deduct_when=_failed,
    scope="sign-in-address",
)
_codes_per_address = limiter.shared_limit(
    lambda: _settings().sign_in_limit_per_address,
    methods=["POST"],
    deduct_when=_failed,
    scope="security-code-address",
)

# Every request counts (each costs a session, a refusal on record, or a call to the
# provider), one bucket per route: a person needs one of each per sign-in.
_oidc_starts_per_address = limiter.limit(
    lambda: _settings().oidc_sign_in_limit_per_address, scope="oidc-start-address"
)
_oidc_callbacks_per_address = limiter.limit(
    lambda: _settings().oidc_sign_in_limit_per_address, scope="oidc-callback-address"
)


@bp.route("/sign-in", methods=["GET", "POST"])
@_per_account
@_per_address
def sign_in() -> str | Response:
    form = SignInForm()
    if form.validate_on_submit():
        user = actions.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            g.sign_in_failed = True
            # One message for unknown user, wrong password and deactivated account alike.
            form.password.errors = [
                *form.password.errors,
                "Enter a correct email address and password.",
            ]
        elif not actions.password_allowed(user):
            actions.refuse_password(user)
            name = _settings().oidc_provider_name
            form.email.errors = [
                *form.email.errors,
                f"Your account signs in with {name}. Use the button “Sign in with {name}” below.",
            ]
        elif actions.needs_second_factor(user):
            return _ask_second_factor(user, request.args.get("next"), method="password")
        else:
            start_session(user)
            actions.record_sign_in(user, second_factor=False)
            return redirect(safe_next_url(request.args.get("next")))
    return render_template("auth/sign_in.html", form=form, provider=_provider_name())


def _provider_name() -> str | None:
    settings = _settings()
    return settings.oidc_provider_name if settings.oidc_enabled else None


def _ask_second_factor(user: User, next_url: str | None, *, method: str) -> Response:
    """The person proved who they are (a password, or a provider that did not vouch for a
    second factor): the registry's own security code comes next, within five minutes."""
    next_url = safe_next_url(next_url)
    session.clear()
    session["pending_user"] = user.get_id()
    session["pending_id"] = secrets.token_urlsafe(16)
    session["pending_since"] = time.time()
    session["pending_method"] = method
    session["next"] = next_url
    endpoint = "auth.second_factor" if user.has_second_factor else "auth.set_up_second_factor"
    return redirect(url_for(endpoint))


def _oidc_callback_url() -> str:
    return url_for("auth.oidc_callback", _external=True)


@bp.route("/sign-in/oidc")
@_oidc_starts_per_address
def oidc_start() -> Response:
    """Off to the identity provider, with this sign-in's state, nonce and PKCE verifier
    kept in the session for the callback."""
    settings = _settings()
    if not settings.oidc_enabled:
        abort(404)
    try:
        url, pending = oidc.begin(settings, redirect_uri=_oidc_callback_url())
    except oidc.SignInRefused as refused:
        return _oidc_refused(refused)
    session["oidc_pending"] = pending.to_session()
    session["oidc_next"] = safe_next_url(request.args.get("next"))
    return redirect(url)


@bp.route("/sign-in/oidc/callback")
@_oidc_callbacks_per_address
def oidc_callback() -> Response:
    settings = _settings()
    if not settings.oidc_enabled:
        abort(404)
    # Taken out first, whatever follows: a callback replayed later finds nothing to finish.
    pending = oidc.PendingSignIn.from_session(session.pop("oidc_pending", None))
    next_url = session.pop("oidc_next", None)
    try:
        identity = oidc.complete(
            settings,
            pending=pending,
            params=request.args.to_dict(),
            redirect_uri=_oidc_callback_url(),
        )
        user = oidc.find_account(identity)
    except oidc.SignInRefused as refused:
        return _oidc_refused(refused)
    if identity.multi_factor or not actions.needs_second_factor(user):
        start_session(user, through_provider=True)
        actions.record_sign_in(
            user,
            second_factor=identity.multi_factor,
            method="oidc",
            provider_mfa=identity.multi_factor,
        )
        return redirect(safe_next_url(next_url))
    return _ask_second_factor(user, next_url, method="oidc")


_REFUSAL_KINDS = {
    "no_sign_in_in_progress": "expired",
    "state_mismatch": "expired",
    "provider_refused": "cancelled",
    "provider_unavailable": "unavailable",
    "email_not_verified": "no_account",
    "unknown_account": "no_account",
    "subject_mismatch": "no_account",
    "inactive": "no_account",
    # The provider vouched for a sign-in older than it was asked for (max_age), or did not
    # say when: it ignores max_age, or its clock is wrong. Starting again may not help, so
    # the page says to tell the administrators if it keeps happening.
    "no_auth_time": "untrusted",
    "authentication_too_old": "untrusted",
}


def _oidc_refused(refused: oidc.SignInRefused) -> Response:
    oidc.keep_refusal_on_record(refused)
    kind = _REFUSAL_KINDS.get(refused.reason, "untrusted")
    page = render_template("auth/oidc_refused.html", kind=kind, provider=_provider_name())
    return Response(page, status=503 if kind == "unavailable" else 403, mimetype="text/html")


def _pending_user() -> User | None:
    """The user who gave the right password in the last five minutes, if any, and who has
    not used up this sign-in's attempts at the security code."""
    pending = session.get("pending_user")
    since = float(session.get("pending_since", 0))
    if not pending or time.time() - since > PENDING_SECONDS:
        return None
    if not code_attempts.remaining(session.get("pending_id", "")):
        return None
    user_id, _, generation = pending.partition(":")
    user = db_session().get(User, int(user_id))
    if user is None or not user.is_active or str(user.session_generation) != generation:
        return None
    return user


def _wrong_code(user: User) -> Response | None:
    """Count a wrong code against this pending sign-in (on the server, so replaying an
    older cookie does not undo it); once they are used up, the password is needed again."""
    g.sign_in_failed = True
    if code_attempts.fail(session.get("pending_id", "")):
        return None
    actions.end_pending_sign_in(user)
    session.clear()
    flash("That was too many incorrect security codes. Enter your password again.", "info")
    return redirect(url_for("auth.sign_in"))


def _finish_sign_in(user: User) -> Response:
    next_url = session.get("next")
    method = "oidc" if session.get("pending_method") == "oidc" else "password"
    start_session(user, through_provider=method == "oidc")
    actions.record_sign_in(user, second_factor=True, method=method)
    return redirect(safe_next_url(next_url))


@bp.route("/sign-in/security-code", methods=["GET", "POST"])
@_per_pending_account
@_codes_per_address
def second_factor() -> str | Response:
    user = _pending_user()
    if user is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.sign_in"))
    if not user.has_second_factor:
        return redirect(url_for("auth.set_up_second_factor"))
    form = SecurityCodeForm()
    if form.validate_on_submit():
        if actions.verify_second_factor(user, form.code.data or ""):
            return _finish_sign_in(user)
        if (ended := _wrong_code(user)) is not None:
            return ended
        form.code.errors = [
            *form.code.errors,
            "The code is not correct, or it was already used. Wait for a new one.",
        ]
    return render_template("auth/second_factor.html", form=form)


@bp.route("/sign-in/set-up-security-code", methods=["GET", "POST"])
@_per_pending_account
@_codes_per_address
def set_up_second_factor() -> str | Response:
    user = _pending_user()
    if user is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.sign_in"))
    if user.has_second_factor:
        return redirect(url_for("auth.second_factor"))
    # The secret lives in the signed session until the user proves their app holds it.
    secret = session.get("totp_setup_secret") or actions.new_totp_secret()
    session["totp_setup_secret"] = secret
    form = SecurityCodeForm()
    if form.validate_on_submit():
        if actions.enrol_second_factor(user, secret=secret, code=form.code.data or ""):
            return _finish_sign_in(user)
        if (ended := _wrong_code(user)) is not None:
            return ended
        form.code.errors = [
            *form.code.errors,
            "The code is not correct. Check the app shows the registry, then try the new code.",
        ]
    qr = segno.make(actions.totp_provisioning_uri(user, secret), error="m")
    return render_template(
        "auth/set_up_second_factor.html",
        form=form,
        secret=secret,
        qr_data_uri=qr.svg_data_uri(scale=5),
    )


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    """The registry's session ends for good first; after a sign-in through the provider,
    the browser goes on to end the provider's session too, and comes back to sign-in."""
    user = signed_in_user()
    through_provider = user is not None and signed_in_through_provider()
    provider = _provider_name()
    end_session = None
    if through_provider and provider is not None:
        end_session = oidc.end_session_url(
            _settings(), post_logout_redirect_uri=url_for("auth.sign_in", _external=True)
        )
    if user is not None:
        actions.sign_out(
            user, through_provider=through_provider, ends_provider_session=end_session is not None
        )
    logout_user()
    session.clear()
    if not through_provider or provider is None:
        flash("You have signed out.", "info")
        return redirect(url_for("auth.sign_in"))
    if end_session is None:
        flash(
            f"You have signed out of the registry. You may still be signed in to {provider}: "
            f"also sign out of {provider}, or close the browser, before anyone else uses "
            "this computer.",
            "info",
        )
        return redirect(url_for("auth.sign_in"))
    flash("You have signed out.", "info")  # shown when the provider sends the browser back
    return redirect(end_session, code=303)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> str | Response:
    user = signed_in_user()
    if user is None:
        return redirect(url_for("auth.sign_in", next=request.path))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            actions.change_password(
                user,
                current_password=form.current_password.data or "",
                new_password=form.new_password.data or "",
            )
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                form[name].errors = [*form[name].errors, *messages]
        else:
            reissue_session(user)  # this session goes on; every other one has ended
            flash("Your password has been changed. You are signed out everywhere else.", "info")
            return redirect(url_for("home.index"))
    return render_template("auth/change_password.html", form=form)
