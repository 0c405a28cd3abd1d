"""Admin pages for accounts: the list, a new user, one user's access, sessions, second factor
and tokens (thin: the rules live in registry.auth.actions).

Every act that grants or removes access asks for the admin's security code again (step-up).
A generated password is held sealed on the server and shown once, on a page of its own.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response

from registry.auth import actions as auth_actions
from registry.auth import oidc
from registry.auth.models import Site, User
from registry.auth.permissions import Permission, Role
from registry.auth.queries import (
    UserFilters,
    open_session_count,
    status_of,
    token_status,
    users_matching,
)
from registry.auth.session import acting_as, required_user, requires
from registry.config import Settings
from registry.db import count_of, rows_of, utcnow
from registry.db import session as db_session
from registry.errors import Conflict, NotFound, StepUpFailed, ValidationFailed
from registry.web.admin.user_forms import (
    ChangeAccessForm,
    CreateUserForm,
    EndSessionsForm,
    LinkSubjectForm,
    StepUpFields,
    UserFilterForm,
    site_choices,
)
from registry.web.forms import RegistryForm, form_page, record_id
from registry.web.labels import ROLE_LABELS
from registry.web.step_up import reauthentication_limit, show_step_up_failure

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")

PER_PAGE = 25
# The session names the held password by its random id only, never the password itself.
_ONE_TIME = "admin_users.one_time_password"
_LAST_SIGN_IN_FILTERS: dict[str, dict[str, Any]] = {
    "never": {"never_signed_in": True},
    "within_30": {"signed_in_within_days": 30},
    "over_90": {"not_signed_in_for_days": 90},
}
PURPOSES = {
    "access": "change a user's role, site or organisation",
    "deactivate": "deactivate a user",
    "reactivate": "reactivate a user",
    "second_factor": "reset a user's second factor",
    "sessions": "end a user's sessions",
    "sso": "link a user to the identity provider",
}


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _sites() -> dict[str, str]:
    return {site.code: site.name for site in db_session().scalars(select(Site).order_by(Site.name))}


# -- the list -------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.MANAGE_USERS)
def index() -> tuple[str, int]:
    form = UserFilterForm(request.args, sites=_sites())
    page = request.args.get("page", "1")
    if not (page.isdigit() and 1 <= int(page) <= 100_000):
        form.form_errors.append("The page number must be a whole number from 1.")
    if not form.validate() or form.form_errors:
        return form_page("admin/users/index.html", form, users=[], total=0, page=1, pages=1)
    filters = UserFilters(
        role=Role(form.role.data) if form.role.data else None,
        site_code=form.site.data or None,
        active={"active": True, "inactive": False}.get(form.status.data or ""),
        second_factor={"yes": True, "no": False}.get(form.second_factor.data or ""),
        **_LAST_SIGN_IN_FILTERS.get(form.last_sign_in.data or "", {}),
    )
    statement = users_matching(filters)
    total = count_of(statement)
    pages = max(1, math.ceil(total / PER_PAGE))
    number = min(int(page), pages)
    return form_page(
        "admin/users/index.html",
        form,
        users=rows_of(statement, first=(number - 1) * PER_PAGE, size=PER_PAGE),
        total=total,
        page=number,
        pages=pages,
        filters={name: value for name, value in request.args.items() if name != "page"},
    )


# -- a new user -----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def create() -> tuple[str, int] | Response:
    form = CreateUserForm()
    form.site.choices = site_choices(_sites(), blank="None")
    if form.validate_on_submit():
        role = form.role.data or ""
        if role not in ROLE_LABELS:
            form.role.errors = ["Choose a role."]
            return form_page("admin/users/new.html", form)
        try:
            created = auth_actions.create_user(
                email=form.email.data or "",
                name=form.name.data or "",
                role=Role(role),
                site_code=(form.site.data or None) if role == Role.CLINICIAN else None,
                organisation=form.organisation.data or None,
                by=acting_as(),
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except Conflict as exc:
            form.email.errors = [*form.email.errors, exc.message]
        else:
            assert created.password is not None  # none was given, so one was generated
            session[_ONE_TIME] = auth_actions.hold_secret(created.password, owner=required_user())
            return redirect(url_for(".one_time_password", user_id=created.user.id))
    return form_page("admin/users/new.html", form)


@bp.route("/<user_id>/one-time-password")
@requires(Permission.MANAGE_USERS)
def one_time_password(user_id: str) -> Response:
    """Shown once: the held password is deleted as it is read, so a reload shows nothing."""
    user = auth_actions.find_user(record_id(user_id))
    held = session.pop(_ONE_TIME, None)
    password = (
        auth_actions.take_secret(held, owner=required_user()) if isinstance(held, str) else None
    )
    response = make_response(
        render_template("admin/users/one_time_password.html", person=user, password=password)
    )
    response.headers["Cache-Control"] = "no-store"  # never kept for the back button
    return response


# -- one user -------------------------------------------------------------------------------


def _forms(user: User, **given: RegistryForm) -> dict[str, RegistryForm]:
    sites = site_choices(_sites(), blank="None")
    access = given.get("access") or ChangeAccessForm(
        prefix="access",
        formdata=None,
        data={
            "role": user.role.value,
            "site": user.site.code if user.site else "",
            "organisation": user.organisation or "",
        },
    )
    access.site.choices = sites  # type: ignore[attr-defined]
    return {
        "access": access,
        "sessions": given.get("sessions") or EndSessionsForm(prefix="sessions", formdata=None),
        "second_factor": given.get("second_factor")
        or StepUpFields(prefix="second_factor", formdata=None),
        "reactivate": given.get("reactivate") or StepUpFields(prefix="reactivate", formdata=None),
        "sso": given.get("sso")
        or LinkSubjectForm(prefix="sso", formdata=None, data={"subject": user.oidc_subject or ""}),
    }


def _user_page(user: User, **given: RegistryForm) -> tuple[str, int]:
    forms = _forms(user, **given)
    page = render_template(
        "admin/users/show.html",
        person=user,
        status=status_of(user),
        tokens=sorted(auth_actions.user_tokens(user), key=lambda t: t.created_at, reverse=True),
        admin_has_second_factor=required_user().has_second_factor,
        revoke_url=lambda token: url_for(".revoke_token", user_id=user.id, token_id=token.id),
        provider=_settings().oidc_provider_name or "the identity provider",
        single_sign_on=bool(_settings().oidc_issuer),
        **forms,
    )
    failed = any(form.has_errors() for form in forms.values())
    return page, 422 if failed else 200


@bp.route("/<user_id>")
@requires(Permission.MANAGE_USERS)
def show(user_id: str) -> tuple[str, int]:
    return _user_page(auth_actions.find_user(record_id(user_id)))


def _stepped_up(form: StepUpFields, purpose: str) -> bool:
    """Whether the admin proved it is still them; if not, the form says why."""
    try:
        auth_actions.require_step_up(
            required_user(),
            code=(form.code.data or "").strip() or None,
            password=form.password.data or None,
            purpose=PURPOSES[purpose],
        )
    except StepUpFailed as exc:
        show_step_up_failure(form, exc)
        return False
    return True


StepUpForm = TypeVar("StepUpForm", bound=StepUpFields)


def _stepped_up_form(
    user_id: str, form_class: type[StepUpForm], prefix: str
) -> tuple[User, StepUpForm, tuple[str, int] | None]:
    """The user acted on, the posted form, and the user's page again when the form or the
    admin's step-up failed (None when the act may go ahead)."""
    user = auth_actions.find_user(record_id(user_id))
    form = form_class(prefix=prefix)
    if not form.validate_on_submit() or not _stepped_up(form, prefix):
        return user, form, _user_page(user, **{prefix: form})
    return user, form, None


def _done(user: User, message: str) -> Response:
    flash(message, "info")
    return redirect(url_for(".show", user_id=user.id))


@bp.route("/<user_id>/access", methods=["POST"])
@reauthentication_limit
@requires(Permission.MANAGE_USERS)
def change_access(user_id: str) -> tuple[str, int] | Response:
    user = auth_actions.find_user(record_id(user_id))
    form = ChangeAccessForm(prefix="access")
    form.site.choices = site_choices(_sites(), blank="None")
    role = form.role.data or ""
    if not form.validate_on_submit():
        return _user_page(user, access=form)
    if role not in ROLE_LABELS:
        form.role.errors = ["Choose a role."]
        return _user_page(user, access=form)
    if not _stepped_up(form, "access"):
        return _user_page(user, access=form)
    try:
        changed = auth_actions.change_access(
            user,
            role=Role(role),
            site_code=(form.site.data or None) if role == Role.CLINICIAN else None,
            organisation=form.organisation.data or None,
            by=acting_as(),
        )
    except ValidationFailed as exc:
        form.show_errors(exc.fields)
        return _user_page(user, access=form)
    except Conflict as exc:
        form.role.errors = [*form.role.errors, exc.message]
        return _user_page(user, access=form)
    return _done(user, f"{user.name}'s access changed." if changed else "Nothing changed.")


@bp.route("/<user_id>/sessions", methods=["POST"])
@reauthentication_limit
@requires(Permission.MANAGE_USERS)
def end_sessions(user_id: str) -> tuple[str, int] | Response:
    user, form, refused = _stepped_up_form(user_id, EndSessionsForm, "sessions")
    if refused:
        return refused
    revoked = auth_actions.end_sessions(user, by=acting_as(), revoke_tokens=form.revoke_tokens.data)
    tokens = f" and {revoked} API token{'' if revoked == 1 else 's'} revoked" if revoked else ""
    return _done(user, f"{user.name} is signed out everywhere{tokens}.")


@bp.route("/<user_id>/second-factor", methods=["POST"])
@reauthentication_limit
@requires(Permission.MANAGE_USERS)
def reset_second_factor(user_id: str) -> tuple[str, int] | Response:
    user, _, refused = _stepped_up_form(user_id, StepUpFields, "second_factor")
    if refused:
        return refused
    auth_actions.reset_second_factor(user, by=acting_as())
    return _done(
        user, f"{user.name}'s second factor is reset: they set up a new one when they next sign in."
    )


@bp.route("/<user_id>/sso", methods=["POST"])
@reauthentication_limit
@requires(Permission.MANAGE_USERS)
def link_subject(user_id: str) -> tuple[str, int] | Response:
    """Link the account to the person's subject at the trust's identity provider (or unlink
    it, left blank): for providers that do not vouch for email addresses."""
    issuer = _settings().oidc_issuer
    if not issuer:
        raise NotFound("No identity provider is configured.")
    user, form, refused = _stepped_up_form(user_id, LinkSubjectForm, "sso")
    if refused:
        return refused
    try:
        changed = oidc.link_subject(user, issuer=issuer, subject=form.subject.data, by=acting_as())
    except ValidationFailed as exc:
        form.subject.errors = exc.fields["subject"]
        return _user_page(user, sso=form)
    if not changed:
        return _done(user, "Nothing changed.")
    linked = "linked to" if user.oidc_subject else "no longer linked to"
    return _done(user, f"{user.name} is {linked} their identity at the provider.")


@bp.route("/<user_id>/reactivate", methods=["POST"])
@reauthentication_limit
@requires(Permission.MANAGE_USERS)
def reactivate(user_id: str) -> tuple[str, int] | Response:
    user, _, refused = _stepped_up_form(user_id, StepUpFields, "reactivate")
    if refused:
        return refused
    auth_actions.reactivate_user(user, by=acting_as())
    return _done(user, f"{user.name} can sign in again. Their old API tokens stay revoked.")


@bp.route("/<user_id>/deactivate", methods=["GET", "POST"])
@reauthentication_limit
@requires(Permission.MANAGE_USERS)
def deactivate(user_id: str) -> tuple[str, int] | Response:
    """The check page says what happens in numbers; its form carries the step-up."""
    user = auth_actions.find_user(record_id(user_id))
    form = StepUpFields()
    if form.validate_on_submit() and _stepped_up(form, "deactivate"):
        try:
            auth_actions.deactivate_user(user, by=acting_as())
        except Conflict as exc:
            form.form_errors.append(exc.message)
        else:
            return _done(user, f"{user.name} is deactivated.")
    now = utcnow()
    settings = _settings()
    return form_page(
        "admin/users/deactivate.html",
        form,
        person=user,
        sessions=open_session_count(
            user, within=dt.timedelta(hours=settings.absolute_timeout_hours), now=now
        ),
        session_hours=settings.absolute_timeout_hours,
        live_tokens=sum(1 for token in auth_actions.user_tokens(user) if token.is_usable(now)),
        admin_has_second_factor=required_user().has_second_factor,
    )


@bp.route("/<user_id>/tokens/<token_id>/revoke", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def revoke_token(user_id: str, token_id: str) -> tuple[str, int] | Response:
    user = auth_actions.find_user(record_id(user_id))
    form = RegistryForm()
    if not form.validate_on_submit():
        return _user_page(user)
    token = auth_actions.revoke_token(record_id(token_id), by=acting_as(), owner=user)
    return _done(user, f"Token \u201c{token.name}\u201d revoked.")


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"role_labels": ROLE_LABELS, "status_of": status_of, "token_status": token_status}
