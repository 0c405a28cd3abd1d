"""The follow-up fixtures (a pinned day, participants enrolled on a chosen date), for the
datasheet's retention section."""

from tests.followup.conftest import enrolled_on, pinned_today  # noqa: F401 (fixtures)
