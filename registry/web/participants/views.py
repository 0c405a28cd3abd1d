"""The clinician's pages for their own site's participants (thin: the rules live in the
schemas and actions the API uses too).

Identifiers never go into a URL, a log line or the session: the search by NHS number is a
POST, pages are addressed by the random participant id, and the note a page leaves for the
next one ("PHQ-9 total 17, moderately severe") is kept as record ids and written out there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from registry.assessments.actions import (
    needs_risk_prompt,
    record_assessment,
    record_risk_prompt_shown,
    record_treatment_trial,
    void_assessment,
    void_treatment_trial,
)
from registry.assessments.drugs import drug_list
from registry.assessments.instruments import INSTRUMENT_CODES, Instrument, instrument
from registry.assessments.models import VOID_REASONS, Assessment, TreatmentTrial
from registry.assessments.queries import record_of
from registry.assessments.schemas import AssessmentArgs, TreatmentTrialArgs
from registry.assessments.treatment import current_definition, treatment_facts
from registry.audit.actions import keep_on_record
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.consents.actions import record_consent
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS
from registry.consents.models import ConsentForm, ConsentRecord
from registry.consents.queries import (
    consent_forms,
    consent_history,
    current_form,
    latest_signed_form,
    superseding_form,
)
from registry.consents.schemas import ConsentChangeArgs
from registry.dates_in_words import long_date, long_month
from registry.db import count_of, rows_of
from registry.db import session as db_session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.corrections import correct_record
from registry.enrolment.schemas import load_enrolment
from registry.errors import (
    Conflict,
    DuplicateParticipant,
    NoParticipantWithThisNumber,
    NotFound,
    ValidationFailed,
    record_refusal,
)
from registry.facts.derive import current_consent
from registry.facts.participant_views import participant_view
from registry.fields import load_or_fail as load
from registry.participants.identity import READ_IDENTITY, read_identities
from registry.participants.models import COHORTS, FULL, NO_FURTHER_DATA, Participant
from registry.participants.queries import (
    find_visible_by_nhs_number,
    fully_withdrawn_participant,
    visible_participant,
    visible_participants,
)
from registry.participants.reference import reference
from registry.participants.schemas import ParticipantListArgs, ParticipantUpdateArgs
from registry.web.filters import short_name
from registry.web.forms import RegistryForm, form_page, page_and_filters
from registry.web.labels import (
    ADHERENCE_LABELS,
    MODALITY_LABELS,
    NOT_RECOVERED_LABELS,
    OUTCOME_LABELS,
)
from registry.web.participants.forms import (
    ENROLMENT_FORMS,
    AssessmentForm,
    ConsentChangeForm,
    CorrectionForm,
    SearchForm,
    TreatmentTrialForm,
    VoidForm,
    consent_item_field,
    drug_groups,
    item_field,
)

bp = Blueprint("participants_web", __name__, url_prefix="/participants")

PER_PAGE = 25
# Why identifiers were decrypted, as the audit log records it.
LIST_PURPOSE = "list participants"
VIEW_PURPOSE = "view participant record"
CORRECT_PURPOSE = "correct participant record"
# Pages that record something about one participant show who it is (the patient banner).
ASSESSMENT_PURPOSE = "record an assessment"
TRIAL_PURPOSE = "record a treatment trial"
CONSENT_PURPOSE = "record consent"
VOID_PURPOSE = "void a record entered in error"
_NOTICE = "participants_web.notice"


# -- enrolment ------------------------------------------------------------------------------


@bp.route("/enrol/<cohort>", methods=["GET", "POST"])
@requires(Permission.ENROL_PARTICIPANTS)
def enrol(cohort: str) -> tuple[str, int] | Response:
    if cohort not in ENROLMENT_FORMS:
        raise NotFound("There is no such cohort.")
    user = required_user()
    form = ENROLMENT_FORMS[cohort]()
    versions = list(db_session().scalars(consent_forms(cohort)))
    form.consent_form_version.choices = _version_choices(versions)
    if not form.is_submitted():
        in_force = current_form(cohort)
        form.consent_form_version.data = in_force.version if in_force else None
    if form.validate_on_submit():
        try:
            participant = enrol_participant(
                load_enrolment(form.enrolment()), by=acting_as(), own_site=user.site
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except DuplicateParticipant as exc:
            record_refusal(exc)
            # Only that they are enrolled: never where, nor anything else about the record.
            form.nhs_number.errors = [*form.nhs_number.errors, exc.message]
        else:
            _leave_notice(participant, "enrolled")
            return redirect(url_for(".show", participant_id=participant.participant_id))
    return form_page(
        "participants/enrol.html",
        form,
        cohort=cohort,
        cohort_name=reference().cohorts[cohort].name,
        site=user.site,
        has_versions=bool(versions),
        consent_fields=[consent_item_field(item) for item in CONSENT_ITEMS],
    )


def _version_choices(versions: list[ConsentForm]) -> list[SelectChoice]:
    return [
        SelectChoice(form.version, f"{form.version} (in use from {long_date(form.effective_on)})")
        for form in versions
    ]


# -- finding --------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.VIEW_IDENTIFIABLE_OWN_SITE)
def index() -> tuple[str, int]:
    return _list_page(SearchForm())


@bp.route("/search", methods=["POST"])
@requires(Permission.VIEW_IDENTIFIABLE_OWN_SITE)
def search() -> tuple[str, int] | Response:
    """Find one of the site's participants by NHS number: posted, so it is never in a URL."""
    form = SearchForm()
    if form.validate_on_submit():
        try:
            found = find_visible_by_nhs_number(
                required_user(), form.nhs_number.data or "", by=acting_as()
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except NoParticipantWithThisNumber as exc:
            record_refusal(exc)
            form.nhs_number.errors = [*form.nhs_number.errors, exc.message]
        else:
            return redirect(url_for(".show", participant_id=found.participant_id))
    return _list_page(form)


def _list_page(search_form: SearchForm) -> tuple[str, int]:
    user = required_user()
    page, args = page_and_filters(ParticipantListArgs(), ("cohort",))
    statement = visible_participants(user)
    if args.cohort:
        statement = statement.where(Participant.cohort == args.cohort)
    total = count_of(statement)
    pages = max(1, math.ceil(total / PER_PAGE))
    # A page past the end (an old link, a list that shrank) shows the last page, not an
    # empty list that says there are no participants.
    page = min(page, pages)
    rows = rows_of(statement, first=(page - 1) * PER_PAGE, size=PER_PAGE)
    actor = acting_as()
    # Names and NHS numbers let the clinician pick the right person; each read is audited.
    people = list(zip(rows, read_identities(rows, by=actor, purpose=LIST_PURPOSE), strict=True))
    return form_page(
        "participants/index.html",
        search_form,
        people=people,
        total=total,
        page=page,
        pages=pages,
        cohort=args.cohort,
        cohorts=COHORTS,
    )


# -- one participant ------------------------------------------------------------------------


@bp.route("/<participant_id>")
@requires(Permission.VIEW_IDENTIFIABLE_OWN_SITE)
def show(participant_id: str) -> str | tuple[str, int]:
    user = required_user()
    gone = fully_withdrawn_participant(user, participant_id)
    if gone is not None:
        # Their own site's clinicians learn they left; any other site still gets "not found".
        return render_template("participants/withdrawn.html", participant=gone), HTTPStatus.GONE
    participant = visible_participant(user, participant_id)
    record = participant_view(participant, user=user, by=acting_as(), purpose=VIEW_PURPOSE)
    trials = db_session().scalars(
        select(TreatmentTrial)
        .where(TreatmentTrial.participant_pk == participant.id, TreatmentTrial.voided_at.is_(None))
        .order_by(TreatmentTrial.started_on, TreatmentTrial.id)
    )
    assessments = db_session().scalars(
        select(Assessment)
        .where(Assessment.participant_pk == participant.id)
        .order_by(Assessment.administered_on.desc(), Assessment.id.desc())
    )
    voided_trials = db_session().scalars(
        select(TreatmentTrial)
        .where(
            TreatmentTrial.participant_pk == participant.id, TreatmentTrial.voided_at.is_not(None)
        )
        .order_by(TreatmentTrial.started_on, TreatmentTrial.id)
    )
    notice, risky = _take_notice(participant)
    risk_prompt = None
    if risky is not None:
        record_risk_prompt_shown(participant, risky, by=acting_as())
        scale = instrument(risky.instrument)
        item = scale.items[scale.risk_item - 1]
        assert risky.items is not None  # needs_risk_prompt checked
        risk_prompt = {
            "scale": scale.short_name,
            "number": scale.risk_item,
            "wording": item.wording or item.label,
            "answer": item.answers[risky.items[scale.risk_item - 1] - item.min]
            if item.answers
            else str(risky.items[scale.risk_item - 1]),
        }
    return render_template(
        "participants/show.html",
        p=record,
        assessments=list(assessments),
        voided_trials=list(voided_trials),
        void_reasons=VOID_REASONS,
        notice=notice,
        risk_prompt=risk_prompt,
        trials=list(trials),
        definition=current_definition(),
        staging=treatment_facts(participant).staging,
        adherence_labels=ADHERENCE_LABELS,
        not_recovered_labels=NOT_RECOVERED_LABELS,
        consent_items=[(item, CONSENT_ITEM_TEXT[item]) for item in CONSENT_ITEMS],
        history=consent_history(participant),
        superseded_by=superseding_form(participant),
        takes_new_data=takes_new_data(participant),
    )


@bp.route("/<participant_id>/correct", methods=["GET", "POST"])
@requires(Permission.ENROL_PARTICIPANTS)
def correct(participant_id: str) -> tuple[str, int] | Response:
    user = required_user()
    participant = visible_participant(user, participant_id)
    record = participant_view(participant, user=user, by=acting_as(), purpose=CORRECT_PURPOSE)
    current = CorrectionForm.values_of(record)
    form = CorrectionForm(data=current)
    if form.validate_on_submit():
        try:
            changes = load(ParticipantUpdateArgs(), form.changes(current))
            correct_record(participant, changes, by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except DuplicateParticipant as exc:
            record_refusal(exc)
            form.nhs_number.errors = [*form.nhs_number.errors, exc.message]
        else:
            _leave_notice(participant, "corrected")
            return redirect(url_for(".show", participant_id=participant.participant_id))
    return _kept_if_refused(
        form_page("participants/correct.html", form, p=record), participant, CORRECT_PURPOSE
    )


# -- consent after enrolment ----------------------------------------------------------------


@bp.route("/<participant_id>/consent", methods=["GET", "POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
def consent(participant_id: str) -> tuple[str, int] | Response:
    """New consent on a newer form version, or a change to some answers on theirs."""
    participant = visible_participant(required_user(), participant_id)
    signed = latest_signed_form(participant)
    newer = superseding_form(participant)
    in_force = current_consent(participant.id)
    # A newer version starts unanswered; their own starts with the answers they gave.
    form = ConsentChangeForm(
        data=ConsentChangeForm.values_of(newer.version, None)
        if newer
        else ConsentChangeForm.values_of(signed.version if signed else None, in_force)
    )
    form.form_version.choices = _version_choices(
        list(db_session().scalars(consent_forms(participant.cohort)))
    )
    if form.validate_on_submit():
        try:
            body = form.consent_change(signed.version if signed else None, in_force)
            record = record_consent(participant, load(ConsentChangeArgs(), body), by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except Conflict as exc:  # they have withdrawn from further data collection
            form.form_errors.append(exc.message)
        else:
            _leave_notice(participant, "consent", record.id)
            return redirect(url_for(".show", participant_id=participant.participant_id))
    return _banner_form_page(
        "participants/consent.html",
        form,
        participant,
        CONSENT_PURPOSE,
        signed=signed,
        newer=newer,
        takes_new_data=takes_new_data(participant),
        consent_fields=[consent_item_field(item) for item in CONSENT_ITEMS],
    )


def takes_new_data(participant: Participant) -> bool:
    """Whether anything new may be recorded for them (``lock_for_new_data`` enforces it;
    this only decides which links and forms a page offers)."""
    return participant.withdrawal_level not in (NO_FURTHER_DATA, FULL)


# -- clinical records -----------------------------------------------------------------------


@bp.route("/<participant_id>/assessments/new", methods=["GET", "POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
def new_assessment(participant_id: str) -> str | tuple[str, int] | Response:
    participant = visible_participant(required_user(), participant_id)
    code = request.args.get("instrument")
    if not code:
        return render_template(
            "participants/choose_instrument.html",
            participant=participant,
            p=_identified(participant, ASSESSMENT_PURPOSE),
            instruments=[instrument(code) for code in INSTRUMENT_CODES],
        )
    scale = _instrument_or_404(code)
    form = AssessmentForm.for_instrument(scale)()
    if form.validate_on_submit():
        try:
            assessment = record_assessment(
                participant, load(AssessmentArgs(), form.assessment()), by=acting_as()
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            _leave_notice(participant, "assessment", assessment.id)
            return redirect(url_for(".show", participant_id=participant.participant_id))
    return _banner_form_page(
        "participants/assessment.html",
        form,
        participant,
        ASSESSMENT_PURPOSE,
        scale=scale,
        item_fields=[item_field(n) for n in range(1, len(scale.items) + 1) if scale.items_storable],
    )


def _instrument_or_404(code: str) -> Instrument:
    try:
        return instrument(code)
    except ValidationFailed:
        raise NotFound("There is no rating scale with this code.") from None


@bp.route("/<participant_id>/treatment-trials/new", methods=["GET", "POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
def new_treatment_trial(participant_id: str) -> tuple[str, int] | Response:
    participant = visible_participant(required_user(), participant_id)
    if participant.cohort != "TRD":
        raise NotFound("Treatment trials are recorded for the TRD cohort only.")
    form = TreatmentTrialForm()
    if not form.is_submitted():
        form.modality.data, form.adherence.data = "antidepressant", "unknown"  # the defaults
    if form.validate_on_submit():
        try:
            trial = record_treatment_trial(
                participant,
                load(TreatmentTrialArgs(), form.treatment_trial()),
                by=acting_as(),
            )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            _leave_notice(participant, "treatment_trial", trial.id)
            return redirect(url_for(".show", participant_id=participant.participant_id))
    return _banner_form_page(
        "participants/treatment_trial.html",
        form,
        participant,
        TRIAL_PURPOSE,
        drug_groups=drug_groups(),
        drug_list_version=drug_list().version,
    )


# -- voiding a record entered in error -------------------------------------------------------


@bp.route("/<participant_id>/assessments/<assessment_id>/void", methods=["GET", "POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
def void_assessment_page(participant_id: str, assessment_id: str) -> tuple[str, int] | Response:
    participant = visible_participant(required_user(), participant_id)
    assessment = record_of(Assessment, participant.id, assessment_id)
    what = f"{short_name(assessment.instrument)} of {long_date(assessment.administered_on)}"
    return _void_page(
        participant,
        assessment,
        what=what,
        detail=f"Total {assessment.total}, {assessment.band}.",
        effect="It will no longer count in their latest scores, in eligibility searches or "
        "in exports.",
        void=void_assessment,
    )


@bp.route("/<participant_id>/treatment-trials/<trial_id>/void", methods=["GET", "POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
def void_treatment_trial_page(participant_id: str, trial_id: str) -> tuple[str, int] | Response:
    participant = visible_participant(required_user(), participant_id)
    trial = record_of(TreatmentTrial, participant.id, trial_id)
    what = trial.drug or MODALITY_LABELS.get(trial.modality, trial.modality).lower()
    return _void_page(
        participant,
        trial,
        what=f"Treatment trial of {what} from {long_month(trial.started_on)}",
        detail=f"{trial.weeks} weeks; outcome recorded: "
        f"{OUTCOME_LABELS.get(trial.outcome, trial.outcome).lower()}.",
        effect="It will no longer count towards failed adequate trials or the Maudsley "
        "score, in eligibility searches or in exports.",
        void=void_treatment_trial,
    )


def _void_page(
    participant: Participant,
    record: Assessment | TreatmentTrial,
    *,
    what: str,
    detail: str,
    effect: str,
    void: Callable[..., Any],
) -> tuple[str, int] | Response:
    """The check page before a record is voided (what, and what voiding does), and the
    voiding on its POST."""
    if record.voided_at is not None:
        raise NotFound("This record has already been voided.")
    form = VoidForm()
    if form.validate_on_submit():
        try:
            void(record, reason=form.reason.data or "", by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            reason = VOID_REASONS[str(form.reason.data)]
            session[_NOTICE] = {
                "participant": participant.participant_id,
                "kind": "voided",
                "id": None,
                "text": f"{what} voided: {reason}.",
            }
            return redirect(url_for(".show", participant_id=participant.participant_id))
    return _banner_form_page(
        "participants/void.html",
        form,
        participant,
        VOID_PURPOSE,
        what=what,
        detail=detail,
        effect=effect,
    )


# -- the patient banner ----------------------------------------------------------------------


def _identified(participant: Participant, purpose: str) -> dict[str, Any]:
    """The participant as the banner shows them: one identity read, audited with the page's
    purpose (the participant page's own read serves its banner)."""
    return participant_view(participant, user=required_user(), by=acting_as(), purpose=purpose)


def _banner_form_page(
    template: str, form: RegistryForm, participant: Participant, purpose: str, **context: Any
) -> tuple[str, int]:
    """A form page about one participant, its banner read once, as the page is drawn."""
    record = _identified(participant, purpose)
    page = form_page(template, form, participant=participant, p=record, **context)
    return _kept_if_refused(page, participant, purpose)


def _kept_if_refused(
    page: tuple[str, int], participant: Participant, purpose: str
) -> tuple[str, int]:
    """A page with errors is rolled back (422), its identity read with it; the read happened,
    so it is kept on record."""
    if page[1] == HTTPStatus.UNPROCESSABLE_ENTITY:
        keep_on_record(
            READ_IDENTITY,
            by=acting_as(),
            target_type="participant",
            target_id=participant.participant_id,
            participant_id=participant.participant_id,
            purpose=purpose,
        )
    return page


# -- what the next page says ----------------------------------------------------------------


def _leave_notice(participant: Participant, kind: str, record_id: int | None = None) -> None:
    # Ids only: the session cookie is signed, not encrypted, so no clinical data goes in it.
    session[_NOTICE] = {"participant": participant.participant_id, "kind": kind, "id": record_id}


def _take_notice(participant: Participant) -> tuple[str | None, Assessment | None]:
    """The success message the last submission left for this participant's page, once, and
    the assessment just saved when it needs the risk-procedure prompt."""
    notice = session.pop(_NOTICE, None)
    if not isinstance(notice, dict) or notice.get("participant") != participant.participant_id:
        return None, None
    if notice.get("kind") == "assessment":
        assessment = db_session().get(Assessment, notice.get("id"))
        if assessment is not None and assessment.participant_pk == participant.id:
            return (
                f"{short_name(assessment.instrument)} total {assessment.total}, {assessment.band}",
                assessment if needs_risk_prompt(assessment) else None,
            )
    return _notice_text(participant, notice), None


def _notice_text(participant: Participant, notice: dict[str, Any]) -> str | None:
    db = db_session()
    kind, record_id = notice.get("kind"), notice.get("id")
    if kind == "enrolled":
        return f"Enrolled in the {reference().cohorts[participant.cohort].name.lower()} cohort."
    if kind == "corrected":
        return "Their record has been corrected."
    if kind == "voided":
        return str(notice.get("text", ""))
    if kind == "treatment_trial":
        trial = db.get(TreatmentTrial, record_id)
        if trial is not None and trial.participant_pk == participant.id:
            what = trial.drug or MODALITY_LABELS.get(trial.modality, trial.modality).lower()
            return f"Treatment trial of {what} recorded."
    if kind == "consent":
        consent_record = db.get(ConsentRecord, record_id)
        if consent_record is not None and consent_record.participant_pk == participant.id:
            if consent_record.kind == "change":
                return "Their change of consent has been recorded."
            signed = db.get(ConsentForm, consent_record.consent_form_id)
            assert signed is not None  # a foreign key
            return f"Their consent on {signed.version} has been recorded."
    return None
