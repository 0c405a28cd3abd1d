"""Every page that shows errors says so first in its <title>; error pages say what happened."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from tests.conftest import Account, post_form


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "page has no title"
    return match.group(1).strip()


def test_sign_in_with_errors_is_titled_error(client: FlaskClient) -> None:
    response = post_form(client, "/sign-in", {"email": "", "password": ""})

    assert title_of(response.get_data(as_text=True)).startswith("Error: Sign in")


def test_sign_in_without_errors_is_not(client: FlaskClient) -> None:
    assert title_of(client.get("/sign-in").get_data(as_text=True)).startswith("Sign in")


def test_second_factor_with_errors_is_titled_error(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.ADMIN)
    post_form(client, "/sign-in", {"email": account.email, "password": account.password})

    response = post_form(client, "/sign-in/security-code", {"code": "12"})

    assert title_of(response.get_data(as_text=True)).startswith("Error: Enter your security code")


def test_password_change_with_errors_is_titled_error(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    sign_in(create_account(Role.RESEARCHER))

    response = post_form(
        client, "/account/password", {"current_password": "wrong", "new_password": "x"}
    )

    assert title_of(response.get_data(as_text=True)).startswith("Error: Change your password")


def test_consent_forms_page_with_errors_is_titled_error(admin_web: FlaskClient) -> None:
    response = post_form(admin_web, "/admin/consent-forms/", {"cohort": "", "version": ""})

    assert title_of(response.get_data(as_text=True)).startswith("Error: Consent forms")


@pytest.mark.parametrize(
    ("status", "title"), [(404, "Page not found"), (403, "You do not have access")]
)
def test_error_pages_are_titled_in_words(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    status: int,
    title: str,
) -> None:
    sign_in(create_account(Role.RESEARCHER))

    response = client.get("/no-such-page" if status == 404 else "/admin/consent-forms/")

    assert response.status_code == status
    assert title_of(response.get_data(as_text=True)).startswith(title)
