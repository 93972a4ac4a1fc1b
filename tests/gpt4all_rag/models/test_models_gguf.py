"""The GGUF header reader: metadata out of hand-written files and the bundled model, no load."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gpt4all_rag.llm.gguf_header import GGUFHeaderError, read_gguf_metadata
from gpt4all_rag.models.discovery import bundled_model
from tests.helpers.model_files import gguf_bytes, write_gguf


def test_scalars_and_strings_are_read_and_arrays_skipped(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(
        gguf_bytes(
            {"general.name": "Tiny", "llama.context_length": 2048, "flag": True, "rope": 0.5},
            vocabulary=1000,
        )
    )

    assert read_gguf_metadata(path) == {
        "general.name": "Tiny",
        "llama.context_length": "2048",
        "flag": "true",
        "rope": "0.5",
    }


def test_the_bundled_model_has_its_own_chat_template() -> None:
    path = bundled_model()
    assert path is not None

    started = time.perf_counter()
    metadata = read_gguf_metadata(path)
    elapsed = time.perf_counter() - started

    assert metadata["general.architecture"] == "llama"
    assert metadata["tokenizer.chat_template"].startswith("{% for message in messages %}")
    assert metadata["llama.context_length"] == "8192"
    assert elapsed < 2.0  # the header only: the 98 MB of weights are never read


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "too small"),
        (b"PK\x03\x04" + bytes(40), "not a GGUF file"),
        (b"GGUF" + (1).to_bytes(4, "little") + bytes(40), "version 1"),
    ],
)
def test_files_that_are_not_gguf_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)

    with pytest.raises(GGUFHeaderError, match=reason):
        read_gguf_metadata(path)


def test_a_truncated_header_is_refused_not_overread(tmp_path: Path) -> None:
    whole = write_gguf(tmp_path / "whole.gguf", name="x", template="{{ x }}").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: len(whole) - 5])

    with pytest.raises(GGUFHeaderError, match="past the end|truncated"):
        read_gguf_metadata(cut)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", name="first")
    assert read_gguf_metadata(path)["general.name"] == "first"

    write_gguf(path, name="second, longer")

    assert read_gguf_metadata(path)["general.name"] == "second, longer"
