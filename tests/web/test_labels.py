"""Every coded value a page offers has a label in words: a value added to the data without
one would otherwise reach a page as its internal code."""

from __future__ import annotations

import pytest

from registry.assessments.treatment import (
    adherence_levels,
    dose_units,
    modalities,
    stop_reasons,
    trial_outcomes,
)
from registry.consents.models import CONSULTEE_TYPES
from registry.web import labels


@pytest.mark.parametrize(
    ("names", "values"),
    [
        (labels.CONSULTEE_LABELS, CONSULTEE_TYPES),
        (labels.OUTCOME_LABELS, trial_outcomes()),
        (labels.MODALITY_LABELS, modalities()),
        (labels.ADHERENCE_LABELS, adherence_levels()),
        (labels.STOP_REASON_LABELS, stop_reasons()),
        (labels.DOSE_UNIT_LABELS, dose_units()),
    ],
)
def test_every_value_offered_has_a_label_in_words(
    names: dict[str, str], values: tuple[str, ...]
) -> None:
    assert [value for value in values if value not in names] == []
