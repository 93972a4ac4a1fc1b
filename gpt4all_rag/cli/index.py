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

    from gpt4all_rag.assistant.single import DocumentAssistant
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.settings import Settings
    from ingest.report import ProgressCallback, ProgressEvent, SyncReport

__all__ = ["cmd_ingest", "cmd_reset", "cmd_status", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``ingest``, ``status`` and ``reset``."""
    ingest = commands.add_parser("ingest", parents=[common], help="index a folder incrementally")
    ingest.add_argument("folder", nargs="?", type=Path, help="documents folder (default: settings)")
    ingest.add_argument(
        "--force",
        action="store_true",
        help="index this folder even though the index was built from another one "
        "(its files then replace the other folder's), or though it is empty while the "
        "index holds files (they are then all removed)",
    )
    ingest.add_argument(
        "--rebuild",
        action="store_true",
        help="build a new index beside this one (a new embedding model, new chunking) and "
        "swap it in at the end; the old one answers until then",
    )
    ingest.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="parse, chunk and embed on a Ray cluster: auto, or host:port of its head node "
        "(needs the cluster extra: pip install 'gpt4all-rag[cluster]'; docs/deployment.md)",
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
    if args.ray:
        extra["ray_address"] = args.ray
    if args.rebuild:
        return _rebuild(args, make, settings_from(args, **extra))
    assistant = make(settings_from(args, **extra))
    with _progress_bar(enabled=not args.json and sys.stderr.isatty()) as progress:
        report = _sync(assistant, progress, force=args.force)
    text = "\n".join([sync_report_text(report), *_warning_lines(report.warnings)])
    emit(args, report.to_json(), text)
    return EXIT_FILES_FAILED if report.failed else EXIT_OK


def _rebuild(args: argparse.Namespace, make: AssistantFactory, settings: Settings) -> int:
    """Build the index anew beside the old one, then swap; refused while a watcher runs.

    A watcher (``watch``, ``serve``, the app) keeps the old index open and would go on
    writing into it after the swap.
    """
    # The manifest (sqlite3) and the rebuild: on use only, so --help starts fast.
    from gpt4all_rag.errors import IndexLocked  # as above
    from gpt4all_rag.settings_indexing import DEFAULT_COLLECTION  # pydantic: on use only
    from ingest.rebuild import rebuild_beside  # as above
    from ingest.watch_record import read_watch_records  # as above

    if settings.collection != DEFAULT_COLLECTION:
        raise ValueError("--rebuild works on the default collection only, for now")
    if live := [w for w in read_watch_records(settings.index_dir) if w.get("alive")]:
        raise IndexLocked(
            f"{settings.index_dir} is being watched (pid {live[0].get('pid')}: "
            f"{live[0].get('command')}); stop it before --rebuild"
        )

    def build(staging: Path) -> SyncReport:
        assistant = make(settings.model_copy(update={"index_dir": staging}))
        try:
            with _progress_bar(enabled=not args.json and sys.stderr.isatty()) as progress:
                return _sync(assistant, progress, force=True)
        finally:
            assistant.manifest.close()

    report = rebuild_beside(settings.index_dir, build)
    text = "\n".join([sync_report_text(report), *_warning_lines(report.warnings)])
    emit(args, report.to_json(), f"{text}\nrebuilt and swapped in: {settings.index_dir}")
    return EXIT_FILES_FAILED if report.failed else EXIT_OK


def _sync(
    assistant: DocumentAssistant, progress: ProgressCallback | None, *, force: bool
) -> SyncReport:
    """Sync the settings' folder: on the Ray cluster of ``ray_address`` if set, else here."""
    settings = assistant.settings
    address = settings.ray_address
    if not address:
        return assistant.ingest(settings.documents_dir, progress=progress, force=force)
    # Start-up time: the cluster wiring loads the whole indexer; only `--ray` needs it.
    from gpt4all_rag.assistant.cluster import ingest_on_cluster

    return ingest_on_cluster(assistant, address, settings.documents_dir, progress, force=force)


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
        from tqdm import tqdm  # tqdm: on use only

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
    from gpt4all_rag.index.status import index_status  # pydantic: on use only

    status = index_status(settings_from(args)).to_json()
    emit(args, status, _status_text(status))
    return EXIT_OK


def _status_text(status: dict[str, Any]) -> str:
    """``key: value`` lines, then the warnings' count and one line each."""
    warnings = status["warnings"]
    special = ("warnings", "watching", "watchers")
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in status.items() if k not in special]
    lines.append(f"warnings: {len(warnings)}")
    lines += [f"  {w['file']}: {w['reason']}" for w in warnings]
    lines.append(f"watching: {'yes' if status['watching'] else 'no'}")
    lines += [f"  {_watcher_line(w)}" for w in status["watchers"]]
    return "\n".join(lines)


def _watcher_line(record: dict[str, Any]) -> str:
    """One watcher: who, since when, the last change seen, files waiting, its problem."""
    if not record.get("alive"):
        return f"pid {record.get('pid')}: not running (stale record)"
    parts = [
        f"pid {record.get('pid')} ({record.get('command', '')})",
        f"since {_clock(record.get('started'))}",
        f"last change {_clock(record.get('last_change'))}",
        f"{record.get('pending', 0)} file(s) waiting",
    ]
    if record.get("syncing"):
        parts.append("syncing now")
    if record.get("error"):
        parts.append(f"problem: {record['error']}")
    return ", ".join(parts)


def _clock(moment: object) -> str:
    """A ``time.time()`` as local ``YYYY-MM-DD HH:MM:SS``; "none" when absent."""
    from datetime import datetime  # only `status` with a watcher needs it: on use only

    if not isinstance(moment, int | float):
        return "none"
    return datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M:%S")


def cmd_reset(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Delete everything indexed, after --yes."""
    if not args.yes:
        print("reset deletes every indexed chunk; run again with --yes to confirm", file=sys.stderr)
        return EXIT_USAGE
    make(settings_from(args)).reset()
    emit(args, {"reset": True}, "index reset")
    return EXIT_OK
