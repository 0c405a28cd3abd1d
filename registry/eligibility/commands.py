"""What the eligibility schemas load into: the actions' input, typed. A criteria document is
kept as sent; ``criteria.parse_criteria`` checks it against the asker's role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CountEligible:
    criteria: object
    breakdown: Sequence[str]  # up to two coded fields


@dataclass(frozen=True, slots=True)
class SaveQuery:
    name: str
    criteria: object
    breakdown: Sequence[str]
    shared: bool  # with the others of the owner's role in their organisation


@dataclass(frozen=True, slots=True)
class SaveQueryVersion:
    criteria: object
    breakdown: Sequence[str]


@dataclass(frozen=True, slots=True)
class MatchParticipants:
    """Researchers: the participants who meet the criteria, as a grant's rows."""

    criteria: object
    grant: str  # the grant's public id
