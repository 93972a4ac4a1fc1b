"""Questions from the person's own chunks, without any model: the synthetic seeds.

Each seed is a question, the sentence of a chunk that answers it, and where that
sentence is. Three sources, all from the text itself:

- **how-to sentences**: "To build a package, run R CMD build." gives "How do I build a
  package?"; "Use X to Y." and "X can be used to Y." give "How do I Y?";
- **naming sentences**: "The function foo() returns the mean." gives "Which function
  returns the mean?" (the identifier is what the question asks for);
- **section headings** (the PDF outline, kept in each chunk's ``heading``): "Installing
  packages" gives "How do I install packages?", answered by the section's first sentence.

The answer to every seed is its sentence, quoted: the model learns to find the sentence
that answers, copy it with its ``[n]`` and stop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Seed",
    "heading_question",
    "how_to_question",
    "definition_question",
    "naming_question",
    "seeds_from_chunks",
    "sentences",
]

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"(])")
_MIN_WORDS, _MAX_WORDS = 6, 45
_VERBS = "use|run|call|set|add|type|specify|put|include|give|pass|define|write"
_TO_GOAL = re.compile(
    rf"^To (?P<goal>[^,;:]{{6,120}}), (?:you )?(?:can |should |must )?(?:{_VERBS})\b"
)
_USE_TO = re.compile(
    r"^(?:Use|Run|Call|Set|Add|Specify) (?P<what>.{2,80}?) to (?P<goal>[^;:]{6,120})[.]$"
)
_CAN_BE_USED = re.compile(
    r"^(?P<what>.{2,60}?) (?:can be used to|is used to|are used to|allows you to|lets you) "
    r"(?P<goal>[^;:]{6,120})[.]$"
)
# "The function foo() returns …", "Function bar computes …", "foo() gives …"
_NOUNS = "function|command|field|option|variable|argument|macro|file|package|directory|method"
_NAMING = re.compile(
    rf"^(?:The |A )?(?:(?P<noun1>{_NOUNS}) )?(?P<name>[`'‘]?[\w.:$@/-]+(?:\(\))?[`'’]?)"
    rf"(?: (?P<noun2>{_NOUNS}))? (?P<verb>returns|gives|creates|computes|reads|writes|installs|"
    r"loads|sets|controls|specifies|lists|contains|provides|removes|prints|converts|checks|"
    r"builds|determines|defines|allows|tells|makes) (?P<rest>[^;:]{6,140})[.]$"
)
_CODE = re.compile(r"[._:$@()/]|[a-z][A-Z]|^[A-Z]{2,}$|^-")
_NUMBERED = re.compile(r"^[\d.]+\s+")
_DEFINITION = re.compile(
    r"^(?P<what>(?:The |An? )?[\w.:$@'‘’()-]+(?: [\w.:$@'‘’()-]+){0,3}) "
    r"(?P<verb>is|are) (?:a|an|the|used|called) "
)
_VAGUE = {
    "first",
    "second",
    "last",
    "simplest",
    "result",
    "value",
    "following",
    "other",
    "former",
    "latter",
    "same",
    "main",
    "only",
    "default",
    "answer",
    "problem",
    "reason",
    "way",
    "next",
    "best",
    "easiest",
    "usual",
    "situation",
    "case",
    "idea",
    "point",
}
_GERUND = re.compile(r"^(?P<verb>[A-Z][a-z]+ing) (?P<rest>.+)$")


@dataclass(frozen=True)
class Seed:
    """A question and the sentence of a chunk that answers it."""

    question: str
    sentence: str
    file: str
    page: int | None
    kind: str  # how-to, naming or heading


def sentences(text: str) -> list[str]:
    """The chunk's sentences of a useful length, with its line breaks joined."""
    flat = _SPACE.sub(" ", text).strip()
    return [
        s.strip()
        for s in _SENTENCE_END.split(flat)
        if _MIN_WORDS <= len(s.split()) <= _MAX_WORDS and s.rstrip().endswith((".", "!"))
    ]


def _you_to_i(goal: str) -> str:
    goal = re.sub(r"\byour\b", "my", goal)
    return re.sub(r"\byou\b", "I", goal).rstrip(" .")


def how_to_question(sentence: str) -> str | None:
    """A "How do I …?" question for a how-to sentence, else None."""
    for pattern in (_TO_GOAL, _USE_TO, _CAN_BE_USED):
        match = pattern.match(sentence)
        if match:
            return f"How do I {_you_to_i(match.group('goal'))}?"
    return None


def naming_question(sentence: str) -> str | None:
    """A "Which function …?" question where the subject is an identifier, else None."""
    match = _NAMING.match(sentence)
    if match is None or not _CODE.search(match.group("name").strip("`'‘’")):
        return None
    noun = match.group("noun1") or match.group("noun2") or "function"
    return f"Which {noun} {match.group('verb')} {match.group('rest').rstrip(' .')}?"


_E_ENDINGS = (
    "at",
    "iz",
    "yz",
    "ur",
    "iv",
    "ov",
    "rit",
    "ut",
    "ak",
    "mpil",
    "bl",
    "dl",
    "gl",
    "tl",
    "ag",
    "os",
    "us",
    "id",
    "ud",
    "ibut",
    "lv",
    "rs",
    "nc",
    "rg",
    "ng",
    "dg",
    "ad",
    "od",
)


def definition_question(sentence: str) -> str | None:
    """A "What is X?" question for a sentence "X is a …", else None."""
    match = _DEFINITION.match(sentence)
    if match is None:
        return None
    words = match.group("what").split()
    named = words[0] in ("The", "A", "An") and len(words) > 1
    if not (named or (len(words) == 1 and _CODE.search(words[0]))):
        return None
    if _VAGUE & {w.lower() for w in words}:
        return None
    what = " ".join([words[0].lower(), *words[1:]]) if named else words[0]
    return f"What {match.group('verb')} {what}?"


def _after_heading(sentence: str, heading: str) -> str:
    """The sentence without the page header and heading a PDF chunk starts with."""
    at = sentence.find(heading)
    rest = sentence[at + len(heading) :].strip() if at >= 0 else sentence
    return rest if len(rest.split()) >= _MIN_WORDS and rest[:1].isupper() else ""


def _base_verb(gerund: str) -> str:
    """An approximate infinitive: running -> run, creating -> create, installing -> install."""
    stem = gerund[:-3].lower()
    if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "lsz" and stem[-3] in "aeiou":
        return stem[:-1]
    if stem.endswith(_E_ENDINGS) and not stem.endswith(("ead", "oad", "ding")):
        return stem + "e"
    return stem


def heading_question(heading: str) -> str | None:
    """A "How do I install packages?" question for "Installing packages", else None."""
    last = _NUMBERED.sub("", heading.split("›")[-1].strip())
    match = _GERUND.match(last)
    if match is None or len(last.split()) > 8:
        return None
    return f"How do I {_base_verb(match.group('verb'))} {match.group('rest').rstrip(' .')}?"


def seeds_from_chunks(chunks: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Seed]:
    """Seeds from ``(text, metadata)`` chunks: sentence questions, then one a new heading."""
    headings_seen: set[str] = set()
    for text, meta in chunks:
        file, page = str(meta.get("path", "")), meta.get("page")
        found = sentences(text)
        for sentence in found:
            makers = (
                ("how-to", how_to_question),
                ("naming", naming_question),
                ("definition", definition_question),
            )
            for kind, make in makers:
                question = make(sentence)
                if question:
                    yield Seed(question, sentence, file, page, kind)
                    break
        heading = str(meta.get("heading") or "")
        if heading and heading not in headings_seen and found:
            headings_seen.add(heading)
            question = heading_question(heading)
            title = _NUMBERED.sub("", heading.split("›")[-1].strip())
            first = _after_heading(found[0], title)
            if question and first:
                yield Seed(question, first, file, page, "heading")
