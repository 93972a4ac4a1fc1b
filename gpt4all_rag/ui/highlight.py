"""The question's words marked in a passage: whole words and their stems, never prefixes.

Marking every word that merely begins like a question word marks "Callaway"
for "call"; marking none of "installing" for "install" misses the point. So a
passage word is marked when its Snowball stem is the stem of a question word
(the keyword index's stemmer), and stop words never are.
"""

from __future__ import annotations

import html
import re

from gpt4all_rag.trust.text import STOP_WORDS, WORD, stem

__all__ = ["highlight_html", "highlight_terms"]

# Words of a question that say what to do, not what to find.
_QUESTION_WORDS = frozenset(
    {"tell", "please", "give", "show", "explain", "describe", "document", "documents", "find"}
)


def _worth_marking(word: str) -> bool:
    """Not a stop word, and at least three letters (or a number)."""
    if word in STOP_WORDS or word in _QUESTION_WORDS:
        return False
    return len(word) >= 3 or word.isdigit()


def highlight_terms(question: str) -> frozenset[str]:
    """The stems of a question's words worth marking.

    Identifiers (``install.packages``) stay whole, so that naming one does not
    mark every word that shares a part with it.
    """
    found = (m.group(0).lower() for m in WORD.finditer(question))
    return frozenset(stem(word) for word in found if _worth_marking(word))


def highlight_html(text: str, question: str) -> str:
    """``text`` as safe HTML, the question's words wrapped in ``<mark><b>``.

    Everything else is escaped; an identifier is marked whole when the
    question names it, otherwise only its parts that match.
    """
    terms = highlight_terms(question)
    parts: list[str] = []
    last = 0
    for match in WORD.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        parts.append(_mark_word(match.group(0), terms))
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _mark_word(word: str, terms: frozenset[str]) -> str:
    """One word or identifier as HTML, marked whole or in its matching parts."""
    if _matches(word, terms):
        return _mark(word)
    pieces = re.split(r"(\w+)", word)
    if len(pieces) == 3:  # a plain word that did not match
        return html.escape(word)
    return "".join(_mark(p) if _matches(p, terms) else html.escape(p) for p in pieces)


def _matches(word: str, terms: frozenset[str]) -> bool:
    lower = word.lower()
    return bool(lower) and _worth_marking(lower) and stem(lower) in terms


def _mark(word: str) -> str:
    return f"<mark><b>{html.escape(word)}</b></mark>"
