"""HTML to visible text, by a linear tokenizer (no parse tree)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ingest.loaders.base import Page
from ingest.loaders.text import decode_text

__all__ = ["html_to_text", "load_html"]

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
            self._break()
        elif tag in _HTML_CELL_TAGS:
            self._space()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.parts.append(data)

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
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    title = " ".join("".join(parser.title).split())
    lines = [" ".join(line.split()) for line in f"{title}\n{''.join(parser.parts)}".splitlines()]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def load_html(path: Path) -> list[Page]:
    """Load the visible text of an HTML page as one page."""
    return [Page(html_to_text(decode_text(path.read_bytes(), path)), None)]
