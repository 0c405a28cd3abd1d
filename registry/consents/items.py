"""The consent items, in form order, from ``data/items.toml``."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

_DATA: dict[str, Any] = tomllib.loads(
    resources.files("registry.consents").joinpath("data/items.toml").read_text()
)

CONSENT_ITEMS_VERSION: str = _DATA["version"]
CONSENT_ITEMS: tuple[str, ...] = tuple(_DATA["items"])
CONSENT_ITEM_TEXT: dict[str, str] = {key: item["text"] for key, item in _DATA["items"].items()}
# What a page says when an item is left unanswered.
CONSENT_ITEM_UNANSWERED: dict[str, str] = {
    key: item["unanswered"] for key, item in _DATA["items"].items()
}
REQUIRED_ITEMS: tuple[str, ...] = tuple(
    key for key, item in _DATA["items"].items() if item.get("required", False)
)
# Contact needs this item; partners' counts need it and COMMERCIAL_ITEM as well.
CONTACT_ITEM = "contact_for_research"
COMMERCIAL_ITEM = "commercial_partners"
