"""The passage found among a page's words, and marked on the page's picture.

The child process reads every word's box on the page; the passage is found among
those words here, with no PDF open.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Box", "Word", "draw_highlight", "locate_passage"]

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_HIGHLIGHT_FILL = (255, 213, 0, 90)
_HIGHLIGHT_EDGE = (230, 120, 0, 255)


@dataclass(frozen=True)
class Box:
    """A rectangle on a rendered page, in pixels from its top left corner."""

    left: int
    top: int
    right: int
    bottom: int

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share some area."""
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )


@dataclass(frozen=True)
class Word:
    """A word as PDFium reads it on the page, with its box on the picture."""

    text: str
    box: Box


def _tokens(text: str) -> list[str]:
    """Lower-case letter and digit runs, ligatures (U+FB01) and full-width forms unfolded."""
    return [token.lower() for token in _TOKEN.findall(unicodedata.normalize("NFKC", text))]


def locate_passage(words: Sequence[Word], passage: str) -> list[Box]:
    """The boxes, one per line, that cover ``passage`` among the page's ``words``.

    pypdf (which made the passage) and PDFium (which boxed the words) do not cut the
    text the same way: one keeps a hyphenated word whole, the other splits it, and
    their spaces and punctuation differ. So both are reduced to lower-case letter and
    digit runs and aligned (``difflib``); the page's words from the first to the last
    aligned run of two or more tokens are the passage. Nothing found: an empty list.
    """
    page_tokens: list[str] = []
    owner: list[int] = []  # index of the word each page token comes from
    for index, word in enumerate(words):
        for token in _tokens(word.text):
            page_tokens.append(token)
            owner.append(index)
    wanted = _tokens(passage)
    if not page_tokens or not wanted:
        return []
    matcher = difflib.SequenceMatcher(None, page_tokens, wanted, autojunk=False)
    blocks = _main_run([b for b in matcher.get_matching_blocks() if b.size])
    if sum(b.size for b in blocks) < len(wanted) / 2:  # a few shared words are not the passage
        return []
    first, last = owner[blocks[0].a], owner[blocks[-1].a + blocks[-1].size - 1]
    return _line_boxes([w.box for w in words[first : last + 1]])


def _main_run(blocks: list[difflib.Match]) -> list[difflib.Match]:
    """The aligned blocks around the longest one that sit where the passage says they do.

    A block joins when its distance from the run on the page is about its distance in
    the passage (a few words of slack for words cut differently; one for a block of a
    single word): "of the" matched three paragraphs away is left out.
    """
    if not blocks:
        return []
    best = max(range(len(blocks)), key=lambda i: blocks[i].size)
    run = [blocks[best]]
    for block in reversed(blocks[:best]):
        head = run[0]
        if _fits(head.a - block.a - block.size, head.b - block.b - block.size, block.size):
            run.insert(0, block)
    for block in blocks[best + 1 :]:
        tail = run[-1]
        if _fits(block.a - tail.a - tail.size, block.b - tail.b - tail.size, block.size):
            run.append(block)
    return run


def _fits(page_gap: int, passage_gap: int, size: int) -> bool:
    return page_gap <= passage_gap + (8 if size > 1 else 1)


def _line_boxes(boxes: Sequence[Box]) -> list[Box]:
    """Words merged into one box per line: a word that shares half its height joins it."""
    lines: list[Box] = []
    for box in boxes:
        last = lines[-1] if lines else None
        if last is not None and _same_line(last, box):
            lines[-1] = Box(
                min(last.left, box.left),
                min(last.top, box.top),
                max(last.right, box.right),
                max(last.bottom, box.bottom),
            )
        else:
            lines.append(box)
    return lines


def _same_line(line: Box, box: Box) -> bool:
    shared = min(line.bottom, box.bottom) - max(line.top, box.top)
    height = min(line.bottom - line.top, box.bottom - box.top)
    return height > 0 and shared >= height / 2


def draw_highlight(png: bytes, boxes: Sequence[Box], pad: int = 2) -> bytes:
    """The PNG with each box filled translucent yellow and edged in orange."""
    from PIL import Image, ImageDraw  # Pillow: loaded when a page is first marked

    with Image.open(io.BytesIO(png)) as opened:
        page = opened.convert("RGBA")
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for box in boxes:
        corners = (box.left - pad, box.top - pad, box.right + pad, box.bottom + pad)
        draw.rectangle(corners, fill=_HIGHLIGHT_FILL, outline=_HIGHLIGHT_EDGE, width=2)
    out = io.BytesIO()
    Image.alpha_composite(page, layer).convert("RGB").save(out, "PNG", compress_level=3)
    return out.getvalue()
