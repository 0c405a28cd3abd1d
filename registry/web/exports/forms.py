"""The researcher's extract form: which file format. The rules are ``ExportArgs``'."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from registry.exports.extract import CSV, PARQUET
from registry.web.forms import RegistryForm

FORMAT_LABELS = {
    CSV: "CSV: one file per table, for spreadsheets, R or pandas",
    PARQUET: "Parquet: typed columns, smaller and faster to load",
}


class ExtractForm(RegistryForm):
    file_format = RadioField(
        "File format",
        choices=[SelectChoice(value, label) for value, label in FORMAT_LABELS.items()],
        default=CSV,
        validate_choice=False,
    )
