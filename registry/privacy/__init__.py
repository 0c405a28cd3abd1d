"""Partners' figures under differential privacy (issue #18): calibrated noise from OpenDP
(``mechanism``), a budget per partner organisation charged in an append-only ledger, and the
published answers kept for the consistency window (``models``, ``actions``)."""
