"""The eligibility query page's form: clauses typed row by row, the criteria document they
mean, and the rulebook's errors put back on the rows.

The form holds no rules. It turns what was typed into the criteria document and breakdown
the API takes, for ``count_eligible`` and the saved-query actions to judge, and puts the
errors those name by path (``all[2].value``) on the row that became that clause. Values
are typed as text; ``clause_value`` reads them as the field's type needs ("18" -> 18,
"18 to 65" -> [18, 65], "RXT, RRE" -> ["RXT", "RRE"]), and ``value_text`` writes a saved
value back as text. Anything that does not read as the type is passed on as typed, so the
rulebook says what is wrong with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from registry.auth.permissions import Role
from registry.eligibility.actions import breakdown_choices
from registry.eligibility.catalogue import Field as CatalogueField
from registry.eligibility.catalogue import FieldType, Group, catalogue, catalogue_for
from registry.eligibility.criteria import MAX_CLAUSES
from registry.eligibility.describe import OPERATOR_WORDS
from registry.errors import ValidationFailed
from registry.input_rules import code_of
from registry.participants.reference import reference
from registry.web.forms import RegistryForm, select, strip_text

# The operators in the words ``describe`` uses, so the form and the sentence agree.
OPERATOR_LABELS = {**OPERATOR_WORDS, "between": "between (both ends included)"}
COMBINE_LABELS = {"all": "All of the clauses", "any": "Any of the clauses"}
LIST_OPERATORS = ("in", "not_in")
RANGE_SEPARATOR = " to "
LIST_SEPARATOR = ", "
_RANGE = re.compile(r"\s+to\s+", re.IGNORECASE)
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_YES_NO = {"true": True, "yes": True, "false": False, "no": False}
_CLAUSE_PARTS = ("field", "op", "value")
# Operators a coded value picked from the list may take; more than one value picked means
# "is one of" (or "is not one of").
_PICKED_OPERATORS = ("=", "!=", "in", "not_in")
# A clause's path in a flat document: the group, the clause's place in it, and the part.
_CLAUSE_PATH = re.compile(r"(?P<group>[a-z]+)\[(?P<index>[0-9]+)\]\.(?P<part>field|op|value)")
_BREAKDOWN_PATH = re.compile(r"breakdown(?:\[(?P<index>[0-9]+)\])?")
# Errors that are about the form's own fields, whichever way the criteria were given.
_FORM_FIELDS = {"name": "query_name", "shared": "shared", "advanced": "advanced"}

# What to say when part of a row was left blank: the rulebook's words are for JSON.
WHEN_BLANK = {"field": "Select a field.", "op": "Select an operator.", "value": "Enter a value."}
# The rulebook's JSON-shaped messages, by their codes, as they read on this form.
IN_FORM_WORDS = {
    "range_expected": "Give both ends with \u201cto\u201d between them, for example 18 to 65.",
    "list_expected": "Give one or more values, separated by commas.",
    "value_not_taken": "Leave the value empty for \u201cis recorded\u201d.",
}


# -- values typed as text -------------------------------------------------------------------


def clause_value(field_name: str, op: str, text: str) -> Any:
    """A value typed as text, as the criteria language takes it for this field and operator."""
    field = catalogue().get(field_name)
    if op in LIST_OPERATORS:
        return [_scalar(field, part.strip()) for part in text.split(",") if part.strip()]
    if op == "between":
        ends = _RANGE.split(text.strip())
        return [_scalar(field, end) for end in ends] if len(ends) == 2 else text
    return _scalar(field, text)


def _scalar(field: CatalogueField | None, text: str) -> Any:
    if field is not None and field.type is FieldType.INTEGER and _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    if field is not None and field.type is FieldType.BOOLEAN:
        return _YES_NO.get(text.lower(), text)
    return text


def value_text(op: str, value: Any) -> str:
    """A criteria document's value as it would be typed on this form."""
    if isinstance(value, list):
        separator = RANGE_SEPARATOR if op == "between" else LIST_SEPARATOR
        return separator.join(_scalar_text(item) for item in value)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_blank(row: Mapping[str, Any]) -> bool:
    # An operator alone says nothing: new rows start with none, but a browser may keep one.
    return not row.get("field") and not row.get("value") and not row.get("choices")


def picked(op: str, values: Sequence[str]) -> tuple[str, Any]:
    """(operator, value) for coded values picked from a list: one value is itself, several
    are a list ("is" several values means "is one of"). No operator chosen means "is"."""
    op = op or "="
    if op in ("in", "not_in"):
        return op, list(values)
    if len(values) == 1:
        return op, values[0]
    return ("not_in" if op == "!=" else "in"), list(values)


def coded_field(name: object) -> CatalogueField | None:
    """The catalogue field of this name if its values are picked from a list."""
    field = catalogue().get(name) if isinstance(name, str) else None
    return field if field is not None and field.values is not None else None


def criteria_document(
    cohort: str | None, combine: str, rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The document a flat form means: its clauses (blank rows already left out), joined
    by ``combine``. A blank part is sent as missing, for the rulebook to name."""
    document: dict[str, Any] = {}
    if cohort:
        document["cohort"] = cohort
    clauses = []
    for row in rows:
        # field and op are always sent, so the rulebook reads each row as a clause.
        clause: dict[str, Any] = {"field": row.get("field") or None, "op": row.get("op") or None}
        chosen = [value for value in row.get("choices") or [] if value]
        picking = coded_field(row.get("field")) is not None and not row.get("value")
        if picking and (row.get("op") or "=") in _PICKED_OPERATORS:
            # Ticking values needs no operator: "is" them, or "is one of" several.
            if chosen:
                clause["op"], clause["value"] = picked(row.get("op") or "", chosen)
            else:
                clause["op"] = row.get("op") or "="
        elif row.get("value"):
            clause["value"] = clause_value(
                row.get("field") or "", row.get("op") or "", row["value"]
            )
        clauses.append(clause)
    if clauses:
        document[combine] = clauses
    return document


def _flat_rows(document: Any) -> tuple[str, str, list[dict[str, Any]]] | None:
    """(cohort, combine, rows) when the form can show this document exactly, else None."""
    if not isinstance(document, dict):
        return None
    cohort = document.get("cohort") or ""
    groups = [key for key in document if key != "cohort"]
    if not isinstance(cohort, str) or len(groups) > 1 or not set(groups) <= set(COMBINE_LABELS):
        return None
    combine = groups[0] if groups else "all"
    members = document.get(combine, [])
    if not isinstance(members, list):
        return None
    rows: list[dict[str, Any]] = []
    for clause in members:
        if not isinstance(clause, dict) or not set(clause) <= set(_CLAUSE_PARTS):
            return None
        field, op = clause.get("field"), clause.get("op")
        if not isinstance(field, str) or not isinstance(op, str):
            return None
        known = catalogue().get(field)
        value = clause.get("value")
        if known is not None and known.values is not None and op in _PICKED_OPERATORS:
            # A coded value is picked from its list, not typed.
            chosen = value if isinstance(value, list) else [value]
            rows.append({"field": field, "op": op, "value": "", "choices": chosen})
            continue
        text = value_text(op, value) if "value" in clause else ""
        rows.append({"field": field, "op": op, "value": text})
    # Only if the rows mean exactly what was saved: a comma inside one code would not.
    if criteria_document(cohort, combine, rows) != document:
        return None
    return cohort, combine, rows


# -- the form -------------------------------------------------------------------------------


class ClauseForm(Form):
    """One row: field, operator, value. ``query_form_for`` offers the role's fields."""

    field = select("Field", {})
    op = select("Operator", OPERATOR_LABELS)
    value = StringField("Value", filters=[strip_text])
    # A coded field's values, picked rather than typed (the page shows them as checkboxes
    # once the row's field is known).
    choices = SelectMultipleField("Values", choices=[], validate_choice=False)


class QueryForm(RegistryForm):
    """Criteria as a flat list of clauses (or as JSON, for nested groups), an optional
    breakdown, and what saving needs. ``query_form_for`` gives the class for a role."""

    cohort = select(
        "Cohort", {code: f"{rule.name} ({code})" for code, rule in reference().cohorts.items()}
    )
    combine = RadioField(
        "Count people who meet",
        choices=[SelectChoice(value, text) for value, text in COMBINE_LABELS.items()],
        default="all",
        validate_choice=False,
    )
    clauses = FieldList(FormField(ClauseForm), min_entries=1, max_entries=MAX_CLAUSES)
    # The buttons that change the rows (no JavaScript): "Add a clause", and each row's
    # "Remove", which sends that row's place in the list.
    add_clause = SubmitField("Add a clause")
    remove_clause = StringField()
    advanced = TextAreaField("Criteria as JSON", filters=[strip_text])
    breakdown_1 = select("Break the count down by", {})
    breakdown_2 = select("And then by", {})
    query_name = StringField("Name", filters=[strip_text])
    shared = BooleanField("Share it with others of my role in my organisation")
    # The saved query this one was loaded from, so it can be saved as its next version.
    query_id = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clause_rows: list[int] | None = []  # clause i came from row [i]; None: JSON
        self._breakdown_sources: list[Field] = []

    @staticmethod
    def values_of(document: Any, breakdown: Sequence[str], query_id: str) -> dict[str, Any]:
        """What the form starts with for a saved query: rows if it is flat, else JSON."""
        values: dict[str, Any] = {"query_id": query_id}
        for field_name, chosen in zip(("breakdown_1", "breakdown_2"), breakdown, strict=False):
            values[field_name] = chosen
        flat = _flat_rows(document)
        if flat is None:
            values["advanced"] = json.dumps(document, indent=2)
        else:
            values["cohort"], values["combine"], values["clauses"] = flat
        return values

    # -- editing the rows ---------------------------------------------------------------------

    @property
    def can_add_clause(self) -> bool:
        return len(self.clauses) < MAX_CLAUSES

    def apply_edit(self) -> None:
        """Add a row, or remove the one whose "Remove" was pressed; nothing is counted."""
        removed = self.remove_clause.data or ""
        if removed.isdigit():
            self._remove_row(int(removed))
        elif self.add_clause.data and self.can_add_clause:
            self.clauses.append_entry()

    def _remove_row(self, index: int) -> None:
        rows = [entry.data for entry in self.clauses]
        if index < len(rows):
            del rows[index]
        # Rebuilt rather than popped, so the rows are numbered 0, 1, ... again.
        while self.clauses.entries:
            self.clauses.pop_entry()
        for row in rows or [{}]:
            self.clauses.append_entry(row)

    # -- what the form means ------------------------------------------------------------------

    def criteria(self) -> Any:
        """The criteria document typed here; ValidationFailed if the form cannot say one."""
        rows = [(i, entry.data) for i, entry in enumerate(self.clauses)]
        given = [(i, row) for i, row in rows if not _is_blank(row)]
        text = self.advanced.data or ""
        if text:
            if given or self.cohort.data:
                raise ValidationFailed(
                    {
                        "advanced": [
                            "Give the criteria either as clauses or as JSON, not both: clear "
                            "the cohort and the clauses, or the JSON."
                        ]
                    }
                )
            self._clause_rows = None
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                raise ValidationFailed(
                    {"advanced": ["This is not JSON: check the brackets, commas and quotes."]}
                ) from None
        self._clause_rows = [i for i, _ in given]
        return criteria_document(self.cohort.data, self._combine, [row for _, row in given])

    @property
    def _combine(self) -> str:
        return self.combine.data or "all"

    def breakdown(self) -> list[str]:
        """The fields chosen to break the count down by, in order."""
        self._breakdown_sources = [f for f in (self.breakdown_1, self.breakdown_2) if f.data]
        return [str(f.data) for f in self._breakdown_sources]

    # -- the rulebook's errors, on the form ---------------------------------------------------

    def field_for(self, error_name: str) -> Field | None:
        if error_name in _FORM_FIELDS:
            return self._fields.get(_FORM_FIELDS[error_name])
        breakdown = _BREAKDOWN_PATH.fullmatch(error_name)
        if breakdown:
            # "breakdown" itself (the same field twice, say) is about the last one chosen.
            sources = self._breakdown_sources or [self.breakdown_1]
            index = int(breakdown["index"]) if breakdown["index"] else len(sources) - 1
            return sources[min(index, len(sources) - 1)]
        if self._clause_rows is None:  # given as JSON: every criteria error is the JSON's
            return self.advanced
        if error_name == "cohort":
            return self.cohort
        return self._clause_box(error_name)

    def _clause_box(self, error_name: str) -> Field | None:
        """The box (field, operator or value) of the row a clause's error path names."""
        clause = _CLAUSE_PATH.fullmatch(error_name)
        rows = self._clause_rows or []
        if clause is None or clause["group"] != self._combine:
            return None
        index = int(clause["index"])
        if index >= len(rows):
            return None
        row = self.clauses[rows[index]].form
        if clause["part"] == "value" and coded_field(row.field.data) and not row.value.data:
            return row.choices  # a coded value is picked, not typed
        box: Field = row[clause["part"]]
        return box

    def show_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().show_errors(
            {
                path: [self._in_form_words(path, m) for m in messages]
                for path, messages in errors.items()
            }
        )

    def _in_form_words(self, path: str, message: str) -> str:
        """A criteria error in the JSON names its path; a blank box is asked for; the
        rulebook's JSON-shaped words are said as this form would say them."""
        about_json = path not in _FORM_FIELDS and not _BREAKDOWN_PATH.fullmatch(path)
        if self._clause_rows is None and about_json:
            return message if path == "_schema" else f"{path}: {message}"
        box = self._clause_box(path)
        if box is not None and not box.data:
            if box.short_name == "choices":
                field = coded_field(self.clauses[int(box.name.split("-")[1])].form.field.data)
                return f"Choose a value for {field.label if field else 'this field'}."
            return WHEN_BLANK[box.short_name]
        return IN_FORM_WORDS.get(code_of(message) or "", message)

    def has_errors(self) -> bool:
        # Errors put on a row's boxes after validation are not in WTForms' ``errors``.
        return bool(self.error_links())

    def error_links(self) -> list[dict[str, str]]:
        """The error summary's entries, in page order, each linking to its field."""
        links = [{"text": message, "href": "#maincontent"} for message in self.form_errors]
        fields: list[Field] = [self.cohort, self.combine]
        for entry in self.clauses:
            fields += [entry.form[part] for part in (*_CLAUSE_PARTS, "choices")]
        fields += [self.advanced, self.breakdown_1, self.breakdown_2, self.query_name, self.shared]
        for field in fields:
            links += [{"text": message, "href": f"#{field.id}"} for message in field.errors]
        return links


@cache  # one class per role, not one per request
def query_form_for(role: Role) -> type[QueryForm]:
    """The query form with the fields this role may use and break counts down by."""
    order = list(Group)
    fields = sorted(catalogue_for(role)["fields"], key=lambda f: order.index(Group(f["group"])))
    grouped = [SelectChoice(f["name"], f["label"], optgroup=f["group"]) for f in fields]
    clause_form = type(
        f"{role.name.title()}ClauseForm",
        (ClauseForm,),
        {"field": SelectField("Field", choices=grouped, validate_choice=False)},
    )
    breakdowns = {name: catalogue()[name].label for name in breakdown_choices(role)}
    return type(
        f"{role.name.title()}QueryForm",
        (QueryForm,),
        {
            "clauses": FieldList(FormField(clause_form), min_entries=1, max_entries=MAX_CLAUSES),
            "breakdown_1": select("Break the count down by", breakdowns),
            "breakdown_2": select("And then by", breakdowns),
        },
    )
