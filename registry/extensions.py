"""Extensions, created without an app; ``create_app`` calls their ``init_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api, Blueprint
from flask_wtf import CSRFProtect

from registry.api.inputs import check_arguments
from registry.api.openapi import ErrorResponsesPlugin, register_error_responses
from registry.api.schemas import ErrorSchema


class RegistryApi(Api):  # type: ignore[misc]
    """flask-smorest, minus its own error handlers: ``registry.errors`` answers every error
    in the one shape API.md fixes, and the OpenAPI document describes that shape, listing
    for each operation the error statuses it can answer (``registry.api.openapi``) instead
    of a catch-all "default"."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        plugin = ErrorResponsesPlugin(app, error_schema_name="Error")
        super().init_app(app, spec_kwargs={"extra_plugins": [plugin], **(spec_kwargs or {})})
        check_arguments(Blueprint.ARGUMENTS_PARSER)

    def _register_responses(self) -> None:
        super()._register_responses()
        register_error_responses(self.spec, self.ERROR_SCHEMA, self.DEFAULT_RESPONSE_CONTENT_TYPE)

    def _register_error_handlers(self) -> None:
        pass


login_manager = LoginManager()
login_manager.session_protection = "basic"
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")
api = RegistryApi()
