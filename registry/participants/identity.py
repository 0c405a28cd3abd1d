"""A participant's sealed identity: sealing it, reading it back, finding them, shredding them.

Actions take ``by=Actor``, only flush, and leave the commit to the request or command.

Duplicate detection: the NHS number's truncated blind index narrows the search to a few
candidates, each of which is decrypted and compared exactly. Two enrolments of the same
person must not both pass that check, so the check and the insert run under a lock on the
index value: an advisory lock on PostgreSQL; on SQLite the BEGIN IMMEDIATE transaction has
already serialised every writer.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from flask import current_app
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session

from registry.audit.actions import Actor, AuditEntry, record_events
from registry.crypto import key_provider, mac_for
from registry.crypto.blind_index import blind_index, plan_index_bits
from registry.crypto.errors import DecryptionFailed, KeyUnavailable
from registry.crypto.fields import FieldCipher, FieldContext, length_prefixed, new_dek
from registry.crypto.keys import (
    BLIND_INDEX_PURPOSE,
    PSEUDONYM_PURPOSE,
    KeyProvider,
    KeyringError,
    wrapped_epoch,
)
from registry.crypto.pseudonyms import study_pseudonym
from registry.db import database, session, utcnow
from registry.errors import Conflict, DuplicateParticipant, NotFound, ValidationFailed
from registry.participants import dek_cache, shred_listener
from registry.participants.models import (
    FULL,
    NO_FURTHER_DATA,
    SEALED_COLUMNS,
    STATUS_SHREDDED,
    DekCacheGeneration,
    NhsNumberIndex,
    Participant,
    ParticipantCorrection,
    ParticipantKey,
)
from registry.participants.validation import (
    canonical_nhs_number,
    canonical_postcode,
    check_email,
    check_name,
    check_phone,
)

log = logging.getLogger(__name__)

TABLE = "participant"
# First half of pg_advisory_xact_lock(int, int): names "NHS-number duplicate check" so
# these locks cannot collide with advisory locks taken for anything else.
NHS_DEDUPE_LOCK = 0x4E48_5331  # "NHS1"
DEK_VERSION = 1
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_ID_CHARS = 12  # 60 random bits
UPDATABLE = ("given_name", "family_name", "postcode", "email", "phone")


@dataclass(frozen=True, slots=True)
class Identity:
    """A participant's identifiers in the clear. Its repr shows none of them."""

    participant_id: str
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    postcode: str
    email: str | None
    phone: str | None

    def __repr__(self) -> str:
        masked = ", ".join(f"{f.name}=***" for f in fields(self) if f.name != "participant_id")
        return f"Identity(participant_id={self.participant_id!r}, {masked})"

    __str__ = __repr__


# -- enrolment (the action is enrolment.actions.enrol_batch) ----------------------------


def new_participant_id() -> str:
    """Random, so the id says nothing about the person or the order of enrolment."""
    return "P-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_CHARS))


def nhs_number_index(canonical: str) -> tuple[int, int]:
    """(blind index value, bits) of a canonical NHS number under the current settings."""
    bits = plan_index_bits(current_app.config["SETTINGS"].expected_population)
    return blind_index(mac_for(BLIND_INDEX_PURPOSE), canonical, bits=bits), bits


def lock_index_values(index_values: Iterable[int]) -> None:
    """Serialise duplicate checks per index value, until the transaction ends."""
    if database().is_postgresql:
        # The two-int form takes int4s; folding the index to 31 bits only coarsens the lock.
        # Sorted, so two batches that share values take their locks in one order (no
        # deadlock); one statement for the whole batch, not a round trip per number.
        keys = sorted({value & 0x7FFF_FFFF for value in index_values})
        if keys:
            session().execute(
                text(
                    "SELECT count(pg_advisory_xact_lock(:space, k)) "
                    "FROM (SELECT unnest(CAST(:keys AS integer[])) AS k ORDER BY 1) AS wanted"
                ),
                {"space": NHS_DEDUPE_LOCK, "keys": keys},
            )


@dataclass(frozen=True, slots=True)
class SealedIdentity:
    """A new participant's identifiers sealed under a new data key, and that key wrapped."""

    participant_id: str
    columns: dict[str, bytes | None]  # the participant's *_sealed columns
    key_row: dict[str, Any]  # participant_key values, bar the participant's primary key
    cipher: FieldCipher  # for sealing their other records (a consultee's name, say)

    @classmethod
    def seal(cls, identity: Identity) -> SealedIdentity:
        participant_id = identity.participant_id
        values = {f.name: getattr(identity, f.name) for f in fields(identity)}
        del values["participant_id"]
        values["date_of_birth"] = identity.date_of_birth.isoformat()
        dek = new_dek()
        cipher = FieldCipher(dek, dek_version=DEK_VERSION)
        keyring = key_provider()
        columns = {
            f"{name}_sealed": None
            if value is None
            else cipher.seal(value, context=FieldContext(TABLE, f"{name}_sealed", participant_id))
            for name, value in values.items()
        }
        key_row = {
            "dek_version": DEK_VERSION,
            "kek_epoch": keyring.current_epoch(),
            "wrapped_dek": keyring.wrap(dek, associated_data=_dek_aad(participant_id, DEK_VERSION)),
        }
        return cls(participant_id, columns, key_row, cipher)


# -- reading and finding ------------------------------------------------------------------


def read_identity(participant: Participant, *, by: Actor, purpose: str) -> Identity:
    """Decrypt a participant's identifiers; audited with the purpose given."""
    return read_identities([participant], by=by, purpose=purpose)[0]


# The audit action of every decryption shown to someone.
READ_IDENTITY = "participant.read_identity"


def read_identities(
    participants: Sequence[Participant], *, by: Actor, purpose: str
) -> list[Identity]:
    """Decrypt several participants' identifiers (a page of a list), each read audited with
    the purpose given: their keys in one query, the events in one append."""
    if any(participant.status == STATUS_SHREDDED for participant in participants):
        raise NotFound("This participant has withdrawn and their identity was destroyed.")
    keys = {
        key.participant_pk: key
        for key in session().scalars(
            select(ParticipantKey).where(
                ParticipantKey.participant_pk.in_([participant.id for participant in participants])
            )
        )
    }
    identities = []
    for participant in participants:
        key = keys.get(participant.id)
        if key is None:
            raise KeyUnavailable("participant has no data key (shredded)")
        cipher = _cipher_from(participant.participant_id, key.dek_version, key.wrapped_dek)
        identities.append(_unsealed(participant, cipher))
    _audit(READ_IDENTITY, participants, by=by, purpose=purpose)
    return identities


def unseal_identity(participant: Participant) -> Identity:
    """Decrypt the identifiers, unaudited: only for callers that never show them (a restore
    check proving every key still opens its data), never to display."""
    return _unsealed(participant, cipher_for(participant))


def _unsealed(participant: Participant, cipher: FieldCipher) -> Identity:
    return Identity(
        participant_id=participant.participant_id,
        nhs_number=_open_required(cipher, participant, "nhs_number"),
        given_name=_open_required(cipher, participant, "given_name"),
        family_name=_open_required(cipher, participant, "family_name"),
        date_of_birth=dt.date.fromisoformat(_open_required(cipher, participant, "date_of_birth")),
        postcode=_open_required(cipher, participant, "postcode"),
        email=_open(cipher, participant, "email"),
        phone=_open(cipher, participant, "phone"),
    )


def find_by_nhs_number(nhs_number: str) -> Participant | None:
    """The enrolled participant with this NHS number, if any (not audited: no identity out)."""
    canonical = canonical_nhs_number(nhs_number)
    return enrolled_among([canonical]).get(canonical)


# A loose index scan: one probe of ix_nhs_number_index_bits per width in use (there are one
# or two), where SELECT DISTINCT would read all the index's rows on every enrolment.
_WIDTHS_IN_USE = text(
    """
    WITH RECURSIVE width(bits) AS (
        SELECT min(bits) FROM nhs_number_index
        UNION ALL
        SELECT (SELECT min(bits) FROM nhs_number_index WHERE bits > width.bits)
        FROM width WHERE width.bits IS NOT NULL
    )
    SELECT bits FROM width WHERE bits IS NOT NULL
    """
)


def index_widths_in_use() -> set[int]:
    """The blind-index widths the registry's rows were indexed at."""
    return set(session().scalars(_WIDTHS_IN_USE))


def enrolled_among(canonicals: Collection[str]) -> dict[str, Participant]:
    """Which of these canonical NHS numbers are enrolled, and as whom.

    The blind index narrows the search to a few candidates per number; each is decrypted
    and compared exactly. Rows indexed when expected_population gave another width keep
    that width, so they are looked up at their own width too: a change of setting must not
    let duplicates through.
    """
    if not canonicals:
        return {}
    wanted_numbers = set(canonicals)  # a batch asks about thousands
    db = session()
    index_key = mac_for(BLIND_INDEX_PURPOSE)
    widths = {nhs_number_index(next(iter(canonicals)))[1]}
    widths.update(index_widths_in_use())
    wanted = {
        (bits, blind_index(index_key, canonical, bits=bits))
        for canonical in canonicals
        for bits in widths
    }
    matched: dict[str, int] = {}
    values = sorted({value for _, value in wanted})
    for start in range(0, len(values), 500):
        # Only what the comparison needs, keys included: a batch checks thousands of
        # candidates, and whole objects for each would cost more than the decryption.
        candidates = db.execute(
            select(
                Participant.id,
                Participant.participant_id,
                Participant.nhs_number_sealed,
                ParticipantKey.dek_version,
                ParticipantKey.wrapped_dek,
                NhsNumberIndex.bits,
                NhsNumberIndex.index_value,
            )
            .join(NhsNumberIndex, NhsNumberIndex.participant_pk == Participant.id)
            .join(ParticipantKey, ParticipantKey.participant_pk == Participant.id)
            .where(NhsNumberIndex.index_value.in_(values[start : start + 500]))
            .order_by(Participant.id)
        )
        for pk, participant_id, sealed, dek_version, wrapped_dek, bits, value in candidates:
            if (bits, value) not in wanted or sealed is None:
                continue
            cipher = _cipher_from(participant_id, dek_version, wrapped_dek)
            number = cipher.open_text(
                sealed, context=FieldContext(TABLE, "nhs_number_sealed", participant_id)
            )
            if number in wanted_numbers:
                matched.setdefault(number, pk)
    found: dict[str, Participant] = {}
    for number, pk in matched.items():
        participant = db.get(Participant, pk)
        assert participant is not None  # just read, in this transaction
        found[number] = participant
    return found


def pseudonym_for(study_id: str, participant: Participant) -> str:
    """The participant's study-specific pseudonym: stable in a study, unlinkable across."""
    return study_pseudonym(mac_for(PSEUDONYM_PURPOSE), study_id, participant.participant_id)


# -- changing and shredding ---------------------------------------------------------------


def update_identity(participant: Participant, *, by: Actor, **changes: str | None) -> Participant:
    """Re-seal some identifiers (names, postcode, email, phone) under the participant's key.

    Refuses once they are shredded, checked under the row lock so a shred that commits
    first always wins over a writer that read the participant before it.
    """
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValidationFailed({name: ["This cannot be changed here."] for name in unknown})
    locked = lock_active(participant)
    cipher = cipher_for(locked)
    for name, value in changes.items():
        if name in ("given_name", "family_name"):
            value = check_name(name, value or "")
        elif name == "postcode":
            value, locked.postcode_district = canonical_postcode(value or "")
        elif name == "email":
            value = check_email(value)
        else:
            value = check_phone(value)
        setattr(locked, f"{name}_sealed", _seal(cipher, locked, name, value))
    _audit("participant.update_identity", [locked], by=by, details={"fields": sorted(changes)})
    session().flush()
    return locked


CORRECTABLE_IDENTIFIERS = ("nhs_number", "date_of_birth")
_ALREADY = {
    "nhs_number": "This is already their NHS number.",
    "date_of_birth": "This is already their date of birth.",
}


def correct_identifiers(
    participant: Participant,
    *,
    reason: str,
    by: Actor,
    nhs_number: str | None = None,
    date_of_birth: dt.date | None = None,
) -> list[str]:
    """Correct a mistyped NHS number (canonical) or date of birth; the names of the fields
    changed. The value replaced and the reason are kept only sealed under the participant's
    key (``participant_correction``), so a shred destroys them with the rest. A new NHS
    number is checked for duplicates under the same lock as an enrolment, and the blind
    index rewritten; whether the birth date fits the cohort is the caller's check.
    """
    locked = lock_active(participant)
    cipher = cipher_for(locked)
    db = session()
    wanted: dict[str, str] = {}
    if nhs_number is not None:
        wanted["nhs_number"] = nhs_number
    if date_of_birth is not None:
        wanted["date_of_birth"] = date_of_birth.isoformat()
    current = {name: _open_required(cipher, locked, name) for name in wanted}
    unchanged = {name: [_ALREADY[name]] for name in wanted if wanted[name] == current[name]}
    if unchanged:
        raise ValidationFailed(unchanged)
    if nhs_number is not None:
        value, bits = nhs_number_index(nhs_number)
        lock_index_values([value])  # the lock an enrolment of this number takes
        if enrolled_among([nhs_number]):
            raise DuplicateParticipant()
        index = db.get(NhsNumberIndex, locked.id)
        assert index is not None  # an active participant has one
        index.index_value, index.bits = value, bits
    if date_of_birth is not None:
        locked.birth_year, locked.birth_month = date_of_birth.year, date_of_birth.month
    context = FieldContext("participant_correction", "sealed", locked.participant_id)
    for name, value_now in wanted.items():
        setattr(locked, f"{name}_sealed", _seal(cipher, locked, name, value_now))
        db.add(
            ParticipantCorrection(
                participant_pk=locked.id,
                field=name,
                prior_sealed=cipher.seal(current[name], context=context),
                reason_sealed=cipher.seal(reason, context=context),
                corrected_by_id=by.user_id,
            )
        )
    _audit(CORRECT_IDENTIFIER, [locked], by=by, details={"fields": sorted(wanted)})
    db.flush()
    return sorted(wanted)


CORRECT_IDENTIFIER = "participant.correct_identifier"


def shred_participant(participant: Participant, *, by: Actor) -> None:
    """Destroy the participant's data key and sealed identifiers; idempotent."""
    locked = lock_participant(participant)
    if locked.status == STATUS_SHREDDED:
        return
    db = session()
    for model in (ParticipantKey, NhsNumberIndex):
        row = db.get(model, locked.id)
        if row is not None:
            db.delete(row)
    # Unreadable once the key is gone; cleared too, like the sealed columns.
    for correction in db.scalars(
        select(ParticipantCorrection).where(ParticipantCorrection.participant_pk == locked.id)
    ):
        correction.prior_sealed = correction.reason_sealed = None
    for column in SEALED_COLUMNS:
        setattr(locked, column, None)
    locked.status = STATUS_SHREDDED
    locked.shredded_at = utcnow()
    invalidate_key_caches(locked.participant_id)
    _audit("participant.shred", [locked], by=by)
    db.flush()
    _truncate_log_after_commit()


_LOG_TRUNCATION = "registry.truncate_log_after_commit"


def _truncate_log_after_commit() -> None:
    """SQLite: once the shred has committed, checkpoint the write-ahead log and empty it.

    Until then the WAL file still holds the pages as they were before the shred, the
    wrapped data key and the sealed identifiers among them, and so does any copy of the
    database files: with the keyring, such a copy would open them again. A TRUNCATE
    checkpoint writes the current pages (freed space zeroed by secure_delete) into the
    database file and truncates the log. PostgreSQL's dumps never show deleted rows.
    """
    db = database()
    if db.is_postgresql:
        return
    current = session()
    if current.info.get(_LOG_TRUNCATION):
        return  # already arranged for this transaction
    current.info[_LOG_TRUNCATION] = True
    connection = current.connection()

    def truncate(committed: Session) -> None:
        committed.info.pop(_LOG_TRUNCATION, None)
        if connection.in_transaction():
            return  # only a savepoint was released; the enclosing transaction has not committed
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        if busy:
            log.warning(
                "after a shred, readers kept the SQLite write-ahead log from being emptied; "
                "it still holds the shredded data key until the next full checkpoint"
            )

    event.listen(current, "after_commit", truncate, once=True)


def lock_active(participant: Participant) -> Participant:
    """Lock the participant's row for this transaction; refuse one who has been shredded.

    Every writer comes through here, so a shred that commits first always wins over a
    writer that read the participant before it.
    """
    locked = lock_participant(participant)
    if locked.status == STATUS_SHREDDED:
        raise Conflict("participant_withdrawn", "This participant has withdrawn.")
    return locked


def lock_for_new_data(participant: Participant) -> Participant:
    """Lock for a new record (assessment, trial, consent, linkage): refused once the
    participant has withdrawn from further data collection, or fully."""
    locked = lock_active(participant)
    if locked.withdrawal_level in (NO_FURTHER_DATA, FULL):
        raise Conflict(
            "participant_withdrawn",
            "This participant has withdrawn from further data collection: nothing new can be "
            "recorded for them. What was collected before stays.",
        )
    return locked


def lock_participant(participant: Participant) -> Participant:
    """Lock the participant's row for this transaction, whatever their state."""
    # populate_existing: re-read status under the lock, not the copy loaded before it.
    return (
        session()
        .execute(
            select(Participant)
            .where(Participant.id == participant.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        .scalar_one()
    )


# -- key rotation -------------------------------------------------------------------------


def rewrap_all_keys(*, batch_size: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Re-wrap every data key not under the current KEK epoch; returns how many."""
    done = 0
    after = 0
    while True:
        count, after = rewrap_batch(after=after, batch_size=batch_size)
        if not count:
            return done
        done += count
        if progress is not None:
            progress(count)


def rewrap_batch(*, after: int, batch_size: int) -> tuple[int, int]:
    """Re-wrap the next ``batch_size`` data keys, by participant, after ``after`` that are
    not under the current KEK epoch; returns (how many, the last participant's pk).

    Each key's wrapped blob and epoch change together in one row, so a key is always under
    its old epoch or the new one; the caller may commit after each batch, and a run cut
    short resumes by starting again (the keys done are no longer selected).
    """
    keyring = key_provider()
    current = keyring.current_epoch()
    db = session()
    batch = db.execute(
        select(ParticipantKey, Participant.participant_id)
        .join(Participant, Participant.id == ParticipantKey.participant_pk)
        .where(ParticipantKey.kek_epoch != current, ParticipantKey.participant_pk > after)
        .order_by(ParticipantKey.participant_pk)
        .limit(batch_size)
        .with_for_update(of=ParticipantKey)
    ).all()
    for key, participant_id in batch:
        aad = _dek_aad(participant_id, key.dek_version)
        dek = _unwrap(key.wrapped_dek, aad)
        key.wrapped_dek = keyring.wrap(dek, associated_data=aad)
        key.kek_epoch = current
        after = key.participant_pk
    db.flush()
    return len(batch), after


def keys_per_epoch() -> dict[int, int]:
    """How many data keys each KEK epoch wraps."""
    rows = session().execute(
        select(ParticipantKey.kek_epoch, func.count()).group_by(ParticipantKey.kek_epoch)
    )
    return {int(epoch): int(count) for epoch, count in rows}


def one_key_per_epoch() -> dict[int, tuple[str, int, bytes]]:
    """A data key of each KEK epoch in use: (participant id, DEK version, wrapped key)."""
    first = (
        select(func.min(ParticipantKey.participant_pk))
        .group_by(ParticipantKey.kek_epoch)
        .scalar_subquery()
    )
    rows = session().execute(
        select(
            ParticipantKey.kek_epoch,
            Participant.participant_id,
            ParticipantKey.dek_version,
            ParticipantKey.wrapped_dek,
        )
        .join(Participant, Participant.id == ParticipantKey.participant_pk)
        .where(ParticipantKey.participant_pk.in_(first))
    )
    return {int(epoch): (pid, int(version), bytes(blob)) for epoch, pid, version, blob in rows}


def check_unwraps(
    provider: KeyProvider, participant_id: str, dek_version: int, blob: bytes
) -> None:
    """Raise unless ``provider`` unwraps this participant's data key (a migration's check)."""
    provider.unwrap(blob, associated_data=_dek_aad(participant_id, dek_version))


@dataclass(frozen=True)
class KeyEpochs:
    """The keyring's epochs and how many data keys each wraps: `registry keys status` and
    the admin's dashboard."""

    current: int
    held: list[int]
    destroyed: list[int]
    # Every epoch held or still named by a data key (one no longer held is a problem).
    data_keys: dict[int, int]


def key_epochs() -> KeyEpochs:
    keyring = key_provider()
    per_epoch = keys_per_epoch()
    return KeyEpochs(
        current=keyring.current_epoch(),
        held=keyring.epochs(),
        destroyed=keyring.destroyed_epochs(),
        data_keys={e: per_epoch.get(e, 0) for e in sorted({*keyring.epochs(), *per_epoch})},
    )


def keys_to_rewrap() -> int:
    current = key_provider().current_epoch()
    return int(
        session().scalar(
            select(func.count())
            .select_from(ParticipantKey)
            .where(ParticipantKey.kek_epoch != current)
        )
        or 0
    )


def _audit(action: str, participants: Sequence[Participant], *, by: Actor, **event: Any) -> None:
    """Audit an act on each participant, one event each in one append: named by their
    registry id, never by identity."""
    record_events(
        [
            AuditEntry(
                action,
                target_type="participant",
                target_id=participant.participant_id,
                participant_id=participant.participant_id,
                **event,
            )
            for participant in participants
        ],
        by=by,
    )


# -- sealing helpers ----------------------------------------------------------------------


def _dek_aad(participant_id: str, dek_version: int) -> bytes:
    return length_prefixed(b"dek", participant_id.encode("utf-8"), dek_version.to_bytes(4, "big"))


def _unwrap(blob: bytes, aad: bytes) -> bytes:
    keyring = key_provider()
    epoch = wrapped_epoch(blob)
    if epoch not in keyring.epochs():
        raise KeyUnavailable(f"data key is wrapped under KEK epoch {epoch}, which is not held")
    try:
        return keyring.unwrap(blob, associated_data=aad)
    except KeyringError:
        raise DecryptionFailed("wrapped data key failed authentication") from None


def cipher_for(participant: Participant) -> FieldCipher:
    key = session().get(ParticipantKey, participant.id)
    if key is None:
        raise KeyUnavailable("participant has no data key (shredded)")
    return _cipher_from(participant.participant_id, key.dek_version, key.wrapped_dek)


def _cipher_from(participant_id: str, dek_version: int, wrapped_dek: bytes) -> FieldCipher:
    generation = _cache_generation()
    dek = dek_cache.get(participant_id, dek_version, generation=generation)
    if dek is None:
        dek = _unwrap(wrapped_dek, _dek_aad(participant_id, dek_version))
        dek_cache.put(participant_id, dek_version, dek, generation=generation)
    return FieldCipher(dek, dek_version=dek_version)


_GENERATION = "registry.dek_cache_generation"


def _cache_generation() -> int:
    """The shred generation as this transaction sees it, read once per transaction (a page
    of 25 participants costs one extra query, not 25)."""
    db = session()
    transaction = db.get_transaction()
    seen = db.info.get(_GENERATION)
    if seen is not None and seen[0] is transaction:
        return int(seen[1])
    current = database()
    if current.is_postgresql:
        shred_listener.ensure_listening(current.engine.url)
    generation = db.scalar(select(DekCacheGeneration.generation).where(DekCacheGeneration.id == 1))
    db.info[_GENERATION] = (transaction, generation or 0)
    return generation or 0


def invalidate_key_caches(participant_id: str | None) -> None:
    """Make every process drop a shredded participant's data key (``None``: every key, as
    after a KEK epoch is destroyed), from the moment this transaction commits."""
    db = session()
    db.execute(
        update(DekCacheGeneration)
        .where(DekCacheGeneration.id == 1)
        .values(generation=DekCacheGeneration.generation + 1, changed_at=utcnow())
    )
    db.info.pop(_GENERATION, None)
    if participant_id is None:
        dek_cache.clear()
    else:
        dek_cache.forget(participant_id)
    if database().is_postgresql:
        # Delivered at commit, never if the transaction rolls back.
        db.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {
                "channel": shred_listener.CHANNEL,
                "payload": participant_id or shred_listener.EVERYTHING,
            },
        )


def _context(participant: Participant, name: str) -> FieldContext:
    return FieldContext(TABLE, f"{name}_sealed", participant.participant_id)


def _seal(
    cipher: FieldCipher, participant: Participant, name: str, value: str | None
) -> bytes | None:
    if value is None:
        return None
    return cipher.seal(value, context=_context(participant, name))


def _open(cipher: FieldCipher, participant: Participant, name: str) -> str | None:
    blob: bytes | None = getattr(participant, f"{name}_sealed")
    if blob is None:
        return None
    return cipher.open_text(blob, context=_context(participant, name))


def _open_required(cipher: FieldCipher, participant: Participant, name: str) -> str:
    value = _open(cipher, participant, name)
    if value is None:
        raise DecryptionFailed(f"required sealed field is missing (table {TABLE}, column {name})")
    return value
