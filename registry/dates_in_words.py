"""How a day and a month read wherever the registry says one in words: pages, error
messages, criteria sentences. One place, below every domain package, so an error raised by
an action reads its dates as the page around it does."""

from __future__ import annotations

import datetime as dt


def long_date(day: dt.date | None) -> str:
    """ "7 March 2026"."""
    return "" if day is None else f"{day.day} {day:%B %Y}"


def long_month(day: dt.date | None) -> str:
    """ "March 2026"."""
    return "" if day is None else f"{day:%B %Y}"
