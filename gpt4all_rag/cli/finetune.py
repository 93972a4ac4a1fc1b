"""``gpt4all-rag finetune``: teach the model the person's documents, on this machine.

Builds a training set from the named collections (thumbs-up answers, and questions
made from the documents themselves), trains a LoRA of the configured GGUF with
transformers and peft, and writes a llama.cpp adapter with its record, all inside the
index folder. Set ``GPT4ALL_RAG_LORA_PATH`` to the adapter to answer with it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, collection_names, emit, settings_from

if TYPE_CHECKING:
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.finetune.train import Progress

__all__ = ["cmd_finetune", "register"]

EXIT_INTERRUPTED = 130


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``finetune``."""
    parser = commands.add_parser(
        "finetune",
        parents=[common],
        help="LoRA fine-tuning of the model on your documents and feedback (local, CPU or GPU)",
    )
    parser.add_argument(
        "--out", type=Path, help="adapter file (default: INDEX/finetune/adapter.gguf)"
    )
    parser.add_argument(
        "--export", action="store_true", help="allow --out outside the index folder"
    )
    parser.add_argument("--model", type=Path, help="base GGUF (default: settings; llama only)")
    parser.add_argument("--examples", type=int, default=400, help="synthetic questions tried")
    parser.add_argument("--no-feedback", action="store_true", help="leave out the liked answers")
    parser.add_argument(
        "--hold-out",
        action="append",
        default=[],
        metavar="FILE",
        help="a document file name never trained on (repeatable)",
    )
    parser.add_argument("--steps", type=int, default=-1, help="stop after this many steps")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=4e-4)
    parser.add_argument("--threads", type=int, help="CPU threads (default: all)")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    parser.set_defaults(handler=cmd_finetune)


def _print_progress(progress: Progress) -> None:
    eta = "?" if progress.eta_s is None else f"{progress.eta_s / 60:.1f} min"
    loss = "?" if progress.loss is None else f"{progress.loss:.3f}"
    print(
        f"\rstep {progress.step}/{progress.total}  loss {loss}  ETA {eta}   ",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _print_data(done: int, total: int) -> None:
    print(f"\rbuilding examples {done}/{total}   ", end="", file=sys.stderr, flush=True)


def cmd_finetune(args: argparse.Namespace, make_assistant: AssistantFactory) -> int:
    """Build the data, train, write the adapter and its record; print where they are."""
    # the fine-tuning modules pull in the store and numpy: only when the command runs
    from gpt4all_rag.finetune.dataset import DataOptions
    from gpt4all_rag.finetune.run import RunPaths, check_private, record_path, run_finetune  # idem
    from gpt4all_rag.finetune.train import StopFlag, TrainConfig  # as above

    names = collection_names(args)
    settings = settings_from(argparse.Namespace(**{**vars(args), "collection": []}))
    names = names or [settings.collection]
    paths = RunPaths.in_index(settings.index_dir, args.out)
    check_private(paths, args.export)
    config = TrainConfig(
        rank=args.rank,
        alpha=2 * args.rank,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        max_steps=args.steps,
        threads=args.threads,
    )
    data = DataOptions(args.examples, not args.no_feedback, tuple(args.hold_out))
    stop = StopFlag()
    show = not args.json
    record = run_finetune(
        settings,
        names,
        paths,
        data,
        config,
        resume=args.resume,
        on_data=_print_data if show else None,
        on_progress=_print_progress if show else None,
        stop=stop,
    )
    training = record["training"]
    text = (
        f"\n{record['data']['examples']} examples, {training['steps']} steps in "
        f"{training['train_s'] / 60:.1f} min (peak {training['peak_rss_mb']:.0f} MiB)\n"
        f"adapter: {paths.adapter}\nrecord:  {record_path(paths.adapter)}\n"
        + (
            "stopped: run again with --resume to continue\n"
            if training["stopped"]
            else f"answer with it: GPT4ALL_RAG_LORA_PATH={paths.adapter}"
        )
    )
    emit(args, record, text)
    return EXIT_INTERRUPTED if training["stopped"] else EXIT_OK
