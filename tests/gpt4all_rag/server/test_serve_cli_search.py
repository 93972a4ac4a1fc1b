"""``gpt4all-rag search`` asks a running ``serve`` of its index, and searches alone without one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.cli import main
from gpt4all_rag.local_server import find_server, record_path, server_record
from tests.gpt4all_rag.server.conftest import REACTOR, Serving, fake_settings
from tests.gpt4all_rag.server.test_serve_cli import SCRIPT, free_port, wait_healthy

FAKES = {
    "GPT4ALL_RAG_EMBEDDING_BACKEND": "hash",
    "GPT4ALL_RAG_LLM_BACKEND": "scripted",
    "GPT4ALL_RAG_RELEVANCE_FLOOR": "0.1",
}


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKES.items():
        monkeypatch.setenv(name, value)


def search(index: Path, capsys: pytest.CaptureFixture[str], make: Any = None) -> list[Any]:
    argv = ["search", "--index", str(index), "--json", "--k", "3", REACTOR]
    assert main(argv, assistant_factory=make) == 0
    return list(json.loads(capsys.readouterr().out)["results"])


def test_search_asks_the_running_server_and_builds_nothing(
    indexed: tuple[Path, Path], serving: Serving, capsys: pytest.CaptureFixture[str], fake_env: None
) -> None:
    docs, index = indexed
    alone = search(index, capsys)
    assert alone and "manual" in alone[0]["file"]

    def refuse(settings: Any) -> Any:
        raise AssertionError("the CLI built an assistant although a server was running")

    with serving() as url, server_record(index, url):
        assert find_server(index) == url
        served = search(index, capsys, make=refuse)
    assert served == alone  # the same passages, texts and scores


def test_no_server_a_stale_record_or_a_silent_port_means_searching_alone(
    indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str], fake_env: None
) -> None:
    docs, index = indexed
    built: list[object] = []

    def counted(settings: Any) -> Any:
        from gpt4all_rag.assistant import DocumentAssistant

        built.append(settings)
        return DocumentAssistant.from_settings(settings)

    expected = search(index, capsys, make=counted)
    silent = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    with server_record(index, silent):
        assert search(index, capsys, make=counted) == expected
    record_path(index).write_text(json.dumps({"url": silent, "pid": 2**22 + 7}))  # no such pid
    try:
        assert find_server(index) is None
        assert search(index, capsys, make=counted) == expected
    finally:
        record_path(index).unlink()
    assert len(built) == 3


def test_a_named_collection_never_asks_the_default_index_server(
    indexed: tuple[Path, Path],
    serving: Serving,
    capsys: pytest.CaptureFixture[str],
    fake_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A collection named in the environment has its own index: the server of ./index is not it."""
    from gpt4all_rag.cli import _parser
    from gpt4all_rag.cli.ask import _served_search
    from gpt4all_rag.cli.common import settings_from

    docs, index = indexed
    with serving() as url, server_record(index, url):
        argv = ["search", "--index", str(index), REACTOR]
        args = _parser().parse_args(argv)
        assert _served_search(args, settings_from(args))  # the default collection: served
        monkeypatch.setenv("GPT4ALL_RAG_COLLECTION", "papers")
        assert _served_search(args, settings_from(args)) is None


@pytest.mark.parametrize(
    "record",
    [
        {"url": "http://192.0.2.1:8765", "pid": os.getpid()},  # not loopback
        {"url": "http://127.0.0.1:8765"},  # no pid
        "not a record",
    ],
)
def test_records_that_are_not_a_local_live_server_are_ignored(tmp_path: Path, record: Any) -> None:
    record_path(tmp_path).write_text(json.dumps(record) if isinstance(record, dict) else record)
    assert find_server(tmp_path) is None


def test_a_record_is_removed_only_by_the_server_that_wrote_it(tmp_path: Path) -> None:
    with server_record(tmp_path, "http://127.0.0.1:1") as path:
        assert path == record_path(tmp_path) and path.is_file()
    assert not record_path(tmp_path).exists()
    with server_record(tmp_path, "http://127.0.0.1:1"):
        record_path(tmp_path).write_text(json.dumps({"url": "http://127.0.0.1:2", "pid": 1}))
    assert record_path(tmp_path).is_file()  # another server's record stays


def test_serve_is_found_by_search_while_it_runs_and_not_after(indexed: tuple[Path, Path]) -> None:
    docs, index = indexed
    port = free_port()
    env = {**os.environ, **FAKES, "GPT4ALL_RAG_DOCUMENTS_DIR": str(docs)}
    env.pop("GPT4ALL_RAG_SERVE_TOKEN", None)
    command = [SCRIPT, "serve", "--index", str(index), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        assert find_server(index) == f"http://127.0.0.1:{port}"
        searched = subprocess.run(
            [SCRIPT, "search", "--index", str(index), "--json", REACTOR],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert searched.returncode == 0, searched.stderr
    assert json.loads(searched.stdout)["results"][0]["file"].endswith("manual.pdf")
    assert not record_path(index).exists()
    assert fake_settings(docs, index).use_running_server  # on by default
