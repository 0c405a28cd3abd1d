"""Everyone's own API tokens: see them, create one (shown once), revoke one. Partners and
researchers get API access this way. Thin: issue_token and revoke_token hold the rules."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from registry.auth import actions as auth_actions
from registry.auth.models import ApiToken
from registry.auth.permissions import Permission
from registry.auth.queries import token_status
from registry.auth.session import acting_as, required_user, requires
from registry.config import Settings
from registry.errors import NotFound, ValidationFailed
from registry.web.forms import RegistryForm, form_page, record_id, text_field, whole_number

# Not "account": the API's blueprint of that name (its OpenAPI tag) came first.
bp = Blueprint("account_web", __name__, url_prefix="/account")

# The session names the held token by its random id only, never the token itself.
_NEW_TOKEN = "account.new_token"  # noqa: S105 - a session key, not a secret


class NewTokenForm(RegistryForm):
    name = text_field("Name")
    expires_days = text_field("Expires after (days)")


def _tokens_page(form: NewTokenForm) -> tuple[str, int]:
    user = required_user()
    return form_page(
        "account/tokens.html",
        form,
        tokens=sorted(auth_actions.user_tokens(user), key=lambda t: t.created_at, reverse=True),
        revoke_url=lambda token: url_for("account_web.revoke_token", token_id=token.id),
        max_days=auth_actions.TOKEN_MAX_DAYS,
    )


@bp.route("/tokens", methods=["GET", "POST"])
@requires(Permission.VIEW_OWN_ACCOUNT)
def tokens() -> tuple[str, int] | Response:
    form = NewTokenForm()
    if not form.is_submitted():
        settings: Settings = current_app.config["SETTINGS"]
        form.expires_days.data = str(settings.token_default_expiry_days)
        return _tokens_page(form)
    if form.validate_on_submit():
        days = whole_number(form.expires_days.data)
        if not isinstance(days, int):
            form.expires_days.errors = ["Enter the number of days, like 90."]
            return _tokens_page(form)
        user = required_user()
        try:
            issued = auth_actions.issue_token(
                user, name=form.name.data or "", expires_days=days, by=acting_as()
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            session[_NEW_TOKEN] = auth_actions.hold_secret(issued.secret, owner=user)
            return redirect(url_for(".new_token", token_id=issued.token.id))
    return _tokens_page(form)


@bp.route("/tokens/<token_id>/new")
@requires(Permission.VIEW_OWN_ACCOUNT)
def new_token(token_id: str) -> Response:
    """Shown once: the held token is deleted as it is read, so a reload shows nothing."""
    user = required_user()
    token = _own_token(token_id)
    held = session.pop(_NEW_TOKEN, None)
    secret = auth_actions.take_secret(held, owner=user) if isinstance(held, str) else None
    response = make_response(render_template("account/new_token.html", token=token, secret=secret))
    response.headers["Cache-Control"] = "no-store"  # never kept for the back button
    return response


@bp.route("/tokens/<token_id>/revoke", methods=["POST"])
@requires(Permission.VIEW_OWN_ACCOUNT)
def revoke_token(token_id: str) -> tuple[str, int] | Response:
    form = RegistryForm()
    if not form.validate_on_submit():
        return _tokens_page(NewTokenForm(formdata=None))
    token = auth_actions.revoke_token(record_id(token_id), by=acting_as(), owner=required_user())
    flash(f"Token \u201c{token.name}\u201d revoked: it stops working now.", "info")
    return redirect(url_for(".tokens"))


def _own_token(token_id: str) -> ApiToken:
    for token in auth_actions.user_tokens(required_user()):
        if token.id == record_id(token_id):
            return token
    raise NotFound(f"No token with id {token_id}.")


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"token_status": token_status}
