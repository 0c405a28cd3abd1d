from builtins import type as _type  # Field.type (a str) shadows it in the class
from collections.abc import Callable, Sequence
from typing import Any, Generic, Self, TypeVar, overload

from markupsafe import Markup
from wtforms.form import BaseForm

_FieldT = TypeVar("_FieldT", bound=Field)
# A filter takes the submitted value and returns it cleaned (any type in, any type out).
_Filter = Callable[[Any], Any]
_Validator = Callable[[Any, Any], object]

class Field:
    # A tuple until the field is validated, a list after: append only to a copy.
    errors: Sequence[str]
    process_errors: Sequence[str]
    raw_data: list[Any] | None
    object_data: Any
    data: Any
    validators: Sequence[_Validator]
    default: Any
    description: str
    render_kw: dict[str, Any]
    filters: Sequence[_Filter]
    flags: Flags
    name: str
    short_name: str
    id: str
    type: str
    label: Label
    # Called in a class body (no _form), a field is really an UnboundField that the form binds
    # when it is made. Typed as the field itself, read back through __get__ below: on the
    # class an UnboundField, on a form the bound field (the way typeshed's stubs do it).
    def __new__(cls, *args: Any, **kwargs: Any) -> Self: ...
    def __init__(
        self,
        label: str | None = None,
        validators: Sequence[_Validator] | None = None,
        filters: Sequence[_Filter] = (),
        description: str = "",
        id: str | None = None,
        default: object = None,
        invalid_value_message: str | None = None,
        widget: Callable[..., Markup] | None = None,
        render_kw: dict[str, Any] | None = None,
        name: str | None = None,
        datalist: Any = None,
        _form: BaseForm | None = None,
        _prefix: str = "",
        _translations: Any = None,
        _meta: Any = None,
    ) -> None: ...
    def __call__(self, **kwargs: object) -> Markup: ...
    def __html__(self) -> str: ...
    def validate(self, form: BaseForm, extra_validators: Sequence[_Validator] = ()) -> bool: ...
    def pre_validate(self, form: BaseForm) -> None: ...
    def post_validate(self, form: BaseForm, validation_stopped: bool) -> None: ...
    def process_data(self, value: Any) -> None: ...
    def process_formdata(self, valuelist: list[Any]) -> None: ...
    def populate_obj(self, obj: object, name: str) -> None: ...
    @overload
    def __get__(self, obj: None, owner: _type[object] | None = None) -> UnboundField[Self]: ...
    @overload
    def __get__(self, obj: object, owner: _type[object] | None = None) -> Self: ...

class UnboundField(Generic[_FieldT]):
    field_class: _type[_FieldT]
    name: str | None
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    def __init__(
        self, field_class: _type[_FieldT], *args: object, name: str | None = None, **kwargs: object
    ) -> None: ...
    def bind(
        self,
        form: BaseForm,
        name: str,
        prefix: str = "",
        translations: Any = None,
        **kwargs: object,
    ) -> _FieldT: ...

class Flags:
    def __getattr__(self, name: str) -> Any: ...
    def __contains__(self, name: str) -> bool: ...

class Label:
    field_id: str
    text: str
    def __init__(self, field_id: str, text: str) -> None: ...
    def __html__(self) -> str: ...
    def __call__(self, text: str | None = None, **kwargs: Any) -> Markup: ...
