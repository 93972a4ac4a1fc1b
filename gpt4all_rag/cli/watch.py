"""``watch``: keep an index in step with its folder until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, settings_from
from gpt4all_rag.reporting import terminal_text

if TYPE_CHECKING:
    from gpt4all_rag.cli.common import Subcommands
    from ingest.report import SyncReport

__all__ = ["cmd_watch", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``watch``."""
    watch = commands.add_parser(
        "watch", parents=[common], help="keep the index in step with the folder until stopped"
    )
    watch.add_argument("folder", nargs="?", type=Path, help="documents folder (default: settings)")
    watch.add_argument(
        "--force",
        action="store_true",
        help="sync at start although the index was built from another folder, or the "
        "folder is empty while the index holds files",
    )
    watch.add_argument("--debounce", type=float, help="quiet seconds before a sync")
    watch.add_argument("--settle", type=float, help="seconds a file must stay unchanged")
    watch.set_defaults(handler=cmd_watch)


def cmd_watch(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Sync once, then follow the folder's changes; one line (or JSON object) per change.

    Ctrl-C and SIGTERM stop it cleanly (exit 0): the observer is joined, and a sync
    under way on the watcher's thread finishes first. The first sync runs on this thread
    and is interrupted instead (as Ctrl-C interrupts ``ingest``: the next sync repairs).
    """
    from gpt4all_rag.assistant.watching import IndexWatcher  # watchdog: on use only

    extra = {"documents_dir": args.folder} if args.folder else {}
    assistant = make(settings_from(args, **extra))
    out = _Output(args.json)
    watcher = IndexWatcher(
        assistant,
        debounce_s=args.debounce,
        settle_s=args.settle,
        on_report=out.report,
        on_event=out.notice,
    )
    stop, interrupt = threading.Event(), threading.Event()
    interrupt.set()
    previous = _on_signals(stop, interrupt)
    watcher.start(initial_sync=False)  # events during the first sync are not lost
    try:
        watcher.sync_now(force=args.force)  # its changes are told through on_report
        interrupt.clear()
        out.notice(f"watching {watcher.folder} ({watcher.observer_kind} events); Ctrl-C stops")
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        _restore(previous)
    out.notice("stopped")
    return EXIT_OK


class _Output:
    """Prints changes and notices, as text lines or JSON lines, flushed at once."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.previous: SyncReport | None = None
        self.lock = threading.Lock()

    def report(self, report: SyncReport) -> None:
        # watchdog: on use only
        from gpt4all_rag.assistant.watching import change_lines, change_records

        previous, self.previous = self.previous, report
        if self.as_json:
            self._print(
                [json.dumps(r, ensure_ascii=False) for r in change_records(report, previous)]
            )
        else:
            self._print([terminal_text(line) for line in change_lines(report, previous)])

    def notice(self, line: str) -> None:
        record: dict[str, Any] = {"event": "notice", "message": line}
        self._print(
            [json.dumps(record, ensure_ascii=False) if self.as_json else terminal_text(line)]
        )

    def _print(self, lines: list[str]) -> None:
        with self.lock:
            for line in lines:
                print(line, flush=True)


def _on_signals(stop: threading.Event, interrupt: threading.Event) -> dict[int, Any]:
    """SIGTERM and SIGINT set ``stop`` (and raise KeyboardInterrupt while ``interrupt``).

    Returns the handlers to restore.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if interrupt.is_set():
            raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handle)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
