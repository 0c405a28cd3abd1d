"""The report pages' forms: choosing a cohort and reference, writing a datasheet section, and
loading a reference population.

As elsewhere, the forms hold no rules: the writing forms turn what was typed into the API's
body for the same schema and action to judge, and show the errors those return.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf.file import FileField
from wtforms import Field, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.participants.reference import reference
from registry.reports.references import KINDS, MAX_CSV_BYTES, ReferencePopulation
from registry.web.forms import (
    RegistryForm,
    radios,
    select,
    text_field,
    whole_number,
    without_blanks,
)


def reference_choices(references: Iterable[ReferencePopulation]) -> list[SelectChoice]:
    return [SelectChoice(ref.id, ref.name) for ref in references]


class ChooseReportForm(RegistryForm):
    """Sent by GET: which report to show changes nothing, and the choice is the address."""

    class Meta:
        csrf = False

    cohort = RadioField(
        "Cohort",
        choices=[
            SelectChoice(code, f"{rule.name} ({code})")
            for code, rule in reference().cohorts.items()
        ],
        invalid_choice_message="Choose a cohort.",
    )
    reference = SelectField(
        "Compare with",
        choices=[],  # per request: the shipped references and those admins loaded
        invalid_choice_message="Choose a reference population from the list.",
    )


class SectionForm(RegistryForm):
    WHEN_MISSING = {"text": "Write the section's text."}

    text = TextAreaField("Text")

    def section_body(self) -> dict[str, Any]:
        """The API's section body for what was typed."""
        return without_blanks({"text": (self.text.data or "").strip()})


class ReferenceForm(RegistryForm):
    WHEN_MISSING = {
        "reference_id": "Enter an id for the reference, for example icb-2021-bsol.",
        "name": "Enter the reference's name.",
        "geography": "Enter the area it describes.",
        "year": "Enter the year the figures are for.",
        "source": "Say where the figures come from.",
        "shares_text": "Choose a CSV file, or paste its text.",
        "shares_file": "Choose a CSV file, or paste its text.",
    }

    reference_id = text_field("Reference id")
    name = text_field("Name")
    geography = text_field("Geography")
    geography_code = text_field("Geography code (optional)")
    year = text_field("Year")
    source = TextAreaField("Source")
    kind = radios("What it stands for", KINDS)
    cohort = select(
        "The cohort it is the comparator for",
        {"": "Any cohort"}
        | {code: f"{rule.name} ({code})" for code, rule in reference().cohorts.items()},
    )
    shares_file = FileField("CSV file of shares")
    shares_text = TextAreaField("Or paste the CSV")

    def field_for(self, error_name: str) -> Field | None:
        if error_name == "shares_csv":
            return self.shares_file if self.shares_file.data else self.shares_text
        return super().field_for(error_name)

    def reference_body(self) -> dict[str, Any]:
        """The API's reference body: the shares from the file if one was chosen, otherwise
        as pasted. A file is read one byte past the limit, so the size check still sees
        that it is too large; bytes that are not UTF-8 become U+FFFD, which no group name
        contains, so the check names their lines."""
        upload = self.shares_file.data
        shares = (
            upload.read(MAX_CSV_BYTES + 1).decode("utf-8-sig", errors="replace")
            if upload
            else self.shares_text.data
        )
        return without_blanks(
            {
                "reference_id": self.reference_id.data,
                "name": self.name.data,
                "geography": self.geography.data,
                "geography_code": self.geography_code.data,
                "year": whole_number(self.year.data),
                "source": (self.source.data or "").strip(),
                "kind": self.kind.data,
                "cohort": self.cohort.data,
                "shares_csv": shares,
            }
        )
