"""0016 rewrites the ethics references stored before it in the one spelling the registry
now stores (registry/ethics.py), for recruitment requests and data-access grants alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import MetaData, insert, select

from registry.db import make_engine
from registry.migrations import upgrade
from tests.conftest import fresh_database


def test_stored_references_are_normalised(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    with fresh_database(tmp_path, migrated=False) as url:
        upgrade(url, "0015_treatment_history")
        engine = make_engine(url)
        try:
            tables = MetaData()
            tables.reflect(
                engine, only=["user_account", "recruitment_request", "data_access_grant"]
            )
            users = tables.tables["user_account"]
            requests = tables.tables["recruitment_request"]
            grants = tables.tables["data_access_grant"]
            with engine.begin() as connection:
                partner = connection.execute(
                    insert(users)
                    .values(
                        email="partner@example.nhs.uk",
                        name="P",
                        role="partner",
                        organisation="Example Pharma Ltd",
                        password_hash="-",
                        session_generation=0,
                        password_must_change=False,
                        is_active=True,
                        created_at=now,
                    )
                    .returning(users.c.id)
                ).scalar_one()
                for n, reference in enumerate(["1004567", "123456"]):
                    connection.execute(
                        insert(requests).values(
                            request_id=f"r{n}",
                            status="submitted",
                            study_title="S",
                            sponsor="Sp",
                            ethics_reference=reference,
                            criteria={},
                            catalogue_version="2026-2",
                            target=5,
                            contact_from=today,
                            contact_until=today,
                            partner_id=partner,
                            submitted_at=now,
                        )
                    )
                for n, reference in enumerate(["1004567", "24/WM/0123"]):
                    connection.execute(
                        insert(grants).values(
                            grant_id=f"g{n}",
                            study_key=f"k{n}",
                            title="T",
                            ethics_reference=reference,
                            cohorts=["TRD"],
                            variables=[],
                            consent_items=[],
                            date_policy="month",
                            catalogue_version="2026-2",
                            expires_on=today,
                            created_at=now,
                        )
                    )

            upgrade(url, "0023_ethics_normalised")

            with engine.connect() as connection:
                stored_requests = connection.scalars(
                    select(requests.c.ethics_reference).order_by(requests.c.request_id)
                ).all()
                stored_grants = connection.scalars(
                    select(grants.c.ethics_reference).order_by(grants.c.grant_id)
                ).all()
        finally:
            engine.dispose()

    assert stored_requests == ["IRAS 1004567", "IRAS 123456"]
    assert stored_grants == ["IRAS 1004567", "24/WM/0123"]
