"""Today's date, from one place: pages and endpoints that answer "what is due today" ask
here, so a test can pin the day (``monkeypatch.setattr(clock, "today", ...)``)."""

from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    return dt.date.today()
