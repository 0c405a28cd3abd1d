import datetime
from collections.abc import Sequence
from typing import Any

from wtforms.fields.core import Field

class DateTimeField(Field):
    format: Sequence[str]
    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        format: str | Sequence[str] = "%Y-%m-%d %H:%M:%S",
        invalid_value_message: str | None = None,
        **kwargs: Any,
    ) -> None: ...

class DateField(DateTimeField):
    data: datetime.date | None
    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        format: str | Sequence[str] = "%Y-%m-%d",
        invalid_value_message: str | None = None,
        **kwargs: Any,
    ) -> None: ...
