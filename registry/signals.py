"""What happens in one layer that a layer above must react to, in the same transaction.

Layers import only downwards (README, Layout), so a lower layer announces and the layer
above connects. Receivers are connected where their module is imported, and
``registry.create_app`` imports every such module, so they are in place wherever an app
exists (pages, API, CLI, tests). Each sender checks that someone is listening
(``send_to_all``): a reaction that silently did not happen would be worse than an error.
"""

from __future__ import annotations

from typing import Any

from blinker import NamedSignal, Namespace

_signals = Namespace()

refused = _signals.signal("refused")
"""A refusal to record although the request's transaction is rolled back (sender: the
``RegistryError``). ``registry.auth.refusals`` records it."""

security_event = _signals.signal("security-event")
"""A refusal that is a security event: a CSRF failure, a throttled request (sender: the
action, with outcome=, status=, details=). ``registry.auth.refusals`` records it."""

records_changed = _signals.signal("records-changed")
"""Something a participant's facts derive from changed (sender: the ``Participant``, locked):
``registry.facts.derive`` derives the row again."""

consent_changed = _signals.signal("consent-changed")
"""A participant's consent changed, their facts already derived again (sender: the
``Participant``, locked; by=the ``Actor``): ``registry.recruitment.actions`` takes them off
the lists they may no longer be on."""

participant_withdrawn = _signals.signal("participant-withdrawn")
"""A participant withdrew, at any level (sender: the ``Participant``, locked; by=the
``Actor``): ``registry.recruitment.actions`` takes them off every list, for good."""


def send_to_all(signal: NamedSignal, sender: Any, **kwargs: Any) -> None:
    """Send, refusing to carry on if no receiver is connected."""
    if not signal.receivers:
        raise RuntimeError(f"nothing is connected to the {signal.name!r} signal")
    signal.send(sender, **kwargs)
