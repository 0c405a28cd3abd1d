"""Today's date, from one place: every rule that depends on the day (a date of birth in the
past, an age at enrolment, a grant's expiry, what is due today) asks here, so a test run can
pin the day (``monkeypatch.setattr(clock, "today", ...)``) and a run that crosses midnight
judges its own dates by the day they were written on."""

from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    return dt.date.today()
