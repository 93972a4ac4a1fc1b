"""Export a conversation with its sources: Markdown to read or share, JSON to load back.

A conversation is the sequence of :class:`~gpt4all_rag.answer.Answer` objects it
produced: each holds its question, its text, the numbered sources (file, page,
passage) and the markers it cited, which is everything an export needs.

The Markdown is for people: each question and answer, then the sources the
answer stands on with file and page. It stays readable as plain text, yet text
from documents and models cannot become a link, an image or HTML in it: every
``[``, ``]``, ``<``, ``>``, backtick and backslash is escaped except in citation
markers such as ``[2]`` and ``[p. 3]`` (which nothing follows that could make
them a link), an ``&`` that starts an entity is escaped, and web and mail
addresses are written as code, since GFM viewers link bare addresses by
themselves (remark-gfm even through backslash escapes). Each piece is checked
with :func:`~gpt4all_rag.markdown.is_inert` and fully escaped if it fails, so a
viewer that renders the file loads nothing. The JSON is for programs:
:func:`conversation_from_json` turns it back into the same answers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.markdown import addresses_as_code, is_inert
from gpt4all_rag.markdown import escape_text as escape_all
from gpt4all_rag.trust.citations import CITATION_OR_PAGES
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_SUFFIXES",
    "conversation_from_json",
    "conversation_json",
    "conversation_markdown",
    "escape_text",
    "export_conversation",
]

EXPORT_FORMAT = "gpt4all-rag.conversation/1"
"""The ``format`` field of an exported JSON conversation; changes when its shape does."""

EXPORT_SUFFIXES = (".md", ".json")
"""The file types :func:`export_conversation` writes."""

_EXCERPT_CHARS = 300
# Markup that could start a link, an image, HTML or code; `&` only where it starts an entity
# (`w&#119;w.` would decode to an address).
_MARKUP = re.compile(r"([\\<>\[\]`]|&(?=#?\w+;))")


def escape_text(text: str) -> str:
    """``text`` as Markdown that shows it as written but links, embeds and loads nothing."""
    pieces: list[str] = []
    position = 0
    # [2], [1, 3], [p. 3], [pp. 3–5]: kept as written unless a link or image could follow.
    for marker in CITATION_OR_PAGES.finditer(text):
        pieces += [_escape_markup(text[position : marker.start()]), marker.group()]
        position = marker.end()
    pieces.append(_escape_markup(text[position:]))
    light = "".join(pieces)
    return light if is_inert(light) else escape_all(text)


def _escape_markup(text: str) -> str:
    return addresses_as_code(text, lambda plain: _MARKUP.sub(r"\\\1", plain))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _source_json(source: Source, cited: Sequence[int]) -> dict[str, Any]:
    return {
        "number": source.number,
        "file": source.file,
        "page": source.page,
        "text": source.text,
        "score": round(source.score, 6),
        "similarity": round(source.similarity, 6),
        "cited": source.number in cited,
    }


def _turn_json(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "found": answer.found,
        "standalone_question": answer.standalone_question,
        "cited": list(answer.cited),
        "unsupported": [s.text for s in answer.unsupported],
        "sentences": [s.to_json() for s in answer.sentences],
        "evidence": [e.to_json() for e in answer.evidence],
        "sources": [_source_json(s, answer.cited) for s in answer.sources],
    }


def conversation_json(
    answers: Sequence[Answer], *, model: str = "", exported_at: str | None = None
) -> str:
    """The conversation as one JSON document (UTF-8 text, indented)."""
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": exported_at or _now(),
        "model": model,
        "turns": [_turn_json(a) for a in answers],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def conversation_from_json(text: str) -> list[Answer]:
    """The answers of an exported JSON conversation.

    Everything comes back equal, the evidence (the quotes of the sources)
    included, so an export of the loaded answers is the same file. An export
    made before the evidence was exported loads with none.

    Raises:
        ValueError: Not an exported conversation.
    """
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ValueError(f"not a {EXPORT_FORMAT} document")
    return [_answer_from(turn) for turn in document["turns"]]


def _answer_from(turn: dict[str, Any]) -> Answer:
    sources = tuple(
        Source(
            number=int(s["number"]),
            file=str(s["file"]),
            page=None if s["page"] is None else int(s["page"]),
            text=str(s["text"]),
            score=float(s["score"]),
            similarity=float(s["similarity"]),
        )
        for s in turn["sources"]
    )
    return Answer(
        question=str(turn["question"]),
        text=str(turn["answer"]),
        sources=sources,
        cited=tuple(int(n) for n in turn["cited"]),
        standalone_question=str(turn.get("standalone_question", "")),
        found=bool(turn["found"]),
        sentences=tuple(_sentence_from(s) for s in turn.get("sentences", ())),
        evidence=tuple(_evidence_from(e) for e in turn.get("evidence", ())),
    )


def _evidence_from(data: dict[str, Any]) -> Evidence:
    return Evidence(
        text=str(data["text"]),
        source=int(data["source"]),
        file=str(data.get("file", "")),
        page=None if data.get("page") is None else int(data["page"]),
        score=float(data.get("score", 0.0)),
    )


def _sentence_from(data: dict[str, Any]) -> SentenceSupport:
    return SentenceSupport(
        text=str(data["text"]),
        cited=tuple(int(n) for n in data["cited"]),
        support=float(data["support"]),
        inferred=bool(data["inferred"]),
        supported=bool(data["supported"]),
    )


def _where(source: Source) -> str:
    return f"{source.file}, page {source.page}" if source.page is not None else source.file


def _excerpt(text: str) -> str:
    """The passage on one line, cut to a few sentences, as inert Markdown (no heading either)."""
    flat = " ".join(text.split())
    flat = flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1].rstrip() + "…"
    quoted = escape_text(flat)
    return "\\" + quoted if quoted.startswith("#") else quoted


def _sources_markdown(answer: Answer) -> list[str]:
    """The sources list: cited ones first (the answer stands on them), each with file and page."""
    if not answer.found or not answer.sources:
        return []
    ordered = answer.cited_sources + [s for s in answer.sources if s.number not in answer.cited]
    lines = ["", "**Sources**", ""]
    for source in ordered:
        used = "" if source.number in answer.cited else " (retrieved, not cited)"
        lines.append(f"- [{source.number}] {escape_text(_where(source))}{used}")
        lines.append(f"  > {_excerpt(source.text)}")
    return lines


def _evidence_markdown(answer: Answer) -> list[str]:
    """The quotes that answer the question, each with its ``[n]``, file and page, before the answer.

    They are the reliable part of an answer: the documents' own words.
    """
    if not answer.found or not answer.evidence:
        return []
    lines = ["**From your documents**", ""]
    for quote in answer.evidence:
        where = f"{quote.file}, page {quote.page}" if quote.page is not None else quote.file
        said = escape_text(" ".join(quote.text.split()))
        lines.append(f"- “{said}” [{quote.source}]" + (f" {escape_text(where)}" if where else ""))
    return [*lines, ""]


def _turn_markdown(number: int, answer: Answer) -> list[str]:
    lines = [f"## {number}. {escape_text(' '.join(answer.question.split()))}", ""]
    lines += _evidence_markdown(answer)
    lines += [escape_text(line) if line.strip() else "" for line in answer.text.splitlines()]
    for sentence in answer.unsupported:
        lines += ["", f"*Not found in your sources:* {escape_text(sentence.text.strip())}"]
    return lines + _sources_markdown(answer) + [""]


def conversation_markdown(
    answers: Sequence[Answer], *, model: str = "", exported_at: str | None = None
) -> str:
    """The conversation as Markdown: each question, its answer, then its sources (file, page)."""
    lines = ["# Conversation with your documents", ""]
    when = exported_at or _now()
    lines += [f"Exported {escape_text(when)}" + (f" · model {escape_text(model)}" if model else "")]
    lines.append("")
    for number, answer in enumerate(answers, start=1):
        lines += _turn_markdown(number, answer)
    return "\n".join(lines).rstrip("\n") + "\n"


def export_conversation(answers: Sequence[Answer], path: Path | str, *, model: str = "") -> Path:
    """Write the conversation to ``path``, as Markdown (``.md``) or JSON (``.json``).

    The file is written whole or not at all (a temporary file, then a rename).

    Raises:
        ValueError: Another suffix.
    """
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValueError(f"export to a .md or .json file, not {target.name!r}")
    render = conversation_markdown if suffix == ".md" else conversation_json
    text = render(answers, model=model)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
