"""Random valid criteria trees, drawn from the catalogue: the engine's count always equals
the independent reference evaluator's, for researchers and partners."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import clock
from registry.db import session
from registry.eligibility.catalogue import Field, FieldType, catalogue
from registry.eligibility.compiler import count_statement
from registry.eligibility.criteria import MAX_DEPTH, parse_criteria
from tests.eligibility.reference import SeededRegistry, reference_count, seeded_registry

SITE_CODES = ("RXT", "RRK", "RYW", "RQ3", "ZZZ")
# Prefixes the demo data has, and some it has not.
TEXT_VALUES = {
    "diagnosis_icd10": ("F", "F2", "F20", "F20.0", "F29", "F3", "F32.2", "F33", "F33.2", "F99"),
    "postcode_district": ("B", "B1", "B15", "B2", "B29", "B3", "B7", "CV1"),
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededRegistry]:
    with seeded_registry(tmp_path_factory.mktemp("props"), participants=200, seed=99) as seeded:
        yield seeded


def scalars(field: Field) -> st.SearchStrategy[Any]:
    if field.type is FieldType.BOOLEAN:
        return st.booleans()
    if field.type is FieldType.INTEGER:
        assert field.minimum is not None and field.maximum is not None
        # Ages and months cluster near the data; the full range would rarely match anyone.
        high = min(field.maximum, field.minimum + 90)
        return st.integers(field.minimum, high)
    if field.type is FieldType.DATE:
        today = clock.today()
        days = st.integers(-400, 30)
        return days.map(lambda d: (today + dt.timedelta(days=d)).isoformat())
    if field.values is not None:
        return st.sampled_from(field.values)
    return st.sampled_from(TEXT_VALUES.get(field.name, SITE_CODES))


@st.composite
def clauses(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(list(catalogue().values())))
    op = draw(st.sampled_from(field.operators))
    if op == "exists":
        return {"field": field.name, "op": op}
    values = scalars(field)
    if op in ("in", "not_in"):
        value: Any = draw(st.lists(values, min_size=1, max_size=4))
    elif op == "between":
        low, high = sorted(draw(st.lists(values, min_size=2, max_size=2)))
        value = [low, high]
    else:
        value = draw(values)
    return {"field": field.name, "op": op, "value": value}


def groups(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    members = st.lists(children, min_size=1, max_size=3)
    return st.dictionaries(st.sampled_from(["all", "any", "none"]), members, min_size=1)


def depth(node: Any) -> int:
    """How deep a node's lists go: a clause is 0, a group one more than its deepest member."""
    if "field" in node:
        return 0
    return 1 + max(depth(member) for members in node.values() for member in members)


documents = st.builds(
    lambda cohort, body: {**body, **({"cohort": cohort} if cohort else {})},
    st.sampled_from([None, "EP", "TRD"]),
    st.recursive(clauses(), groups, max_leaves=8).map(
        lambda node: node if "field" not in node else {"all": [node]}
    ),
).filter(lambda document: depth({k: v for k, v in document.items() if k != "cohort"}) <= MAX_DEPTH)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=documents, audience=st.sampled_from(["researcher", "partner"]))
def test_engine_count_equals_the_reference_count(
    registry: SeededRegistry, document: dict[str, Any], audience: str
) -> None:
    criteria = parse_criteria(document, role="researcher")
    with registry.app.test_request_context():
        statement = count_statement(criteria, audience=audience, today=registry.today)  # type: ignore[arg-type]
        counted = session().scalar(statement)

    assert counted == reference_count(
        registry.rows, document, audience=audience, today=registry.today
    )
