"""Reactions that run upward across the layers (registry.signals) are always connected."""

from __future__ import annotations

import pytest
from blinker import NamedSignal, Namespace
from flask import Flask

from registry import signals


def test_every_signal_has_a_receiver_once_an_app_exists(app: Flask) -> None:
    named = [value for value in vars(signals).values() if isinstance(value, NamedSignal)]
    assert {signal.name for signal in named} >= {
        "refused",
        "security-event",
        "records-changed",
        "consent-changed",
        "participant-withdrawn",
    }
    assert all(signal.receivers for signal in named)


def test_a_signal_nobody_receives_is_an_error_not_a_silent_skip() -> None:
    lonely = Namespace().signal("lonely")
    with pytest.raises(RuntimeError, match="lonely"):
        signals.send_to_all(lonely, object())
