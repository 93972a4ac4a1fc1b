"""``ask`` and ``search``: one question answered, or the passages it retrieves."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import (
    EXIT_OK,
    AskerFactory,
    default_factory,
    emit,
    filters_from,
    settings_from,
)
from gpt4all_rag.reporting import terminal_text
from vectorstore.schema import SEARCH_MODES

if TYPE_CHECKING:
    from gpt4all_rag.answer import Answer, Source
    from gpt4all_rag.answering.asking import Asker
    from gpt4all_rag.answering.flow import EvidenceEvent
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.settings import Settings
    from gpt4all_rag.types import Message
    from vectorstore.retriever import Filters

__all__ = ["cmd_ask", "cmd_search", "register", "retrieval_parser", "stream_answer"]


def retrieval_parser() -> argparse.ArgumentParser:
    """The options of every command that retrieves: k, mode, filters and the model."""
    retrieval = argparse.ArgumentParser(add_help=False)
    retrieval.add_argument("--k", type=int, help="passages to retrieve")
    retrieval.add_argument("--mode", dest="retrieval_mode", choices=SEARCH_MODES)
    retrieval.add_argument(
        "--file", action="append", default=[], help="only this file (repeatable)"
    )
    retrieval.add_argument("--folder", help="only files below this folder")
    retrieval.add_argument(
        "--type", action="append", default=[], help="only this file type, e.g. pdf"
    )
    retrieval.add_argument("--model", type=Path, help="GGUF model file")
    return retrieval


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``ask`` and ``search``."""
    retrieval = retrieval_parser()
    ask = commands.add_parser("ask", parents=[common, retrieval], help="answer one question")
    ask.add_argument("question")
    ask.set_defaults(handler=cmd_ask)
    search = commands.add_parser("search", parents=[common, retrieval], help="passages, no LLM")
    search.add_argument("query")
    search.set_defaults(handler=cmd_search)


def cmd_search(args: argparse.Namespace, make: AskerFactory) -> int:
    """Print the passages a query retrieves, from a running server of the index if any."""
    settings = settings_from(args)
    sources = _served_search(args, settings)
    if sources is None:
        sources = _search_here(args, settings, make)
    payload = {"results": [s.to_json() for s in sources]}
    text = "\n\n".join(f"[{s.number}] {s.caption} ({s.score:.3f})\n{s.text}" for s in sources)
    emit(args, payload, text or "no passage found")
    return EXIT_OK


def _search_here(args: argparse.Namespace, settings: Settings, make: AskerFactory) -> list[Source]:
    """The search in this process: with the retriever alone where that is the same search.

    The default assistant's retriever is built without the assistant (no LangChain,
    ingest or answer flow to import: ``gpt4all_rag.index.retrieval``); an injected factory
    (an application's, a test's fakes) or a named collection gets the assistant.
    """
    from gpt4all_rag.answer import numbered_sources  # numpy: on use only
    from gpt4all_rag.index.retrieval import search_only  # numpy: on use only

    k = settings.top_k  # --k is in it (settings_from)
    retriever = search_only(settings) if make is default_factory else None
    if retriever is None:
        return make(settings).search(args.query, k=k, filters=filters_from(args))
    passages = retriever.search(
        args.query, k=k, mode=settings.retrieval_mode, filters=filters_from(args)
    )
    return numbered_sources(passages)


def _served_search(args: argparse.Namespace, settings: Settings) -> list[Source] | None:
    """The search done by a running ``gpt4all-rag serve`` of this index, or None.

    Only the default collection's single index is served this way; a named
    collection, a missing or silent server, or no token to send it (the server's
    ``serve.token``, else ``GPT4ALL_RAG_SERVE_TOKEN``) means the search runs here.
    """
    # urllib, ssl (the HTTP client): imported when the command runs, so --help starts fast.
    from gpt4all_rag.server.discovery import find_server, read_token, remote_search
    from gpt4all_rag.settings_indexing import DEFAULT_COLLECTION  # pydantic: on use only

    named = args.collection or settings.collection != DEFAULT_COLLECTION
    if not settings.use_running_server or named:
        return None
    url = find_server(settings.index_dir)
    if url is None:
        return None
    token = read_token(settings.index_dir) or (
        settings.serve_token.get_secret_value().strip() if settings.serve_token else None
    )
    if not token:
        return None
    body: dict[str, object] = {
        "query": args.query,
        "k": settings.top_k,
        "mode": settings.retrieval_mode,
    }
    if args.file or args.folder or args.type:
        body["filters"] = {"files": args.file, "folder": args.folder, "extensions": args.type}
    results = remote_search(url, body, settings.running_server_timeout, token)
    if results is None:
        return None
    from gpt4all_rag.answer import Source  # numpy: on use only

    return [Source.from_json(n, shape) for n, shape in enumerate(results, start=1)]


def cmd_ask(args: argparse.Namespace, make: AskerFactory) -> int:
    """Stream one answer, then its sources."""
    assistant = make(settings_from(args))
    answer = stream_answer(assistant, args.question, [], filters_from(args), quiet=args.json)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    return EXIT_OK


def stream_answer(
    assistant: Asker,
    question: str,
    history: list[Message],
    filters: Filters | None,
    quiet: bool,
) -> Answer:
    """Print the evidence, then the answer as it streams, then its checks and sources.

    Unless ``quiet``; the finished answer is returned either way.
    """
    from gpt4all_rag.answer import Answer  # numpy: on use only
    from gpt4all_rag.answering.flow import EvidenceEvent, TokenEvent  # numpy: on use only

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
    """What the answer's sentences do not stand on, then the sources (* = cited).

    A text with a failed claim is marked as the model's draft, not the answer.
    """
    from gpt4all_rag.trust.grounding import draft_problem  # numpy: on use only

    print()
    if problem := draft_problem(answer.sentences):
        print(terminal_text(f"! Draft by the model, not confirmed by your documents: {problem}"))
    for sentence in answer.unsupported:
        print(terminal_text(f"! not found in your sources: {sentence.text.strip()}"))
    for source in answer.sources:
        mark = "*" if source.number in answer.cited else " "
        print(terminal_text(f"{mark}[{source.number}] {source.caption}"))
