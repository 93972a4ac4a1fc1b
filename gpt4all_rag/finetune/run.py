"""One fine-tuning run, end to end: data, training, the GGUF adapter and its record.

Everything a run writes stays in the index folder's ``finetune/`` (the training set,
the checkpoints, the adapter and its record), unless the person names another place
for the adapter on purpose (``export``). A resumed run reads the training set it wrote
before, so that it continues on the same examples.
"""

from __future__ import annotations

import json
import resource
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpt4all_rag.finetune.data import FINETUNE_FOLDER, origins, read_examples, write_examples
from gpt4all_rag.finetune.dataset import DataOptions, build_dataset, collection_settings
from gpt4all_rag.finetune.lora_gguf import AdapterShape, write_adapter
from gpt4all_rag.finetune.train import (
    Progress,
    StopFlag,
    TrainConfig,
    load_base,
    require_finetune_extra,
    train_lora,
)
from gpt4all_rag.settings import Settings

__all__ = [
    "ADAPTER_FILE",
    "RunPaths",
    "check_private",
    "peak_rss_mb",
    "record_path",
    "run_finetune",
    "update_record",
]

ADAPTER_FILE = "adapter.gguf"


@dataclass(frozen=True)
class RunPaths:
    """Where one run's files go."""

    folder: Path
    data: Path
    checkpoints: Path
    adapter: Path

    @classmethod
    def in_index(cls, index_dir: Path, adapter: Path | None = None) -> RunPaths:
        """The run's files under ``index_dir/finetune``; the adapter there unless given."""
        folder = Path(index_dir) / FINETUNE_FOLDER
        adapter = adapter or folder / ADAPTER_FILE
        return cls(folder, folder / "data.jsonl", folder / "checkpoints", adapter)


def record_path(adapter: Path) -> Path:
    """The JSON beside an adapter: its data, its settings, its figures."""
    return adapter.with_suffix(".json")


def check_private(paths: RunPaths, export: bool) -> None:
    """Refuse an adapter outside the index folder unless the person asked to export it."""
    if not export and not paths.adapter.resolve().is_relative_to(paths.folder.parent.resolve()):
        raise ValueError(
            f"{paths.adapter} is outside the index folder: the adapter holds what was learnt "
            "from your documents; pass --export to write it there anyway"
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_finetune(
    settings: Settings,
    collections: Sequence[str],
    paths: RunPaths,
    data_options: DataOptions | None = None,
    config: TrainConfig | None = None,
    resume: bool = False,
    on_data: Callable[[int, int], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: StopFlag | None = None,
) -> dict[str, Any]:
    """Build (or, resuming, reread) the training set, train, write the adapter and its record."""
    require_finetune_extra()
    data_options = data_options or DataOptions()
    config = config or TrainConfig()
    base = collection_settings(settings, collections[0]).resolved_model_path()
    if resume and paths.data.is_file():
        examples = read_examples(paths.data)
    else:
        _, tokenizer = load_base(base)

        def count(text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

        examples = build_dataset(settings, collections, count, data_options, on_data)
        write_examples(paths.data, examples)
    if not examples:
        raise ValueError("no training example: the collections gave no usable question")
    result = train_lora(base, examples, config, paths.checkpoints, on_progress, resume, stop)
    shape = AdapterShape("llama", result.head_count, result.head_count_kv, base.stem)
    tensors = write_adapter(paths.adapter, result.state, config.alpha, shape)
    record = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": str(base),
        "adapter": str(paths.adapter),
        "tensors": len(tensors),
        "collections": list(collections),
        "data": {
            "file": str(paths.data),
            "examples": len(examples),
            "origins": origins(examples),
            "files": dict(Counter(e.file for e in examples if e.file)),
            "options": {**asdict(data_options), "held_out": sorted(data_options.held_out)},
        },
        "settings": asdict(config),
        "training": {**result.summary(), "peak_rss_mb": peak_rss_mb()},
        "dev": None,
    }
    update_record(paths.adapter, record)
    return record


def update_record(adapter: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Merge ``fields`` into the adapter's record (the benchmark adds its dev figures)."""
    path = record_path(adapter)
    record = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    record.update(fields)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    return record
