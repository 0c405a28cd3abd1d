"""Sites: list, add, rename, deactivate (after a check page) and reactivate. Thin: the rules
are ``auth.actions``'; the same ``add_site`` as ``POST /api/v1/sites`` and the command line.

Admins only (``MANAGE_USERS``: sites are where clinicians' accounts belong). A site's code
is an organisation's, never a person's, so it may name the site in the address.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from registry.auth.actions import (
    add_site,
    deactivate_site,
    find_site_by_code,
    reactivate_site,
    rename_site,
)
from registry.auth.models import Site
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.errors import Conflict, ValidationFailed
from registry.participants.queries import SiteOverview, sites_overview
from registry.web.forms import RegistryForm, form_page, text_field

bp = Blueprint("admin_sites", __name__, url_prefix="/admin/sites")


class SiteForm(RegistryForm):
    WHEN_MISSING = {"code": "Enter the site's code.", "name": "Enter the site's name."}

    code = text_field("Site code")
    name = text_field("Name")


class RenameForm(RegistryForm):
    name = text_field("New name")


class ConfirmForm(RegistryForm):
    """A check page's button: the CSRF token is all it carries."""


def _overview(site: Site) -> SiteOverview:
    (overview,) = sites_overview(site.id)
    return overview


@bp.route("/")
@requires(Permission.MANAGE_USERS)
def index() -> str:
    return render_template("admin/sites/index.html", sites=sites_overview(), form=ConfirmForm())


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def new() -> tuple[str, int] | Response:
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = add_site(code=form.code.data or "", name=form.name.data or "", by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except Conflict as exc:
            form.code.errors = [*form.code.errors, exc.message]
        else:
            flash(f"Added site {site.code}, {site.name}.", "info")
            return redirect(url_for(".index"))
    return form_page("admin/sites/new.html", form)


@bp.route("/<code>/rename", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def rename(code: str) -> tuple[str, int] | Response:
    site = find_site_by_code(code)
    form = RenameForm()
    if not form.is_submitted():
        form.name.data = site.name
    elif form.validate_on_submit():
        try:
            rename_site(site, name=form.name.data or "", by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash(f"Site {site.code} is now called {site.name}.", "info")
            return redirect(url_for(".index"))
    return form_page("admin/sites/rename.html", form, site=site)


@bp.route("/<code>/deactivate", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def deactivate(code: str) -> tuple[str, int] | Response:
    """The check page says in numbers what stays and who can no longer enrol; its button
    deactivates."""
    site = find_site_by_code(code)
    form = ConfirmForm()
    if form.validate_on_submit() and site.is_active:
        deactivate_site(site, by=acting_as())
        flash(f"Site {site.code} is deactivated: it enrols no one from now on.", "info")
        return redirect(url_for(".index"))
    return form_page("admin/sites/deactivate.html", form, overview=_overview(site))


@bp.route("/<code>/reactivate", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def reactivate(code: str) -> Response:
    site = find_site_by_code(code)
    if ConfirmForm().validate_on_submit():
        reactivate_site(site, by=acting_as())
        flash(f"Site {site.code} is active again: its clinicians can enrol.", "info")
    return redirect(url_for(".index"))
