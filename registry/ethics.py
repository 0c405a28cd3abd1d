"""Ethics references, one rule for every form and API that takes them (recruitment requests,
data-access grants): an IRAS ID or a REC reference, however it is commonly typed, stored and
shown in one spelling.

An IRAS ID is 6 digits (older studies) or 7 (since 2021); people write it "IRAS 123456",
"IRAS ID: 1004567", "iras-123456" or just the digits. It is stored "IRAS 1004567". A REC
reference is year/committee/number, "22/WM/0123", stored upper-case.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields

ETHICS_REFERENCE_MESSAGE = (
    "Give the study's IRAS ID (6 or 7 digits, for example IRAS 1004567) "
    "or its REC reference (for example 22/WM/0123)."
)
ETHICS_REFERENCE_EXAMPLES = "for example IRAS 1004567 or 22/WM/0123"
# "IRAS", "IRAS ID", "IRAS no." and the like, then any of space : - # before the digits.
_IRAS = re.compile(r"(?:IRAS(?:\s*(?:ID|NO\.?|NUMBER))?[\s:#\-.]*)?([0-9]{6,7})", re.IGNORECASE)
_REC = re.compile(r"([0-9]{2})\s*/\s*([A-Z]{2})\s*/\s*([0-9]{4})", re.IGNORECASE)


def normalised_ethics_reference(text: str) -> str | None:
    """The stored spelling of an IRAS ID or REC reference, or None if it is neither."""
    text = text.strip()
    if iras := _IRAS.fullmatch(text):
        return f"IRAS {iras[1]}"
    if rec := _REC.fullmatch(text):
        return f"{rec[1]}/{rec[2].upper()}/{rec[3]}"
    return None


class EthicsReference(fields.String):
    """A string field that loads an ethics reference in its stored spelling."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        normalised = normalised_ethics_reference(text)
        if normalised is None:
            raise ValidationError(ETHICS_REFERENCE_MESSAGE)
        return normalised
