"""The fakes as backends chosen by settings: no torch, no llama.cpp, exact results (fast)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpt4all_rag import DocumentAssistant, Settings
from gpt4all_rag.llm.factory import build_llm
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.settings_answering import DEFAULT_SCRIPTED_REPLY
from gpt4all_rag.testing import HashEmbedder, hash_vector
from tests.helpers.data import DOCS, DOCS_CHUNKS


def test_hash_vector_is_computable_by_hand():
    # "b b" puts 2 in one dimension: unit length makes it exactly 1.0 there.
    assert hash_vector("b B") == hash_vector("b")
    assert max(hash_vector("b")) == 1.0 and sum(hash_vector("b")) == 1.0
    two = hash_vector("alpha beta")
    assert sorted(v for v in two if v) == [1 / math.sqrt(2)] * 2
    assert hash_vector("") == [0.0] * 256


def test_scripted_llm_plays_its_script_in_order_and_repeats_the_last():
    llm = ScriptedLLM(["one [1].", "two [2]."])
    replies = ["".join(llm.stream_chat([], max_tokens=9, temperature=0)) for _ in range(3)]
    assert replies == ["one [1]. ", "two [2]. ", "two [2]. "]
    assert "".join(llm.stream_chat([], max_tokens=1, temperature=0)) == "two "


def test_settings_choose_the_fakes(monkeypatch, tmp_path):
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "scripted")
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_SCRIPTED_REPLIES", json.dumps(["A [2].", "B [1]."]))
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")
    assert settings.scripted_replies == ["A [2].", "B [1]."]
    assistant = DocumentAssistant.from_settings(settings)
    assert type(assistant.embedder) is HashEmbedder
    assert type(assistant.llm) is ScriptedLLM and assistant.llm.replies == ["A [2].", "B [1]."]
    assert assistant.model_name == "scripted"


def test_default_scripted_reply_cites_the_first_passage():
    llm = build_llm(Settings(_env_file=None, llm_backend="scripted", context_size=1024))
    assert isinstance(llm, ScriptedLLM) and llm.context_size == 1024
    assert "".join(llm.stream_chat([], max_tokens=50, temperature=0)).strip() == (
        DEFAULT_SCRIPTED_REPLY
    )
    assert "[1]" in DEFAULT_SCRIPTED_REPLY


def test_unknown_backend_is_a_settings_error():
    with pytest.raises(ValueError, match="embedding_backend"):
        Settings(_env_file=None, embedding_backend="word2vec")


FAKE_RUN = """
import json, sys
from gpt4all_rag import DocumentAssistant
from gpt4all_rag.testing import fake_settings
settings = fake_settings(sys.argv[1], sys.argv[2], _env_file=None)
assistant = DocumentAssistant.from_settings(settings)
report = assistant.ingest()
answer = assistant.ask("Zorblax reactor core temperature kelvin")
print(json.dumps({"chunks": report.chunks_total, "text": answer.text, "cited": answer.cited,
                  "first": [answer.sources[0].file, answer.sources[0].page],
                  "heavy": sorted(m for m in ("torch", "llama_cpp", "sentence_transformers")
                                  if m in sys.modules)}))
"""


def test_fake_backends_build_a_whole_assistant_without_torch_or_llama_cpp(tmp_path: Path):
    # A fresh interpreter: this one may have imported torch for another test.
    shutil.copytree(DOCS, tmp_path / "docs")
    result = subprocess.run(
        [sys.executable, "-c", FAKE_RUN, str(tmp_path / "docs"), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out == {
        "chunks": sum(DOCS_CHUNKS.values()),
        "text": DEFAULT_SCRIPTED_REPLY,
        "cited": [1],
        "first": ["manual.pdf", 2],
        "heavy": [],
    }
