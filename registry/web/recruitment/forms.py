"""The recruitment forms: a partner's request, an admin's decision, a clinician's outcome.

As on the participant pages, the forms hold no rules: each turns what was typed into the
body the API takes, for ``RequestArgs``, ``DecisionArgs`` or ``OutcomeArgs`` and the
actions to judge, and puts the errors those name back on its own fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

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
from registry.web.recruitment.display import CONTACT_STATUS_LABELS

CRITERIA = "criteria"
CHOOSE_CRITERIA = "Choose one of your saved queries, or paste the criteria."


class RequestForm(RegistryForm):
    """A partner's request. The criteria come from one of their saved queries or are pasted
    as JSON: exactly one of the two."""

    WHEN_MISSING = {
        "study_title": "Enter the study's title.",
        "sponsor": "Enter the sponsor's name.",
        "ethics_reference": "Enter the study's IRAS ID.",
        "target": "Enter how many participants the study needs.",
        "saved_query": CHOOSE_CRITERIA,
        "criteria_json": CHOOSE_CRITERIA,
    }

    study_title = text_field("Study title")
    sponsor = text_field("Sponsor")
    ethics_reference = text_field("IRAS ID")
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
            else:
                self.criteria_problem = "Choose one of your saved queries."
        elif pasted:
            try:
                body[CRITERIA] = load_json(pasted)
            except json.JSONDecodeError as exc:
                self.criteria_problem = (
                    f"The criteria are not valid JSON: {exc.msg} "
                    f"(line {exc.lineno}, column {exc.colno})."
                )
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
                name, found = CRITERIA, [f"{path}: {message}" for message in messages]
            named.setdefault(name, []).extend(found)
        super().show_errors(named)


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


class OutcomeForm(FlaskForm):
    """One person's outcome, from a row of the contact list (the page draws the select)."""

    status = SelectField(
        "Outcome",
        choices=[SelectChoice(outcome, CONTACT_STATUS_LABELS[outcome]) for outcome in OUTCOMES],
        validate_choice=False,
    )
