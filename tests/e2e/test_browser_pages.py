"""The cited page in headless Chromium: a source opened shows its PDF page, marked.

The app launched as ``make run`` does, on loopback with the fakes (the page is what is tested, not
the models), the fixtures of ``test_browser``. The page image must load from the app
itself, the "Open page N" link must point at the original PDF served inline by the
app with ``#page=N``, and nothing may be requested off 127.0.0.1. A screenshot of the
window with the opened source is saved under artifacts/.
"""

from __future__ import annotations

import contextlib
import shutil
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import browser as base
from tests.helpers.processes import LOOPBACK

pytestmark = pytest.mark.slow
SCREENSHOT = base.ROOT / "artifacts" / "e2e-page.png"
A4_PIXELS = [827, 1170]  # manual.pdf's A4 pages at 100 dpi
EXPANDER = '[data-testid="stChatMessage"] [data-testid="stExpander"]'


def loaded_images(driver: WebDriver) -> list[WebElement]:
    """The images inside the chat's sources that the browser has finished loading."""
    return [
        image
        for image in driver.find_elements(By.CSS_SELECTOR, f"{EXPANDER} img")
        if image.is_displayed()
        and driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", image
        )
    ]


def test_an_opened_source_shows_its_pdf_page_and_links_to_it(
    apps: base.Apps, browser: WebDriver, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copy(base.MANUAL, tmp_path / "docs" / "manual.pdf")
    url = apps.start(base.FAKES)
    base.requested_urls(browser)  # what the browser did on its own before the page
    browser.get(base.opened(url))
    WebDriverWait(browser, base.INDEX_TIMEOUT).until(
        apps.serving(lambda d: "Indexed (1)" in base.sidebar_text(d))
    )
    base.send_question(browser, base.QUESTION)
    WebDriverWait(browser, base.ANSWER_TIMEOUT).until(
        apps.serving(lambda d: len(base.source_summaries(d)) >= 1)
    )
    first = base.source_summaries(browser)[0]
    assert "manual.pdf · page 2" in first.text
    assert loaded_images(browser) == []  # closed sources render nothing

    first.click()
    try:  # opening reruns the page, which renders the page in a child process
        images = WebDriverWait(browser, 60).until(apps.serving(loaded_images))
    except TimeoutException:
        pytest.fail("no page image was shown in the opened source")

    image = images[0]
    size = browser.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", image
    )
    assert size == A4_PIXELS
    assert urlsplit(str(image.get_attribute("src"))).hostname == LOOPBACK
    check_the_link_opens_the_pdf_at_its_page(browser)
    assert base.off_loopback(base.requested_urls(browser)) == []
    save_screenshot(browser, image)


def shown_page_links(driver: WebDriver) -> list[str]:
    links = driver.find_elements(By.CSS_SELECTOR, f'{EXPANDER} a[href*="#page="]')
    return [str(a.get_attribute("href")) for a in links if a.is_displayed()]


def check_the_link_opens_the_pdf_at_its_page(driver: WebDriver) -> None:
    # The link is drawn after the page image in the same run; on a loaded machine the
    # image can be in the page a moment before it.
    with contextlib.suppress(TimeoutException):  # the assertion below says what was there
        WebDriverWait(driver, 30).until(shown_page_links)
    hrefs = shown_page_links(driver)
    assert len(hrefs) == 1 and hrefs[0].endswith(".pdf#page=2"), hrefs
    address, _ = urldefrag(hrefs[0])
    assert urlsplit(address).hostname == LOOPBACK
    with urllib.request.urlopen(address, timeout=10) as response:
        headers: Any = response.headers
        body = response.read()
    assert headers["Content-Type"] == "application/pdf"
    assert "attachment" not in (headers["Content-Disposition"] or "")  # opened, not saved
    assert body == base.MANUAL.read_bytes()


def save_screenshot(driver: WebDriver, image: WebElement) -> None:
    """The window with the opened source at its top: label, passage, the marked page."""
    SCREENSHOT.parent.mkdir(exist_ok=True)
    source = image.find_element(By.XPATH, "ancestor::*[@data-testid='stExpander'][1]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", source)
    assert driver.save_screenshot(str(SCREENSHOT))
