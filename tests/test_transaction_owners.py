"""One owner per transaction: actions, and the domain code the batch runner calls, only flush.
A ``.commit()`` or ``.rollback()`` anywhere in registry/ outside the places listed here, each
with the reason it may end a transaction, fails this test; so does a listed place that no
longer ends one (the list must say where transactions end today)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REGISTRY = Path(__file__).resolve().parent.parent / "registry"
ENDS = {"commit", "rollback"}

# (module, innermost function) -> why it may commit or roll back.
OWNERS: dict[tuple[str, str], str] = {
    ("registry/__init__.py", "finish_transaction"): (
        "the request boundary: commit on success, roll back on an error status, then "
        "append and commit what the request kept on record (refusals)"
    ),
    ("registry/db.py", "_close_session"): (
        "the end of a request or command: roll back what an exception left behind"
    ),
    ("registry/cli/_common.py", "transaction"): (
        "the command line's boundary: one transaction per command (one_transaction), or "
        "one per batch, which the batch runner (registry/cli/batches.py) opens through it"
    ),
    ("registry/cli/db.py", "db_check"): "read only: ends its read before it reports",
    ("registry/cli/keys.py", "keys_status"): "read only: ends its read before it reports",
    ("registry/cli/keys.py", "keys_rotate"): (
        "ends its count before the batches, each of which commits on its own, so that an "
        "interrupted rotation keeps what it re-wrapped"
    ),
    ("registry/cli/audit.py", "audit_verify"): (
        "ends its walk's read before recording the answer in a transaction of its own"
    ),
    ("registry/cli/audit.py", "audit_anchor"): "read only: ends its read before it reports",
}


def transaction_ends(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, innermost function or "<module>", "commit" or "rollback") for each call of a
    ``.commit()`` or ``.rollback()`` method."""

    def walk(node: ast.AST, function: str) -> Iterator[tuple[int, str, str]]:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            elif (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in ENDS
            ):
                yield child.lineno, function, child.func.attr
            yield from walk(child, inner)

    yield from walk(tree, "<module>")


def all_transaction_ends() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(REGISTRY.rglob("*.py")):
        module = path.relative_to(REGISTRY.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=module)
        for line, function, call in transaction_ends(tree):
            found.setdefault((module, function), []).append(f"{module}:{line} {call}()")
    return found


def test_only_the_listed_owners_commit_or_roll_back() -> None:
    found = all_transaction_ends()

    strays = [call for place, calls in found.items() if place not in OWNERS for call in calls]
    assert not strays, (
        "actions and the code they call only flush; the request boundary, the command line "
        "or the batch runner ends the transaction. Remove these, or list the place in "
        f"OWNERS with the reason it owns a transaction: {strays}"
    )


def test_every_listed_owner_still_ends_a_transaction() -> None:
    found = all_transaction_ends()

    stale = [
        f"{module} {function}" for module, function in OWNERS if (module, function) not in found
    ]
    assert not stale, f"listed in OWNERS but no longer commits or rolls back: {stale}"


def test_the_walk_finds_a_commit_in_a_nested_function() -> None:
    tree = ast.parse("def outer():\n    def inner():\n        db.commit()\n    db.rollback()\n")

    assert list(transaction_ends(tree)) == [(3, "inner", "commit"), (4, "outer", "rollback")]
