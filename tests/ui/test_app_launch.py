"""``gpt4all_rag.ui.launch``: the launch secret and ``LocalOnly`` (issue 21, items 3 and 7).

``LocalOnly`` is driven as an ASGI server drives it, around a small app that records
what reached it: a refused request must never reach Streamlit, whose WebSocket origin
check would otherwise look the machine's address up on the internet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from gpt4all_rag.ui.launch import (
    APP_TOKEN_VARIABLE,
    FRAME_HEADERS,
    LocalOnly,
    launch_token,
    page_url,
    request_allowed,
    token_matches,
)

NAMES = ("localhost", "127.0.0.1")
OWN = "127.0.0.1:8501"


class Recorder:
    """The app behind the middleware: answers 200 (or accepts), and records each scope."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(scope["path"])
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(kind: str, path: str, headers: dict[str, str], names: Any = NAMES) -> list[Message]:
    """Run one request through ``LocalOnly``; return what it sent back, and record reaches."""
    scope = {
        "type": kind,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(LocalOnly(APP, names)(scope, receive, send))
    return sent


APP = Recorder()


@pytest.fixture(autouse=True)
def fresh_recorder() -> None:
    APP.reached.clear()


def response_headers(sent: list[Message]) -> dict[str, str]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return {k.decode().lower(): v.decode() for k, v in start["headers"]}


@pytest.mark.parametrize(
    ("host", "origin", "allowed"),
    [
        (OWN, None, True),
        ("localhost:8501", None, True),
        ("LOCALHOST.:8501", None, True),
        (OWN, f"http://{OWN}", True),
        (None, None, False),
        ("evil.example", None, False),
        ("evil.example:8501", None, False),
        ("127.0.0.1.evil.example", None, False),
        ("user@127.0.0.1:8501", None, False),
        ("127.0.0.1:x", None, False),
        ("127.0.0.1/x", None, False),
        (OWN, "http://evil.example", False),
        (OWN, "null", False),
        (OWN, "http://localhost:8501", False),  # another name is another origin
        (OWN, "http://127.0.0.1:9999", False),
        (OWN, f"file://{OWN}", False),
    ],
)
def test_only_the_apps_own_names_and_origin_are_allowed(
    host: str | None, origin: str | None, allowed: bool
) -> None:
    assert request_allowed(host, origin, NAMES) is allowed


def test_a_star_in_the_allowed_hosts_allows_any_name_but_not_any_origin() -> None:
    assert request_allowed("box.lan:8501", None, ["*"]) is True
    assert request_allowed("box.lan:8501", "http://evil.example", ["*"]) is False


@pytest.mark.parametrize("path", ["/", "/media/a.png", "/_stcore/health", "/_stcore/metrics"])
def test_a_foreign_host_is_refused_on_every_route_before_streamlit(path: str) -> None:
    sent = call("http", path, {"Host": "evil.example"})

    assert sent[0]["status"] == 403
    assert APP.reached == []
    assert {k.lower(): v for k, v in FRAME_HEADERS.items()}.items() <= response_headers(
        sent
    ).items()


def test_a_websocket_from_another_origin_never_reaches_streamlits_origin_check() -> None:
    sent = call("websocket", "/_stcore/stream", {"Host": OWN, "Origin": "http://evil.example"})

    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008
    assert APP.reached == []


def test_the_apps_own_requests_pass_and_are_not_framed() -> None:
    sent = call("http", "/", {"Host": OWN, "Origin": f"http://{OWN}"})
    opened = call("websocket", "/_stcore/stream", {"Host": OWN, "Origin": f"http://{OWN}"})

    assert sent[0]["status"] == 200
    assert response_headers(sent)["content-security-policy"] == "frame-ancestors 'none'"
    assert response_headers(sent)["x-frame-options"] == "DENY"
    assert [m["type"] for m in opened] == ["websocket.accept"]
    assert APP.reached == ["/", "/_stcore/stream"]


def test_the_token_is_the_environments_when_set_and_fresh_otherwise() -> None:
    fresh = [launch_token({}) for _ in range(3)]

    assert launch_token({APP_TOKEN_VARIABLE: "given"}) == "given"
    assert launch_token({APP_TOKEN_VARIABLE: ""}) not in {"", "given"}
    assert len(set(fresh)) == 3 and all(len(t) >= 40 for t in fresh)
    assert page_url(8501, "abc") == "http://127.0.0.1:8501/?token=abc"


@pytest.mark.parametrize(
    ("given", "expected", "matches"),
    [
        ("s3cret", "s3cret", True),
        ("s3cre", "s3cret", False),
        ("", "s3cret", False),
        (None, "s3cret", False),
        ("", "", False),  # no secret set opens nothing
        ("ünïcode", "ünïcode", True),
        ("ünïcode", "s3cret", False),
    ],
)
def test_the_token_must_match_exactly(given: str | None, expected: str, matches: bool) -> None:
    assert token_matches(given, expected) is matches
