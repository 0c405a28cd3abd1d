from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from apispec import APISpec
from flask import Flask
from flask_smorest.blueprint import Blueprint as Blueprint
from flask_smorest.pagination import Page as Page
from marshmallow import Schema
from webargs.flaskparser import abort as abort
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

class Api:
    ERROR_SCHEMA: ClassVar[type[Schema]]
    # The response operations refer to for "default"; None leaves "default" out.
    DEFAULT_ERROR_RESPONSE_NAME: ClassVar[str | None]
    DEFAULT_REQUEST_BODY_CONTENT_TYPE: ClassVar[str]
    DEFAULT_RESPONSE_CONTENT_TYPE: ClassVar[str]
    config_prefix: str
    # Both are None until init_app, which every use here follows.
    config: Mapping[str, Any]
    spec: APISpec
    def __init__(
        self,
        app: Flask | None = None,
        *,
        spec_kwargs: dict[str, Any] | None = None,
        config_prefix: str = "",
    ) -> None: ...
    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None: ...
    def register_blueprint(
        self, blp: Blueprint, *, parameters: list[Any] | None = None, **options: Any
    ) -> None: ...
    def register_converter(
        self, converter: type[BaseConverter], func: Callable[..., Any]
    ) -> None: ...
    def register_field(self, field: type[Any], *args: Any) -> None: ...
    # Overridable steps of init_app.
    def _register_responses(self) -> None: ...
    def _register_error_handlers(self) -> None: ...
    def handle_http_exception(self, error: HTTPException) -> tuple[Response, int]: ...
