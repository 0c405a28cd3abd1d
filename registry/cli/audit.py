"""``registry audit``: verify the chain, and anchor its head outside the database."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from registry.audit.actions import Actor, ChainReport, record_verification, verify_chain
from registry.audit.anchors import AnchorReport
from registry.cli._common import transaction
from registry.db import session


@click.group("audit")
def audit_group() -> None:
    """The append-only audit log."""


@audit_group.command("verify")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check the chain against every anchor in FILE (from `registry audit anchor`).",
)
@with_appcontext
def audit_verify(anchors_file: Path | None) -> None:
    """Check the HMAC chain; exit 1 naming the first broken event. With --anchors, also
    exit 1 if the chain is shorter than, or differs from, what any anchor saw."""
    from registry.audit import anchors

    # Read before the walk, so an anchor taken meanwhile is never ahead of what it sees.
    try:
        lines = None if anchors_file is None else anchors.read_lines(anchors_file)
    except OSError as exc:
        raise click.ClickException(f"cannot read {anchors_file}: {exc.strerror}") from None
    report = verify_chain(session())
    checked = None
    if report.intact and anchors_file is not None and lines is not None:
        checked = anchors.check_anchors(
            session(), lines, chain_events=report.events, source=str(anchors_file)
        )
    session().rollback()  # the walk read millions of rows: end that read before writing
    with transaction():
        _keep_answer(report, checked)
    if not report.intact:
        click.echo(
            f"audit chain BROKEN at seq {report.first_broken_seq}: {report.problem} "
            f"({report.events} events verified before it)",
            err=True,
        )
        sys.exit(1)
    if checked is None:
        click.echo(f"audit chain intact: {report.events} events")
        return
    if not checked.ok:
        click.echo(checked.problem, err=True)
        sys.exit(1)
    click.echo(
        f"audit chain intact: {report.events} events; matches {checked.anchors} "
        f"anchor{'' if checked.anchors == 1 else 's'} (the latest at seq {checked.latest_seq})"
    )


def _keep_answer(report: ChainReport, checked: AnchorReport | None) -> None:
    """Record the answer (outside the chain) for the audit page and the dashboard, and
    nothing else."""
    if report.intact and checked is not None and not checked.ok:
        report = ChainReport(False, report.events, None, checked.problem)
    matched = checked if checked is not None and checked.ok else None
    record_verification(
        report,
        by=Actor.command_line(),
        anchors_matched=matched.anchors if matched else None,
        latest_anchor_seq=matched.latest_seq if matched else None,
    )


@audit_group.command("anchor")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the line to FILE (made if absent) instead of printing it.",
)
@with_appcontext
def audit_anchor(out: Path | None) -> None:
    """Write the chain's head (seq, MAC, time) as one signed JSON line, to be kept where
    the database's users cannot reach it; `audit verify --anchors` checks the chain
    against such lines. Without --out the line goes to stdout, for a log shipper."""
    from registry.audit import anchors

    try:
        anchor = anchors.current_anchor(session())
    except anchors.AnchorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        session().rollback()
    if out is None:
        click.echo(anchor.signed_line())
        return
    try:
        anchors.append_line(out, anchor.signed_line())
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"anchored seq {anchor.seq} to {out}")
