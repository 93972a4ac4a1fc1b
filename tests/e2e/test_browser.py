"""The real page in headless Chromium, served on loopback as ``make run`` serves it.

Two paths: the real models (upload a PDF, ask about it, see the cited page), and
the scripted model writing an answer that tries every way of making the page
load an address, while Chromium's network log shows what the page requested:
nothing may leave 127.0.0.1. Needs ``chromium`` and ``chromedriver`` (``make
deps`` installs them); without them the tests fail and say so, never skip.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import websocket
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.browser import (
    ANSWER_TIMEOUT,
    FAKES,
    HOSTILE_NAME,
    INDEX_TIMEOUT,
    MANUAL,
    QUESTION,
    SCREENSHOT,
    Apps,
    chat_texts,
    off_loopback,
    open_every_source,
    opened,
    requested_urls,
    send_question,
    sidebar_text,
    source_summaries,
)
from tests.helpers.exfiltration import hostile_answer
from tests.helpers.processes import LOOPBACK

pytestmark = pytest.mark.slow


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


def test_the_app_refuses_other_host_names(apps: Apps) -> None:
    # Issue 10, item 4 (DNS rebinding): a page on evil.example whose name resolves to
    # 127.0.0.1 reaches the port, but its Host header is not ours.
    url = apps.start(FAKES).replace("http://", "ws://") + "/_stcore/stream"

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, host="evil.example", suppress_origin=True, timeout=10)
    for host in (f"localhost:{urlsplit(url).port}", f"{LOOPBACK}:{urlsplit(url).port}"):
        websocket.create_connection(url, host=host, suppress_origin=True, timeout=10).close()

    assert refused.value.status_code == 403
