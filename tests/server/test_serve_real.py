"""The real bundled models behind the server: an answer, then a stream dropped mid-answer.

Slow tier: MiniLM and SmolLM2 through llama.cpp, whose context lock must be released
when a client disconnects (it refuses a thread that still holds an unfinished answer).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.server.api import create_app
from gpt4all_rag.server.run import BackgroundServer, preload
from gpt4all_rag.settings import Settings
from tests.helpers.data import DOCS
from tests.helpers.serving import REACTOR


@pytest.mark.slow
def test_real_models_answer_and_a_dropped_stream_frees_llama_cpp(tmp_path: Path):
    docs = shutil.copytree(DOCS, tmp_path / "docs")
    settings = Settings(  # the model's draft: the bundled model's default is the quotes alone
        documents_dir=docs,
        index_dir=tmp_path / "index",
        max_new_tokens=48,
        temperature=0.0,
        answer_style="both",
    )
    assistant = DocumentAssistant.from_settings(settings)
    assistant.ingest()
    preload(assistant)
    question = {"messages": [{"role": "user", "content": REACTOR}], "stream": True}
    with BackgroundServer(create_app(assistant, settings)) as server:
        client = OpenAI(
            base_url=f"{server.url}/v1", api_key=server.token, max_retries=0, timeout=300
        )
        first = client.chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}]
        )
        with (
            httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {server.token}"},
                timeout=300,
            ) as http,
            http.stream("POST", "/v1/chat/completions", json=question) as response,
        ):
            pieces = 0
            for line in response.iter_lines():
                if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get(
                    "content"
                ):
                    pieces += 1
                if pieces == 2:
                    break
        started = time.monotonic()
        second = client.chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}]
        )
        took = time.monotonic() - started
    assert first.model_extra["sources"][0]["file"] == "manual.pdf"
    assert first.choices[0].message.content.strip()
    assert pieces == 2
    # Greedy decoding: the answer after the dropped stream is the first answer again.
    assert second.choices[0].message.content == first.choices[0].message.content
    assert took < 120
