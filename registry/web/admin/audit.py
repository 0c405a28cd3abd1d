"""The audit log as a page: filtered, paginated, each event in words; its CSV; the chain's
latest check. Reading the log is itself audited, with the filters used."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError
from wtforms.validators import Optional as Blank

from registry.audit.actions import (
    VERIFY_ACTION,
    record_event,
    record_verification,
    verify_chain,
)
from registry.audit.descriptions import OUTCOME_WORDS, action_choices, describe, when
from registry.audit.models import AuditEvent
from registry.audit.queries import COMMAND_LINE, audit_events, latest_verification
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.csv_cells import defused
from registry.db import count_of, rows_of, session
from registry.eligibility.describe import describe as criteria_sentence
from registry.web.dates import DateInputField
from registry.web.forms import strip_text

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")

PER_PAGE = 50
# The filters, as the query string names them (never an identity: a participant's
# pseudonymous registry id, an account by its number). The dates come as NHS.UK date
# inputs' boxes: ``since-day``, ``since-month``, ``since-year`` and the same for ``until``.
FILTERS = ("actor", "action", "participant_id", "outcome", "since", "until")
DATES = ("since", "until")
ANONYMOUS = "anonymous"


class AuditFilterForm(FlaskForm):
    """The filters, read from the query string (a GET form changes nothing: no CSRF)."""

    class Meta:
        csrf = False

    actor = SelectField("Who did it", validate_choice=False)
    action = SelectField("What they did", validate_choice=False)
    participant_id = StringField(
        "Participant id", filters=[strip_text], validators=[Blank(), Length(max=40)]
    )
    outcome = SelectField("Outcome", validate_choice=False)
    # No schema behind a filter: each date judges its own boxes (``alone``).
    since = DateInputField("Start date", alone=True)
    until = DateInputField("End date", alone=True)

    def validate_until(self, field: DateInputField) -> None:
        if field.date and self.since.date and field.date < self.since.date:
            field.failing = set(field.PARTS)
            raise ValidationError("The end date must be the same as or after the start date.")

    def validate_actor(self, field: SelectField) -> None:
        if field.data and field.data not in {value for value, _ in _plain(field.choices)}:
            raise ValidationError("Choose someone from the list.")

    def validate_action(self, field: SelectField) -> None:
        if field.data and field.data not in action_choices():
            raise ValidationError("Choose an action from the list.")

    def validate_outcome(self, field: SelectField) -> None:
        if field.data and field.data not in OUTCOME_WORDS:
            raise ValidationError("Choose an outcome from the list.")

    def query_args(self) -> dict[str, Any]:
        """The filters as ``audit_events`` takes them (the dates as dates)."""
        args = {name: self[name].data or None for name in FILTERS}
        return args | {"since": self.since.date, "until": self.until.date}

    def used(self) -> dict[str, str]:
        """The filters given, as text (dates in ISO): for the audit record of this read."""
        return {name: str(self[name].data) for name in FILTERS if self[name].data}

    def query(self) -> dict[str, str]:
        """The filters given, as the query string names them: for the page's links (the
        CSV, the next page), so they carry the same filters on."""
        given = {name: value for name, value in self.used().items() if name not in DATES}
        return given | self.since.query() | self.until.query()


def _plain(choices: Any) -> list[tuple[str, str]]:
    return [(c.value, c.label) if isinstance(c, SelectChoice) else tuple(c) for c in choices]


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    accounts = session().execute(
        select(User.id, User.name, User.email, User.role).order_by(User.name)
    )
    form.actor.choices = [
        SelectChoice("", "Anyone"),
        SelectChoice(COMMAND_LINE, "The command line"),
        SelectChoice(ANONYMOUS, "Someone not signed in"),
        *(
            SelectChoice(f"user:{id_}", f"{name} ({email}, {role.value})")
            for id_, name, email, role in accounts
        ),
    ]
    form.action.choices = [
        SelectChoice("", "Anything"),
        *(SelectChoice(k, v) for k, v in action_choices().items()),
    ]
    form.outcome.choices = [
        SelectChoice("", "Any outcome"),
        *(SelectChoice(k, v) for k, v in OUTCOME_WORDS.items()),
    ]
    return form


def actor_names(events: Iterable[AuditEvent]) -> dict[str, str]:
    """Each actor label on these events as a person reads it: "Jo Bloggs (admin)"."""
    labels = {event.actor for event in events}
    ids = [int(label.split(":", 1)[1]) for label in labels if label.startswith("user:")]
    users = session().execute(select(User.id, User.name, User.role).where(User.id.in_(ids)))
    names = {f"user:{id_}": f"{name} ({role.value})" for id_, name, role in users}
    for label in labels:
        if label.startswith("cli:"):
            names[label] = f"Someone at the command line ({label[4:]})"
        elif label == ANONYMOUS:
            names[label] = "Someone not signed in"
        else:
            names.setdefault(label, label)
    return names


@bp.route("/")
@requires(Permission.READ_AUDIT)
def index() -> tuple[str, int]:
    form = _filter_form()
    if not form.validate():
        return _refused(form)
    statement = audit_events(**form.query_args())
    total = count_of(statement)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows: Sequence[AuditEvent] = rows_of(statement, first=(page - 1) * PER_PAGE, size=PER_PAGE)
    names = actor_names(rows)
    events = [describe(event, names[event.actor], _criteria_in_words) for event in rows]
    # Recorded after the read, so this view is not among the events it shows.
    record_event("audit.view", by=acting_as(), details={"filters": form.used(), "page": page})
    return render_template(
        "admin/audit/index.html",
        **_status(),
        form=form,
        events=events,
        total=total,
        page=page,
        pages=pages,
        used=form.query(),
    ), 200


@dataclass(frozen=True)
class ChainStatus:
    """The latest recorded check, in words: for this page and the admin's dashboard."""

    ok: bool
    when: str  # "on 5 Dec 2026 at 14:03"
    by: str  # "Jo Bloggs (admin)", "Someone at the command line"
    events_checked: int
    problem: str | None
    # From `registry audit verify --anchors`: anchors matched, the latest one's event number.
    anchors_matched: int | None = None
    latest_anchor_seq: int | None = None


def chain_status() -> ChainStatus | None:
    """The latest recorded check (walking the chain at every view would not scale); None
    when it has never been checked."""
    checked = latest_verification()
    if checked is None:
        return None
    by = "Someone at the command line"
    if checked.by_user_id is not None:
        user = session().get(User, checked.by_user_id)
        by = f"{user.name} ({user.role.value})" if user else "A removed account"
    return ChainStatus(
        ok=checked.ok,
        when=when(checked.verified_at.isoformat()),
        by=by,
        events_checked=checked.events_checked,
        problem=checked.first_problem,
        anchors_matched=checked.anchors_matched,
        latest_anchor_seq=checked.latest_anchor_seq,
    )


def _status() -> dict[str, Any]:
    return {"check": chain_status()}


@bp.route("/check", methods=["POST"])
@requires(Permission.READ_AUDIT)
def check() -> BaseResponse:
    """Walk the whole chain now, and keep the answer for the page to show."""
    report = verify_chain(session())
    record_verification(report, by=acting_as())
    # The check itself is an audited act (its answer is kept outside the chain, above).
    record_event(
        VERIFY_ACTION,
        by=acting_as(),
        outcome="success" if report.intact else "failure",
        details={"intact": report.intact, "events": report.events},
    )
    return redirect(url_for(".index"))


@bp.route("/events.csv")
@requires(Permission.READ_AUDIT)
def download() -> Response | tuple[str, int]:
    form = _filter_form()
    if not form.validate():
        return _refused(form)
    statement = audit_events(**form.query_args())
    record_event("audit.download", by=acting_as(), details={"filters": form.used()})
    return Response(
        stream_with_context(_csv_rows(statement)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


CSV_BATCH = 500
CSV_HEADER = (
    "Event number",
    "When (UTC)",
    "Who",
    "Role",
    "What happened",
    "Action",
    "Outcome",
    "Participant id",
    "Target",
    "Details",
)


def _csv_rows(statement: Any) -> Iterator[str]:
    """The filtered events a batch at a time, newest first: one line each, formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flushed()
    last: int | None = None
    while True:
        batch_statement = statement if last is None else statement.where(AuditEvent.seq < last)
        batch: list[AuditEvent] = list(session().scalars(batch_statement.limit(CSV_BATCH)))
        if not batch:
            return
        names = actor_names(batch)
        for event in batch:
            described = describe(event, names[event.actor], _criteria_in_words)
            writer.writerow(
                defused(
                    [
                        event.seq,
                        event.at,
                        names[event.actor],
                        event.role or "",
                        described.sentence,
                        event.action,
                        described.outcome,
                        event.participant_id or "",
                        event.target_id or "",
                        event.details,
                    ]
                )
            )
        yield flushed()
        last = batch[-1].seq


def _criteria_in_words(key: str, document: Any) -> str | None:
    return criteria_sentence(document) if key == "criteria" else None


def _refused(form: AuditFilterForm) -> tuple[str, int]:
    """The page again with the filters' problems named, and no events: nothing was read."""
    page = render_template(
        "admin/audit/index.html",
        **_status(),
        form=form,
        events=[],
        total=0,
        page=1,
        pages=1,
        used={},
    )
    return page, 422
