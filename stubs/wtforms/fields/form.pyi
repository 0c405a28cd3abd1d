from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from wtforms.fields.core import Field
from wtforms.form import BaseForm

_FormT = TypeVar("_FormT", bound=BaseForm)

class FormField(Field, Generic[_FormT]):
    form_class: type[_FormT]
    form: _FormT
    separator: str
    def __init__(
        self: FormField[_FormT],
        form_class: type[_FormT],
        label: str | None = None,
        validators: None = None,
        separator: str = "-",
        **kwargs: Any,
    ) -> None: ...
    def __iter__(self) -> Iterator[Field]: ...
    def __getitem__(self, name: str) -> Field: ...
    def __getattr__(self, name: str) -> Field: ...
    @property
    def data(self) -> dict[str, Any]: ...
    # Its form's errors by field name: a property where Field has an attribute of another
    # type, which an override cannot express.
    @property
    def errors(self) -> dict[str, Any]: ...  # type: ignore[override]
