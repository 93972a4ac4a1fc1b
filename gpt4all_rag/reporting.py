"""Text for people: what a sync did, and document text made safe for a terminal.

One wording of a sync report, shared by the CLI (every detail) and the app (one
line), so the two never drift apart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.report import SyncReport

__all__ = ["count", "sync_report_text", "sync_summary", "terminal_text"]

# C0 and C1 control characters except tab and newline (escape sequences, carriage
# returns that overwrite a line, backspaces), and the bidirectional overrides that
# make text read differently from what it is.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """``text`` without the characters a terminal would act on instead of showing.

    Documents are anyone's: a passage or a file name holding ``ESC[2J`` must not
    clear the user's screen, nor a carriage return hide what came before it.
    """
    return _UNPRINTABLE.sub("", text)


def count(number: int, noun: str) -> str:
    """``1 chunk``, ``3 chunks``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _changes(report: SyncReport) -> str:
    """The non-zero changes, e.g. ``2 added, 1 failed``; empty when nothing changed."""
    parts = [
        (len(report.added), "added"),
        (len(report.updated), "updated"),
        (len(report.moved), "moved"),
        (len(report.deleted), "removed"),
        (len(report.failed), "failed"),
    ]
    return ", ".join(f"{n} {what}" for n, what in parts if n)


def sync_summary(report: SyncReport) -> str | None:
    """One line about what a sync changed, or None when nothing did."""
    done = _changes(report)
    if not done:
        return None
    return f"Index updated: {done} ({count(report.chunks_total, 'chunk')} in total)."


def sync_report_text(report: SyncReport) -> str:
    """The whole report for a terminal: the summary, the work done, then each file's fate."""
    total = count(report.chunks_total, "chunk")
    lines = [
        sync_summary(report) or f"Index unchanged ({total} in total).",
        f"{report.unchanged} unchanged; chunks: {report.chunks_added} embedded, "
        f"{report.chunks_reused} reused; {report.seconds:.1f} s",
    ]
    lines += [f"  moved {a} -> {b}" for a, b in report.moved]
    lines += [f"  FAILED {f}: {r}" for f, r in report.failed]
    lines += [f"  skipped {f}: {r}" for f, r in report.skipped]
    return terminal_text("\n".join(lines))
