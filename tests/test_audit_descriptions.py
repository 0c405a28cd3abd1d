"""Every action the code records has words on the audit-log page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from registry.audit.descriptions import DESCRIPTIONS, FAMILIES, description_of

REGISTRY = Path(__file__).resolve().parent.parent / "registry"
# The functions that append to the audit log; wrappers that pass an ``action`` on to one
# of them are found below and join them.
AUDIT_CALLS = {"record_event", "keep_on_record", "AuditEntry"}
ACTION = re.compile(r"^[a-z_]+(\.[a-z_]+)*\.?$")


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _module_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def _names_in(node: ast.expr, constants: dict[str, str]) -> set[str]:
    """The action names an argument can be: literals, module constants, an f-string's
    fixed start (a family, ending in "."), either side of an ``or`` or of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name) and node.id in constants:
        return {constants[node.id]}
    if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
        return {str(node.values[0].value)}
    if isinstance(node, ast.BoolOp):
        return set().union(*(_names_in(value, constants) for value in node.values))
    if isinstance(node, ast.IfExp):
        return _names_in(node.body, constants) | _names_in(node.orelse, constants)
    return set()


def recorded_actions() -> set[str]:
    trees = [ast.parse(path.read_text()) for path in REGISTRY.rglob("*.py")]
    calls = set(AUDIT_CALLS)
    grown = True
    while grown:  # wrappers of wrappers
        grown = False
        for tree in trees:
            for fn in ast.walk(tree):
                if not isinstance(fn, ast.FunctionDef) or fn.name in calls:
                    continue
                if not any(arg.arg == "action" for arg in fn.args.args):
                    continue
                if any(
                    isinstance(c, ast.Call)
                    and _name(c.func) in calls
                    and c.args
                    and isinstance(c.args[0], ast.Name)
                    and c.args[0].id == "action"
                    for c in ast.walk(fn)
                ):
                    calls.add(fn.name)
                    grown = True
    found: set[str] = set()
    for tree in trees:
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in calls:
                arguments = [*node.args[:2], *(k.value for k in node.keywords if k.arg == "action")]
                for argument in arguments:
                    found |= _names_in(argument, constants)
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "audit_action" for t in node.targets
            ):
                found |= _names_in(node.value, constants)
    return {name for name in found if "." in name and ACTION.match(name)}


def test_the_collector_finds_the_known_kinds_of_call() -> None:
    found = recorded_actions()

    assert {"recruitment.approve", "participant.read_identity", "user.change_password"} <= found
    assert {"participant.timeline", "eligibility.saved_query.", "refused."} <= found
    assert {"auth.reauthenticate", "access.denied", "audit.view"} <= found
    assert {"auth.oidc_link", "auth.oidc_unlink"} <= found  # a if c else b


def test_every_recorded_action_is_described() -> None:
    missing = sorted(name for name in recorded_actions() if description_of(name) is None)

    assert not missing, (
        "these audit actions have no words in registry/audit/descriptions.py: " + ", ".join(missing)
    )


def test_families_are_described_by_what_they_start_with() -> None:
    assert set(FAMILIES) <= set(DESCRIPTIONS)
    assert description_of("refused.duplicate_participant") is DESCRIPTIONS["refused."]
