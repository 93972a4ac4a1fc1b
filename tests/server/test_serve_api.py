"""The real server (uvicorn on a loopback port) driven by httpx, on the fakes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx

from gpt4all_rag.answering.prompts import NOT_FOUND_ANSWER
from gpt4all_rag.cli.main import main
from gpt4all_rag.markdown import escape_text
from tests.helpers.cli import fakes
from tests.helpers.serving import AUTH, CONTENT, REACTOR, REPLY, Serving

CHAT = "/v1/chat/completions"


def ask(question: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt4all-rag", "messages": [{"role": "user", "content": question}], **extra}


def sse_data(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of a stream, keep-alive comments left out."""
    return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def test_health_models_and_status(serving: Serving, indexed, capsys, monkeypatch):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        assert client.get("/health").json() == {"status": "ok"}
        models = client.get("/v1/models").json()
        assert [(m["id"], m["model_file"]) for m in models["data"]] == [("gpt4all-rag", "scripted")]
        status = client.get("/v1/status").json()
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(indexed[0]))
    assert main(["status", "--index", str(indexed[1]), "--json"], fakes()) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (status["files"], status["failed"]) == (8, 4)
    assert status.pop("model") == "scripted"
    assert status.pop("server") == {"busy": False, "waiting": 0, "answered": 0, "ingesting": False}
    assert status == printed  # the rest is gpt4all-rag status --json


def test_an_answer_with_its_sources_as_footnotes_and_extra_fields(serving: Serving):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        body = client.post(CHAT, json=ask(REACTOR)).json()
        assert body["object"] == "chat.completion"
        assert body["model"] == "gpt4all-rag"
        assert body["choices"] == [
            {
                "index": 0,
                "message": {"role": "assistant", "content": CONTENT},
                "finish_reason": "stop",
            }
        ]
        first = body["sources"][0]
        assert (first["number"], first["file"], first["page"], first["cited"]) == (
            1,
            "manual.pdf",
            2,
            True,
        )
        assert [s["cited"] for s in body["sources"][1:]] == [False] * (len(body["sources"]) - 1)
        assert body["answer"]["answer"] == REPLY  # gpt4all-rag ask --json's object
        assert body["answer"]["cited"] == [1]
        assert client.get("/v1/status").json()["server"]["answered"] == 1


def test_the_stream_adds_up_to_the_same_content_then_sources_then_done(serving: Serving):
    with (
        serving() as url,
        httpx.Client(base_url=url, headers=AUTH) as client,
        client.stream("POST", CHAT, json=ask(REACTOR, stream=True)) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        data = sse_data(response)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content == CONTENT
    evidence = next(c["evidence"] for c in chunks if "evidence" in c)
    assert evidence[0]["file"] == "manual.pdf" and "451 kelvin" in evidence[0]["text"]
    last = chunks[-1]
    assert last["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert [s["file"] for s in last["sources"] if s["cited"]] == ["manual.pdf"]
    assert last["answer"]["answer"] == REPLY


def test_nothing_found_streams_the_fixed_answer_without_the_model(serving: Serving):
    with serving(relevance_floor=0.25) as url, httpx.Client(base_url=url, headers=AUTH) as client:
        question = "quokka xylophone zeppelin"
        with client.stream("POST", CHAT, json=ask(question, stream=True)) as response:
            chunks = [json.loads(d) for d in sse_data(response)[:-1]]
        content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert content == escape_text(NOT_FOUND_ANSWER)
        assert chunks[-1]["sources"] == [] and chunks[-1]["answer"]["found"] is False
        body = client.post(CHAT, json=ask(question)).json()
        assert body["choices"][0]["message"]["content"] == escape_text(NOT_FOUND_ANSWER)


def test_filters_k_and_mode_restrict_the_answer_like_the_cli(serving: Serving):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        body = client.post(
            CHAT,
            json=ask(
                "How long do queen bees live?", k=1, mode="keyword", filters={"extensions": ["md"]}
            ),
        ).json()
        assert [s["file"] for s in body["sources"]] == ["notes.md"]
        assert body["choices"][0]["message"]["content"] == (
            "The core runs at 451 kelvin [^1]\\.\n\n[^1]: From notes\\.md"
            "\n\nNot found in your sources: The core runs at 451 kelvin\\."
        )


def test_search_returns_what_search_json_prints(serving: Serving, indexed, capsys):
    docs, index = indexed
    query = "Zorblax reactor core temperature kelvin"
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        served = client.post("/v1/search", json={"query": query, "k": 3}).json()
        only_md = client.post(
            "/v1/search", json={"query": "queen bees", "filters": {"extensions": [".md"]}}
        ).json()
    code = main(["search", query, "--k", "3", "--index", str(index), "--json"], fakes())
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert served == printed
    assert [r["file"] for r in served["results"]][:1] == ["manual.pdf"]
    assert {r["file"] for r in only_md["results"]} == {"notes.md"}


def test_ingest_syncs_the_configured_folder(serving: Serving, indexed, tmp_path: Path):
    docs = shutil.copytree(indexed[0], tmp_path / "docs")
    with (
        serving(documents_dir=docs, index_dir=tmp_path / "index") as url,
        httpx.Client(base_url=url, headers=AUTH, timeout=60) as client,
    ):
        first = client.post("/v1/ingest", json={}).json()
        (docs / "new.md").write_text("# Sprockets\n\nA sprocket has 31 teeth.\n")
        second = client.post("/v1/ingest", json={"force": False}).json()
        hits = client.post("/v1/search", json={"query": "sprocket teeth", "k": 1}).json()
    assert (len(first["added"]), len(first["failed"])) == (8, 4)
    assert (second["added"], second["unchanged"]) == (["new.md"], 8)
    assert hits["results"][0]["file"] == "new.md"


def test_bad_requests_get_openai_errors(serving: Serving):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        empty = client.post(CHAT, json={"messages": []})
        no_question = client.post(CHAT, json={"messages": [{"role": "system", "content": "x"}]})
        bad_mode = client.post("/v1/search", json={"query": "x", "mode": "fuzzy"})
        unknown = client.get("/v1/embeddings")
    assert empty.status_code == 400
    assert empty.json()["error"]["type"] == "invalid_request_error"
    assert "messages" in empty.json()["error"]["message"]
    assert no_question.status_code == 400
    assert no_question.json()["error"]["message"] == (
        "the last message must be the user's question, as text"
    )
    assert bad_mode.status_code == 400 and "mode" in bad_mode.json()["error"]["message"]
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Not Found"
