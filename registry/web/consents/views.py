"""Admin pages: consent-form versions, finding a participant by id, their timeline, their
withdrawal, and who needs re-consent (thin: the rules live in actions).

Admins never see who a participant is: they reach one by the random participant id, and
nothing on these pages is decrypted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from registry import clock
from registry.assessments.models import VOID_REASONS
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.consents.actions import (
    MAX_DOCUMENT_BYTES,
    add_consent_form,
    confirm_withdrawal_level,
    withdraw_participant,
)
from registry.consents.commands import Withdraw
from registry.consents.models import Withdrawal
from registry.consents.queries import (
    NewVersion,
    consent_forms,
    current_form_ids,
    participants_requiring_reconsent,
    superseded_by,
    timeline,
)
from registry.consents.schemas import WithdrawalArgs
from registry.db import session as db_session
from registry.errors import (
    Conflict,
    NotFound,
    StepUpFailed,
    ValidationFailed,
)
from registry.fields import load_or_fail as load
from registry.participants.models import FULL, Participant
from registry.participants.queries import participant_for_admin
from registry.web.consents.forms import (
    CHOOSE_FILE,
    AddConsentFormForm,
    FindParticipantForm,
    WithdrawalForm,
)
from registry.web.forms import form_page
from registry.web.labels import LEVELS, level_label
from registry.web.step_up import reauthentication_limit, show_step_up_failure

bp = Blueprint("consents", __name__, url_prefix="/admin")

# Why the audit log says a timeline was shown, and a re-entered password was asked for.
TIMELINE_PURPOSE = "view participant timeline"
_NOTICE = "consents.notice"


# -- consent-form versions ------------------------------------------------------------------


@bp.route("/consent-forms/", methods=["GET", "POST"])
@requires(Permission.MANAGE_CONSENT_FORMS)
def manage() -> tuple[str, int] | Response:
    """Add a version in two steps: cohort, version and date; then a check page saying how
    many participants will need re-consent, where the file is chosen and the version added."""
    form = AddConsentFormForm()
    if not form.validate_on_submit() or request.form.get("step") == "change":
        return _manage_page(form)
    adding = NewVersion(
        cohort=form.cohort.data or "",
        version=(form.version.data or "").strip(),
        # InputRequired and the date format: a valid form holds a date.
        effective_on=cast(dt.date, form.effective_on.date),
    )
    if request.form.get("step") != "confirm":
        return _check_page(form, adding, status=200)
    upload = form.document.data
    if not upload or not upload.filename:
        form.document.errors = [CHOOSE_FILE]
        return _check_page(form, adding)
    try:
        added = add_consent_form(
            cohort=adding.cohort,
            version=adding.version,
            effective_on=adding.effective_on,
            file_name=upload.filename or "",
            document=upload.read(MAX_DOCUMENT_BYTES + 1),
            by=acting_as(),
        )
    except ValidationFailed as exc:
        for name, messages in exc.fields.items():
            field = form.document if name == "file" else form[name]
            field.errors = [*field.errors, *messages]
        if set(exc.fields) == {"file"}:
            return _check_page(form, adding)
        return _manage_page(form)
    except Conflict as exc:
        form.version.errors = [*form.version.errors, exc.message]
        return _manage_page(form)
    flash(f"Added {added.cohort} consent form {added.version}.", "info")
    return redirect(url_for("consents.manage"))


def _manage_page(form: AddConsentFormForm) -> tuple[str, int]:
    page = render_template(
        "consents/manage.html",
        form=form,
        forms=db_session().scalars(consent_forms()).all(),
        current_ids=current_form_ids(),
        today=clock.today(),
    )
    return page, 422 if form.errors else 200


def _check_page(
    form: AddConsentFormForm, adding: NewVersion, *, status: int = 422
) -> tuple[str, int]:
    """What adding the version will do, counted by the re-consent list's own query."""
    later = superseded_by(adding)
    sites = [] if later else participants_requiring_reconsent(adding)
    page = render_template(
        "consents/confirm_form.html",
        form=form,
        adding=adding,
        later=later,
        sites=sites,
        total=sum(len(site.participants) for site in sites),
        from_today=adding.effective_on <= clock.today(),
    )
    return page, status if not form.errors else 422


@bp.route("/consents/reconsent")
@requires(Permission.MANAGE_CONSENT_FORMS)
def reconsent() -> str:
    sites = participants_requiring_reconsent()
    return render_template(
        "consents/reconsent.html",
        sites=sites,
        total=sum(len(site.participants) for site in sites),
    )


# -- one participant ------------------------------------------------------------------------


@bp.route("/participants/")
@requires(Permission.READ_AUDIT)
def find_participant() -> tuple[str, int] | Response:
    """There is no list: an admin reaches a participant only by the id they were given."""
    form = FindParticipantForm(request.args)
    if "participant_id" in request.args:
        wanted = form.participant_id.data or ""
        if not wanted:
            form.participant_id.errors = ["Enter the participant id, like P-7K3M0QX2V9HD."]
        else:
            try:
                found = participant_for_admin(wanted)
            except NotFound:
                form.participant_id.errors = [
                    "No participant has this id. Check it has been typed correctly."
                ]
            else:
                return redirect(url_for(".participant", participant_id=found.participant_id))
    return form_page("consents/find_participant.html", form)


@bp.route("/participants/<participant_id>")
@requires(Permission.READ_AUDIT)
def participant(participant_id: str) -> str:
    found = participant_for_admin(participant_id)
    return render_template(
        "consents/participant.html",
        t=timeline(found, by=acting_as(), purpose=TIMELINE_PURPOSE),
        notice=_take_notice(found),
    )


@bp.route("/participants/<participant_id>/withdraw", methods=["GET", "POST"])
@reauthentication_limit
@requires(Permission.RECORD_WITHDRAWALS)
def withdraw(participant_id: str) -> tuple[str, int] | Response:
    """Choose the level and reason; confirm (re-entering a password for ``full``); record.

    The choices travel in the form between the two steps, never in the session or the
    address: the reason may say something about the person.
    """
    found = participant_for_admin(participant_id)
    form = WithdrawalForm()
    step = request.form.get("step")
    if not form.validate_on_submit() or step == "change":
        return _choice_page(form, found)
    try:
        args = load(WithdrawalArgs(), form.withdrawal())
    except ValidationFailed as exc:
        form.show_errors(exc.fields)
        return _choice_page(form, found)
    if step != "confirm":
        return _confirmation_page(form, found, args)
    try:
        confirm_withdrawal_level(
            args.level,
            required_user(),
            password=form.password.data or "",
            code=(form.code.data or "").strip(),
        )
    except StepUpFailed as exc:
        show_step_up_failure(form, exc)
        return _confirmation_page(form, found, args)
    try:
        outcome = withdraw_participant(found, args, by=acting_as())
    except ValidationFailed as exc:
        form.show_errors(exc.fields)
        return _choice_page(form, found)
    except Conflict as exc:
        form.level.errors = [*form.level.errors, exc.message]
        return _choice_page(form, found)
    _leave_notice(found, outcome.withdrawal, created=outcome.created)
    return redirect(url_for(".participant", participant_id=found.participant_id))


def _choice_page(form: WithdrawalForm, participant: Participant) -> tuple[str, int]:
    return form_page("consents/withdraw.html", form, participant=participant)


def _confirmation_page(
    form: WithdrawalForm, participant: Participant, args: Withdraw
) -> tuple[str, int]:
    return form_page(
        "consents/confirm_withdrawal.html",
        form,
        participant=participant,
        chosen=args,
        needs_reauthentication=args.level == FULL,
        has_second_factor=required_user().has_second_factor,
    )


# -- what the next page says ----------------------------------------------------------------


def _leave_notice(participant: Participant, withdrawal: Withdrawal, *, created: bool) -> None:
    # Ids only: the session cookie is signed, not encrypted.
    session[_NOTICE] = {
        "participant": participant.participant_id,
        "withdrawal": withdrawal.id,
        "created": created,
    }


def _take_notice(participant: Participant) -> str | None:
    notice = session.pop(_NOTICE, None)
    if not isinstance(notice, dict) or notice.get("participant") != participant.participant_id:
        return None
    withdrawal = db_session().get(Withdrawal, notice.get("withdrawal"))
    if withdrawal is None or withdrawal.participant_pk != participant.id:
        return None
    label = level_label(withdrawal.level)
    if not notice.get("created"):
        return f"They had already withdrawn at this level ({label}): nothing has changed."
    return f"Withdrawal recorded: {label}. {LEVELS[withdrawal.level].effect}"


# -- how things read on these pages ---------------------------------------------------------

CONSENT_KINDS = {
    "enrolment": "At enrolment",
    "reconsent": "New form version",
    "change": "Change to some answers",
}
ACTION_LABELS = {
    "participant.enrol": "Enrolled",
    "participant.import": "Enrolled by bulk import",
    "participant.read_identity": "Identifiable record read",
    "participant.search_by_nhs_number": "Found by NHS number",
    "participant.update_identity": "Contact details corrected",
    "participant.correct_demographics": "Demographics corrected",
    "participant.withdraw": "Withdrawal recorded",
    "participant.shred": "Identity destroyed",
    "participant.timeline": "Timeline viewed",
    "consent.record": "Consent recorded",
    "assessment.record": "Rating scale recorded",
    "treatment_trial.record": "Antidepressant trial recorded",
    "participant.correct_identifier": "NHS number or date of birth corrected",
    "assessment.void": "Rating scale voided",
    "treatment_trial.void": "Treatment trial voided",
    "assessment.risk_prompt_shown": "Risk-procedure prompt shown (PHQ-9 item 9)",
}


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "consent_kinds": CONSENT_KINDS,
        "action_labels": ACTION_LABELS,
        "void_reasons": VOID_REASONS,
    }
