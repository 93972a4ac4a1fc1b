"""The real page in headless Chromium: upload a PDF, ask about it, see the cited page.

Runs ``streamlit run app.py`` on a free loopback port with empty documents and
index folders, and drives it with Selenium. Needs ``chromium`` and
``chromedriver`` (Debian: ``apt-get install chromium chromium-driver``); without
them the test fails and says so, it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
MANUAL = ROOT / "tests" / "data" / "docs" / "manual.pdf"
SCREENSHOT = ROOT / "artifacts" / "e2e-answer.png"
QUESTION = "What is the core temperature of the Zorblax reactor?"
START_TIMEOUT = 90
INDEX_TIMEOUT = 240
ANSWER_TIMEOUT = 300

pytestmark = pytest.mark.slow


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


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port, with empty tmp folders."""
    port = free_port()
    env = {
        **os.environ,
        "GPT4ALL_RAG_DOCUMENTS_DIR": str(tmp_path / "docs"),
        "GPT4ALL_RAG_INDEX_DIR": str(tmp_path / "index"),
    }
    env.pop("GPT4ALL_RAG_MODEL_PATH", None)
    (tmp_path / "docs").mkdir()
    log = tmp_path / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, server, log)
        yield url
    finally:
        stop_process(server, timeout=15)


def find_program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"{' or '.join(names)} not found: the browser test needs Chromium and its driver "
        "(Debian/Ubuntu: apt-get install chromium chromium-driver)"
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium from the system, with a throwaway profile."""
    options = webdriver.ChromeOptions()
    options.binary_location = find_program("chromium", "chromium-browser", "google-chrome")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1440,1100", f"--user-data-dir={tmp_path / 'profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(find_program("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def sidebar_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]').text)


def source_summaries(driver: WebDriver) -> list[WebElement]:
    css = '[data-testid="stChatMessage"] [data-testid="stExpander"] summary'
    return list(driver.find_elements(By.CSS_SELECTOR, css))


def test_upload_ask_and_see_the_cited_page(app_url: str, browser: WebDriver) -> None:
    browser.get(app_url)
    wait = WebDriverWait(browser, INDEX_TIMEOUT)
    wait.until(lambda d: "Indexed (0)" in sidebar_text(d))

    file_input = (By.CSS_SELECTOR, '[data-testid="stSidebar"] input[type="file"]')
    upload = wait.until(ec.presence_of_element_located(file_input))
    upload.send_keys(str(MANUAL))
    wait.until(lambda d: "manual.pdf\n3 chunks" in sidebar_text(d))

    box = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]'))
    )
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)
    WebDriverWait(browser, ANSWER_TIMEOUT).until(lambda d: len(source_summaries(d)) >= 1)

    labels = [s.text for s in source_summaries(browser)]
    assert "manual.pdf · page 2" in labels[0], labels
    css = '[data-testid="stChatMessageContent"]'
    messages = [m.text for m in browser.find_elements(By.CSS_SELECTOR, css)]
    assert messages[0] == QUESTION
    assert "451" in messages[1].splitlines()[0], messages[1]

    source_summaries(browser)[0].click()
    marks = WebDriverWait(browser, 30).until(
        lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, "mark") if m.is_displayed()]
    )
    assert "Zorblax" in [m.text for m in marks]

    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
