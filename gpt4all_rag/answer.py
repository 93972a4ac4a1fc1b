"""What a question returns: the answer, the passages it stands on, and what it cited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport
from vectorstore.passage import Passage

__all__ = ["Answer", "Source", "numbered_sources"]


@dataclass(frozen=True)
class Source:
    """A passage shown to the model (or returned by search), numbered as in the prompt."""

    number: int
    file: str
    page: int | None
    text: str
    score: float
    similarity: float
    chunk_id: str = ""
    start: int | None = None
    end: int | None = None
    collection: str | None = None  # set when named collections were asked (CollectionSet)
    heading: str | None = None  # the section it sits under, "Chapter › Section"

    @classmethod
    def from_passage(cls, number: int, passage: Passage) -> Source:
        """Build a source from a retrieved passage."""
        meta = passage.metadata
        return cls(
            number=number,
            file=passage.file,
            page=passage.page,
            text=passage.text,
            score=passage.score,
            similarity=passage.similarity,
            chunk_id=passage.id,
            start=_int_or_none(meta.get("start")),
            end=_int_or_none(meta.get("end")),
            collection=_str_or_none(meta.get("collection")),
            heading=_str_or_none(meta.get("heading")),
        )

    @property
    def label(self) -> str:
        """``file:page`` (or just the file for unpaged formats), after ``[collection]`` if any."""
        where = f"{self.file}:{self.page}" if self.page is not None else self.file
        return f"[{self.collection}] {where}" if self.collection else where

    @property
    def caption(self) -> str:
        """What a person reads: ``file · section · page N``, the parts the source has."""
        parts = [self.file]
        if self.heading:
            parts.append(self.heading.rsplit(" › ", 1)[-1])
        if self.page is not None:
            parts.append(f"page {self.page}")
        where = " · ".join(parts)
        return f"[{self.collection}] {where}" if self.collection else where

    @classmethod
    def from_json(cls, number: int, shape: dict[str, Any]) -> Source:
        """A source from its JSON shape (``to_json``), e.g. a server's search results."""
        page = shape.get("page")
        return cls(
            number=number,
            file=str(shape.get("file", "")),
            page=int(page) if page is not None else None,
            text=str(shape.get("text", "")),
            score=float(shape.get("score", 0.0)),
            similarity=float(shape.get("score", 0.0)),
            collection=_str_or_none(shape.get("collection")),
            heading=_str_or_none(shape.get("heading")),
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON shape of a source."""
        shape: dict[str, Any] = {
            "file": self.file,
            "page": self.page,
            "text": self.text,
            "score": round(self.score, 6),
        }
        if self.collection:
            shape["collection"] = self.collection
        if self.heading:
            shape["heading"] = self.heading
        return shape


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True)
class Answer:
    """An answer grounded in the user's documents.

    ``found`` is False when no passage passed the relevance floor; the text is
    then the fixed "not in your documents" answer and no model was called.
    ``sources`` are every passage retrieved, numbered as the prompt numbers them
    (a passage that did not fit the model's budget keeps its number, unseen by
    the model). ``evidence`` and ``sentences`` hold what the flow's evidence and
    attribution steps produced (empty without them).
    """

    question: str
    text: str
    sources: tuple[Source, ...] = ()
    cited: tuple[int, ...] = ()
    standalone_question: str = ""
    found: bool = True
    evidence: tuple[Evidence, ...] = ()
    sentences: tuple[SentenceSupport, ...] = ()

    @property
    def cited_sources(self) -> list[Source]:
        """The sources the answer cites with ``[n]``."""
        return [s for s in self.sources if s.number in self.cited]

    @property
    def unsupported(self) -> list[SentenceSupport]:
        """The answer's claims that no source supports (shown, flagged, never hidden)."""
        return [s for s in self.sentences if not s.supported]

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``ask --json`` shape."""
        return {
            "answer": self.text,
            "found": self.found,
            "evidence": [e.to_json() for e in self.evidence],
            "sentences": [s.to_json() for s in self.sentences],
            "unsupported": [s.text for s in self.unsupported],
            "sources": [s.to_json() for s in self.sources],
            "cited": list(self.cited),
        }


def numbered_sources(passages: Sequence[Passage]) -> list[Source]:
    """Retrieved passages as sources numbered as the prompt and the answer cite them ([1] first)."""
    return [Source.from_passage(n, p) for n, p in enumerate(passages, start=1)]
