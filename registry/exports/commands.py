"""What the grant and export schemas load into: the actions' input, typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CreateGrant:
    title: str
    ethics_reference: str
    cohorts: Sequence[str]
    variables: Sequence[str]  # catalogue keys
    consent_items: Sequence[str]  # registry_storage is added whatever is given
    date_policy: str
    max_shift_days: int | None  # the shift policy's alone
    expires_on: dt.date
    researchers: Sequence[str]  # account emails
    renews: str | None  # an earlier grant's id


@dataclass(frozen=True, slots=True)
class RenewGrant:
    expires_on: dt.date  # the new last day of access


@dataclass(frozen=True, slots=True)
class AddResearcher:
    email: str


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    format: str  # csv or parquet


@dataclass(frozen=True, slots=True)
class FhirPage:
    page: int
    per_page: int  # participants per Bundle
