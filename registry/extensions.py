"""Extensions, created bare and without an app; ``create_app`` calls their ``init_app``.

A foundation module: nothing here imports the registry (the API object and its error
responses are ``registry.api.api``, the Flask-Login loaders ``registry.auth.session``)."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
login_manager.session_protection = "basic"
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")
