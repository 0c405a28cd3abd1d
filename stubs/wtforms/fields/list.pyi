from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from wtforms.fields.core import Field, UnboundField

_FieldT = TypeVar("_FieldT", bound=Field)

class FieldList(Field, Generic[_FieldT]):
    unbound_field: UnboundField[_FieldT]
    min_entries: int
    max_entries: int | None
    last_index: int
    entries: list[_FieldT]
    # Each entry's errors: a list of messages, or a FormField's mapping of them.
    errors: Sequence[Any]
    def __init__(
        self: FieldList[_FieldT],
        # A field made in a class body is typed as the field (see Field.__new__).
        unbound_field: UnboundField[_FieldT] | _FieldT,
        label: str | None = None,
        validators: Any = None,
        min_entries: int = 0,
        max_entries: int | None = None,
        separator: str = "-",
        default: Iterable[Any] | Callable[[], Iterable[Any]] = (),
        **kwargs: Any,
    ) -> None: ...
    def append_entry(self, data: Any = ...) -> _FieldT: ...
    def pop_entry(self, index: int = -1) -> _FieldT: ...
    def __iter__(self) -> Iterator[_FieldT]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> _FieldT: ...
    @property
    def data(self) -> list[Any]: ...
