"""How one study sees a participant: a study pseudonym, and dates generalised.

Both are keyed derivations of the grant's ``study_key`` and the participant's registry id
under subkeys of the keyring, so nothing needs storing: the same in every extract of the
study, different in every other study's, and not computable without the keyring.

Dates follow the grant's policy. ``month``: ``YYYY-MM``. ``shift``: the exact day moved by
the participant's own secret offset of 1 to N days, earlier or later (never zero), so the
intervals between one person's dates are kept while the calendar dates are not. Values
the registry holds at month precision are shifted from the first of their month.
"""

from __future__ import annotations

import datetime as dt

from registry.crypto import mac_for
from registry.crypto.fields import length_prefixed
from registry.crypto.keys import DATE_SHIFT_PURPOSE, PSEUDONYM_PURPOSE
from registry.crypto.pseudonyms import study_pseudonym
from registry.exports.models import DATE_SHIFT, DataAccessGrant


class StudyView:
    """Pseudonyms and generalised dates for one grant's study."""

    def __init__(self, grant: DataAccessGrant) -> None:
        self._pseudonym_key = mac_for(PSEUDONYM_PURPOSE)
        self._date_shift_key = mac_for(DATE_SHIFT_PURPOSE)
        self._study_key = grant.study_key
        self.shifted = grant.date_policy == DATE_SHIFT
        self._max_shift = grant.max_shift_days or 0
        # Every offset's HMAC starts with the same two parts.
        self._shift_prefix = length_prefixed(b"date-shift", self._study_key.encode())

    def pseudonym(self, participant_id: str) -> str:
        """As ``identity.pseudonym_for(grant.study_key, participant)``, without loading them."""
        return study_pseudonym(self._pseudonym_key, self._study_key, participant_id)

    def offset_days(self, participant_id: str) -> int:
        """The participant's secret date offset in this study: nonzero, within ±N days."""
        if not self.shifted or self._max_shift < 1:
            return 0
        mac = self._date_shift_key(self._shift_prefix + length_prefixed(participant_id.encode()))
        draw = int.from_bytes(mac[:8], "big") % (2 * self._max_shift)
        return draw - self._max_shift if draw < self._max_shift else draw - self._max_shift + 1

    def shift(self, participant_id: str) -> dt.timedelta:
        """The offset as what ``date`` and ``month`` take."""
        return dt.timedelta(days=self.offset_days(participant_id))

    def date(self, day: dt.date | dt.datetime | None, shift: dt.timedelta) -> str | dt.date | None:
        """A date as the grant allows: ``YYYY-MM``, or the shifted day."""
        if day is None:
            return None
        if isinstance(day, dt.datetime):
            day = day.astimezone(dt.UTC).date()
        if self.shifted:
            return day + shift
        return "%04d-%02d" % (day.year, day.month)  # noqa: UP031 - twice as fast as strftime

    def month(self, day: dt.date | None, shift: dt.timedelta) -> str | None:
        """Year and month only, whatever the policy (a FHIR Patient's birthDate)."""
        if day is None:
            return None
        moved = day + shift if self.shifted else day
        return "%04d-%02d" % (moved.year, moved.month)  # noqa: UP031 - as above
