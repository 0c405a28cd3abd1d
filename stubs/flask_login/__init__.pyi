from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask
from werkzeug.local import LocalProxy

_LoaderT = TypeVar("_LoaderT", bound=Callable[..., object])

class LoginManager:
    login_view: str | None
    # "basic", "strong" or None (off).
    session_protection: str | None
    def __init__(self, app: Flask | None = None, add_context_processor: bool = True) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...
    # The callback takes the id login_user stored (str) and returns a user or None.
    def user_loader(self, callback: _LoaderT) -> _LoaderT: ...
    # The callback takes the request and returns a user or None.
    def request_loader(self, callback: _LoaderT) -> _LoaderT: ...

# The signed-in user, whatever the user loader returned, or an anonymous-user object.
current_user: LocalProxy[Any]

def login_user(
    user: Any,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
) -> bool: ...
def logout_user() -> bool: ...
