"""What the account schemas load into, typed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AddSite:
    code: str
    name: str
