"""``summarize``: one indexed document summarized by the local model, with its pages.

The summary streams as the model writes it; then what failed the source check is
listed, as ``ask`` does, and a summary whose claims mostly fail is followed by the
document's key sentences.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, settings_from
from gpt4all_rag.reporting import terminal_text

if TYPE_CHECKING:
    from gpt4all_rag.answering.asking import Asker
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.documents.summarize.results import Summary, SummaryProgress
    from gpt4all_rag.trust.grounding import SentenceSupport

__all__ = ["cmd_summarize", "document_path", "documents_folder", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``summarize``."""
    summarize = commands.add_parser(
        "summarize", parents=[common], help="summarize one indexed document, citing pages"
    )
    summarize.add_argument("file", help="the file, as indexed or as a path to it")
    summarize.add_argument("--model", type=Path, help="GGUF model file")
    summarize.add_argument(
        "--refresh", action="store_true", help="summarize again even if a summary is cached"
    )
    summarize.set_defaults(handler=cmd_summarize)


def document_path(given: str, documents_dir: Path) -> str:
    """The indexed path of ``given``: a path under the documents folder is made relative.

    Anything else is taken as written (``notes/a.md`` as ``ingest --json`` lists it).
    """
    candidate = Path(given).expanduser()
    try:
        return candidate.resolve().relative_to(documents_dir.resolve()).as_posix()
    except ValueError:
        return Path(given).as_posix()


def documents_folder(assistant: Asker) -> Path:
    """The folder the index was built from (the settings' folder if it does not say)."""
    manifest = getattr(assistant, "manifest", None)  # a set of collections has none
    folder = manifest.documents_folder if manifest is not None else None
    return folder or assistant.settings.documents_dir


def cmd_summarize(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Stream the summary (progress on stderr), then its sections and pages."""
    from gpt4all_rag.answering.flow import TokenEvent  # numpy: on use only
    from gpt4all_rag.documents.summarize.results import Summary, SummaryProgress  # as above

    assistant = make(settings_from(args))
    path = document_path(args.file, documents_folder(assistant))
    show = not args.json
    summary, streamed = None, []
    for event in assistant.summary_events(path, refresh=args.refresh):
        if isinstance(event, Summary):
            summary = event
        elif isinstance(event, SummaryProgress) and show:
            _progress(event)
        elif isinstance(event, TokenEvent) and show:
            streamed.append(event.text)
            print(terminal_text(event.text), end="", flush=True)
    assert summary is not None  # summary_events always ends with the Summary
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        _print_after(summary, "".join(streamed))
    return EXIT_OK


def _progress(event: SummaryProgress) -> None:
    """One line per step on stderr, so that stdout holds the summary alone."""
    if event.stage == "cached":
        print("(cached summary)", file=sys.stderr)
    elif event.stage not in ("final", "check"):
        print(f"{event.stage} {event.done}/{event.total}", file=sys.stderr, flush=True)


def _print_after(summary: Summary, streamed: str) -> None:
    """A cached summary's text (nothing was streamed), the pages the model made up, the checks.

    The streamed text is the model's as it wrote it; the summary keeps only
    citations of pages the document has, and says which it dropped. Then come the
    sentences that failed the source check, the document's key sentences when
    most did, and the sections with their own failed sentences.
    """
    # the citation patterns (compiled at import): only after a summary, so --help starts fast
    from gpt4all_rag.documents.summarize.citations import (  # as above
        page_citations,
        validate_page_citations,
    )

    if summary.cached:
        print(terminal_text(summary.text), end="")
    print()
    invented = sorted(set(page_citations(streamed)) - set(summary.pages))
    if invented:
        pages = ", ".join(map(str, invented))
        print(f"! cited pages the document does not have, removed: {pages}")
    kept = validate_page_citations(streamed, summary.pages)
    if not summary.cached and " ".join(kept.split()) != " ".join(summary.text.split()):
        print(terminal_text(f"\nAs kept (index rows and tags left out):\n{summary.text}"))
    _print_unsupported(summary.sentences, "")
    if summary.mostly_unsupported:
        from gpt4all_rag.documents.summarize.checking import MOSTLY_UNSUPPORTED  # numpy: on use

        print(f"\n! {MOSTLY_UNSUPPORTED}")
        for quote in summary.quotes:
            where = f" (p. {quote.page})" if quote.page is not None else ""
            print(terminal_text(f'  "{" ".join(quote.text.split())}"{where}'))
    if len(summary.sections) > 1:
        print("\nBy section:")
        for section in summary.sections:
            where = f"({section.label}) " if section.label else ""
            print(terminal_text(f"- {where}{section.text}"))
            _print_unsupported(section.sentences, "  ")


def _print_unsupported(sentences: Sequence[SentenceSupport], indent: str) -> None:
    """One line per sentence that failed the check, with the reason (as ``ask`` does)."""
    for sentence in sentences:
        if not sentence.supported:
            reason = sentence.reason or "not found in the document"
            text = f"{indent}! not supported ({reason}): {sentence.text.strip()}"
            print(terminal_text(text))
