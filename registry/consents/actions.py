"""Consent-form versions (admins, or the CLI), and participants' consent records. Audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from sqlalchemy import select

from registry.audit.actions import Actor, record_event
from registry.consents.models import CAPACITY_CONSULTEE, ConsentForm
from registry.crypto.fields import FieldCipher, FieldContext
from registry.db import session
from registry.errors import Conflict, ValidationFailed
from registry.participants.models import COHORTS

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
    consent: Mapping[str, Any],
    kind: str,
    by: Actor,
) -> dict[str, Any]:
    """A consent_record row for a loaded consent (``schemas.ConsentArgs``).

    A consultee's name identifies someone too: it is sealed under the participant's key,
    and so is shredded with them.
    """
    consultee = consent.get("consultee") if consent["capacity"] == CAPACITY_CONSULTEE else None
    return {
        "participant_pk": participant_pk,
        "consent_form_id": form.id,
        "kind": kind,
        "signed_on": consent["signed_on"],
        "taken_by_id": by.user_id,
        "capacity": consent["capacity"],
        "consultee_type": consultee["type"] if consultee else None,
        "consultee_name_sealed": cipher.seal(
            consultee["name"],
            context=FieldContext("consent_record", "consultee_name_sealed", participant_id),
        )
        if consultee
        else None,
    }
