"""``ingest``, ``status`` and ``reset``: what the index holds."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.cli.common import (
    EXIT_FILES_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AssistantFactory,
    emit,
    settings_from,
)
from gpt4all_rag.reporting import sync_report_text

if TYPE_CHECKING:
    from tqdm import tqdm

    from gpt4all_rag.cli.common import Subcommands
    from ingest.pipeline import ProgressEvent

__all__ = ["cmd_ingest", "cmd_reset", "cmd_status", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``ingest``, ``status`` and ``reset``."""
    ingest = commands.add_parser("ingest", parents=[common], help="index a folder incrementally")
    ingest.add_argument("folder", nargs="?", type=Path, help="documents folder (default: settings)")
    ingest.add_argument(
        "--force",
        action="store_true",
        help="index this folder even though the index was built from another one "
        "(its files then replace the other folder's)",
    )
    ingest.set_defaults(handler=cmd_ingest)
    status = commands.add_parser("status", parents=[common], help="show what the index holds")
    status.set_defaults(handler=cmd_status)
    reset = commands.add_parser("reset", parents=[common], help="delete everything indexed")
    reset.add_argument("--yes", action="store_true", help="confirm the reset")
    reset.set_defaults(handler=cmd_reset)


def cmd_ingest(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Sync the folder and print the summary."""
    # This process only embeds: OpenMP threads that wait passively leave the CPU to the
    # parse thread (22% instead of 38% over embedding alone, docs/benchmarks.md). Not
    # set for `ask` or the app: passive waiting makes llama.cpp generate 3x slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    extra = {"documents_dir": args.folder} if args.folder else {}
    assistant = make(settings_from(args, **extra))
    with _progress_bar(enabled=not args.json and sys.stderr.isatty()) as progress:
        report = assistant.ingest(
            assistant.settings.documents_dir, progress=progress, force=args.force
        )
    text = "\n".join([sync_report_text(report), *_warning_lines(report.warnings)])
    emit(args, report.to_json(), text)
    return EXIT_FILES_FAILED if report.failed else EXIT_OK


def _warning_lines(warnings: list[tuple[str, str]]) -> list[str]:
    """One line a file indexed only in part, beside the report's FAILED lines."""
    return [f"  WARNING {file}: {reason}" for file, reason in warnings]


class _progress_bar:  # noqa: N801 - used as a context manager, reads like a function
    """A tqdm bar (files, chunks, rate, ETA) on a terminal; nothing elsewhere."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: tqdm[object] | None = None

    def __enter__(self) -> Callable[[ProgressEvent], None] | None:
        return self.update if self.enabled else None

    def update(self, event: ProgressEvent) -> None:
        """Bytes read so far against the files' total: an ETA from the first file."""
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=event.bytes_total or None,
                unit="B",
                unit_scale=True,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        self.bar.update(event.bytes_done - self.bar.n)
        self.bar.set_postfix(
            files=f"{event.files_done}/{event.files_total}", chunks=event.chunks_done, refresh=False
        )

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_status(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Print what the index holds, from its manifest alone (nothing else is loaded)."""
    from gpt4all_rag.index_status import index_status

    status = index_status(settings_from(args)).to_json()
    emit(args, status, _status_text(status))
    return EXIT_OK


def _status_text(status: dict[str, Any]) -> str:
    """``key: value`` lines, then the warnings' count and one line each."""
    warnings = status["warnings"]
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in status.items() if k != "warnings"]
    lines.append(f"warnings: {len(warnings)}")
    lines += [f"  {w['file']}: {w['reason']}" for w in warnings]
    return "\n".join(lines)


def cmd_reset(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Delete everything indexed, after --yes."""
    if not args.yes:
        print("reset deletes every indexed chunk; run again with --yes to confirm", file=sys.stderr)
        return EXIT_USAGE
    make(settings_from(args)).reset()
    emit(args, {"reset": True}, "index reset")
    return EXIT_OK
