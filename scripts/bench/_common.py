"""Helpers shared by the benchmarks in this directory (not a test, not part of the app)."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from registry.crypto.fields import FieldCipher, FieldContext, new_dek
from registry.participants.models import SEALED_COLUMNS

# Representative plaintexts, to size the random stand-ins for each sealed column.
SAMPLE_IDENTITY = {
    "nhs_number_sealed": "9990123454",
    "given_name_sealed": "Harpreet",
    "family_name_sealed": "Williams",
    "date_of_birth_sealed": "1987-03-14",
    "postcode_sealed": "B15 2TT",
    "email_sealed": "harpreet.williams123@example.org",
    "phone_sealed": "07700900123",
}


def sealed_widths() -> dict[str, int]:
    """Bytes a real seal of a typical value takes, per sealed participant column."""
    cipher = FieldCipher(new_dek())
    widths = {
        column: len(cipher.seal(value, context=FieldContext("participant", column, "P-1")))
        for column, value in SAMPLE_IDENTITY.items()
    }
    assert set(widths) == set(SEALED_COLUMNS)
    return widths


def admin_engine(server_url: str) -> Engine:
    """An autocommit engine on the server's ``postgres`` database, to create and drop others."""
    return create_engine(
        make_url(server_url).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )


def database_on(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server ``server_url`` names."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
