"""What a summary gives: its sections, the summary itself, and progress while it is made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gpt4all_rag.answering.flow import TokenEvent
from gpt4all_rag.documents.summarize.citations import format_pages, page_citations

__all__ = ["Section", "Summary", "SummaryEvent", "SummaryProgress"]


@dataclass(frozen=True)
class Section:
    """A summary of consecutive parts of the document, with the pages it was written from."""

    text: str
    pages: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        """Its pages as ``pp. 3–5`` (empty for unpaged formats)."""
        return format_pages(self.pages)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"text": self.text, "pages": list(self.pages)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        """The inverse of :meth:`to_json`."""
        return cls(str(data["text"]), tuple(int(p) for p in data["pages"]))


@dataclass(frozen=True)
class Summary:
    """A document's summary, the section summaries it was made from, and what it cost.

    ``cited_pages`` are the pages the text cites, all of them pages of the
    document (``pages``); ``llm_calls``, ``prompt_tokens`` and ``generated_tokens``
    are those of the run that made it (a cached summary keeps them, with
    ``cached`` True).
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

    @property
    def cited_pages(self) -> list[int]:
        """The pages the summary text cites."""
        return page_citations(self.text)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (what the cache stores and ``summarize --json`` prints)."""
        data = {k: v for k, v in self.__dict__.items() if k != "sections"}
        data.update(
            sections=[s.to_json() for s in self.sections],
            pages=list(self.pages),
            cited_pages=self.cited_pages,
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """The inverse of :meth:`to_json`."""
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["sections"] = tuple(Section.from_json(s) for s in data["sections"])
        values["pages"] = tuple(int(p) for p in data["pages"])
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


@dataclass(frozen=True)
class SummaryProgress:
    """How far the summary is: ``done`` of ``total`` calls of a stage.

    ``stage`` is ``map`` (sections of the document), ``reduce`` (joining
    sections), ``final`` (the summary itself, its tokens follow) or ``cached``.
    """

    stage: Literal["map", "reduce", "final", "cached"]
    done: int
    total: int


SummaryEvent = SummaryProgress | TokenEvent | Summary
"""What :func:`summary_events` yields: progress, the final step's tokens, the Summary last."""
