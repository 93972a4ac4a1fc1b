"""A tiny real run on the bundled model: data, a few LoRA steps, the adapter in llama.cpp."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.finetune.dataset import DataOptions
from gpt4all_rag.finetune.lora_gguf import read_adapter_header
from gpt4all_rag.finetune.run import RunPaths, record_path, run_finetune
from gpt4all_rag.finetune.train import TrainConfig
from gpt4all_rag.llm.llama_cpp import ModelKey, load_model
from gpt4all_rag.settings import Settings, bundled_gguf

pytestmark = pytest.mark.slow
pytest.importorskip("peft")

GUIDE = """# Using the console

This guide covers the console of the program and its commands.
To stop the program, type quit() at the prompt of the console.
The function plot.window() sets up the coordinate system of a new plot.
To save the workspace, call save.image() before you quit the program.
"""


def _last_logits(lora: str | None) -> np.ndarray:
    key = ModelKey(bundled_gguf(), 512, 2, 0, None, lora_path=lora)
    model = load_model(key)
    try:
        tokens = model.llm.tokenize(b"How do I stop the program?")
        model.llm.eval(tokens)  # keeps the last token's logits in the context only
        vocab = model.llm.n_vocab()
        return np.ctypeslib.as_array(model.llm._ctx.get_logits(), shape=(vocab,)).copy()
    finally:
        model.llm.close()


def test_a_few_steps_write_an_adapter_that_llama_cpp_loads_and_that_changes_the_logits(
    tmp_path,
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(GUIDE, encoding="utf-8")
    settings = Settings(documents_dir=docs, index_dir=tmp_path / "index", embedding_backend="hash")
    DocumentAssistant.from_settings(settings).ingest()
    paths = RunPaths.in_index(settings.index_dir)
    config = TrainConfig(rank=4, alpha=8, learning_rate=1e-2, max_steps=2, save_every=1, threads=2)
    record = run_finetune(settings, ["default"], paths, DataOptions(synthetic=10), config)

    assert record["data"]["examples"] >= 2
    assert record["training"]["steps"] == 2
    assert paths.adapter.is_file() and paths.data.is_file()
    assert paths.adapter.is_relative_to(settings.index_dir)  # nothing leaves the index folder
    assert json.loads(record_path(paths.adapter).read_text())["settings"]["rank"] == 4
    assert read_adapter_header(paths.adapter).adapter_type == "lora"

    base = _last_logits(None)
    tuned = _last_logits(str(paths.adapter))
    assert np.abs(tuned - base).max() > 1e-3

    # stopped runs go on from their latest checkpoint, on the same examples
    more = TrainConfig(rank=4, alpha=8, learning_rate=1e-2, max_steps=3, save_every=1, threads=2)
    resumed = run_finetune(settings, ["default"], paths, DataOptions(), more, resume=True)
    assert resumed["training"]["steps"] == 3
    assert resumed["data"]["examples"] == record["data"]["examples"]
