"""Which sentences of a passage can be quoted as evidence, and under which rules.

A passage is a chunk cut from a PDF's text: its first sentence may begin mid-way,
its last may stop mid-way, a code line follows the sentence that introduces it, and
a table of contents is full of dot leaders. This module turns a passage into the
units the evidence scores (:func:`sentence_units`), as :class:`EvidenceRules` say.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from gpt4all_rag.trust.text import STOP_WORDS, split_sentences, typed_sentences, word_count, words

__all__ = [
    "MAX_SENTENCE_WORDS",
    "MIN_SENTENCE_WORDS",
    "EvidenceRules",
    "Unit",
    "is_index_row",
    "is_table_row",
    "sentence_candidates",
    "sentence_units",
]

MIN_SENTENCE_WORDS = 3  # "void R_CheckUserInterrupt(void);" is an answer
MIN_FRAGMENT_WORDS = 6
MAX_SENTENCE_WORDS = 60
# Added to a sentence that writes an identifier built from the question's words
# (``install.packages()`` for "install a package"): the answer to a question about a
# manual is usually a name.
IDENTIFIER_WEIGHT = 0.1
# A table-of-contents or index row: a dot leader ("3.1 What is S? . . . . 12").
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}|…\s*\d+\s*$")
# A numbered heading a FAQ writes as a question ("7.17 Why does outer() behave ...?").
_NUMBERED_HEADING = re.compile(r"^\s*\d+(?:\.\d+)+\s+\S.*\?$")
# A sentence that introduces the code line after it ("... by writing, e.g.,", "... is"):
# one that does not end with a full stop, or that ends with "e.g." / "i.e.".
_INTRODUCES = re.compile(r"(?:[^.!?)\]\"']|\be\.g\.|\bi\.e\.)\s*$", re.I)
# Lines of code quoted with the sentence that introduces them.
CODE_LINES = 2
# The sentences after a heading that its score reaches (``after_heading``).
HEADING_REACH = 2
# The words of the next sentence a quote takes when that one names an identifier
# ("... declaring string constants." + "This is the purpose of the N_ macro ...").
NEXT_WORDS = 30
# A "sentence" this long without a single stop word is a table row pulled into prose
# ("R storage mode C type Fortran type logical int * INTEGER ...").
TABLE_ROW_WORDS = 8


@dataclass(frozen=True)
class EvidenceRules:
    """How the evidence is chosen. The defaults are the rules measured best on the dev set.

    Each rule is one lever of docs/benchmarks.md (evidence); :meth:`before` is the
    choice before them, kept so that the benchmark measures each lever against it.
    On the R-manual dev set the code line, the table-of-contents rule, a larger
    budget in words (80, ``Settings.evidence_words``) with no cap on the number of
    sentences, and (round two) the next sentence where it names what the quote does
    not gained; the heading, identifier, window and name rules did not, nor did round
    two's name rescoring and hyphens; its table rows, length penalty and long-sentence
    cut gained on the check half only (they all stay off, and measurable).

    Attributes:
        max_sentences: at most this many quotes (None: only the word budget counts).
        window: each sentence is quoted with the ``window - 1`` sentences after it
            (scored on its own).
        after_heading: a heading the question matches lends its score to the sentences
            after it, and is itself never quoted.
        keep_code: a sentence that introduces a code line ("... by writing, e.g.,")
            is quoted with it.
        identifiers: sentences naming an identifier made of the question's words score higher.
        names: where the question asks for a name ("which function ..."), sentences
            naming any identifier score higher.
        skip_toc: table-of-contents and index rows (dot leaders) are never quoted.
        identifier_weight: what ``identifiers`` and ``names`` add to a sentence's score.
        next_names: the best this many quotes take the sentence after them when that
            one names an identifier ("... for example when declaring string constants."
            + "This is the purpose of the N_ macro ..."); 0: never.
        name_rescore: where the question asks for a name ("which ...", "what is the
            name of ..."), a sentence naming an identifier the question does not
            write scores ``identifier_weight`` higher.
        next_words: the sentence ``next_names`` adds is cut to this many words (and may
            then be longer than a quote on its own); None: whole, as any quote.
        next_plain: ``next_names`` only extends a quote that names no identifier itself.
        length_penalty: a quote over 25 words scores this much less per 10 words over
            (a long sentence fills the budget that a short one naming the answer needs).
        cut_long: a sentence over ``MAX_SENTENCE_WORDS`` is quoted cut to this many words
            rather than left out (None: left out).
        hyphens: word overlap ignores hyphens (``no-segfault`` meets ``nosegfault``).
        skip_tables: a long run of words without a stop word (a table row) is not quoted.
    """

    max_sentences: int | None = None
    window: int = 1
    after_heading: bool = False
    keep_code: bool = True
    identifiers: bool = False
    names: bool = False
    skip_toc: bool = True
    identifier_weight: float = IDENTIFIER_WEIGHT
    next_names: int = 2
    next_words: int | None = NEXT_WORDS
    next_plain: bool = True
    length_penalty: float = 0.0
    cut_long: int | None = None
    name_rescore: bool = False
    hyphens: bool = False
    skip_tables: bool = False

    @classmethod
    def before(cls) -> EvidenceRules:
        """The rules before the levers: single sentences, three at most, no rule on top."""
        return cls(
            3,
            1,
            after_heading=False,
            keep_code=False,
            identifiers=False,
            names=False,
            skip_toc=False,
            next_names=0,
            next_words=None,
            next_plain=False,
        )

    def but(self, **changes: Any) -> EvidenceRules:
        """These rules with some changed (one lever switched, for the benchmark)."""
        return dataclasses.replace(self, **changes)


class Unit(NamedTuple):
    """One candidate of a passage: what is scored, what is quoted, and its neighbours."""

    sentence: str
    quote: str  # the sentence and those after it in its window
    heading: str  # the heading the sentence follows (``after_heading``), or ""
    following: str  # the next sentence of the passage (``next_names``), or ""


def is_table_row(text: str) -> bool:
    """Whether ``text`` is a table row run into prose: many words, not one stop word."""
    found = words(text)
    return len(found) >= TABLE_ROW_WORDS and not any(w in STOP_WORDS for w in found)


def is_index_row(text: str) -> bool:
    """Whether ``text`` is a table-of-contents or index row: it has a dot leader."""
    return _DOT_LEADER.search(text) is not None


def sentence_candidates(text: str) -> list[str]:
    """The sentences of a passage that can stand on their own as evidence.

    A passage is a chunk: its first sentence may begin mid-way (lower-case) and
    its last may stop mid-way (no final punctuation). Such a fragment is kept,
    with an ellipsis where it was cut, if it has ``MIN_FRAGMENT_WORDS`` words (on
    the R manuals a fact sits in one often enough); sentences under
    ``MIN_SENTENCE_WORDS`` words or over ``MAX_SENTENCE_WORDS`` are left out.
    """
    sentences = split_sentences(text)
    kept = []
    for index, sentence in enumerate(sentences):
        words = word_count(sentence)
        if index == 0 and sentence[:1].islower():
            sentence = f"… {sentence}"
        elif index == len(sentences) - 1 and index and not sentence.endswith(_ENDINGS):
            sentence = f"{sentence} …"
        minimum = MIN_FRAGMENT_WORDS if "…" in sentence else MIN_SENTENCE_WORDS
        if minimum <= words <= MAX_SENTENCE_WORDS:
            kept.append(sentence)
    return kept


_ENDINGS = (".", "!", "?", ":", ")", '"', "'", "]")


def sentence_units(text: str, rules: EvidenceRules) -> list[Unit]:
    """A passage's sentences, each with its quote (its window), heading and next sentence."""
    if rules == EvidenceRules.before():
        return [Unit(sentence, sentence, "", "") for sentence in sentence_candidates(text)]
    sentences = _typed(text, rules)
    if rules.keep_code:
        sentences = _with_code(sentences)
    units: list[Unit] = []
    heading, since = "", 0
    prose = [s for s, k in sentences if k != "heading"]
    position = -1
    for sentence, kind in sentences:
        if kind == "heading":
            heading, since = (sentence if rules.after_heading else ""), 0
            continue
        since, position = since + 1, position + 1
        last = position + 1 == len(prose)
        unit = _trimmed(sentence, first=position == 0, last=last)
        if unit is None and rules.cut_long and word_count(sentence) > MAX_SENTENCE_WORDS:
            sentence = " ".join(sentence.split()[: rules.cut_long]) + " …"
            unit = _trimmed(sentence, first=position == 0, last=False)
        if unit is None:
            continue
        run = prose[position : position + rules.window]
        end = position + len(run) == len(prose)
        quote = _trimmed(" ".join(run), first=position == 0, last=end) or unit
        following = (
            "" if last else _following(prose[position + 1], position + 2 == len(prose), rules)
        )
        units.append(Unit(unit, quote, heading if since <= HEADING_REACH else "", following))
    return units


def _following(sentence: str, last: bool, rules: EvidenceRules) -> str:
    """The next sentence as ``next_names`` quotes it: whole, or its first ``next_words`` words."""
    if rules.next_words is None:
        return _trimmed(sentence, first=False, last=last) or ""
    cut = sentence.split()
    if len(cut) > rules.next_words:
        return " ".join(cut[: rules.next_words]) + " …"
    return sentence if not last or sentence.endswith(_ENDINGS) else f"{sentence} …"


def _typed(text: str, rules: EvidenceRules) -> list[tuple[str, str]]:
    """The passage's sentences with their kind, TOC rows out and FAQ questions as headings."""
    typed = []
    for sentence, kind in typed_sentences(text):
        if rules.skip_toc and is_index_row(sentence):
            continue
        if rules.skip_tables and is_table_row(sentence):
            continue
        if rules.after_heading and kind == "prose" and _NUMBERED_HEADING.match(sentence):
            kind = "heading"
        typed.append((sentence, kind))
    return typed


def _with_code(sentences: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sentences with the code lines that a sentence introduces joined to it."""
    joined: list[tuple[str, str]] = []
    lines = 0  # code lines joined to the last prose sentence so far
    for sentence, kind in sentences:
        if kind == "code" and joined and joined[-1][1] == "prose" and lines < CODE_LINES:
            previous = joined[-1][0]
            fits = word_count(previous) + word_count(sentence) <= MAX_SENTENCE_WORDS
            if fits and (lines or _INTRODUCES.search(previous)):
                joined[-1] = (f"{previous} {sentence}", "prose")
                lines += 1
                continue
        lines = 0
        joined.append((sentence, kind))
    return joined


def _trimmed(sentence: str, *, first: bool, last: bool) -> str | None:
    """The unit marked where the chunk cut it, or None when too short or too long to quote."""
    words = word_count(sentence)
    if first and sentence[:1].islower():
        sentence = f"… {sentence}"
    elif last and not first and not sentence.endswith(_ENDINGS):
        sentence = f"{sentence} …"
    minimum = MIN_FRAGMENT_WORDS if "…" in sentence else MIN_SENTENCE_WORDS
    return sentence if minimum <= words <= MAX_SENTENCE_WORDS else None
