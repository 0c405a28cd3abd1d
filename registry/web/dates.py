"""Dates as the NHS.UK date input: day, month and year in their own boxes (a month and a
year for onset and episode months), read on the server with the NHS.UK messages.

The field checks only the shape of what was typed ("Date of birth must include a month",
"... must be a real date") and remembers which boxes failed, so the page highlights them.
What the date may be (in the past, after enrolment...) stays the schema's rule: the field
hands the schema the ISO text (``2026-03-05``, or ``2026-03`` for a month), and a date it
could not read as a sentinel the schema refuses, whose message the form then replaces with
the field's own (``RegistryForm.show_errors``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from wtforms import Field
from wtforms.validators import StopValidation

from registry.input_rules import code_of

DAY, MONTH, YEAR = "day", "month", "year"
# Handed to the schema for a date that could not be read: never a valid ISO date or month.
UNREADABLE = "not-a-date"
# Schema message codes -> what the NHS.UK pattern says instead ({label} filled in).
_SCHEMA_WORDS = {
    "in_future": "{label} must be today or in the past",
    "too_long_ago": "{label} must be after 1 January 1900",
}


class DateInputField(Field):
    """A full date in three boxes, named ``<name>-day``, ``<name>-month``, ``<name>-year``.

    ``past_message`` words the schema's "in the future" refusal (a date of birth "must be
    in the past"); ``required`` (for forms without a schema behind them) refuses a blank
    date with that message during WTForms' own validation; ``alone`` has such a form judge
    an optional date's boxes there too (the audit log's filters).
    """

    PARTS: Sequence[str] = (DAY, MONTH, YEAR)

    def __init__(
        self,
        label: str,
        *,
        past_message: str | None = None,
        required: str | None = None,
        alone: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, **kwargs)
        self.past_message = past_message
        self.required = required
        self.alone = alone or required is not None
        self.parts: dict[str, str] = dict.fromkeys(self.PARTS, "")
        self.failing: set[str] = set()
        self.own_error: str | None = None

    @property
    def words(self) -> str:
        return str(self.label.text).removesuffix(" (optional)")

    def process(
        self,
        formdata: Any,
        data: Any = None,
        extra_filters: Iterable[Any] | None = None,
    ) -> None:
        self.process_errors = []
        if formdata is not None and any(f"{self.name}-{part}" in formdata for part in self.PARTS):
            self.parts = {
                part: str(formdata.get(f"{self.name}-{part}", "")).strip() for part in self.PARTS
            }
            self.data = self._read()
            return
        value = self.default() if callable(self.default) else self.default
        value = data if data is not None else value
        self.object_data = value
        self._show(value)

    def _show(self, value: object) -> None:
        """A stored value (a date, or its ISO text) into the boxes."""
        text = value.isoformat() if isinstance(value, dt.date) else str(value or "")
        pieces = text.split("-")
        if len(pieces) == len(self.PARTS):
            # ISO order is year first; the boxes are day first.
            self.parts = dict(zip(reversed(self.PARTS), pieces, strict=True))
            self.parts = {
                part: self.parts[part].lstrip("0") if part != YEAR else self.parts[part]
                for part in self.PARTS
            }
            self.data = text
        else:
            self.data = None

    def _read(self) -> str | None:
        typed = {part: value for part, value in self.parts.items() if value}
        if not typed:
            return None
        missing = [part for part in self.PARTS if part not in typed]
        if missing:
            self._fail(missing, f"{self.words} must include a {' and '.join(missing)}")
            return UNREADABLE
        not_numbers = [part for part in self.PARTS if not typed[part].isdigit()]
        if not_numbers:
            self._fail(not_numbers, f"{self.words} must be a real date")
            return UNREADABLE
        if len(typed[YEAR]) != 4:
            self._fail([YEAR], "Year must include 4 numbers")
            return UNREADABLE
        try:
            when = self._date(typed)
        except ValueError:
            self._fail(list(self.PARTS), f"{self.words} must be a real date")
            return UNREADABLE
        return self._iso(when)

    @staticmethod
    def _date(typed: dict[str, str]) -> dt.date:
        return dt.date(int(typed[YEAR]), int(typed[MONTH]), int(typed[DAY]))

    @staticmethod
    def _iso(when: dt.date) -> str:
        return when.isoformat()

    def _fail(self, parts: Sequence[str], message: str) -> None:
        self.failing = set(parts)
        self.own_error = message

    def pre_validate(self, form: Any) -> None:
        # Only a form with no schema behind it judges here: for the others the schema does,
        # so the page shows this date's error together with every other field's.
        if not self.alone:
            return
        if self.own_error:
            raise StopValidation(self.own_error)
        if self.data is None and self.required is not None:
            self.failing = set(self.PARTS)
            raise StopValidation(self.required)

    def query(self) -> dict[str, str]:
        """The boxes as typed, named as the query string names them (a GET form's links
        carry the same date on)."""
        return {f"{self.name}-{part}": value for part, value in self.parts.items() if value}

    @property
    def date(self) -> dt.date | None:
        """What was typed as a date, when it could be read."""
        if self.data is None or self.data == UNREADABLE:
            return None
        return dt.date.fromisoformat(self.data if len(self.PARTS) == 3 else f"{self.data}-01")

    def schema_errors(self, messages: Sequence[str]) -> list[str]:
        """The schema's messages about this date, in the NHS.UK pattern's words."""
        if self.own_error:
            return [self.own_error]  # the schema refused the sentinel: say what was wrong
        self.failing = set(self.PARTS)
        worded = []
        for message in messages:
            code = code_of(message)
            if code == "in_future" and self.past_message:
                worded.append(self.past_message)
            elif code in _SCHEMA_WORDS:
                worded.append(_SCHEMA_WORDS[code].format(label=self.words))
            else:
                worded.append(message)
        return worded

    def missing(self) -> None:
        """The schema found no date: every box is highlighted."""
        self.failing = set(self.PARTS)

    @property
    def first_failing_id(self) -> str:
        """Where the error summary's link lands: the first box that needs changing."""
        part = next((part for part in self.PARTS if part in self.failing), self.PARTS[0])
        return f"{self.id}-{part}"


class MonthInputField(DateInputField):
    """A month and a year (onset, episode start, a trial's months): ``2025-09`` to the
    schema."""

    PARTS = (MONTH, YEAR)

    @staticmethod
    def _date(typed: dict[str, str]) -> dt.date:
        return dt.date(int(typed[YEAR]), int(typed[MONTH]), 1)

    @staticmethod
    def _iso(when: dt.date) -> str:
        return when.strftime("%Y-%m")
