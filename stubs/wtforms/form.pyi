from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from wtforms.fields.core import Field, UnboundField

class BaseForm:
    form_errors: list[str]
    _fields: dict[str, Field]
    def __init__(
        self,
        fields: Mapping[str, UnboundField[Any]] | Iterable[tuple[str, UnboundField[Any]]],
        prefix: str = "",
        meta: Any = ...,
    ) -> None: ...
    def __iter__(self) -> Iterator[Field]: ...
    def __contains__(self, name: str) -> bool: ...
    def __getitem__(self, name: str) -> Field: ...
    def populate_obj(self, obj: object) -> None: ...
    def process(
        self,
        formdata: Any = None,
        obj: object | None = None,
        data: Mapping[str, Any] | None = None,
        extra_filters: Mapping[str, Sequence[Any]] | None = None,
        **kwargs: object,
    ) -> None: ...
    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool: ...
    @property
    def data(self) -> dict[str, Any]: ...
    # Field name -> its messages; a FormField's or FieldList's are nested.
    @property
    def errors(self) -> dict[str, Any]: ...

class FormMeta(type): ...

class Form(BaseForm, metaclass=FormMeta):
    Meta: ClassVar[type[Any]]
    def __init__(
        self,
        formdata: Any = None,
        obj: object | None = None,
        prefix: str = "",
        data: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        extra_filters: Mapping[str, Sequence[Any]] | None = None,
        **kwargs: object,
    ) -> None: ...
