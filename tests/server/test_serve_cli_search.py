"""``gpt4all-rag search`` asks a running ``serve`` of its index, and searches alone without one."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.cli.main import main
from gpt4all_rag.server.discovery import (
    find_server,
    loopback_url,
    read_token,
    record_path,
    remote_search,
    server_record,
    token_file,
    token_path,
    write_token,
)
from gpt4all_rag.testing import fake_settings
from tests.helpers.processes import free_port
from tests.helpers.serving import REACTOR, SCRIPT, TOKEN, Serving, wait_healthy

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

    with serving() as url, server_record(index, url), token_file(index, TOKEN):
        assert find_server(index) == url
        served = search(index, capsys, make=refuse)
    assert served == alone  # the same passages, texts and scores


def test_without_the_servers_token_search_runs_alone(
    indexed: tuple[Path, Path], serving: Serving, capsys: pytest.CaptureFixture[str], fake_env: None
) -> None:
    docs, index = indexed
    built: list[object] = []

    def counted(settings: Any) -> Any:
        from gpt4all_rag.assistant.single import DocumentAssistant

        built.append(settings)
        return DocumentAssistant.from_settings(settings)

    with serving() as url, server_record(index, url):
        assert search(index, capsys, make=counted)  # no serve.token: never a 401 shown
        with token_file(index, "not-the-token"):
            assert search(index, capsys, make=counted)  # the server refuses it: alone
    assert len(built) == 2


def test_no_server_a_stale_record_or_a_silent_port_means_searching_alone(
    indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str], fake_env: None
) -> None:
    docs, index = indexed
    built: list[object] = []

    def counted(settings: Any) -> Any:
        from gpt4all_rag.assistant.single import DocumentAssistant

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
    from gpt4all_rag.cli.ask import _served_search
    from gpt4all_rag.cli.common import settings_from
    from gpt4all_rag.cli.main import _parser

    docs, index = indexed
    with serving() as url, server_record(index, url), token_file(index, TOKEN):
        argv = ["search", "--index", str(index), REACTOR]
        args = _parser().parse_args(argv)
        assert _served_search(args, settings_from(args))  # the default collection: served
        monkeypatch.setenv("GPT4ALL_RAG_COLLECTION", "papers")
        assert _served_search(args, settings_from(args)) is None


@pytest.mark.parametrize(
    "record",
    [
        {"url": "http://192.0.2.1:8765", "pid": os.getpid()},  # not loopback
        {"url": "http://127.0.0.1.attacker.example:8765", "pid": os.getpid()},
        {"url": "http://127.0.0.1:80@evil.example", "pid": os.getpid()},
        {"url": "http://127.0.0.1:8765"},  # no pid
        {"url": "http://127.0.0.1:8765", "pid": 2**70},  # no such pid, not even a C long
        {"url": "http://127.0.0.1:8765", "pid": -1},  # kill(-1, 0) reaches every process
        {"url": "http://127.0.0.1:8765", "pid": 0},
        "not a record",
    ],
)
def test_records_that_are_not_a_local_live_server_are_ignored(tmp_path: Path, record: Any) -> None:
    record_path(tmp_path).write_text(json.dumps(record) if isinstance(record, dict) else record)
    assert find_server(tmp_path) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.attacker.example",
        "http://127.0.0.1.attacker.example:8765",
        "http://user@127.0.0.1:80",
        "http://127.0.0.1:80@evil",
        "http://127.0.0.1:80@evil:80",
        "http://user:pw@localhost:8765",
        "http://localhost.attacker.example:8765",
        "http://[::1].evil:8765",
        "http://[::ffff:127.0.0.1]:8765",
        "http://[::1]x:8765",
        "http://127.0.0.1",  # no port
        "http://127.0.0.1:0",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:port",
        "http://127.0.0.1:8765/v1",  # a base URL has no path
        "http://127.0.0.1:8765?x=1",
        "http://127.0.0.1:8765#x",
        "https://127.0.0.1:8765",
        "ftp://127.0.0.1:8765",
        "http://2130706433:8765",  # 127.0.0.1 as one number, but resolvers disagree
        "http://0x7f.0.0.1:8765",
        "http://127.1:8765",
        "http://0.0.0.0:8765",
        "http://10.0.0.1:8765",
        "http:127.0.0.1:8765",
        "//127.0.0.1:8765",
        "http://127.0.0.1:8765\\@evil.example",
        "",
    ],
)
def test_a_record_url_must_be_exactly_a_loopback_host_and_port(tmp_path: Path, url: str) -> None:
    assert loopback_url(url) is None
    record_path(tmp_path).write_text(json.dumps({"url": url, "pid": os.getpid()}))
    assert find_server(tmp_path) is None


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("http://127.3.2.1:1", "http://127.3.2.1:1"),
        ("http://[::1]:8765", "http://[::1]:8765"),
        ("http://localhost:8765", "http://localhost:8765"),
    ],
)
def test_loopback_urls_are_accepted(url: str, base: str) -> None:
    assert loopback_url(url) == base


def test_the_token_file_is_private_from_the_start(tmp_path: Path, monkeypatch) -> None:
    modes: list[int] = []
    real_open = os.open

    def watched(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        modes.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    old = os.umask(0)  # the most permissive umask: the mode alone must keep others out
    try:
        monkeypatch.setattr(os, "open", watched)
        path = write_token(tmp_path, "t0ken")
    finally:
        os.umask(old)
    assert modes == [0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_token(tmp_path) == "t0ken"
    assert [p.name for p in tmp_path.iterdir()] == ["serve.token"]  # no temporary left


def test_a_token_file_others_could_write_or_that_is_a_link_is_ignored(tmp_path: Path) -> None:
    write_token(tmp_path, "t0ken")
    token_path(tmp_path).chmod(0o622)
    assert read_token(tmp_path) is None
    token_path(tmp_path).unlink()
    (tmp_path / "elsewhere").write_text("t0ken")
    token_path(tmp_path).symlink_to(tmp_path / "elsewhere")
    assert read_token(tmp_path) is None
    write_token(tmp_path, "new")  # replaces the link, never writes through it
    assert (tmp_path / "elsewhere").read_text() == "t0ken"
    assert read_token(tmp_path) == "new"


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
    env.pop("GPT4ALL_RAG_SERVE_TOKEN", None)  # serve generates one; search reads it
    command = [SCRIPT, "serve", "--index", str(index), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        assert find_server(index) == f"http://127.0.0.1:{port}"
        assert stat.S_IMODE(token_path(index).stat().st_mode) == 0o600
        assert stat.S_IMODE(record_path(index).stat().st_mode) == 0o600
        token = read_token(index)
        assert token is not None and len(token) >= 40
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
    assert not token_path(index).exists()
    assert fake_settings(docs, index).use_running_server  # on by default


@contextmanager
def listener(reply: tuple[int, dict[str, str]]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback HTTP server that answers every POST with ``reply``; records the headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(reply[0])
            for name, value in reply[1].items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_token_never_follows_a_redirect() -> None:
    with listener((200, {})) as (elsewhere, taken):
        moved = (307, {"Location": f"{elsewhere}/v1/search"})
        with listener(moved) as (url, asked):
            assert remote_search(url, {"query": "q"}, 5.0, "t0ken") is None
    assert [h["Authorization"] for h in asked] == ["Bearer t0ken"]
    assert taken == []  # the redirect was not followed: the token went nowhere else
