"""The F16 copy of the bundled Q4_1 model: made once, the same model, skipped when it cannot pay."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from gpt4all_rag.llm.f16_copy import f16_copy_path, prompt_fast_model
from gpt4all_rag.llm.gguf_header import read_gguf_metadata
from gpt4all_rag.llm.llama_cpp import extra_buffer_types
from gpt4all_rag.settings import Settings, bundled_gguf

MB = 1024 * 1024


def test_the_bundled_model_is_a_quantization_the_fast_kernels_skip() -> None:
    assert read_gguf_metadata(bundled_gguf())["general.file_type"] == "3"  # Q4_1


def test_no_copy_when_turned_off_or_the_model_is_too_large(tmp_path: Path) -> None:
    model = bundled_gguf()
    assert prompt_fast_model(model, tmp_path, 0) == model
    assert prompt_fast_model(model, tmp_path, model.stat().st_size - 1) == model
    assert not any(tmp_path.iterdir())


def test_no_copy_of_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    other = tmp_path / "notes.gguf"
    other.write_bytes(b"not a model at all" * 100)
    assert prompt_fast_model(other, tmp_path / "copies", 512 * MB) == other
    assert not (tmp_path / "copies").exists()


def test_a_folder_that_cannot_be_written_keeps_the_original(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the copies folder should be")
    with caplog.at_level(logging.WARNING):
        assert prompt_fast_model(bundled_gguf(), blocked, 512 * MB) == bundled_gguf()
    assert "kept as it is" in caplog.text and bundled_gguf().name in caplog.text


def test_settings_put_copies_in_a_hidden_folder_of_the_models_dir(tmp_path: Path) -> None:
    settings = Settings(models_dir=tmp_path / "models")
    assert settings.f16_copy_dir == tmp_path / "models" / ".f16"
    assert settings.f16_copy_max_mb > bundled_gguf().stat().st_size // MB


@pytest.mark.slow
def test_the_copy_is_made_once_and_is_the_same_model(tmp_path: Path) -> None:
    copy = prompt_fast_model(bundled_gguf(), tmp_path, 512 * MB)
    assert copy == f16_copy_path(bundled_gguf(), tmp_path) and copy.is_file()
    assert read_gguf_metadata(copy)["general.file_type"] == "1"  # F16
    assert [p.name for p in tmp_path.iterdir()] == [copy.name]  # no partial file left
    made = copy.stat().st_mtime_ns
    assert prompt_fast_model(bundled_gguf(), tmp_path, 512 * MB) == copy
    assert copy.stat().st_mtime_ns == made  # not converted again

    prompts = [
        "The capital of France is",
        "To install a package in R, call",
        "Water boils at a temperature of",
        "A data frame in R is",
    ]
    logits = {
        name: _next_token_logits(path, prompts)
        for name, path in (("q4_1", bundled_gguf()), ("f16", copy))
    }
    for q4, f16 in zip(logits["q4_1"], logits["f16"], strict=True):
        # Measured: correlation >= 0.999 and KL <= 0.0053 on these prompts; the two runs
        # differ only in arithmetic (Q4_1's path also rounds activations to 8 bits).
        assert np.corrcoef(q4, f16)[0, 1] >= 0.998
        assert _kl(q4, f16) < 0.02
        assert int(np.argmax(f16)) in np.argsort(-q4)[:2]


def _next_token_logits(path: Path, prompts: list[str]) -> list[np.ndarray]:
    import llama_cpp

    with extra_buffer_types(False):  # AMX crashes on this project's CI machines
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, logits_all=True, verbose=False)
    rows = []
    for prompt in prompts:
        llm.reset()
        llm.eval(llm.tokenize(prompt.encode()))
        rows.append(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64))
    llm.close()
    return rows


def _kl(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = np.exp(a - a.max()), np.exp(b - b.max())
    pa, pb = pa / pa.sum(), pb / pb.sum()
    return float(np.sum(pa * np.log(pa / pb)))
