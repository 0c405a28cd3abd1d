"""A criteria document, validated into a typed tree.

Every problem is reported at once, each under the exact path of what is wrong (for
example ``all[2].any[0].value``), as ``ValidationFailed``; messages never repeat what the
client sent. ``normalised`` gives one canonical JSON text per meaning, so a repeated query
can be recognised however its clauses were ordered.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from registry.auth.permissions import Role
from registry.eligibility.catalogue import ALL_OPERATORS, Field, FieldType, catalogue
from registry.errors import ValidationFailed
from registry.input_rules import CodedMessage
from registry.participants.reference import reference

MAX_DEPTH = 5  # groups inside groups; the top-level lists are depth 1
MAX_CLAUSES = 50
MAX_LIST_VALUES = 200

GroupKind = Literal["all", "any", "none"]
GROUP_KINDS: tuple[GroupKind, ...] = ("all", "any", "none")
Scalar = str | int | bool | dt.date
# What a clause compares with: one value, a list (in, not_in), a pair (between), or
# nothing (exists).
ClauseValue = Scalar | tuple[Scalar, ...] | None

_CLAUSE_KEYS = frozenset({"field", "op", "value"})
_TOP_KEYS = frozenset({"cohort", *GROUP_KINDS})
# Upper-cased before checking: codes are stored upper-case; only letters, digits and a dot.
_TEXT_PATTERNS = {
    "diagnosis_icd10": re.compile(r"[A-Z][0-9A-Z.]*"),
    "postcode_district": re.compile(r"[A-Z][0-9A-Z]*"),
}
_SITE_CODE = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True, slots=True)
class Clause:
    field: Field
    op: str
    value: ClauseValue


@dataclass(frozen=True, slots=True)
class Group:
    """Members joined by AND (all), OR (any), or NOT (… OR …) (none)."""

    kind: GroupKind
    members: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Conjunction:
    """A group object: its lists, each present one ANDed with the others."""

    groups: tuple[Group, ...]


Node = Clause | Conjunction


@dataclass(frozen=True, slots=True)
class Criteria:
    cohort: str | None
    groups: tuple[Group, ...]


# A field's name -> why it may not be used here (the message at its place), or None.
Refusal = Callable[[str], str | None]


def parse_criteria(
    document: object, *, role: Role | str, refuse: Refusal | None = None
) -> Criteria:
    """The typed tree of a criteria document, for a role; ValidationFailed naming each path.

    ``refuse`` narrows the role's fields further (the cohort counts as a field): under a
    data-access grant, to what its variables already show."""
    return _Parser(Role(role), refuse).criteria(document)


class _Parser:
    def __init__(self, role: Role, refuse: Refusal | None = None) -> None:
        self.role = role
        self.refuse = refuse
        self.errors: dict[str, list[str]] = {}
        self.clauses = 0

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path or "_schema", []).append(message)

    def criteria(self, document: object) -> Criteria:
        if not isinstance(document, Mapping):
            raise ValidationFailed({"_schema": ["Send the criteria as a JSON object."]})
        self.unknown_keys(document, _TOP_KEYS, "")
        cohort = document.get("cohort")
        if cohort is not None and (
            not isinstance(cohort, str) or cohort not in reference().cohorts
        ):
            self.fail("cohort", f"Choose one of {', '.join(reference().cohorts)}.")
        elif cohort is not None and self.refuse and (why := self.refuse("cohort")):
            self.fail("cohort", why)
        groups = self.groups(document, "", depth=1)
        if self.clauses > MAX_CLAUSES:
            self.fail("_schema", f"Use at most {MAX_CLAUSES} clauses; there are {self.clauses}.")
        if self.errors:
            raise ValidationFailed(self.errors)
        return Criteria(cohort=cohort, groups=groups)

    def unknown_keys(self, document: Mapping[Any, Any], known: frozenset[str], path: str) -> None:
        for key in document:
            if key not in known:
                # The path names the key only when it is a plain name: never echo odd input.
                name = key if isinstance(key, str) and key.isidentifier() else "?"
                self.fail(_join(path, name), f"Unknown key; use {', '.join(sorted(known))}.")

    def groups(self, document: Mapping[Any, Any], path: str, *, depth: int) -> tuple[Group, ...]:
        groups = []
        for kind in GROUP_KINDS:
            if kind not in document:
                continue
            members = document[kind]
            list_path = _join(path, kind)
            if not isinstance(members, list) or not members:
                self.fail(list_path, "Give a non-empty list of clauses or groups.")
                continue
            if depth > MAX_DEPTH:
                self.fail(list_path, f"Groups may be nested at most {MAX_DEPTH} deep.")
                continue
            nodes = [self.node(m, f"{list_path}[{i}]", depth=depth) for i, m in enumerate(members)]
            groups.append(Group(kind, tuple(n for n in nodes if n is not None)))
        return tuple(groups)

    def node(self, document: object, path: str, *, depth: int) -> Node | None:
        if not isinstance(document, Mapping):
            self.fail(path, "Give a clause (field, op, value) or a group (all, any, none).")
            return None
        if "field" in document or "op" in document:
            self.clauses += 1
            self.unknown_keys(document, _CLAUSE_KEYS, path)
            return self.clause(document, path)
        self.unknown_keys(document, frozenset(GROUP_KINDS), path)
        if not any(kind in document for kind in GROUP_KINDS):
            self.fail(path, "Give a clause (field, op, value) or a group (all, any, none).")
            return None
        return Conjunction(self.groups(document, path, depth=depth + 1))

    def clause(self, document: Mapping[Any, Any], path: str) -> Clause | None:
        name, op = document.get("field"), document.get("op")
        field = catalogue().get(name) if isinstance(name, str) else None
        if field is None:
            self.fail(_join(path, "field"), "Unknown field; see the field catalogue.")
        elif self.role not in field.roles:
            self.fail(_join(path, "field"), "Your role may not use this field.")
            field = None
        elif self.refuse and (why := self.refuse(field.name)):
            self.fail(_join(path, "field"), why)
            field = None
        if op not in ALL_OPERATORS:
            self.fail(_join(path, "op"), f"Use one of {', '.join(ALL_OPERATORS)}.")
            return None
        if field is None:
            return None
        if op not in field.operators:
            self.fail(_join(path, "op"), f"This field allows {', '.join(field.operators)}.")
            return None
        value_path = _join(path, "value")
        if op == "exists":
            if "value" in document:
                self.fail(value_path, CodedMessage("exists takes no value.", "value_not_taken"))
                return None
            return Clause(field, op, None)
        if "value" not in document:
            self.fail(value_path, "Give a value.")
            return None
        value = self.clause_value(field, op, document["value"], value_path)
        return None if value is None else Clause(field, op, value)

    def clause_value(self, field: Field, op: str, raw: object, path: str) -> ClauseValue:
        if op in ("in", "not_in"):
            if not isinstance(raw, list) or not raw:
                self.fail(path, CodedMessage("Give a non-empty list.", "list_expected"))
                return None
            if len(raw) > MAX_LIST_VALUES:
                self.fail(path, f"Give at most {MAX_LIST_VALUES} values.")
                return None
            items = [
                self.scalar(field, op, item, path, f"Item {i + 1}") for i, item in enumerate(raw)
            ]
            if any(item is None for item in items):
                return None
            return tuple(sorted(set(items), key=_sort_key))  # type: ignore[arg-type]
        if op == "between":
            if not isinstance(raw, list) or len(raw) != 2:
                self.fail(path, CodedMessage("Give [low, high].", "range_expected"))
                return None
            low = self.scalar(field, op, raw[0], path, "The low end")
            high = self.scalar(field, op, raw[1], path, "The high end")
            if low is None or high is None:
                return None
            if _sort_key(low) > _sort_key(high):
                self.fail(path, "The low end must not be above the high end.")
                return None
            return (low, high)
        return self.scalar(field, op, raw, path, "The value")

    def scalar(self, field: Field, op: str, raw: object, path: str, what: str) -> Scalar | None:
        problem, value = _checked_scalar(field, op, raw)
        if problem:
            self.fail(path, f"{what} {problem}")
            return None
        return value


def _checked_scalar(field: Field, op: str, raw: object) -> tuple[str | None, Scalar | None]:
    """(problem, value): the value as the field holds it, or why it cannot be."""
    if field.type is FieldType.BOOLEAN:
        return (None, raw) if isinstance(raw, bool) else ("must be true or false.", None)
    if field.type is FieldType.INTEGER:
        # bool is a subclass of int, but true is not a number.
        if not isinstance(raw, int) or isinstance(raw, bool):
            return "must be a whole number.", None
        assert field.minimum is not None and field.maximum is not None
        if not field.minimum <= raw <= field.maximum:
            return f"must be from {field.minimum} to {field.maximum}.", None
        return None, raw
    if field.type is FieldType.DATE:
        if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            try:
                return None, dt.date.fromisoformat(raw)
            except ValueError:
                pass
        return "must be a date, YYYY-MM-DD.", None
    if not isinstance(raw, str) or not raw:
        return "must be a non-empty text.", None
    if field.values is not None:
        code = coded_value(field, raw)
        if code is None:
            labels = field.value_labels or field.values
            return f"must be one of: {'; '.join(labels)}.", None
        return None, code
    text = raw.strip().upper()
    pattern = _TEXT_PATTERNS.get(field.name, _SITE_CODE)
    if field.max_length is not None and len(text) > field.max_length:
        return f"must be at most {field.max_length} characters.", None
    if not pattern.fullmatch(text):
        return "must be letters, digits (and dots in a diagnosis code) only.", None
    return None, text


def coded_value(field: Field, text: str) -> str | None:
    """The code a coded field's value means, given as its code or its label; None if neither."""
    if field.values is not None and text in field.values:
        return text
    return _codes_by_label(field.name).get(_folded(text))


def _folded(text: str) -> str:
    # Case, spacing and the dash typed (a hyphen for an en dash) do not change the value meant.
    return " ".join(text.replace("\N{EN DASH}", "-").casefold().split())


@cache
def _codes_by_label(field_name: str) -> dict[str, str]:
    """A coded field's values by their labels, folded: "white - british (a)", "white -
    british" and "a" all mean A. A spelling two values share means neither (none do)."""
    field = catalogue()[field_name]
    assert field.values is not None
    found: dict[str, set[str]] = {}
    for code, label in zip(field.values, field.value_labels or field.values, strict=True):
        bare = label.removesuffix(f" ({code})")
        for spelling in (code, label, bare):
            found.setdefault(_folded(spelling), set()).add(code)
    return {spelling: codes.pop() for spelling, codes in found.items() if len(codes) == 1}


def _sort_key(value: Scalar) -> tuple[str, Any]:
    # Values of one field share a type; the type name keeps mixed lists from raising.
    return (type(value).__name__, value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- canonical form ----------------------------------------------------------------------


def normalised(criteria: Criteria) -> str:
    """Canonical JSON: sorted keys, `in` lists sorted and deduplicated, each group's
    members sorted and deduplicated, so equal meanings give equal text."""
    document: dict[str, Any] = {}
    if criteria.cohort is not None:
        document["cohort"] = criteria.cohort
    document.update(_groups_json(criteria.groups))
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _groups_json(groups: tuple[Group, ...]) -> dict[str, Any]:
    merged: dict[str, set[str]] = {}
    for group in groups:
        members = merged.setdefault(group.kind, set())
        members.update(_canonical(_node_json(member)) for member in group.members)
    return {kind: [json.loads(text) for text in sorted(texts)] for kind, texts in merged.items()}


def _node_json(node: Node) -> dict[str, Any]:
    if isinstance(node, Conjunction):
        return _groups_json(node.groups)
    clause: dict[str, Any] = {"field": node.field.name, "op": node.op}
    if node.value is not None:
        clause["value"] = _value_json(node.value)
    return clause


def _value_json(value: ClauseValue) -> Any:
    if isinstance(value, tuple):
        return [_value_json(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
