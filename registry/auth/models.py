"""Sites, staff accounts, API tokens and one-time secrets waiting to be shown."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.permissions import Permission, Role, has_permission
from registry.db import Base, utcnow


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(
        String(16), unique=True, comment="NHS organisation or site code, e.g. RXT"
    )
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(
        default=True,
        server_default=true(),
        comment="a deactivated site enrols no one; its participants stay",
    )
    deactivated_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<Site {self.code}>"


class User(Base):
    """A member of staff or partner organisation. Never a participant."""

    __tablename__ = "user_account"
    # One account per person at the identity provider (NULLs, accounts not linked, repeat).
    __table_args__ = (
        Index("ix_user_account_oidc_subject", "oidc_issuer", "oidc_subject", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="lower-cased")
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    organisation: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="TOTP secret, AES-GCM under the keyring's totp subkey"
    )
    totp_last_step: Mapped[int | None] = mapped_column(
        comment="last accepted TOTP time step; a code is accepted once only"
    )
    session_generation: Mapped[int] = mapped_column(
        default=1, comment="bumped on sign-out and deactivation to end every session"
    )
    password_must_change: Mapped[bool] = mapped_column(
        default=False, comment="set for generated one-time passwords"
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[dt.datetime | None]
    last_sign_in_at: Mapped[dt.datetime | None]
    oidc_issuer: Mapped[str | None] = mapped_column(
        String(500), comment="the identity provider this account signs in through, if any"
    )
    oidc_subject: Mapped[str | None] = mapped_column(
        String(255), comment="the provider's subject (sub) for this person, linked at first use"
    )

    site: Mapped[Site | None] = relationship(lazy="joined")

    # Flask-Login protocol. The id it stores includes the session generation, so that
    # bumping the generation invalidates every cookie issued before (sign-out, password
    # change, deactivation, `registry users end-sessions`).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"

    def can(self, permission: Permission) -> bool:
        return self.is_active and has_permission(self.role, permission)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret_sealed is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class ApiToken(Base):
    """A bearer token: only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at and self.user.is_active

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id}>"


class OneTimeSecret(Base):
    """A generated password or API token waiting to be shown once to the user who made it.

    The page that made it redirects to the page that shows it: the secret waits here (sealed)
    rather than in the address or the signed, readable session cookie, which holds only
    this row's random id. Showing it deletes the row, so a reload shows nothing.
    """

    __tablename__ = "one_time_secret"

    id: Mapped[str] = mapped_column(String(43), primary_key=True, comment="random, unguessable")
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id"), comment="the user it may be shown to"
    )
    secret_sealed: Mapped[bytes] = mapped_column(
        LargeBinary, comment="AES-GCM under the keyring's one-time-secret subkey"
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
