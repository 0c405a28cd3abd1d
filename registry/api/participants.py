"""Participants: enrolment, the clinician's view, a researcher's rows under a data-access
grant, corrections, and the clinical records (assessments, treatment trials) entered
against them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify
from flask_smorest.pagination import PaginationParameters
from marshmallow import RAISE, fields, pre_load
from sqlalchemy import select

from registry.api.blueprint import RegistryBlueprint, SelectPage
from registry.api.schemas import (
    PAGE_PARAMETERS,
    GrantParticipantPageSchema,
    PageSchema,
    page_body,
)
from registry.assessments.actions import (
    describe_recorded_trial,
    describe_trial,
    record_assessment,
    record_treatment_trial,
    void_assessment,
    void_treatment_trial,
)
from registry.assessments.commands import RecordAssessment, RecordTreatmentTrial, VoidRecord
from registry.assessments.models import Assessment, TreatmentTrial
from registry.assessments.queries import record_of
from registry.assessments.schemas import (
    AssessmentArgs,
    AssessmentSchema,
    RecordedTrialSchema,
    TreatmentTrialArgs,
    TreatmentTrialSchema,
    VoidArgs,
)
from registry.auth.models import Site
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.commands import Enrol
from registry.enrolment.corrections import correct_record
from registry.enrolment.schemas import EnrolmentArgs
from registry.errors import ValidationFailed
from registry.exports.actions import list_grant_participants
from registry.exports.queries import usable_grant
from registry.exports.rows import GRANT_REQUIRED
from registry.facts.participant_views import enrolment_view, participant_view, participant_views
from registry.participants.commands import CorrectParticipant, FindParticipant, ParticipantFilter
from registry.participants.models import Participant
from registry.participants.queries import (
    find_visible_by_nhs_number,
    visible_participant,
    visible_participants,
)
from registry.participants.schemas import (
    ParticipantListArgs,
    ParticipantSchema,
    ParticipantSearchArgs,
    ParticipantUpdateArgs,
)

blp = RegistryBlueprint(
    "participants", __name__, description="Participants and their clinical records"
)

VIEW_PURPOSE = "view participant record"
LIST_PURPOSE = "list participants"


class ParticipantQueryArgs(ParticipantListArgs):
    """The list's filters; ``page`` and ``per_page`` are ``@blp.paginate``'s, so they pass
    here unread while any other unknown parameter is refused."""

    @pre_load
    def _leave_paging_to_paginate(self, data: Mapping[str, Any], **kwargs: Any) -> Any:
        return {key: value for key, value in data.items() if key not in PAGE_PARAMETERS}


class ParticipantPageSchema(PageSchema):
    items = fields.List(fields.Nested(ParticipantSchema), required=True)


# A clinician's page, or a researcher's under a grant: either shape answers 200.
LIST_RESPONSE = {
    "description": "A clinician's own site's participants, identifiable; or, for a "
    "researcher, the grant's participants keyed by its study pseudonym.",
    "content": {
        "application/json": {
            "schema": {"anyOf": [ParticipantPageSchema, GrantParticipantPageSchema]}
        }
    },
}


@blp.route("/participants", methods=["POST"])
@requires(Permission.ENROL_PARTICIPANTS)
@blp.arguments(EnrolmentArgs)
@blp.response(201, ParticipantSchema)
@blp.alt_response(409, schema="Error", description="duplicate_participant: already enrolled")
def enrol(enrolment: Enrol) -> dict[str, Any]:
    """Enrol a consenting person at the clinician's own site."""
    user = required_user()
    participant = enrol_participant(enrolment, by=acting_as(), own_site=user.site)
    return enrolment_view(
        participant,
        identity=enrolment.identity(participant.participant_id),
        consent=enrolment.consent.items.by_item(),
        consent_form_version=enrolment.consent.form_version,
        user=user,
    )


@blp.route("/participants", methods=["GET"])
@requires(Permission.VIEW_PARTICIPANTS)
# Unknown parameters are refused: a mistyped search (?nhs=...) must not quietly become
# "list everyone" and audit a page of identifiable records nobody asked for.
@blp.arguments(ParticipantQueryArgs, location="query", unknown=RAISE)
@blp.response(200, ParticipantPageSchema)
@blp.doc(responses={"200": LIST_RESPONSE})
@blp.alt_response(404, schema="Error", description="researchers: no such grant naming them")
@blp.paginate()
def list_participants(
    args: ParticipantFilter, pagination_parameters: PaginationParameters
) -> list[dict[str, Any]] | Response:
    """Clinicians: their own site's participants, identifiable (each one shown is audited).
    Researchers: only under a data-access grant naming them (``grant``, required): its
    participants as rows keyed by the study's pseudonym, with its approved variables alone,
    as its extract holds them; each page audited. Without a grant: 422. A grant they are
    not on: 404, as one that does not exist; expired or revoked: 403."""
    user = required_user()
    if not user.can(Permission.VIEW_IDENTIFIABLE_OWN_SITE):
        return _grant_rows(args, pagination_parameters)
    if args.grant:
        raise ValidationFailed({"grant": ["Clinicians list their own site's participants."]})
    statement = visible_participants(user)
    if args.cohort:
        statement = statement.where(Participant.cohort == args.cohort)
    if args.site:
        statement = statement.join(Site, Site.id == Participant.site_id).where(
            Site.code == args.site
        )
    rows = SelectPage(statement, pagination_parameters).items
    return participant_views(rows, user=user, by=acting_as(), purpose=LIST_PURPOSE)


def _grant_rows(args: ParticipantFilter, parameters: PaginationParameters) -> Response:
    """A researcher's page of a grant's rows, as the response itself: returned as a dict,
    flask-smorest would dump it again with the clinician's schema."""
    if not args.grant:
        raise ValidationFailed({"grant": [GRANT_REQUIRED]})
    grant = usable_grant(required_user(), args.grant)
    rows = list_grant_participants(
        grant,
        cohort=args.cohort,
        site=args.site,
        page=parameters.page,
        per_page=parameters.page_size,
        by=acting_as(),
    )
    parameters.item_count = rows.total
    page = page_body(parameters, rows.items, grant=grant.grant_id)
    return jsonify(GrantParticipantPageSchema().dump(page))


@blp.route("/participants/search", methods=["POST"])
@requires(Permission.VIEW_IDENTIFIABLE_OWN_SITE)
@blp.arguments(ParticipantSearchArgs)
@blp.response(200, ParticipantSchema)
@blp.alt_response(404, schema="Error", description="no participant with this NHS number here")
def search(args: FindParticipant) -> dict[str, Any]:
    """Find one of the clinician's own site's participants by NHS number (through the blind
    index). A POST, so that the number is never in a URL or an access log; audited."""
    user = required_user()
    found = find_visible_by_nhs_number(user, args.nhs_number, by=acting_as())
    return participant_view(found, user=user, by=acting_as(), purpose=VIEW_PURPOSE)


@blp.route("/participants/<participant_id>", methods=["GET"])
@requires(Permission.VIEW_IDENTIFIABLE_OWN_SITE)
@blp.response(200, ParticipantSchema)
def get_participant(participant_id: str) -> dict[str, Any]:
    """One of the clinician's own site's participants, identifiable (audited). Another
    site's participant is 404. Researchers read no one by registry id (403): they see rows
    only under a grant (``GET /participants?grant=…``)."""
    user = required_user()
    participant = visible_participant(user, participant_id)
    return participant_view(participant, user=user, by=acting_as(), purpose=VIEW_PURPOSE)


@blp.route("/participants/<participant_id>", methods=["PATCH"])
@requires(Permission.ENROL_PARTICIPANTS)
@blp.arguments(ParticipantUpdateArgs)
@blp.response(200, ParticipantSchema)
def correct(changes: CorrectParticipant, participant_id: str) -> dict[str, Any]:
    """Correct contact details and demographics; an NHS number or date of birth with a
    ``reason``, under enrolment's checks (Modulus 11 and duplicates, cohort ages, a birth
    before every date the record holds). The value
    replaced is kept only sealed under the participant's key; the audit log names the
    fields, never the values or the reason."""
    user = required_user()
    participant = visible_participant(user, participant_id)
    corrected = correct_record(participant, changes, by=acting_as())
    return participant_view(corrected, user=user, by=acting_as(), purpose=VIEW_PURPOSE)


@blp.route("/participants/<participant_id>/assessments", methods=["POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.arguments(AssessmentArgs)
@blp.response(201, AssessmentSchema)
def add_assessment(args: RecordAssessment, participant_id: str) -> Assessment:
    """Record a rating scale item by item (or its total); ranges checked, total and band
    computed."""
    participant = visible_participant(required_user(), participant_id)
    return record_assessment(participant, args, by=acting_as())


@blp.route("/participants/<participant_id>/assessments", methods=["GET"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.response(200, AssessmentSchema(many=True))
def list_assessments(participant_id: str) -> list[Assessment]:
    """Every assessment of one of the clinician's own participants, newest first."""
    participant = visible_participant(required_user(), participant_id)
    return list(
        session().scalars(
            select(Assessment)
            .where(Assessment.participant_pk == participant.id, Assessment.voided_at.is_(None))
            .order_by(Assessment.administered_on.desc(), Assessment.id.desc())
        )
    )


@blp.route("/participants/<participant_id>/assessments/<assessment_id>/void", methods=["POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.arguments(VoidArgs)
@blp.response(200, AssessmentSchema)
def void_an_assessment(args: VoidRecord, participant_id: str, assessment_id: str) -> Assessment:
    """Void an assessment entered in error (``reason``: a code): it leaves the latest
    scores, eligibility and exports at once; the timeline keeps that it existed. To correct
    one, void it (``wrong_details``) and record it again."""
    participant = visible_participant(required_user(), participant_id)
    assessment = record_of(Assessment, participant.id, assessment_id)
    return void_assessment(assessment, reason=args.reason, by=acting_as())


@blp.route("/participants/<participant_id>/treatment-trials", methods=["POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.arguments(TreatmentTrialArgs)
@blp.response(201, RecordedTrialSchema)
def add_treatment_trial(args: RecordTreatmentTrial, participant_id: str) -> dict[str, Any]:
    """Record a treatment trial (TRD): the drug is matched to the coded list (an unknown one
    is refused with the closest names); failed_adequate_trials (distinct treatments) and the
    Maudsley Staging Method score are recounted."""
    participant = visible_participant(required_user(), participant_id)
    trial = record_treatment_trial(participant, args, by=acting_as())
    return describe_recorded_trial(trial, participant)


@blp.route("/participants/<participant_id>/treatment-trials/<trial_id>/void", methods=["POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.arguments(VoidArgs)
@blp.response(200, TreatmentTrialSchema)
def void_a_treatment_trial(args: VoidRecord, participant_id: str, trial_id: str) -> dict[str, Any]:
    """Void a treatment trial entered in error, as for an assessment: failed adequate
    trials and the Maudsley score are recounted without it."""
    participant = visible_participant(required_user(), participant_id)
    trial = record_of(TreatmentTrial, participant.id, trial_id)
    return describe_trial(
        void_treatment_trial(trial, reason=args.reason, by=acting_as()), participant
    )


@blp.route("/participants/<participant_id>/treatment-trials", methods=["GET"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.response(200, TreatmentTrialSchema(many=True))
def list_treatment_trials(participant_id: str) -> list[dict[str, Any]]:
    """Every treatment trial of one of the clinician's own participants, oldest first; a
    trial recorded before the coded history lists what it could not recover."""
    participant = visible_participant(required_user(), participant_id)
    trials = session().scalars(
        select(TreatmentTrial)
        .where(TreatmentTrial.participant_pk == participant.id, TreatmentTrial.voided_at.is_(None))
        .order_by(TreatmentTrial.started_on, TreatmentTrial.id)
    )
    return [describe_trial(trial, participant) for trial in trials]
