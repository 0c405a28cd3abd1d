from typing import Any

from apispec import APISpec

# Moves a response's schema and examples under content[content_type] (OpenAPI 3), in place.
def prepare_response(response: dict[str, Any], spec: APISpec, content_type: str) -> None: ...

# A view's return value as (body, status, headers), each None when not given.
def unpack_tuple_response(rv: Any) -> tuple[Any, int | str | None, Any]: ...
