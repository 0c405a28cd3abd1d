"""Step-up on pages: the signed-in user proves it is still them (a security code not used
before, or their password) on the form of an act that cannot be undone or changes who can
reach what. One throttle and one way to say it failed, for every such page."""

from __future__ import annotations

from typing import Protocol

from flask import current_app, g
from flask_limiter.util import get_remote_address
from wtforms import Field

from registry.auth.session import signed_in_user
from registry.errors import StepUpFailed, record_refusal
from registry.extensions import limiter


class StepUpForm(Protocol):
    @property
    def password(self) -> Field: ...

    @property
    def code(self) -> Field: ...


def _reauthentication_key() -> str:
    user = signed_in_user()
    return f"reauthenticate:{user.id if user else get_remote_address()}"


# Guessing a password through a signed-in admin's session is throttled as sign-in is.
reauthentication_limit = limiter.limit(
    lambda: current_app.config["SETTINGS"].sign_in_limit_per_account,
    key_func=_reauthentication_key,
    methods=["POST"],
    deduct_when=lambda response: bool(g.get("reauthentication_failed")),
    scope="reauthenticate",
)


def show_step_up_failure(form: StepUpForm, exc: StepUpFailed) -> None:
    g.reauthentication_failed = True
    # The page answers 422, which rolls the request back; the failed attempt must stay on
    # record, so it is written in a transaction of its own, as the API's refusal is.
    record_refusal(exc)
    if exc.method == "security_code":
        form.code.errors = ["The security code is not correct, or it was already used."]
    elif exc.method == "password":
        form.password.errors = ["Your password is not correct."]
    else:
        form.password.errors = ["Enter your password, or a security code from your app."]
