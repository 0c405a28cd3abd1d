"""Consent-form versions (admins, or the CLI), and participants' consent records. Audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import delete, func, select

from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.actions import Actor, record_event
from registry.auth.actions import require_step_up
from registry.auth.models import User
from registry.consents.commands import NamedConsultee, RecordConsent, Withdraw
from registry.consents.items import CONSENT_ITEMS, REQUIRED_ITEMS
from registry.consents.models import (
    CAPACITY_CONSULTEE,
    CONSULTEE_TYPES,
    REQUESTED_BY,
    WITHDRAWAL_REASONS,
    ConsentForm,
    ConsentItemEvent,
    ConsentRecord,
    Withdrawal,
)
from registry.crypto.fields import FieldCipher, FieldContext
from registry.dates_in_words import long_date
from registry.db import session, utcnow
from registry.errors import Conflict, ValidationFailed
from registry.participants.identity import (
    cipher_for,
    lock_for_new_data,
    lock_participant,
    shred_participant,
)
from registry.participants.models import (
    COHORTS,
    FULL,
    WITHDRAWAL_LEVELS,
    Participant,
    ParticipantFacts,
)
from registry.signals import (
    consent_changed,
    participant_withdrawn,
    records_changed,
    send_to_all,
)

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MEDIA_TYPES = {".pdf": "application/pdf", ".md": "text/markdown"}


def add_consent_form(
    *,
    cohort: str,
    version: str,
    effective_on: dt.date,
    file_name: str,
    document: bytes,
    by: Actor,
) -> ConsentForm:
    version = version.strip()
    problems: dict[str, list[str]] = {}
    if cohort not in COHORTS:
        problems["cohort"] = [f"Choose one of {', '.join(COHORTS)}."]
    if not 1 <= len(version) <= 32:
        problems["version"] = ["A version is 1 to 32 characters, e.g. TRD-PIS-2.0."]
    suffix = PurePath(file_name).suffix.lower()
    media_type = MEDIA_TYPES.get(suffix)
    if media_type is None:
        problems["file"] = ["Give the information sheet as a .pdf or .md file."]
    elif not document:
        problems["file"] = ["The file is empty."]
    elif len(document) > MAX_DOCUMENT_BYTES:
        problems["file"] = ["The file is larger than 10 MB."]
    elif suffix == ".pdf" and not document.startswith(b"%PDF-"):
        problems["file"] = ["The file does not look like a PDF."]
    elif suffix == ".md" and not _is_utf8(document):
        problems["file"] = ["A Markdown file must be UTF-8 text."]
    if problems:
        raise ValidationFailed(problems)
    db = session()
    existing = db.scalar(
        select(ConsentForm.id).where(ConsentForm.cohort == cohort, ConsentForm.version == version)
    )
    if existing is not None:
        raise Conflict("consent_form_exists", f"{cohort} already has a version {version}.")
    form = ConsentForm(
        cohort=cohort,
        version=version,
        effective_on=effective_on,
        file_name=PurePath(file_name).name[:200],
        media_type=media_type or "",
        document=document,
        sha256=hashlib.sha256(document).hexdigest(),
        added_by_id=by.user_id,
    )
    db.add(form)
    db.flush()
    record_event(
        "consent_form.add",
        by=by,
        target_type="consent_form",
        target_id=form.id,
        details={
            "cohort": cohort,
            "version": version,
            "effective_on": effective_on.isoformat(),
            "sha256": form.sha256,
        },
    )
    return form


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def consent_record_values(
    *,
    participant_pk: int,
    participant_id: str,
    cipher: FieldCipher,
    form: ConsentForm,
    signed_on: dt.date,
    capacity: str,
    consultee: NamedConsultee | None,
    kind: str,
    by: Actor,
) -> dict[str, Any]:
    """A consent_record row for a loaded consent (at enrolment, or recorded later).

    A consultee's name identifies someone too: it is sealed under the participant's key,
    and so is shredded with them.
    """
    if capacity != CAPACITY_CONSULTEE:
        consultee = None
    return {
        "participant_pk": participant_pk,
        "consent_form_id": form.id,
        "kind": kind,
        "signed_on": signed_on,
        "taken_by_id": by.user_id,
        "capacity": capacity,
        "consultee_type": consultee.type if consultee else None,
        "consultee_name_sealed": cipher.seal(
            consultee.name,
            context=FieldContext("consent_record", "consultee_name_sealed", participant_id),
        )
        if consultee
        else None,
    }


# -- withdrawal -----------------------------------------------------------------------------

MAX_REASON_LENGTH = 500
# Plain columns that describe the person, however coarsely: a full withdrawal clears them,
# leaving the tombstone its participant id, cohort, site, and when and how they left.
# (created_at is not null and stays; the consent history keeps the signing date anyway.)
_DESCRIPTIVE_COLUMNS = (
    "enrolled_on",
    "enrolled_by_id",
    "birth_year",
    "birth_month",
    "postcode_district",
    "sex",
    "gender_identity",
    "ethnicity",
    "ethnicity_group",
    "imd_decile",
    "imd_version",
    "diagnosis_icd10",
    "psychosis_onset",
    "first_antipsychotic_on",
    "eip_accepted_on",
    "dup_weeks",
    "episode_start",
)


@dataclass(frozen=True)
class WithdrawalOutcome:
    withdrawal: Withdrawal
    created: bool  # False: the participant had already withdrawn at this level


FULL_WITHDRAWAL_PURPOSE = "confirm full withdrawal"


def confirm_withdrawal_level(
    level: str, user: User, *, password: str | None = None, code: str | None = None
) -> None:
    """A full withdrawal cannot be undone: whoever records it proves it is still them first
    (their password, or a security code not used before), on the page and the API alike,
    whether the request came with a session cookie or a bearer token."""
    if level == FULL:
        require_step_up(user, password=password, code=code, purpose=FULL_WITHDRAWAL_PURPOSE)


def withdraw_participant(
    participant: Participant, withdrawal: Withdraw, *, by: Actor
) -> WithdrawalOutcome:
    """Record a withdrawal; it takes effect in this transaction, everywhere.

    Only ever stricter: the same level again returns the existing record, a laxer one is
    refused. ``full`` shreds the participant's identity (their data key is destroyed),
    deletes their clinical rows and facts, and clears every descriptive column, leaving a
    tombstone; their consent and withdrawal history and audit events remain, and name no one.
    """
    level, reason_code, requested_by = (
        withdrawal.level,
        withdrawal.reason_code,
        withdrawal.requested_by,
    )
    problems = withdrawal_problems(
        level, reason_code, withdrawal.reason, requested_by, withdrawal.consultee_type
    )
    if problems:
        raise ValidationFailed(problems)
    locked = lock_participant(participant)
    db = session()
    current = locked.withdrawal_level
    if current is not None:
        if WITHDRAWAL_LEVELS.index(level) == WITHDRAWAL_LEVELS.index(current):
            latest = db.scalar(
                select(Withdrawal)
                .where(Withdrawal.participant_pk == locked.id)
                .order_by(Withdrawal.id.desc())
                .limit(1)
            )
            assert latest is not None  # a level is only ever set with its record
            return WithdrawalOutcome(latest, created=False)
        if WITHDRAWAL_LEVELS.index(level) < WITHDRAWAL_LEVELS.index(current):
            raise Conflict(
                "withdrawal_cannot_relax",
                f"This participant has already withdrawn at the stricter level {current}; "
                "a withdrawal can only be made stricter.",
            )
    text = (withdrawal.reason or "").strip() or None
    record = Withdrawal(
        participant_pk=locked.id,
        level=level,
        reason_code=reason_code,
        # The reason may mention the person: sealed under their key, so it goes with it;
        # for a full withdrawal it is not kept at all.
        reason_sealed=None
        if text is None or level == FULL
        else cipher_for(locked).seal(
            text, context=FieldContext("withdrawal", "reason_sealed", locked.participant_id)
        ),
        requested_by=requested_by,
        consultee_type=withdrawal.consultee_type if requested_by == "consultee" else None,
        recorded_by_id=by.user_id,
    )
    db.add(record)
    locked.withdrawal_level = level
    locked.withdrawn_at = utcnow()
    db.flush()
    record_event(
        "participant.withdraw",
        by=by,
        target_type="participant",
        target_id=locked.participant_id,
        participant_id=locked.participant_id,
        details={
            "level": level,
            "reason_code": reason_code,
            "requested_by": requested_by,
            "previous_level": current,
        },
    )
    if level == FULL:
        _erase(locked, by=by)
    else:
        send_to_all(records_changed, locked)
    # Every level ends contact: off every recruitment list, at once and for good.
    send_to_all(participant_withdrawn, locked, by=by)
    return WithdrawalOutcome(record, created=True)


def withdrawal_problems(
    level: str,
    reason_code: str,
    reason: str | None,
    requested_by: str,
    consultee_type: str | None,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if level not in WITHDRAWAL_LEVELS:
        problems["level"] = [f"Choose one of {', '.join(WITHDRAWAL_LEVELS)}."]
    if reason_code not in WITHDRAWAL_REASONS:
        problems["reason_code"] = [f"Choose one of {', '.join(WITHDRAWAL_REASONS)}."]
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        problems["reason"] = [
            f"Keep the reason to {MAX_REASON_LENGTH} characters, and leave out anything "
            "that identifies the person."
        ]
    if requested_by not in REQUESTED_BY:
        problems["requested_by"] = [f"Choose one of {', '.join(REQUESTED_BY)}."]
    elif requested_by == "consultee" and consultee_type not in CONSULTEE_TYPES:
        problems["consultee_type"] = ["Say whether the consultee is personal or nominated."]
    return problems


def _erase(participant: Participant, *, by: Actor) -> None:
    """Full withdrawal: shred the identity, delete clinical rows and facts, clear the rest."""
    db = session()
    shred_participant(participant, by=by)
    for model in (Assessment, TreatmentTrial):
        db.execute(delete(model).where(model.participant_pk == participant.id))
    db.execute(delete(ParticipantFacts).where(ParticipantFacts.participant_pk == participant.id))
    for column in _DESCRIPTIVE_COLUMNS:
        setattr(participant, column, None)
    db.flush()


# -- re-consent and changes to one item --------------------------------------------------------


def record_consent(participant: Participant, consent: RecordConsent, *, by: Actor) -> ConsentRecord:
    """New consent: on a newer form version (every item answered again), or a change to
    some items on the version already signed (revoking commercial_partners, say).

    Appended to the history; the latest event of each item is its current answer. Leaving
    the registry altogether is a withdrawal, which only admins record.
    """
    form_version, signed_on, items = consent.form_version, consent.signed_on, consent.items
    locked = lock_for_new_data(participant)
    db = session()
    form = db.scalar(
        select(ConsentForm).where(
            ConsentForm.cohort == locked.cohort, ConsentForm.version == form_version
        )
    )
    if form is None:
        raise ValidationFailed(
            {"form_version": [f"There is no {locked.cohort} consent form of this version."]}
        )
    if signed_on < form.effective_on:
        raise ValidationFailed(
            {
                "signed_on": [
                    f"Version {form.version} was not in use until {long_date(form.effective_on)}."
                ]
            }
        )
    latest = db.scalar(
        select(ConsentForm)
        .join(ConsentRecord, ConsentRecord.consent_form_id == ConsentForm.id)
        .where(ConsentRecord.participant_pk == locked.id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    # Versions in the order they came into force (as consent_forms lists them): consent is
    # recorded on the version last signed, or a newer one, never an older sheet.
    if latest is not None and (form.effective_on, form.id) < (latest.effective_on, latest.id):
        raise ValidationFailed(
            {
                "form_version": [
                    f"This participant has signed version {latest.version}; record consent on "
                    "it or on a newer version."
                ]
            }
        )
    last_signed = db.scalar(
        select(func.max(ConsentRecord.signed_on)).where(ConsentRecord.participant_pk == locked.id)
    )
    if last_signed is not None and signed_on < last_signed:
        # The latest record is the current answer: a backdated one would quietly win.
        raise ValidationFailed(
            {"signed_on": ["This is before their last recorded consent; check the date."]}
        )
    kind = "change" if latest is not None and latest.id == form.id else "reconsent"
    problems: dict[str, list[str]] = {}
    if not items:
        problems["items"] = ["Give at least one item's answer."]
    if kind == "reconsent":
        for item in CONSENT_ITEMS:
            if item not in items:
                problems[f"items.{item}"] = ["Consent on a new form version answers every item."]
    for item in REQUIRED_ITEMS:
        if items.get(item) is False:
            problems[f"items.{item}"] = [
                "Leaving the registry is a withdrawal, which an admin records."
            ]
    if problems:
        raise ValidationFailed(problems)
    record_values = consent_record_values(
        participant_pk=locked.id,
        participant_id=locked.participant_id,
        cipher=cipher_for(locked),
        form=form,
        signed_on=signed_on,
        capacity=consent.capacity,
        consultee=consent.consultee,
        kind=kind,
        by=by,
    )
    record = ConsentRecord(**record_values)
    db.add(record)
    db.flush()
    db.add_all(
        ConsentItemEvent(record_id=record.id, participant_pk=locked.id, item=item, granted=granted)
        for item, granted in items.items()
    )
    db.flush()
    record_event(
        "consent.record",
        by=by,
        target_type="consent_record",
        target_id=record.id,
        participant_id=locked.participant_id,
        details={"kind": kind, "form_version": form.version, "items": dict(items)},
    )
    send_to_all(records_changed, locked)
    send_to_all(consent_changed, locked, by=by)
    return record
