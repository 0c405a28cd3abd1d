import os
from collections.abc import Callable
from typing import Any, ClassVar, ParamSpec, TypeVar

import flask
from flask.sansio.scaffold import T_route
from flask.typing import RouteCallable
from flask_smorest.pagination import Page
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.wrappers import Response

_P = ParamSpec("_P")
_R = TypeVar("_R")
_F = TypeVar("_F", bound=Callable[..., Any])
# A schema class or instance; a response's may also be a reference ("Error") or a dict.
_SchemaArg = type[Schema] | Schema
_DocSchema = type[Schema] | Schema | str | dict[str, Any]

class Blueprint(flask.Blueprint):
    ARGUMENTS_PARSER: ClassVar[FlaskParser]
    PAGINATION_ARGUMENTS_PARSER: ClassVar[FlaskParser]
    PAGINATION_HEADER_NAME: ClassVar[str | None]
    DEFAULT_PAGINATION_PARAMETERS: ClassVar[dict[str, int]]
    description: str
    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = ...,
        *,
        description: str = "",
    ) -> None: ...
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        *,
        parameters: list[Any] | None = None,
        tags: list[str] | None = None,
        **options: Any,
    ) -> None: ...
    def route(
        self,
        rule: str,
        *,
        parameters: list[Any] | None = None,
        tags: list[str] | None = None,
        **options: Any,
    ) -> Callable[[T_route], T_route]: ...
    # The view gets the loaded arguments as one more positional argument.
    def arguments(
        self,
        schema: _SchemaArg,
        *,
        location: str = "json",
        content_type: str | None = None,
        required: bool = True,
        description: str | None = None,
        example: Any = None,
        examples: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[..., _R]], Callable[..., _R]]: ...
    # The view returns what the schema dumps (or a Response, passed through), optionally
    # with a status and headers; the decorated view returns the Response.
    def response(
        self,
        status_code: int | str,
        schema: _DocSchema | None = None,
        *,
        content_type: str | None = None,
        description: str | None = None,
        example: Any = None,
        examples: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
    ) -> Callable[[Callable[_P, object]], Callable[_P, Response]]: ...
    def alt_response(
        self,
        status_code: int | str,
        response: str | None = None,
        *,
        schema: _DocSchema | None = None,
        content_type: str | None = None,
        description: str | None = None,
        example: Any = None,
        examples: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        success: bool = False,
    ) -> Callable[[_F], _F]: ...
    # Without a pager the view gets `pagination_parameters` (PaginationParameters) as a
    # keyword argument and sets its item_count; with one, it returns the whole collection.
    # The decorated view returns (items, status, headers) for @response to dump.
    def paginate(
        self,
        pager: type[Page] | None = None,
        *,
        page: int | None = None,
        page_size: int | None = None,
        max_page_size: int | None = None,
    ) -> Callable[[Callable[..., object]], Callable[..., tuple[Any, Any, Any]]]: ...
    @staticmethod
    def doc(**kwargs: Any) -> Callable[[_F], _F]: ...
