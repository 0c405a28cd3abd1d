from typing import Any

class PaginationParameters:
    page: int
    page_size: int
    # Set by the view (or the Page) to the number of items in the whole collection.
    item_count: int | None
    def __init__(self, page: int, page_size: int) -> None: ...
    @property
    def first_item(self) -> int: ...
    @property
    def last_item(self) -> int: ...

class Page:
    """Pages through a sliceable collection; subclass it for other kinds (a query)."""

    collection: Any
    page_params: PaginationParameters
    def __init__(self, collection: Any, page_params: PaginationParameters) -> None: ...
    @property
    def items(self) -> list[Any]: ...
    @property
    def item_count(self) -> int: ...
