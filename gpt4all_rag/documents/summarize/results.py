"""What a summary gives: its sections, the summary itself, and progress while it is made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gpt4all_rag.answering.flow import TokenEvent
from gpt4all_rag.documents.summarize.checking import mostly_unsupported
from gpt4all_rag.documents.summarize.citations import format_pages, page_citations
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport

__all__ = [
    "Section",
    "Summary",
    "SummaryEvent",
    "SummaryProgress",
    "sentence_json",
    "sentences_from_json",
]


@dataclass(frozen=True)
class Section:
    """A summary of consecutive parts of the document, with the pages it was written from.

    ``sentences`` are its sentences checked against its own chunks (empty: not checked).
    """

    text: str
    pages: tuple[int, ...] = ()
    sentences: tuple[SentenceSupport, ...] = ()

    @property
    def label(self) -> str:
        """Its pages as ``pp. 3–5`` (empty for unpaged formats)."""
        return format_pages(self.pages)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "text": self.text,
            "pages": list(self.pages),
            "sentences": [sentence_json(s) for s in self.sentences],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        """The inverse of :meth:`to_json`."""
        sentences = sentences_from_json(data.get("sentences", []))
        return cls(str(data["text"]), tuple(int(p) for p in data["pages"]), sentences)


@dataclass(frozen=True)
class Summary:
    """A document's summary, the section summaries it was made from, and what it cost.

    ``cited_pages`` are the pages the text cites, all of them pages of the
    document (``pages``); ``llm_calls``, ``prompt_tokens`` and ``generated_tokens``
    are those of the run that made it (a cached summary keeps them, with
    ``cached`` True). ``sentences`` are the text's sentences checked against the
    document's chunks (empty: not checked); ``quotes``, the document's key sentences,
    are there when most of its claims fail (``mostly_unsupported``).
    """

    file: str
    content_hash: str
    model: str
    text: str
    sections: tuple[Section, ...]
    pages: tuple[int, ...]
    llm_calls: int
    prompt_tokens: int
    generated_tokens: int
    seconds: float
    cached: bool = False
    sentences: tuple[SentenceSupport, ...] = ()
    quotes: tuple[Evidence, ...] = ()
    check_seconds: float = 0.0

    @property
    def cited_pages(self) -> list[int]:
        """The pages the summary text cites."""
        return page_citations(self.text)

    @property
    def unsupported(self) -> list[SentenceSupport]:
        """The summary's sentences that fail the check."""
        return [s for s in self.sentences if not s.supported]

    @property
    def mostly_unsupported(self) -> bool:
        """Whether more than half of the summary's claims fail the check."""
        return mostly_unsupported(self.sentences)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (what the cache stores and ``summarize --json`` prints)."""
        skipped = ("sections", "sentences", "quotes")
        data = {k: v for k, v in self.__dict__.items() if k not in skipped}
        data.update(
            sections=[s.to_json() for s in self.sections],
            pages=list(self.pages),
            cited_pages=self.cited_pages,
            sentences=[sentence_json(s) for s in self.sentences],
            mostly_unsupported=self.mostly_unsupported,
            quotes=[q.to_json() for q in self.quotes],
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """The inverse of :meth:`to_json`."""
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["sections"] = tuple(Section.from_json(s) for s in data["sections"])
        values["pages"] = tuple(int(p) for p in data["pages"])
        values["sentences"] = sentences_from_json(data.get("sentences", []))
        values["quotes"] = tuple(Evidence(**q) for q in data.get("quotes", []))
        return cls(**values)

    def markdown(self) -> str:
        """The summary, then each section with its pages, as plain Markdown."""
        lines = [self.text]
        if len(self.sections) > 1:
            lines += ["", "By section:", ""]
            lines += [f"- {_labelled(s)}" for s in self.sections]
        return "\n".join(lines)


def _labelled(section: Section) -> str:
    return f"({section.label}) {section.text}" if section.label else section.text


def sentence_json(sentence: SentenceSupport) -> dict[str, Any]:
    """One checked sentence as plain JSON: what it says, its support, why it is flagged."""
    return {
        "text": sentence.text,
        "supported": sentence.supported,
        "claim": sentence.claim,
        "support": round(sentence.support, 4),
        "reason": sentence.reason,
        "chunks": list(sentence.cited),
        "before": sentence.before,
    }


def sentences_from_json(data: Sequence[dict[str, Any]]) -> tuple[SentenceSupport, ...]:
    """The inverse of :func:`sentence_json`, for a list of sentences."""
    return tuple(
        SentenceSupport(
            text=str(s["text"]),
            cited=tuple(int(n) for n in s["chunks"]),
            support=float(s["support"]),
            inferred=False,
            supported=bool(s["supported"]),
            claim=bool(s["claim"]),
            before=str(s["before"]),
            reason=str(s["reason"]),
        )
        for s in data
    )


@dataclass(frozen=True)
class SummaryProgress:
    """How far the summary is: ``done`` of ``total`` calls of a stage.

    ``stage`` is ``map`` (sections of the document), ``reduce`` (joining
    sections), ``final`` (the summary itself, its tokens follow), ``check`` (its
    sentences against the document) or ``cached``.
    """

    stage: Literal["map", "reduce", "final", "check", "cached"]
    done: int
    total: int


SummaryEvent = SummaryProgress | TokenEvent | Summary
"""What :func:`summary_events` yields: progress, the final step's tokens, the Summary last."""
