"""Anchors: the chain's head copied outside the database, one signed JSON line each.

Whoever can write the database (its owner, or a restore of an old backup) can delete the
newest events and rewind the head; the chain that is left is consistent, so verifying it
alone finds nothing. An anchor kept elsewhere remembers how far the chain reached and its
MAC there: `registry audit verify --anchors FILE` refuses a chain shorter than, or
different from, what any anchor saw.
"""

from __future__ import annotations

import hmac
import json
import os
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.audit.models import GENESIS_MAC, AuditChainHead, AuditEvent
from registry.crypto import key_provider
from registry.crypto.keys import AUDIT_ANCHOR_PURPOSE
from registry.db import utcnow

ANCHOR_KEY_PURPOSE = AUDIT_ANCHOR_PURPOSE
_FIELDS = frozenset({"seq", "mac", "at", "signature"})
_MAC_HEX_LENGTH = 64
_LOOKUP_BATCH = 1000


class AnchorError(Exception):
    """No anchor can be taken: the head does not match the chain."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    mac: bytes
    at: str

    def signed_line(self) -> str:
        """One JSON object, no newline: seq, mac (hex), at, and an HMAC over the three."""
        return _canonical({**self._signed_fields(), "signature": self.signature().hex()})

    def _signed_fields(self) -> dict[str, Any]:
        return {"seq": self.seq, "mac": self.mac.hex(), "at": self.at}

    def signature(self) -> bytes:
        message = _canonical(self._signed_fields()).encode("utf-8")
        return key_provider().mac(ANCHOR_KEY_PURPOSE, message)


def current_anchor(db: Session) -> Anchor:
    """The head now, once it is seen to match the event it names (one row read, not a walk
    of the chain: anchors are taken often)."""
    head = db.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_mac).where(AuditChainHead.id == 1)
    ).one_or_none()
    if head is None:
        raise AnchorError("the audit chain head is missing; run `registry audit verify`")
    last_seq, last_mac = head
    event_mac = (
        GENESIS_MAC
        if last_seq == 0
        else db.scalar(select(AuditEvent.mac).where(AuditEvent.seq == last_seq))
    )
    if event_mac is None or not hmac.compare_digest(event_mac, last_mac):
        raise AnchorError(
            f"the chain head does not match event {last_seq}; run `registry audit verify`"
        )
    return Anchor(last_seq, bytes(last_mac), utcnow().isoformat(timespec="seconds"))


def append_line(path: Path, line: str) -> None:
    """Append one line in one write, and make it durable before saying so."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[bytes]:
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    return lines


@dataclass(frozen=True)
class AnchorReport:
    anchors: int
    latest_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_anchors(
    db: Session, lines: Sequence[bytes], *, chain_events: int, source: str
) -> AnchorReport:
    """Each line, in order, against an intact chain of ``chain_events`` events: the first
    line that is unreadable, badly signed, beyond the chain's end or unlike it is named."""
    parsed = [_parse(raw) for raw in lines]
    anchors = [anchor for anchor in parsed if isinstance(anchor, Anchor)]
    macs = _macs_at(db, sorted({a.seq for a in anchors if 0 < a.seq <= chain_events}))
    for number, anchor in enumerate(parsed, start=1):
        where = f"anchor line {number} of {source}"
        if not isinstance(anchor, Anchor):
            return AnchorReport(len(anchors), problem=f"{where} {anchor}")
        broken = f"audit chain BROKEN: {where}:"
        if anchor.seq > chain_events:
            return AnchorReport(
                len(anchors),
                problem=f"{broken} the chain ends at seq {chain_events}, but it was anchored "
                f"at seq {anchor.seq} (truncated)",
            )
        actual = GENESIS_MAC if anchor.seq == 0 else macs.get(anchor.seq)
        if actual is None or not hmac.compare_digest(actual, anchor.mac):
            return AnchorReport(
                len(anchors),
                problem=f"{broken} event {anchor.seq} differs from the anchored one (rewritten)",
            )
    if not anchors:
        return AnchorReport(0, problem=f"no anchors in {source}")
    return AnchorReport(len(anchors), latest_seq=max(a.seq for a in anchors))


def _parse(raw: bytes) -> Anchor | str:
    """The anchor on a line, or what is wrong with the line (to follow its number)."""
    unreadable = "is unreadable (not a JSON object of seq, mac, at and signature)"
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return unreadable
    if not isinstance(document, dict) or set(document) != _FIELDS:
        return unreadable
    seq, mac, at, signature = (document[key] for key in ("seq", "mac", "at", "signature"))
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or not isinstance(at, str)
        or not _is_hex_digest(mac)
        or not _is_hex_digest(signature)
    ):
        return unreadable
    anchor = Anchor(seq, bytes.fromhex(mac), at)
    if not hmac.compare_digest(anchor.signature(), bytes.fromhex(signature)):
        return "has a bad signature (altered, forged, or signed with another keyring)"
    return anchor


def _is_hex_digest(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) == _MAC_HEX_LENGTH
        and all(c in string.hexdigits for c in value)
    )


def _macs_at(db: Session, seqs: Sequence[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for start in range(0, len(seqs), _LOOKUP_BATCH):
        batch = seqs[start : start + _LOOKUP_BATCH]
        rows = db.execute(select(AuditEvent.seq, AuditEvent.mac).where(AuditEvent.seq.in_(batch)))
        found.update({seq: bytes(mac) for seq, mac in rows})
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
