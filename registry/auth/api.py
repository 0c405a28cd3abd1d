"""Who am I: lets a script check its token and see what its role may do."""

from __future__ import annotations

from flask_smorest import Blueprint

from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.auth.schemas import CurrentUserSchema
from registry.auth.session import requires, signed_in_user

blp = Blueprint("account", __name__, description="The signed-in account")


@blp.route("/me")
@requires(Permission.VIEW_OWN_ACCOUNT)
@blp.response(200, CurrentUserSchema)
def me() -> User | None:
    """The account behind this token or session, its role and permissions."""
    return signed_in_user()
