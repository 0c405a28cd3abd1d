"""Extensions, created without an app; ``create_app`` calls their ``init_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf import CSRFProtect

from registry.api.schemas import ErrorSchema


class RegistryApi(Api):  # type: ignore[misc]
    """flask-smorest, minus its own error handlers: ``registry.errors`` answers every error
    in the one shape API.md fixes, and the OpenAPI document describes that shape."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


login_manager = LoginManager()
login_manager.session_protection = "basic"
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")
api = RegistryApi()
