"""Exports' writes: record a grant, name or remove its researchers, revoke it, and make an
extract (files or a FHIR page) or show a page of its rows. Each is audited in the caller's
transaction.

An extract's audit event says what it contained (the grant, the variables, the date
policy, the rows per table and the manifest's SHA-256), never who: no pseudonym, no
registry id.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, select

from registry.audit.actions import Actor, record_event
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.consents.items import CONSENT_ITEMS, REQUIRED_ITEMS
from registry.dates_in_words import long_date
from registry.db import session, utcnow
from registry.errors import NotFound, ValidationFailed
from registry.exports.catalogue import CATALOGUE_VERSION
from registry.exports.commands import CreateGrant, RenewGrant
from registry.exports.extract import (
    PARQUET,
    Extract,
    parquet_available,
    write_extract,
    zip_extract,
)
from registry.exports.fhir import FhirPage, fhir_page
from registry.exports.models import DATE_SHIFT, DataAccessGrant, DataExport, GrantResearcher
from registry.exports.queries import ensure_usable
from registry.exports.rows import WITHHELD, RowPage, participant_rows, withheld_from
from registry.participants.models import Participant

TARGET = "data_access_grant"
PARQUET_MISSING = (
    "Parquet needs the optional pyarrow package on the server "
    "(pip install 'mhmtc-registry[parquet]'); choose csv."
)


def _audit(action: str, grant: DataAccessGrant, *, by: Actor, **details: Any) -> None:
    record_event(action, by=by, target_type=TARGET, target_id=grant.grant_id, details=details)


def create_grant(command: CreateGrant, *, by: Actor) -> DataAccessGrant:
    """Record an approved study's grant, from fields checked by ``GrantArgs``."""
    db = session()
    study_key = secrets.token_hex(16)
    renews: DataAccessGrant | None = None
    if command.renews:
        renews = db.scalar(
            select(DataAccessGrant).where(DataAccessGrant.grant_id == command.renews)
        )
        if renews is None:
            raise ValidationFailed({"renews": ["There is no grant with this id."]})
        if renews.ethics_reference != command.ethics_reference:
            raise ValidationFailed(
                {"renews": ["A renewal has the ethics reference of the grant it renews."]}
            )
        study_key = renews.study_key  # the same study: its pseudonyms and dates carry over
    researchers = [_researcher(email, "researchers") for email in command.researchers]
    shifted = command.date_policy == DATE_SHIFT
    consent_items = set(command.consent_items) | set(REQUIRED_ITEMS)
    grant = DataAccessGrant(
        grant_id=secrets.token_hex(8),
        study_key=study_key,
        title=command.title.strip(),
        ethics_reference=command.ethics_reference,
        cohorts=sorted(set(command.cohorts)),
        variables=sorted(set(command.variables)),
        consent_items=[item for item in CONSENT_ITEMS if item in consent_items],
        date_policy=command.date_policy,
        max_shift_days=command.max_shift_days if shifted else None,
        catalogue_version=CATALOGUE_VERSION,
        expires_on=command.expires_on,
        renews_id=renews.id if renews else None,
        created_by_id=by.user_id,
    )
    db.add(grant)
    db.flush()
    _audit(
        "grant.create",
        grant,
        by=by,
        ethics_reference=grant.ethics_reference,
        cohorts=grant.cohorts,
        variables=grant.variables,
        consent_items=grant.consent_items,
        date_policy=grant.date_policy,
        max_shift_days=grant.max_shift_days,
        expires_on=grant.expires_on.isoformat(),
        renews=renews.grant_id if renews else None,
    )
    for user in researchers:
        _add(grant, user, by=by)
    return grant


def _researcher(email: str, field: str) -> User:
    user = session().scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.role is not Role.RESEARCHER or not user.is_active:
        raise ValidationFailed({field: ["There is no active researcher account with this email."]})
    return user


def add_researcher(grant: DataAccessGrant, *, email: str, by: Actor) -> GrantResearcher:
    """Name a researcher on the grant (again, if they were removed); idempotent."""
    return _add(grant, _researcher(email, "email"), by=by)


def _add(grant: DataAccessGrant, user: User, *, by: Actor) -> GrantResearcher:
    db = session()
    membership = db.scalar(
        select(GrantResearcher).where(
            GrantResearcher.grant_pk == grant.id, GrantResearcher.user_id == user.id
        )
    )
    if membership is not None and membership.removed_at is None:
        return membership
    if membership is None:
        membership = GrantResearcher(grant_pk=grant.id, user_id=user.id, added_by_id=by.user_id)
        db.add(membership)
    else:
        membership.removed_at = None
        membership.removed_by_id = None
        membership.added_at = utcnow()
        membership.added_by_id = by.user_id
    db.flush()
    _audit("grant.add_researcher", grant, by=by, user_id=user.id)
    return membership


def remove_researcher(grant: DataAccessGrant, *, user_id: str, by: Actor) -> None:
    """Take a researcher off the grant: from now on it is 404 to them."""
    membership = (
        session().scalar(
            select(GrantResearcher).where(
                GrantResearcher.grant_pk == grant.id,
                GrantResearcher.user_id == int(user_id),
                GrantResearcher.removed_at.is_(None),
            )
        )
        if user_id.isdigit()
        else None
    )
    if membership is None:
        raise NotFound("This researcher is not on the grant.")
    membership.removed_at = utcnow()
    membership.removed_by_id = by.user_id
    session().flush()
    _audit("grant.remove_researcher", grant, by=by, user_id=membership.user_id)


def revoke_grant(grant: DataAccessGrant, *, by: Actor) -> DataAccessGrant:
    """End a grant at once, before its expiry; idempotent."""
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        grant.revoked_by_id = by.user_id
        session().flush()
        _audit("grant.revoke", grant, by=by)
    return grant


def renew_grant(grant: DataAccessGrant, command: RenewGrant, *, by: Actor) -> DataAccessGrant:
    """Extend a grant in force or expired to a later last day (from ``RenewalArgs``); the
    study, its terms and its researchers stay. A revoked grant stays revoked: a study
    approved again is a new grant (``renews``)."""
    if grant.revoked_at is not None:
        raise ValidationFailed({"expires_on": ["A revoked grant cannot be renewed."]})
    if command.expires_on <= grant.expires_on:
        raise ValidationFailed(
            {"expires_on": [f"Give a day after its current expiry, {long_date(grant.expires_on)}."]}
        )
    previous = grant.expires_on
    grant.expires_on = command.expires_on
    session().flush()
    _audit(
        "grant.renew",
        grant,
        by=by,
        expires_on=grant.expires_on.isoformat(),
        previous_expires_on=previous.isoformat(),
    )
    return grant


@dataclass(frozen=True)
class ExportOutcome:
    record: DataExport
    extract: Extract


def run_export(
    grant: DataAccessGrant,
    *,
    directory: Path,
    file_format: str,
    channel: str,
    by: Actor,
    progress: Callable[[int], None] | None = None,
    on_population: Callable[[int], None] | None = None,
) -> ExportOutcome:
    """Write an extract under ``grant`` into ``directory`` and record what it held."""
    ensure_usable(grant)
    if file_format == PARQUET and not parquet_available():
        raise ValidationFailed({"format": [PARQUET_MISSING]})
    export_id = secrets.token_hex(8)
    extract = write_extract(
        grant,
        directory,
        file_format=file_format,
        export_id=export_id,
        generated_at=utcnow(),
        progress=progress,
        on_population=on_population,
    )
    record = DataExport(
        export_id=export_id,
        grant_pk=grant.id,
        requested_by_id=by.user_id,
        channel=channel,
        file_format=file_format,
        participants=extract.participants,
        variables=list(grant.variables),
        files=[file.as_dict() for file in extract.files],
        manifest_sha256=extract.manifest.sha256,
    )
    session().add(record)
    session().flush()
    _audit(
        "export.extract",
        grant,
        by=by,
        export_id=export_id,
        channel=channel,
        format=file_format,
        participants=extract.participants,
        rows=extract.rows,
        variables=list(grant.variables),
        date_policy=grant.date_policy,
        manifest_sha256=extract.manifest.sha256,
    )
    return ExportOutcome(record, extract)


def export_fhir(
    grant: DataAccessGrant,
    *,
    page: int,
    per_page: int,
    link: Callable[[int], str],
    questionnaire_url: Callable[[str], str],
    by: Actor,
) -> FhirPage:
    """One page of the grant's FHIR Bundle, audited with what it held."""
    ensure_usable(grant)
    built = fhir_page(
        grant,
        page=page,
        per_page=per_page,
        link=link,
        questionnaire_url=questionnaire_url,
        now=_now(),
    )
    _audit(
        "export.fhir",
        grant,
        by=by,
        page=page,
        per_page=per_page,
        participants=built.participants,
        resources=built.resources,
        variables=list(grant.variables),
        date_policy=grant.date_policy,
    )
    return built


def list_participant_rows(
    grant: DataAccessGrant,
    *,
    page: int,
    per_page: int,
    via: str,
    asked: Mapping[str, Any],
    by: Actor,
    within: Select[Any] | None = None,
) -> RowPage:
    """A page of the grant's participants as rows (``registry.exports.rows``), audited as
    one event: how it was asked for (``via`` the list or eligibility, with its filters or
    criteria), the page, how many were shown and held; never a pseudonym or an id."""
    ensure_usable(grant)
    rows = participant_rows(grant, page=page, per_page=per_page, within=within)
    _audit(
        "export.participants",
        grant,
        by=by,
        via=via,
        **asked,
        page=page,
        per_page=per_page,
        shown=len(rows.items),
        total=rows.total,
        variables=list(grant.variables),
        date_policy=grant.date_policy,
    )
    return rows


def list_grant_participants(
    grant: DataAccessGrant,
    *,
    cohort: str | None,
    site: str | None,
    page: int,
    per_page: int,
    by: Actor,
) -> RowPage:
    """A researcher's ``GET /participants`` under ``grant``: a page of its rows, of one
    cohort if asked and the grant shows cohorts; never by site, which no grant shows."""
    problems: dict[str, list[str]] = {}
    if site:
        problems["site"] = [WITHHELD]
    if cohort and (why := withheld_from(grant, "cohort")):
        problems["cohort"] = [why]
    if problems:
        raise ValidationFailed(problems)
    within = select(Participant.id).where(Participant.cohort == cohort) if cohort else None
    return list_participant_rows(
        grant,
        page=page,
        per_page=per_page,
        within=within,
        via="participants",
        asked={"cohort": cohort},
        by=by,
    )


def _now() -> dt.datetime:
    return utcnow().replace(microsecond=0)


def export_download(
    grant: DataAccessGrant, *, file_format: str, channel: str, by: Actor
) -> tuple[IO[bytes], str]:
    """An extract made in a temporary directory and zipped into an anonymous temporary
    file: (the file, rewound, and the download name). For the API and the page alike."""
    with tempfile.TemporaryDirectory(prefix="registry-extract-") as directory:
        outcome = run_export(
            grant, directory=Path(directory), file_format=file_format, channel=channel, by=by
        )
        archive = zip_extract(Path(directory), outcome.extract.names)
    return archive, f"extract-{grant.grant_id}-{outcome.record.export_id}.zip"
