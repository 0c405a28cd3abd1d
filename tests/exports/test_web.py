"""The researcher's pages: their grants, and the extract downloaded with a CSRF-protected form."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import csrf_token_from
from tests.exports.conftest import World


def test_researcher_sees_their_grants_and_downloads_an_extract(
    world: World, sign_in: Callable[..., Any], client: FlaskClient
) -> None:
    world.enrol()
    grant_id = world.grant()
    world.grant(title="Someone else's study", researchers=[world.outsider.account.email])
    sign_in(world.researcher.account)

    listing = client.get("/grants/").get_data(as_text=True)
    page = client.get(f"/grants/{grant_id}")
    response = client.post(
        f"/grants/{grant_id}/extract",
        data={"file_format": "csv", "csrf_token": csrf_token_from(page.get_data(as_text=True))},
    )

    assert "TRAJECTORY" in listing and "Someone else" not in listing
    assert page.status_code == 200
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "participants.csv" in archive.namelist()
    response.close()


def test_page_of_a_grant_not_naming_the_researcher_is_404(
    world: World, sign_in: Callable[..., Any], client: FlaskClient
) -> None:
    grant_id = world.grant()
    sign_in(world.outsider.account)

    assert client.get(f"/grants/{grant_id}").status_code == 404


def test_expired_grant_page_offers_no_download_and_refuses_one(
    world: World, sign_in: Callable[..., Any], client: FlaskClient
) -> None:
    grant_id = world.grant()
    world.expire(grant_id)
    sign_in(world.researcher.account)

    page = client.get(f"/grants/{grant_id}").get_data(as_text=True)
    response = client.post(
        f"/grants/{grant_id}/extract",
        data={"file_format": "csv", "csrf_token": csrf_token_from(page)},
    )

    assert 'data-testid="extract-form"' not in page
    assert 'data-testid="not-in-force"' in page
    assert response.status_code == 403


def test_extract_without_a_csrf_token_is_refused(
    world: World, sign_in: Callable[..., Any], client: FlaskClient
) -> None:
    grant_id = world.grant()
    sign_in(world.researcher.account)

    response = client.post(f"/grants/{grant_id}/extract", data={"file_format": "csv"})

    assert response.status_code == 400


def test_admin_sees_every_grant_read_only(
    world: World,
    sign_in: Callable[..., Any],
    client: FlaskClient,
) -> None:
    grant_id = world.grant(date_policy="shift", max_shift_days=30)
    world.grant(title="Another study", researchers=[world.outsider.account.email])
    sign_in(world.admin.account)

    listing = client.get("/grants/").get_data(as_text=True)
    page = client.get(f"/grants/{grant_id}")

    assert "TRAJECTORY" in listing and "Another study" in listing
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-testid="extract-form"' not in text
    assert "up to 30 days" in text
