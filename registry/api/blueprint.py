"""The blueprint every API area is made of: flask-smorest's, with the registry's input
checks, rate limit and page shape built in, rather than patched onto flask-smorest."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import current_app, request
from flask.sansio.app import App
from flask_smorest import Blueprint
from flask_smorest.pagination import Page, PaginationParameters
from flask_smorest.utils import unpack_tuple_response
from sqlalchemy import Select
from werkzeug.wrappers import Response

from registry.api.inputs import CheckedParser
from registry.api.schemas import PageQueryArgs, page_body
from registry.auth.limits import api_client_key
from registry.db import count_of, rows_of
from registry.extensions import limiter


class RegistryBlueprint(Blueprint):
    """An API blueprint whose arguments and page parameters are read by ``CheckedParser``,
    which is rate-limited per client once it is registered, and whose ``paginate`` answers
    ``{"page", "per_page", "total", "items"}`` (``registry.api.schemas.PageSchema``)."""

    ARGUMENTS_PARSER = PAGINATION_ARGUMENTS_PARSER = CheckedParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate_limited = False

    def register(self, app: App, options: dict[str, Any]) -> None:
        # Once: the blueprint and the limiter are module-level and outlive each (test) app.
        if not self.rate_limited:
            limiter.limit(
                lambda: current_app.config["SETTINGS"].api_rate_limit,
                key_func=api_client_key,
                scope="api",
            )(self)
            self.rate_limited = True
        super().register(app, options)

    def paginate(
        self,
        pager: type[Page] | None = None,
        *,
        page: int | None = None,
        page_size: int | None = None,
        max_page_size: int | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's ``paginate``, with the registry's query arguments (``page``,
        ``per_page``) and its page in the body instead of an ``X-Pagination`` header. With a
        ``pager`` (``SelectPage``) the view returns what to page; without, it takes
        ``pagination_parameters``, sets their ``item_count`` and returns the page's items,
        or a mapping of ``items`` and fields of its own. A ``Response`` passes untouched.
        Every endpoint pages alike (``PageQueryArgs``), so per-endpoint sizes are refused."""
        if (page, page_size, max_page_size) != (None, None, None):
            raise TypeError("registry endpoints all page by PageQueryArgs; no sizes of their own")

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                parameters: PaginationParameters = self.PAGINATION_ARGUMENTS_PARSER.parse(
                    PageQueryArgs(), request, location="query"
                )
                if pager is None:
                    kwargs["pagination_parameters"] = parameters
                result, status, headers = unpack_tuple_response(view(*args, **kwargs))
                if isinstance(result, Response):
                    return result
                if pager is not None:
                    result = pager(result, page_params=parameters).items
                if isinstance(result, dict):
                    return page_body(parameters, **result), status, headers
                return page_body(parameters, result), status, headers

            # Documented by flask-smorest's _prepare_pagination_doc, as its own paginate does.
            wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))  # type: ignore[attr-defined]
            wrapper._apidoc["pagination"] = {  # type: ignore[attr-defined]
                "parameters": {"in": "query", "schema": PageQueryArgs},
                "response": {422: "UNPROCESSABLE_ENTITY"},
            }
            return wrapper

        return decorator

    def _document_pagination_metadata(self, spec: Any, resp_doc: Any) -> None:
        """No X-Pagination header: the response schema (a ``PageSchema``) says it all."""


class SelectPage(Page):
    """A pager for a SQLAlchemy ``Select``: the page's rows, and how many there are in all,
    each one query."""

    collection: Select[Any]

    @property
    def items(self) -> list[Any]:
        return rows_of(
            self.collection, first=self.page_params.first_item, size=self.page_params.page_size
        )

    @property
    def item_count(self) -> int:
        return count_of(self.collection)
