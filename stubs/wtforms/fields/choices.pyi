from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from wtforms.fields.core import Field

_Choices = Iterable[SelectChoice] | dict[str, Iterable[SelectChoice]]

class Choice(NamedTuple):
    value: str
    label: str
    selected: bool
    render_kw: dict[str, Any]

class SelectChoice:
    value: str
    # The value, when no label is given.
    label: str
    render_kw: dict[str, Any]
    optgroup: str | None
    def __init__(
        self,
        value: str,
        label: str | None = None,
        render_kw: dict[str, Any] = ...,
        optgroup: str | None = None,
    ) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...

class SelectFieldBase(Field):
    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        option_widget: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> None: ...
    def iter_choices(self) -> Iterator[Choice]: ...
    def has_groups(self) -> bool: ...

class SelectField(SelectFieldBase):
    coerce: Callable[[Any], Any]
    choices: list[SelectChoice] | dict[str, list[SelectChoice]] | None
    validate_choice: bool
    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        coerce: Callable[[Any], Any] = ...,
        choices: _Choices | Callable[[], _Choices] | None = None,
        validate_choice: bool = True,
        invalid_value_message: str | None = None,
        invalid_choice_message: str | None = None,
        **kwargs: Any,
    ) -> None: ...

class RadioField(SelectField):
    # Passes these on to SelectField by keyword.
    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        coerce: Callable[[Any], Any] = ...,
        choices: _Choices | Callable[[], _Choices] | None = None,
        validate_choice: bool = True,
        invalid_value_message: str | None = None,
        invalid_choice_message: str | None = None,
        **kwargs: Any,
    ) -> None: ...

class SelectMultipleField(SelectField): ...
