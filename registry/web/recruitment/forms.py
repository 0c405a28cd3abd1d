"""The recruitment forms: a partner's request, an admin's decision and approval, a clinician's
outcome and the contact list's filters.

As on the participant pages, the forms hold no rules: each turns what was typed into the
body the API takes, for ``RequestArgs``, ``DecisionArgs`` or ``OutcomeArgs`` and the
actions to judge, and puts the errors those name back on its own fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.eligibility.catalogue import catalogue
from registry.input_rules import TooDeeplyNested, load_json
from registry.recruitment.models import OUTCOMES
from registry.web.dates import DateInputField
from registry.web.forms import (
    RegistryForm,
    strip_text,
    text_field,
    whole_number,
    without_blanks,
)
from registry.web.recruitment.display import CONTACT_STATUS_LABELS, OUTCOME_CHOICE_LABELS

CRITERIA = "criteria"
CHOOSE_CRITERIA = "Choose one of your saved queries, or paste the criteria."
# Python's JSON parser's messages, as a person would say them.
JSON_WORDS = {
    "Expecting ',' delimiter": "a comma (or a closing bracket) is missing",
    "Expecting ':' delimiter": "a colon is missing after a name",
    "Expecting property name enclosed in double quotes": (
        'a name must be in double quotes, like "field" (or there is a comma too many)'
    ),
    "Expecting value": "a value is missing (or there is a comma too many)",
    "Extra data": "there is more after the end of the criteria",
    "Unterminated string starting at": "a quotation mark is not closed",
    "Invalid control character at": "a line break is inside quotation marks",
}
_STEP = re.compile(r"(all|any|none)\[([0-9]+)\]")


def clause_words(document: object, path: str, message: str) -> str:
    """A criteria error in words at its clause: "Clause 2: choose a value for Sex." The path
    (``all[1].value``) names the clause; the clause's field names what is asked for."""
    node: Any = document
    numbers = []
    for kind, index in _STEP.findall(path):
        members = node.get(kind) if isinstance(node, Mapping) else None
        node = (
            members[int(index)] if isinstance(members, list) and int(index) < len(members) else None
        )
        numbers.append(str(int(index) + 1))
    if not numbers:
        return message if path == "_schema" else f"{path.capitalize()}: {message}"
    where = (
        "Clause " + ", clause ".join(numbers)
        if len(numbers) == 1
        else ("Clause " + numbers[0] + " (inside it, clause " + ", clause ".join(numbers[1:]) + ")")
    )
    name = node.get("field") if isinstance(node, Mapping) else None
    field = catalogue().get(name) if isinstance(name, str) else None
    part = path.rsplit(".", 1)[-1]
    if field is not None and part == "value" and message == "Give a value.":
        verb = "choose" if field.values is not None else "enter"
        return f"{where}: {verb} a value for {field.label}."
    if field is not None and part in ("value", "op"):
        return f"{where} ({field.label}): {message}"
    return f"{where}: {message}"


def json_problem(exc: json.JSONDecodeError) -> str:
    words = next((said for known, said in JSON_WORDS.items() if exc.msg.startswith(known)), None)
    return (
        f"The criteria are not valid JSON: at line {exc.lineno}, column {exc.colno}, "
        f"{words or 'something is not as JSON writes it'}."
    )


class RequestForm(RegistryForm):
    """A partner's request. The criteria come from one of their saved queries or are pasted
    as JSON: exactly one of the two."""

    WHEN_MISSING = {
        "study_title": "Enter the study's title.",
        "sponsor": "Enter the sponsor's name.",
        "ethics_reference": "Enter the study's IRAS ID or REC reference.",
        "target": "Enter how many participants the study needs.",
        "saved_query": CHOOSE_CRITERIA,
        "criteria_json": CHOOSE_CRITERIA,
    }

    study_title = text_field("Study title")
    sponsor = text_field("Sponsor")
    ethics_reference = text_field("Ethics reference: IRAS ID or REC reference")
    target = text_field("How many participants the study needs")
    contact_from = DateInputField("First day clinicians may contact people (optional)")
    contact_until = DateInputField("Last day clinicians may contact people (optional)")
    lay_summary = TextAreaField("Summary for patients (optional)", filters=[strip_text])
    # No choice check of its own: ``request_body`` looks the id up among the user's queries.
    saved_query = SelectField("One of your saved queries", choices=[], validate_choice=False)
    criteria_json = TextAreaField("Or paste the criteria as JSON", filters=[strip_text])

    # Why the criteria could not be told, when they could not: the rulebook only knows
    # that they are missing.
    criteria_problem: str | None = None
    # The criteria as told, to say criteria errors at their clauses.
    criteria_document: Any = None

    @staticmethod
    def saved_query_choices(saved: Mapping[str, Mapping[str, Any]]) -> list[SelectChoice]:
        """One choice per saved query (id -> ``saved_query_view``), its latest version named."""
        return [
            SelectChoice(query_id, f"{query['name']} (version {query['latest']['version']})")
            for query_id, query in saved.items()
        ]

    def request_body(self, saved: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The API's request body for what was typed, a chosen query giving its latest
        version's criteria (``saved``: the user's queries, id -> ``saved_query_view``).
        Criteria that cannot be told (none, both, an unknown query, JSON that does not
        parse) are left out, as missing, and ``criteria_problem`` says why."""
        body = without_blanks(
            {
                "study_title": self.study_title.data,
                "sponsor": self.sponsor.data,
                "ethics_reference": self.ethics_reference.data,
                "target": whole_number(self.target.data),
                "contact_from": self.contact_from.data,
                "contact_until": self.contact_until.data,
                "lay_summary": self.lay_summary.data,
            }
        )
        chosen, pasted = self.saved_query.data, self.criteria_json.data
        if chosen and pasted:
            self.criteria_problem = "Choose a saved query or paste criteria, not both."
        elif chosen:
            if chosen in saved:
                body[CRITERIA] = saved[chosen]["latest"]["criteria"]
                self.criteria_document = body[CRITERIA]
            else:
                self.criteria_problem = "Choose one of your saved queries."
        elif pasted:
            try:
                body[CRITERIA] = self.criteria_document = load_json(pasted)
            except json.JSONDecodeError as exc:
                self.criteria_problem = json_problem(exc)
            except TooDeeplyNested as exc:
                self.criteria_problem = f"The criteria cannot be read. {exc}"
        else:
            self.criteria_problem = CHOOSE_CRITERIA
        return body

    def field_for(self, error_name: str) -> Field | None:
        if error_name != CRITERIA:
            return super().field_for(error_name)
        # On whichever field the criteria came from; the JSON box if that is unclear.
        if self.saved_query.data and not self.criteria_json.data:
            return self.saved_query
        return self.criteria_json

    def show_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        """Errors inside the criteria are named by their path (``criteria.all[1].value``):
        they go on the criteria's field, the path leading each message."""
        named: dict[str, list[str]] = {}
        for name, messages in errors.items():
            found = list(messages)
            if name == CRITERIA and self.criteria_problem:
                found = [self.criteria_problem]
            elif name.startswith(f"{CRITERIA}."):
                path = name.removeprefix(f"{CRITERIA}.")
                document = self.criteria_document
                name, found = CRITERIA, [clause_words(document, path, m) for m in messages]
            named.setdefault(name, []).extend(found)
        super().show_errors(named)


# Approving goes on to its check page (the number to be listed, an optional cap).
DECISIONS = {"approve": "Approve", "reject": "Reject"}


class DecisionForm(RegistryForm):
    WHEN_MISSING = {"decision": "Choose approve or reject."}

    decision = RadioField(
        "Your decision",
        choices=[SelectChoice(value, text) for value, text in DECISIONS.items()],
        validate_choice=False,
    )
    note = TextAreaField("Note to the partner (needed to reject)", filters=[strip_text])

    def offer_rejection_only(self) -> None:
        """For a list too small to approve: approving would only be refused."""
        self.decision.choices = [SelectChoice("reject", DECISIONS["reject"])]

    def decision_body(self) -> dict[str, Any]:
        """The API's decision body. No choice is sent as null, which the schema refuses."""
        return {"decision": self.decision.data or None, "note": self.note.data or None}


class ApprovalForm(RegistryForm):
    """The approval's check page: an optional cap, and a note to the partner."""

    cap = text_field("List at most this many people, chosen at random (optional)")
    note = TextAreaField("Note to the partner (optional)", filters=[strip_text])

    def decision_body(self) -> dict[str, Any]:
        return {
            "decision": "approve",
            "note": self.note.data or None,
            "cap": whole_number(self.cap.data),
        }


class OutcomeForm(FlaskForm):
    """One person's outcome, from a row of the contact list (the page draws the select,
    with a blank first choice: nothing is preset, a clinician must choose)."""

    status = SelectField(
        "Outcome",
        choices=[SelectChoice(outcome, OUTCOME_CHOICE_LABELS[outcome]) for outcome in OUTCOMES],
        validate_choice=False,
    )
    # Where the clinician was on the list, so that saving returns there.
    page = StringField()
    list_status = StringField()
    new = StringField()
    since = StringField()


CHOOSE_OUTCOME = "Choose an outcome."


class ContactFilterForm(FlaskForm):
    """The contact list's filters, sent by GET: they name statuses, never a person."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "Any status"),
            *(SelectChoice(value, label) for value, label in CONTACT_STATUS_LABELS.items()),
        ],
        validate_choice=False,
    )
    new = BooleanField("Only people new since my last visit")
