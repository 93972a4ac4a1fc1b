"""The app as ``make run`` launches it: its secret, its Host and Origin checks, its headers.

Issue 21, items 3 and 7, against the real server (``python -m gpt4all_rag.ui.launch``
on loopback, with the fakes), started by the fixtures of ``test_browser``.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import websocket
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import browser as base
from tests.helpers.app_page import APP_TOKEN
from tests.helpers.processes import LOOPBACK, recording_connections

pytestmark = pytest.mark.slow


# Every kind of route the server has: the page, Streamlit's own, its media files.
ROUTES = ["/", "/_stcore/health", "/_stcore/metrics", "/_stcore/host-config", "/media/x.png"]
FRAME_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}
LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)")


def status_and_headers(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers


def websocket_status(url: str, host: str, origin: str | None) -> int:
    """101 when the app's WebSocket opens for this Host and Origin, else the refusal's status."""
    stream = url.replace("http://", "ws://") + "/_stcore/stream"
    options: dict[str, Any] = {"origin": origin} if origin else {"suppress_origin": True}
    try:
        websocket.create_connection(stream, host=host, timeout=10, **options).close()
    except websocket.WebSocketBadStatusException as refused:
        return int(refused.status_code)
    return 101


def test_every_route_refuses_a_foreign_host_or_origin_and_forbids_framing(
    apps: base.Apps,
) -> None:
    url = apps.start(base.FAKES)
    own = urlsplit(url).netloc
    foreign = [
        {"Host": "evil.example"},
        {"Host": f"evil.example:{urlsplit(url).port}"},
        {"Origin": "http://evil.example"},
        {"Origin": f"http://localhost:{urlsplit(url).port}"},
    ]

    for route in ROUTES:
        refused = [status_and_headers(url + route, headers)[0] for headers in foreign]
        assert refused == [403] * len(foreign), route
        status, headers = status_and_headers(url + route, {"Origin": f"http://{own}"})
        assert status == (404 if route.startswith("/media") else 200), route
        assert {name: headers[name] for name in FRAME_HEADERS} == FRAME_HEADERS, route
    assert status_and_headers(url + "/", {"Host": f"localhost:{urlsplit(url).port}"})[0] == 200


def test_a_websocket_from_another_origin_is_refused_and_nothing_is_looked_up(
    apps: base.Apps,
) -> None:
    # Streamlit's own origin check looks the machine's address up at checkip.amazonaws.com
    # for an Origin it does not know; that lookup would go through this proxy.
    with recording_connections() as proxy:
        address = f"http://{LOOPBACK}:{proxy.port}"
        proxies = {name: address for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy")}
        local = {"NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1"}
        url = apps.start({**base.FAKES, **proxies, "https_proxy": address, **local})
        own = urlsplit(url).netloc

        assert websocket_status(url, own, "http://evil.example") == 403
        assert websocket_status(url, own, "null") == 403
        assert websocket_status(url, "evil.example", None) == 403
        assert websocket_status(url, own, f"http://{own}") == 101
        time.sleep(3)  # Streamlit's lookup would have started by now

    assert proxy.requests == []


def test_the_launcher_prints_a_fresh_secret_and_keeps_it_off_command_lines(
    apps: base.Apps, browser: WebDriver
) -> None:
    url = apps.start({**base.FAKES, "GPT4ALL_RAG_APP_TOKEN": ""})  # unset: make one
    server, log = apps.servers[-1]
    found = LINK.search(log.read_text())
    assert found is not None, log.read_text()
    port, token = found.groups()
    assert int(port) == urlsplit(url).port and len(token) >= 40
    assert token != APP_TOKEN
    assert token.encode() not in Path(f"/proc/{server.pid}/cmdline").read_bytes()

    browser.get(url)  # without the secret: the note, nothing else
    WebDriverWait(browser, base.START_TIMEOUT).until(
        apps.serving(lambda d: "Open the link printed in the terminal" in d.page_source)
    )
    time.sleep(2)
    assert "Indexed" not in browser.page_source
    browser.get(found.group(0))
    WebDriverWait(browser, base.INDEX_TIMEOUT).until(
        apps.serving(lambda d: "Indexed (0)" in base.sidebar_text(d))
    )
    browser.refresh()  # a new session: the link in the address bar opens it again
    WebDriverWait(browser, base.INDEX_TIMEOUT).until(
        apps.serving(lambda d: "Indexed (0)" in base.sidebar_text(d))
    )
    assert browser.current_url == found.group(0)
