"""``eval``: retrieval quality on a BEIR dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, emit, settings_from
from vectorstore.schema import SEARCH_MODES

if TYPE_CHECKING:
    from gpt4all_rag.cli.common import Subcommands

__all__ = ["cmd_eval", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``eval``."""
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
    ev.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Evaluate retrieval on a BEIR dataset."""
    # LangChain, numpy: on use only
    from gpt4all_rag.evaluation import format_results, run_beir_eval

    results = run_beir_eval(
        settings_from(args),
        args.corpus,
        args.queries,
        args.qrels,
        modes=args.mode or list(SEARCH_MODES),
        limit=args.limit,
        work_dir=args.work_dir,
        assistant_factory=make,
    )
    emit(args, results, format_results(results))
    return EXIT_OK
