"""A file copied into the documents folder appears in the page and is answerable, no click.

Issue 22: the app watches its folder while it runs. The real launcher (``make app``)
on the fakes, in headless Chromium (``tests/e2e/test_browser.py`` has the parts).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.browser import (
    ANSWER_TIMEOUT,
    FAKES,
    INDEX_TIMEOUT,
    MANUAL,
    QUESTION,
    Apps,
    chat_texts,
    opened,
    send_question,
    sidebar_text,
    source_summaries,
)

pytestmark = pytest.mark.slow
APPEARS_WITHIN_S = 20  # the watcher's debounce and settle (1 s each), the page's timer, load


def test_a_file_copied_into_the_folder_appears_and_is_answered_without_a_click(
    apps: Apps, browser: WebDriver, tmp_path: Path
) -> None:
    replies = {"GPT4ALL_RAG_SCRIPTED_REPLIES": json.dumps(["The core runs at 451 kelvin [1]."])}
    browser.get(opened(apps.start({**FAKES, **replies})))
    WebDriverWait(browser, INDEX_TIMEOUT).until(
        apps.serving(lambda d: "Indexed (0)" in sidebar_text(d))
    )
    assert "watched for changes" in sidebar_text(browser)

    copied = time.monotonic()
    shutil.copy(MANUAL, tmp_path / "docs" / "manual.pdf")
    WebDriverWait(browser, APPEARS_WITHIN_S).until(
        apps.serving(lambda d: "manual.pdf\n3 chunks" in sidebar_text(d))
    )
    appeared = time.monotonic() - copied
    assert "Indexed (1)" in sidebar_text(browser)

    send_question(browser, QUESTION)
    WebDriverWait(browser, ANSWER_TIMEOUT).until(
        apps.serving(lambda d: len(source_summaries(d)) >= 1)
    )
    assert "manual.pdf · page 2" in source_summaries(browser)[0].text
    assert chat_texts(browser)[0] == QUESTION
    assert "451" in chat_texts(browser)[1]
    print(f"manual.pdf appeared in the sidebar {appeared:.1f} s after the copy")  # noqa: T201
