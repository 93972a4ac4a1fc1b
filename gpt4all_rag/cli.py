"""The ``gpt4all-rag`` command line.

Exit codes: 0 success, 1 some files failed (the rest were indexed), 2 a usage
or setup error (a missing model, an unreachable store, a bad argument).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.reporting import sync_report_text, terminal_text
from vectorstore.schema import SEARCH_MODES

if TYPE_CHECKING:
    from tqdm import tqdm

    from gpt4all_rag.answer import Answer
    from gpt4all_rag.assistant import DocumentAssistant
    from gpt4all_rag.flow import EvidenceEvent
    from gpt4all_rag.settings import Settings
    from gpt4all_rag.types import Message
    from ingest.pipeline import ProgressEvent
    from vectorstore.retriever import Filters

__all__ = ["AssistantFactory", "main"]

EXIT_OK, EXIT_FILES_FAILED, EXIT_USAGE = 0, 1, 2

AssistantFactory = Callable[["Settings"], "DocumentAssistant"]
"""Builds the assistant from the command's settings; tests pass one with fakes."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index", type=Path, help="index folder (default: $GPT4ALL_RAG_INDEX_DIR or ./index)"
    )
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser = argparse.ArgumentParser(
        prog="gpt4all-rag", description="Private, local chat with your documents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", parents=[common], help="index a folder incrementally")
    ingest.add_argument("folder", nargs="?", type=Path, help="documents folder (default: settings)")
    ingest.add_argument(
        "--force",
        action="store_true",
        help="index this folder even though the index was built from another one "
        "(its files then replace the other folder's)",
    )
    commands.add_parser("status", parents=[common], help="show what the index holds")
    reset = commands.add_parser("reset", parents=[common], help="delete everything indexed")
    reset.add_argument("--yes", action="store_true", help="confirm the reset")
    _add_ask_commands(commands, common)
    _add_eval_command(commands, common)
    return parser


def _add_ask_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    retrieval = argparse.ArgumentParser(add_help=False)
    retrieval.add_argument("--k", type=int, help="passages to retrieve")
    retrieval.add_argument("--mode", choices=SEARCH_MODES)
    retrieval.add_argument(
        "--file", action="append", default=[], help="only this file (repeatable)"
    )
    retrieval.add_argument("--folder", help="only files below this folder")
    retrieval.add_argument(
        "--type", action="append", default=[], help="only this file type, e.g. pdf"
    )
    retrieval.add_argument("--model", type=Path, help="GGUF model file")
    ask = commands.add_parser("ask", parents=[common, retrieval], help="answer one question")
    ask.add_argument("question")
    commands.add_parser("chat", parents=[common, retrieval], help="interactive chat with history")
    search = commands.add_parser("search", parents=[common, retrieval], help="passages, no LLM")
    search.add_argument("query")


def _add_eval_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    ev = commands.add_parser("eval", parents=[common], help="retrieval quality on a BEIR dataset")
    ev.add_argument("--corpus", type=Path, required=True, help="BEIR corpus.jsonl")
    ev.add_argument("--queries", type=Path, required=True, help="BEIR queries.jsonl")
    ev.add_argument("--qrels", type=Path, required=True, help="BEIR qrels .tsv")
    ev.add_argument(
        "--mode",
        action="append",
        choices=SEARCH_MODES,
        help="mode(s) to evaluate (default: all)",
    )
    ev.add_argument("--limit", type=int, help="evaluate only the first N judged queries")
    ev.add_argument("--work-dir", type=Path, help="keep the throwaway index here")


def _settings(args: argparse.Namespace) -> Settings:
    from gpt4all_rag.settings import Settings

    overrides: dict[str, object] = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    if getattr(args, "folder", None) and args.command == "ingest":
        overrides["documents_dir"] = args.folder
    if getattr(args, "model", None):
        overrides["model_path"] = args.model
    if getattr(args, "k", None):
        overrides["top_k"] = args.k
    if getattr(args, "mode", None) and args.command != "eval":
        overrides["retrieval_mode"] = args.mode
    return Settings(**overrides)  # type: ignore[arg-type]  # validated by pydantic


def _default_factory(settings: Settings) -> DocumentAssistant:
    from gpt4all_rag.assistant import DocumentAssistant

    return DocumentAssistant.from_settings(settings)


def _filters(args: argparse.Namespace) -> Filters | None:
    from vectorstore.retriever import Filters

    if not (args.file or args.folder or args.type):
        return None
    return Filters(files=tuple(args.file), folder=args.folder, extensions=tuple(args.type))


def _emit(args: argparse.Namespace, payload: object, text: str) -> None:
    """The payload as one JSON object, or the text with terminal controls removed."""
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(terminal_text(text))


# --- commands -------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Sync the folder and print the summary."""
    # This process only embeds: OpenMP threads that wait passively leave the CPU to the
    # parse thread (22% instead of 38% over embedding alone, docs/benchmarks.md). Not
    # set for `ask` or the app: passive waiting makes llama.cpp generate 3x slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    assistant = make(_settings(args))
    with _progress_bar(enabled=not args.json and sys.stderr.isatty()) as progress:
        report = assistant.ingest(
            assistant.settings.documents_dir, progress=progress, force=args.force
        )
    _emit(args, report.to_json(), sync_report_text(report))
    return EXIT_FILES_FAILED if report.failed else EXIT_OK


class _progress_bar:  # noqa: N801 - used as a context manager, reads like a function
    """A tqdm bar (files, chunks, rate, ETA) on a terminal; nothing elsewhere."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: tqdm[object] | None = None

    def __enter__(self) -> Callable[[ProgressEvent], None] | None:
        return self.update if self.enabled else None

    def update(self, event: ProgressEvent) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=event.files_total, unit="file", file=sys.stderr, dynamic_ncols=True
            )
        self.bar.update(event.files_done - self.bar.n)
        self.bar.set_postfix(chunks=event.chunks_done, refresh=False)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_status(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Print what the index holds."""
    status = make(_settings(args)).status().to_json()
    _emit(args, status, "\n".join(f"{k.replace('_', ' ')}: {v}" for k, v in status.items()))
    return EXIT_OK


def cmd_reset(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Delete everything indexed, after --yes."""
    if not args.yes:
        print("reset deletes every indexed chunk; run again with --yes to confirm", file=sys.stderr)
        return EXIT_USAGE
    make(_settings(args)).reset()
    _emit(args, {"reset": True}, "index reset")
    return EXIT_OK


def cmd_search(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Print the passages a query retrieves."""
    assistant = make(_settings(args))
    sources = assistant.search(
        args.query, k=assistant.settings.top_k if args.k is None else args.k, filters=_filters(args)
    )
    payload = {"results": [s.to_json() for s in sources]}
    text = "\n\n".join(f"[{s.number}] {s.label} ({s.score:.3f})\n{s.text}" for s in sources)
    _emit(args, payload, text or "no passage found")
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Stream one answer, then its sources."""
    assistant = make(_settings(args))
    answer = _stream_answer(assistant, args.question, [], _filters(args), quiet=args.json)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    return EXIT_OK


def _stream_answer(
    assistant: DocumentAssistant,
    question: str,
    history: list[Message],
    filters: Filters | None,
    quiet: bool,
) -> Answer:
    """Print the evidence, then the answer as it streams, then its checks and sources.

    Unless ``quiet``; the finished answer is returned either way.
    """
    from gpt4all_rag.answer import Answer
    from gpt4all_rag.flow import EvidenceEvent, TokenEvent

    answer = None
    for event in assistant.events(question, history=history, filters=filters):
        if isinstance(event, Answer):
            answer = event
        elif quiet:
            continue
        elif isinstance(event, EvidenceEvent):
            _print_evidence(event)
        elif isinstance(event, TokenEvent):
            print(terminal_text(event.text), end="", flush=True)
    assert answer is not None  # events() always ends with the Answer
    if not quiet:
        _print_checks(answer)
    return answer


def _print_evidence(event: EvidenceEvent) -> None:
    """The quoted source sentences, before any model runs."""
    print("Evidence:")
    for item in event.evidence:
        print(terminal_text(f'  "{item.text}" [{item.source}]'))
    print()


def _print_checks(answer: Answer) -> None:
    """What the answer's sentences do not stand on, then the sources (* = cited)."""
    print()
    for sentence in answer.unsupported:
        print(terminal_text(f"! not found in your sources: {sentence.text.strip()}"))
    for source in answer.sources:
        mark = "*" if source.number in answer.cited else " "
        print(terminal_text(f"{mark}[{source.number}] {source.label}"))


def cmd_chat(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Interactive chat; history is kept for follow-up questions."""
    assistant = make(_settings(args))
    history: list[Message] = []
    print("Ask your documents (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            break
        if not question:
            break
        answer = _stream_answer(assistant, question, history, _filters(args), quiet=False)
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Evaluate retrieval on a BEIR dataset."""
    from gpt4all_rag.evaluation import format_results, run_beir_eval

    results = run_beir_eval(
        _settings(args),
        args.corpus,
        args.queries,
        args.qrels,
        modes=args.mode or list(SEARCH_MODES),
        limit=args.limit,
        work_dir=args.work_dir,
        assistant_factory=make,
    )
    _emit(args, results, format_results(results))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, AssistantFactory], int]] = {
    "ingest": cmd_ingest,
    "status": cmd_status,
    "reset": cmd_reset,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "search": cmd_search,
    "eval": cmd_eval,
}


def main(
    argv: Sequence[str] | None = None, assistant_factory: AssistantFactory | None = None
) -> int:
    """Run one command; errors become one line on stderr and exit code 2.

    Args:
        argv: The arguments (default: the process's).
        assistant_factory: Builds the assistant from the command's settings;
            default ``DocumentAssistant.from_settings``.
    """
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, assistant_factory or _default_factory)
    except USER_ERRORS as exc:
        print(terminal_text(f"gpt4all-rag: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as exc:  # bad settings values, unreadable folders
        print(terminal_text(f"gpt4all-rag: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; the next ingest repairs the index", file=sys.stderr)
        return 130
