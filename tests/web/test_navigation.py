"""Every role's header sections lead somewhere, and the page's own section is marked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from registry.web.navigation import SECTIONS, sections_for
from tests.conftest import Account


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: f"{s.label}-{s.endpoint}")
def test_every_section_resolves(app: Flask, section: Any) -> None:
    with app.test_request_context():
        assert url_for(section.endpoint, **section.values).startswith("/")


@pytest.mark.parametrize(
    ("role", "labels"),
    [
        (Role.CLINICIAN, ["Participants", "Follow-up due", "Enrol", "Contact lists"]),
        (Role.RESEARCHER, ["Queries", "Grants", "Reports"]),
        (Role.PARTNER, ["Queries", "Requests"]),
        (
            Role.ADMIN,
            [
                "Dashboard",
                "Participants",
                "Requests",
                "Users",
                "Sites",
                "Grants",
                "Consent forms",
                "Reports",
                "Audit",
            ],
        ),
    ],
)
def test_each_role_has_its_sections(role: Role, labels: list[str]) -> None:
    assert [s.label for s in sections_for(role)] == labels


def _current(html: str) -> list[str]:
    return re.findall(r'aria-current="page"[^>]*>\s*(?:<strong[^>]*>)?\s*([^<]+?)\s*<', html)


def test_the_current_section_is_marked(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    sign_in(create_account(Role.ADMIN))

    page = client.get("/admin/audit/").get_data(as_text=True)

    assert 'class="nhsuk-header__navigation' in page
    assert _current(page) == ["Audit"]
    assert 'href="/account/tokens">API tokens' in page.replace("\n", "").replace("  ", "")
