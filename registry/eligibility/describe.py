"""Criteria in words: one sentence for any criteria document, for every page that shows one
(the query page, saved queries, recruitment requests, the decision page, the audit log).

"Treatment-resistant depression (TRD) · Age in years between 18 and 65 · Latest PHQ-9 total
at least 15 · not (Diagnosis (ICD-10) starts with F31)". Fields are named by their labels,
coded values by theirs, operators in words. Total: a document written against an older
catalogue, or not valid at all, still gets a sentence, its unknown parts as they were sent.
Needs no Flask application, so scripts and the audit-log page can call it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from registry.dates_in_words import long_date
from registry.eligibility.catalogue import Field, FieldType, catalogue
from registry.eligibility.criteria import GROUP_KINDS, coded_value

SEPARATOR = " \N{MIDDLE DOT} "
EVERYONE = "Everyone in the registry"
# Each operator in words, as it reads between a field's label and its value.
OPERATOR_WORDS = {
    "=": "is",
    "!=": "is not",
    "<": "less than",
    "<=": "at most",
    ">": "more than",
    ">=": "at least",
    "between": "between",
    "in": "is one of",
    "not_in": "is not one of",
    "startswith": "starts with",
    "exists": "is recorded",
}
# Dates compare as days, in the words of days.
DATE_WORDS = {"<": "before", "<=": "on or before", ">": "after", ">=": "on or after"}
# A yes/no field reads "Remission: yes"; "is not" reads "Remission: not yes".
BOOLEAN_WORDS = {"=": "", "!=": "not "}


def describe(criteria: object) -> str:
    """The criteria document in one sentence of words."""
    if not isinstance(criteria, Mapping):
        return "Criteria that cannot be read"
    parts = []
    cohort = criteria.get("cohort")
    if cohort is not None:
        parts.append(_value(catalogue()["cohort"], cohort))
    parts += _groups(criteria, top=True)
    return SEPARATOR.join(parts) if parts else EVERYONE


def _groups(document: Mapping[str, Any], *, top: bool = False) -> list[str]:
    parts = []
    for kind in GROUP_KINDS:
        members = document.get(kind)
        if not isinstance(members, list):
            continue
        said = [_node(member) for member in members]
        if kind == "all":
            parts += said if top else [" and ".join(said)]
        elif kind == "any":
            parts.append(f"({' or '.join(said)})" if len(said) > 1 else said[0])
        else:
            parts.append(f"not ({' or '.join(said)})")
    return parts


def _node(node: object) -> str:
    if not isinstance(node, Mapping):
        return "?"
    if "field" in node or "op" in node:
        return _clause(node)
    parts = _groups(node)
    return parts[0] if len(parts) == 1 else f"({' and '.join(parts)})"


def _clause(clause: Mapping[str, Any]) -> str:
    name, op = clause.get("field"), clause.get("op")
    field = catalogue().get(name) if isinstance(name, str) else None
    label = field.label if field else str(name)
    words = operator_words(field, op)
    if op == "exists":
        return f"{label} {words}"
    value = clause.get("value")
    if field is not None and field.type is FieldType.BOOLEAN and op in BOOLEAN_WORDS:
        return f"{label}: {BOOLEAN_WORDS[op]}{_value(field, value)}"
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{label} between {_value(field, value[0])} and {_value(field, value[1])}"
    if isinstance(value, list):
        said = [_value(field, item) for item in value]
        listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} or {said[-1]}"
        return f"{label} {words} {listed}"
    return f"{label} {words} {_value(field, value)}"


def operator_words(field: Field | None, op: object) -> str:
    """An operator in words, for this field's type."""
    if not isinstance(op, str):
        return str(op)
    if field is not None and field.type is FieldType.DATE and op in DATE_WORDS:
        return DATE_WORDS[op]
    return OPERATOR_WORDS.get(op, op)


def _value(field: Field | None, value: object) -> str:
    """A value in words: a code by its label, a date as it is written, true as yes."""
    if field is None:
        return str(value)
    if field.values is not None and isinstance(value, str):
        return field.value_label(coded_value(field, value) or value)
    if field.type is FieldType.DATE and isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
        return long_date(day)
    return field.value_label(value)


def differences(before: object, after: object) -> str:
    """What changed from one version of criteria to the next, in words: "Latest PHQ-9
    total at least 15 \N{RIGHTWARDS ARROW} at least 20; added: Sex is Female"."""
    old, new = _top_level(before), _top_level(after)
    removed = [item for item in old if item not in new]
    added = [item for item in new if item not in old]
    said = []
    for key, sentence in list(removed):
        pair = [item for item in added if item[0] == key]
        if key is None or len(pair) != 1 or sum(k == key for k, _ in removed) != 1:
            continue
        label = catalogue()[key].label if key in catalogue() else key
        before_words = sentence.removeprefix(f"{label} ").removeprefix(f"{label}: ")
        after_words = pair[0][1].removeprefix(f"{label} ").removeprefix(f"{label}: ")
        said.append(f"{label} {before_words} \N{RIGHTWARDS ARROW} {after_words}")
        removed.remove((key, sentence))
        added.remove(pair[0])
    if added:
        said.append("added: " + "; ".join(sentence for _, sentence in added))
    if removed:
        said.append("removed: " + "; ".join(sentence for _, sentence in removed))
    return "; ".join(said) if said else "the same criteria"


def _top_level(criteria: object) -> list[tuple[str | None, str]]:
    """(field name, or None for a group; its words) for each top-level part."""
    if not isinstance(criteria, Mapping):
        return [(None, describe(criteria))]
    items: list[tuple[str | None, str]] = []
    if criteria.get("cohort") is not None:
        items.append(("cohort", _value(catalogue()["cohort"], criteria["cohort"])))
    for member in criteria.get("all") or []:
        name = member.get("field") if isinstance(member, Mapping) else None
        items.append((name if isinstance(name, str) else None, _node(member)))
    rest = {kind: criteria[kind] for kind in ("any", "none") if kind in criteria}
    items += [(None, part) for part in _groups(rest)]
    return items
