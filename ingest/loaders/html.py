"""HTML to visible text, by a linear tokenizer (no parse tree)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ingest.loaders.base import Heading, Page
from ingest.loaders.text import decode_text

__all__ = ["html_to_text", "load_html", "read_html"]

_HTML_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "head"})
# A newline after each block element keeps sentences whole: separating every text node
# with "\n" would also split a sentence at each inline <a>, <b> or <span>.
# fmt: off
_HTML_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot",
    "tr", "ul",
})
# fmt: on
_HTML_CELL_TAGS = frozenset({"td", "th"})
_HTML_HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}
_MAX_HEADINGS = 5000
_BLANK_RUN = re.compile(r"\n{3,}")


class _VisibleText(HTMLParser):
    """Collect an HTML document's visible text in one pass over its tags.

    A tokenizer, not a tree: the time is linear in the input however deeply the elements
    nest (building a tree and editing it was quadratic for 100,000 nested divs). Unclosed
    elements need no repair: a block tag only asks for a line break, at its start and at
    its end, and a run of breaks counts as one.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.headings: list[Heading] = []
        self._heading: tuple[int, list[str]] | None = None
        self._hidden: list[str] = []
        self._in_title = False
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # an unclosed <head> ends where the body starts
            self._hidden = [name for name in self._hidden if name != "head"]
        if tag in _HTML_HIDDEN_TAGS:
            self._hidden.append(tag)
        elif tag == "title" and not self._title_done:
            self._in_title = True
        elif tag in _HTML_BLOCK_TAGS:
            self._break()
            if tag in _HTML_HEADING_LEVELS and not self._hidden:
                self._heading = (_HTML_HEADING_LEVELS[tag], [])
        elif tag in _HTML_CELL_TAGS:
            self._space()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_HIDDEN_TAGS:
            if tag in self._hidden:  # close it and whatever was left open inside it
                last = len(self._hidden) - 1 - self._hidden[::-1].index(tag)
                del self._hidden[last:]
        elif tag == "title" and self._in_title:
            self._in_title, self._title_done = False, True
        elif tag in _HTML_BLOCK_TAGS:
            self._end_heading(tag)
            self._break()
        elif tag in _HTML_CELL_TAGS:
            self._space()

    def _end_heading(self, tag: str) -> None:
        if self._heading is None or tag not in _HTML_HEADING_LEVELS:
            return
        level, parts = self._heading
        self._heading = None
        title = " ".join("".join(parts).split())
        if title and len(self.headings) < _MAX_HEADINGS:
            self.headings.append(Heading(level, title))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.parts.append(data)
            if self._heading is not None:
                self._heading[1].append(data)

    def _break(self) -> None:
        if not self._hidden and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def _space(self) -> None:
        if not self._hidden and self.parts and not self.parts[-1][-1:].isspace():
            self.parts.append(" ")


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML document, its title as the first line.

    Args:
        html: The document's markup.

    Returns:
        One line per block element, runs of blank lines collapsed to one.
    """
    return read_html(html).text


def read_html(html: str) -> Page:
    """An HTML document as one page: its visible text, its ``<title>`` and ``<h1>``-``<h6>``."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    title = " ".join("".join(parser.title).split())
    lines = [" ".join(line.split()) for line in f"{title}\n{''.join(parser.parts)}".splitlines()]
    text = _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()
    return Page(text, None, headings=tuple(parser.headings), title=title[:200])


def load_html(path: Path) -> list[Page]:
    """Load the visible text of an HTML page as one page, with its title and headings."""
    return [read_html(decode_text(path.read_bytes(), path))]
