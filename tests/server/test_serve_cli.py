"""``gpt4all-rag serve`` through its console script, on the fakes (set by environment)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx

from gpt4all_rag.server.discovery import read_token, token_path
from tests.helpers.processes import free_port
from tests.helpers.serving import CONTENT, REACTOR, REPLY, SCRIPT, wait_healthy


def test_serve_answers_then_stops_cleanly_on_ctrl_c(indexed: tuple[Path, Path]):
    docs, index = indexed
    port = free_port()
    env = {
        **os.environ,
        "GPT4ALL_RAG_DOCUMENTS_DIR": str(docs),
        "GPT4ALL_RAG_EMBEDDING_BACKEND": "hash",
        "GPT4ALL_RAG_LLM_BACKEND": "scripted",
        "GPT4ALL_RAG_SCRIPTED_REPLIES": json.dumps([REPLY]),
        "GPT4ALL_RAG_RELEVANCE_FLOOR": "0.1",
        "GPT4ALL_RAG_SERVE_TOKEN": "from-the-environment",
    }
    command = [SCRIPT, "serve", "--index", str(index), "--port", str(port), "--token", "t0ken"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        headers = {"Authorization": "Bearer t0ken"}  # --token wins over the environment
        body = {"messages": [{"role": "user", "content": REACTOR}]}
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30)
        refused = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer x"})
        anonymous = httpx.get(f"{url}/v1/models")
        written = read_token(index)  # where the CLI's clients find it
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert answer.json()["choices"][0]["message"]["content"] == CONTENT
    assert (refused.status_code, anonymous.status_code) == (401, 401)
    assert written == "t0ken"
    assert not token_path(index).exists()  # removed at the end
    assert process.returncode == 0, err
    assert "loading the models (scripted)" in err
    assert f"serving {index} on http://127.0.0.1:{port}/v1" in err
    assert f"bearer token in {token_path(index)}" in err
    assert err.rstrip().endswith("stopped")
