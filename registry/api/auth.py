"""The signed-in account, and the list of sites."""

from __future__ import annotations

from sqlalchemy import select

from registry.api.blueprint import RegistryBlueprint
from registry.auth import actions
from registry.auth.commands import AddSite
from registry.auth.models import Site, User
from registry.auth.permissions import Permission
from registry.auth.schemas import CurrentUserSchema, SiteArgs, SiteSchema
from registry.auth.session import acting_as, requires, signed_in_user
from registry.db import session

blp = RegistryBlueprint("account", __name__, description="The signed-in account")
sites_blp = RegistryBlueprint("sites", __name__, description="Recruiting sites")


@blp.route("/me")
@requires(Permission.VIEW_OWN_ACCOUNT)
@blp.response(200, CurrentUserSchema)
def me() -> User | None:
    """The account behind this token or session, its role and permissions."""
    return signed_in_user()


@sites_blp.route("/sites")
@requires(Permission.VIEW_OWN_ACCOUNT)
@sites_blp.response(200, SiteSchema(many=True))
def list_sites() -> list[Site]:
    """Every site, by code."""
    return list(session().scalars(select(Site).order_by(Site.code)))


@sites_blp.route("/sites", methods=["POST"])
@requires(Permission.MANAGE_USERS)
@sites_blp.arguments(SiteArgs)
@sites_blp.response(201, SiteSchema)
@sites_blp.alt_response(409, description="A site with that code exists")
def add_site(args: AddSite) -> Site:
    """Add a recruiting site (admins)."""
    return actions.add_site(code=args.code, name=args.name, by=acting_as())
