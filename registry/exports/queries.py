"""Exports' reads: which grants a user may see or use, and who an extract may hold.

Admins see every grant; researchers see only those they are named on. A researcher not on
a grant gets 404 for it, as if it did not exist: a grant's title and ethics reference say
what a study is about, which is not theirs to learn. A grant that has expired or been
revoked answers 403 to everything but reading it.

Who is in an extract is decided here, in SQL: the grant's cohorts; every consent item the
grant requires (and joining the registry) currently granted; never anyone fully withdrawn
(W3); and, for those who withdrew from further data (W2), nothing recorded after the
withdrawal took effect.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from registry import clock
from registry.assessments.models import Assessment, TreatmentTrial
from registry.auth.models import User
from registry.auth.permissions import Permission, Role
from registry.consents.items import CONSENT_ITEMS, REQUIRED_ITEMS
from registry.consents.models import ConsentForm, ConsentRecord
from registry.db import database, session
from registry.errors import Forbidden, NotFound
from registry.exports.models import (
    EXPIRED,
    REVOKED,
    DataAccessGrant,
    DataExport,
    GrantResearcher,
)
from registry.facts.outcomes import OUTCOME_COLUMNS
from registry.participants.models import (
    FULL,
    NO_FURTHER_DATA,
    STATUS_SHREDDED,
    Participant,
    ParticipantFacts,
)

NOT_FOUND = "There is no data-access grant with this id that you can see."
STREAM_ROWS = 5_000  # rows fetched at a time from an extract's statements


# -- grants ---------------------------------------------------------------------------------


def _on_grant(user: User) -> ColumnElement[bool]:
    return (
        select(GrantResearcher.id)
        .where(
            GrantResearcher.grant_pk == DataAccessGrant.id,
            GrantResearcher.user_id == user.id,
            GrantResearcher.removed_at.is_(None),
        )
        .exists()
    )


def _visible(user: User) -> Select[DataAccessGrant]:
    statement = select(DataAccessGrant).order_by(DataAccessGrant.created_at.desc())
    if user.can(Permission.MANAGE_GRANTS):
        return statement
    if user.can(Permission.EXPORT_DATA):
        return statement.where(_on_grant(user))
    raise Forbidden()


def visible_grants(user: User) -> list[DataAccessGrant]:
    """Admins: every grant; researchers: the grants they are on, newest first."""
    return list(session().scalars(_visible(user)))


def visible_grant(user: User, grant_id: str) -> DataAccessGrant:
    grant = session().scalar(_visible(user).where(DataAccessGrant.grant_id == grant_id))
    if grant is None:
        raise NotFound(NOT_FOUND)
    return grant


def usable_grant(user: User, grant_id: str) -> DataAccessGrant:
    """A grant the researcher is on and may export under today (404, else 403)."""
    if not user.can(Permission.EXPORT_DATA):
        raise Forbidden()
    grant = session().scalar(
        select(DataAccessGrant).where(DataAccessGrant.grant_id == grant_id, _on_grant(user))
    )
    if grant is None:
        raise NotFound(NOT_FOUND)
    ensure_usable(grant)
    return grant


def grant_by_id(grant_id: str) -> DataAccessGrant:
    """Any grant, by its public id (the ``registry export`` command runs as the custodian)."""
    grant = session().scalar(select(DataAccessGrant).where(DataAccessGrant.grant_id == grant_id))
    if grant is None:
        raise NotFound("There is no data-access grant with this id.")
    return grant


def ensure_usable(grant: DataAccessGrant, today: dt.date | None = None) -> None:
    """Refuse (403) an extract under a grant that has expired or been revoked."""
    status = grant.status_on(today or clock.today())
    if status == REVOKED:
        raise Forbidden("This data-access grant has been revoked.", code="grant_revoked")
    if status == EXPIRED:
        raise Forbidden(
            f"This data-access grant expired on {grant.expires_on:%Y-%m-%d}.", code="grant_expired"
        )


def researchers_on(grant: DataAccessGrant) -> list[User]:
    return list(
        session().scalars(
            select(User)
            .join(GrantResearcher, GrantResearcher.user_id == User.id)
            .where(GrantResearcher.grant_pk == grant.id, GrantResearcher.removed_at.is_(None))
            .order_by(User.name, User.id)
        )
    )


def exports_of(grant: DataAccessGrant, *, limit: int = 20) -> list[DataExport]:
    return list(
        session().scalars(
            select(DataExport)
            .where(DataExport.grant_pk == grant.id)
            .order_by(DataExport.id.desc())
            .limit(limit)
        )
    )


def exports_made_under(grant: DataAccessGrant) -> Select[DataExport, User]:
    """Every extract made under the grant and who made it (none: the command line), newest
    first: for a page at a time."""
    return (
        select(DataExport, User)
        .outerjoin(User, User.id == DataExport.requested_by_id)
        .where(DataExport.grant_pk == grant.id)
        .order_by(DataExport.id.desc())
    )


def exports_page(
    grant: DataAccessGrant, *, first: int, size: int
) -> list[tuple[DataExport, User | None]]:
    """``size`` of the grant's extracts from the ``first`` (counting from 0), with who."""
    rows = session().execute(exports_made_under(grant).limit(size).offset(first))
    return [(export, user) for export, user in rows]


def active_researchers() -> list[User]:
    """The researcher accounts a grant may name, by name."""
    return list(
        session().scalars(
            select(User)
            .where(User.role == Role.RESEARCHER, User.is_active.is_(True))
            .order_by(User.name, User.email)
        )
    )


def export_counts() -> dict[int, int]:
    """How many extracts each grant (by primary key) has had made under it."""
    rows = session().execute(
        select(DataExport.grant_pk, func.count(DataExport.id)).group_by(DataExport.grant_pk)
    )
    return {grant_pk: count for grant_pk, count in rows}


# -- who an extract holds ---------------------------------------------------------------------
# Plain rows through the session's connection (its transaction), not ORM results: an
# extract reads hundreds of thousands of them.


def _connection() -> Connection:
    return session().connection()


def required_consent_items(grant: DataAccessGrant) -> list[str]:
    """The grant's consent items, and joining the registry, in form order."""
    wanted = set(grant.consent_items) | set(REQUIRED_ITEMS)
    return [item for item in CONSENT_ITEMS if item in wanted]


def _may_hold(grant: DataAccessGrant) -> list[ColumnElement[bool]]:
    """Conditions on participant and facts: the grant's cohorts and consent, never W3."""
    facts = ParticipantFacts.__table__.c
    return [
        Participant.status != STATUS_SHREDDED,
        Participant.withdrawal_level.is_distinct_from(FULL),
        Participant.cohort.in_(grant.cohorts),
        *(facts[f"consent_{item}"] == true() for item in required_consent_items(grant)),
    ]


def population(grant: DataAccessGrant) -> Select[int, str]:
    """(participant pk, registry id) of everyone an extract under ``grant`` may hold."""
    return (
        select(Participant.id, Participant.participant_id)
        .join(ParticipantFacts, ParticipantFacts.participant_pk == Participant.id)
        .where(*_may_hold(grant))
    )


def collected_in_time(recorded_at: Any) -> ColumnElement[bool]:
    """W2: only what was recorded up to the moment the withdrawal took effect."""
    return or_(
        Participant.withdrawal_level.is_distinct_from(NO_FURTHER_DATA),
        recorded_at <= Participant.withdrawn_at,
    )


# Only these participant columns are ever read for an extract: never a sealed one.
_PARTICIPANT_COLUMNS = (
    Participant.id,
    Participant.participant_id,
    Participant.cohort,
    Participant.birth_year,
    Participant.birth_month,
    Participant.sex,
    Participant.gender_identity,
    Participant.ethnicity,
    Participant.ethnicity_group,
    Participant.imd_decile,
    Participant.imd_version,
    Participant.diagnosis_icd10,
    Participant.psychosis_onset,
    Participant.dup_weeks,
    Participant.episode_start,
    Participant.enrolled_on,
    Participant.withdrawal_level,
    Participant.withdrawn_at,
)


# Where the current consent answers (one per item, in form order) are in the rows of
# ``OutputOrder.participants``: after the position and the columns above.
CONSENT_ANSWERS = slice(
    1 + len(_PARTICIPANT_COLUMNS), 1 + len(_PARTICIPANT_COLUMNS) + len(CONSENT_ITEMS)
)


class Subject(tuple[str, int, str]):
    """(study pseudonym, participant pk, registry id) of one participant in an extract."""

    __slots__ = ()

    @property
    def pseudonym(self) -> str:
        return self[0]

    @property
    def pk(self) -> int:
        return self[1]

    @property
    def participant_id(self) -> str:
        return self[2]


def subjects_in_order(
    grant: DataAccessGrant, pseudonym: Any, *, within: Select[Any] | None = None
) -> list[Subject]:
    """Everyone an extract under ``grant`` may hold, in pseudonym order; only those whose
    participant pk ``within`` selects, when given (a page of rows that match criteria).

    Not in registry order: two studies' extracts in one shared order would line up row by
    row, which would link them as surely as a shared key. Pseudonym order differs from
    study to study. Read in batches; a few dozen bytes per participant are kept.
    """
    statement = population(grant)
    if within is not None:
        statement = statement.where(Participant.id.in_(within.order_by(None)))
    rows = _connection().execute(statement.execution_options(yield_per=10_000))
    subjects = [
        Subject((pseudonym(row.participant_id), row.id, row.participant_id)) for row in rows
    ]
    subjects.sort()
    return subjects


class OutputOrder:
    """The participants of an extract (or of a page of one) in a temporary table of
    (position, pk), so that each table is read with one statement already in output order
    and streamed, rather than fetched in thousands of small lookups.

    Only positions and database keys go into it: pseudonyms and date offsets stay in the
    process. It lives in this transaction's connection and is dropped on leaving (after an
    error, the rollback takes it).
    """

    def __init__(self, pks: Sequence[int]) -> None:
        self.table = Table(
            f"export_order_{secrets.token_hex(6)}",
            MetaData(),
            Column("position", Integer, primary_key=True),
            Column("pk", Integer, nullable=False, unique=True),
            prefixes=["TEMPORARY"],
        )
        self._pks = pks

    def __enter__(self) -> OutputOrder:
        """Create the table and fill it with one statement: the keys go as one parameter
        (a PostgreSQL array, or JSON text that SQLite's json_each unpacks), not one
        INSERT or placeholder per participant."""
        connection = _connection()
        self.table.create(connection)
        if database().is_postgresql:
            keys = (
                func.unnest(cast(bindparam("pks"), postgresql.ARRAY(Integer)))
                .table_valued("pk", with_ordinality="n")
                .render_derived()
            )
            source = select(keys.c.n - 1, keys.c.pk)
            pks: Any = list(self._pks)
        else:
            keys = func.json_each(bindparam("pks")).table_valued("key", "value")
            source = select(keys.c.key, keys.c.value)
            pks = json.dumps(list(self._pks))
        connection.execute(insert(self.table).from_select(["position", "pk"], source), {"pks": pks})
        connection.execute(text(f"ANALYZE {self.table.name}"))  # no autovacuum for temp tables
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # After an error the transaction is rolled back, and the table with it (its CREATE
        # is transactional on both databases); a DROP then could hide the error.
        if exc_type is None:
            self.table.drop(_connection())

    @property
    def position(self) -> Any:
        return self.table.c.position

    def _held(self, grant: DataAccessGrant, statement: Select[Any], pk: Any) -> Select[Any]:
        """A statement over a participant's records, limited to this order's participants,
        with the grant's conditions applied again: anyone who left since the extract began
        is out of every table read after."""
        return (
            statement.join(self.table, self.table.c.pk == pk)
            .join(Participant, Participant.id == pk)
            .join(ParticipantFacts, ParticipantFacts.participant_pk == pk)
            .where(*_may_hold(grant))
        )

    def _stream(self, statement: Select[Any]) -> Iterator[Sequence[Any]]:
        """The statement's rows, ``STREAM_ROWS`` at a time (a server-side cursor on
        PostgreSQL): lists of rows, fetched a list at a time rather than row by row."""
        result = _connection().execute(statement.execution_options(yield_per=STREAM_ROWS))
        return iter(result.partitions())

    def participants(
        self, grant: DataAccessGrant, *, with_records: bool
    ) -> Iterator[Sequence[Any]]:
        """Per participant, in order: position, the exportable columns (never a sealed
        one), current consent answers, and the latest signing's form version and date
        within the W2 cut-off (nulls unless ``with_records``), then the derived outcome
        (response and remission; TRD)."""
        facts = ParticipantFacts.__table__.c
        consent = [facts[f"consent_{item}"].label(f"consent_{item}") for item in CONSENT_ITEMS]
        outcome = [facts[name].label(name) for name in OUTCOME_COLUMNS]
        signing: list[Any] = [null().label("form_version"), null().label("signed_on")]
        if with_records:
            signing = [ConsentForm.version.label("form_version"), ConsentRecord.signed_on]
        statement = (
            select(self.position, *_PARTICIPANT_COLUMNS, *consent, *signing, *outcome)
            .select_from(self.table)
            .join(Participant, Participant.id == self.table.c.pk)
            .join(ParticipantFacts, ParticipantFacts.participant_pk == Participant.id)
        )
        if with_records:
            latest = (
                select(
                    ConsentRecord.participant_pk.label("pk"),
                    func.max(ConsentRecord.id).label("record_id"),
                )
                .join(self.table, self.table.c.pk == ConsentRecord.participant_pk)
                .join(Participant, Participant.id == ConsentRecord.participant_pk)
                .where(collected_in_time(ConsentRecord.recorded_at))
                .group_by(ConsentRecord.participant_pk)
                .subquery()
            )
            statement = (
                statement.outerjoin(latest, latest.c.pk == Participant.id)
                .outerjoin(ConsentRecord, ConsentRecord.id == latest.c.record_id)
                .outerjoin(ConsentForm, ConsentForm.id == ConsentRecord.consent_form_id)
            )
        return self._stream(statement.where(*_may_hold(grant)).order_by(self.position))

    def assessments(self, grant: DataAccessGrant, *, with_items: bool) -> Iterator[Sequence[Any]]:
        """Per assessment within the W2 cut-off, in order, oldest first: position and its
        columns. Item scores (when asked for) come as compact JSON text, ``[1,2,0]``, as
        the database holds them, not decoded and encoded again. A total recorded alone is
        stored as JSON null, whose text is ``null``: empty, as the catalogue says."""
        items = (
            func.nullif(func.replace(cast(Assessment.items, Text), " ", ""), "null")
            if with_items
            else null().cast(Text)
        )
        statement = select(
            self.position,
            Assessment.instrument,
            Assessment.scale_version,
            Assessment.administered_on,
            Assessment.total,
            Assessment.band,
            items.label("items"),
        ).select_from(Assessment)
        return self._stream(
            self._held(grant, statement, Assessment.participant_pk)
            .where(collected_in_time(Assessment.recorded_at), Assessment.voided_at.is_(None))
            .order_by(self.position, Assessment.administered_on, Assessment.id)
        )

    def trials(self, grant: DataAccessGrant) -> Iterator[Sequence[Any]]:
        """Per treatment trial within the W2 cut-off, in order, oldest first."""
        statement = select(
            self.position,
            TreatmentTrial.drug,
            TreatmentTrial.started_on,
            TreatmentTrial.adequate_dose,
            TreatmentTrial.weeks,
            TreatmentTrial.outcome,
            TreatmentTrial.drug_code,
            TreatmentTrial.drug_list_version,
            TreatmentTrial.modality,
            TreatmentTrial.dose,
            TreatmentTrial.dose_unit,
            TreatmentTrial.ended_on,
            TreatmentTrial.adherence,
            TreatmentTrial.response_percent,
            TreatmentTrial.stop_reason,
            TreatmentTrial.not_recovered,
        ).select_from(TreatmentTrial)
        return self._stream(
            self._held(grant, statement, TreatmentTrial.participant_pk)
            .where(
                collected_in_time(TreatmentTrial.recorded_at), TreatmentTrial.voided_at.is_(None)
            )
            .order_by(self.position, TreatmentTrial.started_on, TreatmentTrial.id)
        )


def grant_view(grant: DataAccessGrant, *, today: dt.date | None = None) -> dict[str, Any]:
    """A grant as the API and the pages show it: its terms, team and recent extracts."""
    renews = (
        session().scalar(
            select(DataAccessGrant.grant_id).where(DataAccessGrant.id == grant.renews_id)
        )
        if grant.renews_id
        else None
    )
    return {
        "id": grant.grant_id,
        "title": grant.title,
        "ethics_reference": grant.ethics_reference,
        "status": grant.status_on(today or clock.today()),
        "cohorts": list(grant.cohorts),
        "variables": list(grant.variables),
        "consent_items": required_consent_items(grant),
        "date_policy": grant.date_policy,
        "max_shift_days": grant.max_shift_days,
        "catalogue_version": grant.catalogue_version,
        "expires_on": grant.expires_on,
        "renews": renews,
        "created_at": grant.created_at,
        "revoked_at": grant.revoked_at,
        "researchers": [
            {"user_id": user.id, "name": user.name, "email": user.email}
            for user in researchers_on(grant)
        ],
        "exports": [
            {
                "id": export.export_id,
                "created_at": export.created_at,
                "format": export.file_format,
                "channel": export.channel,
                "participants": export.participants,
                "manifest_sha256": export.manifest_sha256,
            }
            for export in exports_of(grant)
        ],
    }
