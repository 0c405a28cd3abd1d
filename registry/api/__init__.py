"""The JSON API under /api/v1 (flask-smorest): thin endpoints over the domain actions."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from registry.api.openapi import ErrorResponsesPlugin, register_error_responses
from registry.api.schemas import ErrorSchema


class RegistryApi(Api):
    """flask-smorest, minus its own error handlers: ``registry.errors`` answers every error
    in the one shape API.md fixes, and the OpenAPI document describes that shape, listing
    for each operation the error statuses it can answer (``registry.api.openapi``) instead
    of a catch-all "default"."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        plugin = ErrorResponsesPlugin(app, error_schema_name="Error")
        super().init_app(app, spec_kwargs={"extra_plugins": [plugin], **(spec_kwargs or {})})

    def _register_responses(self) -> None:
        super()._register_responses()
        register_error_responses(self.spec, self.ERROR_SCHEMA, self.DEFAULT_RESPONSE_CONTENT_TYPE)

    def _register_error_handlers(self) -> None:
        pass


api = RegistryApi()
