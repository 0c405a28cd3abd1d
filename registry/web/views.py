"""The home page: what the signed-in role can do here."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from registry.auth.permissions import ROLE_SUMMARIES, Role
from registry.auth.session import signed_in_user
from registry.web.admin.dashboard import dashboard

bp = Blueprint("home", __name__)

ROLE_LABELS = {
    Role.CLINICIAN: "a clinician",
    Role.RESEARCHER: "a researcher",
    Role.ADMIN: "an administrator",
    Role.PARTNER: "an industry partner",
}


@bp.route("/")
def index() -> str | Response:
    user = signed_in_user()
    if user is None:
        return render_template("home/public.html")
    if user.password_must_change:
        return redirect(url_for("auth.change_password"))
    if user.role is Role.ADMIN:
        # The admin's home is what is waiting for them (the other roles' pages list tasks).
        return render_template("admin/dashboard.html", board=dashboard())
    return render_template(
        "home/index.html",
        role_label=ROLE_LABELS[user.role],
        summary=ROLE_SUMMARIES[user.role],
    )
