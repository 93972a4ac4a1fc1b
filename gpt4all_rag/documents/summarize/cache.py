"""The recipe of a summary (budget, lengths, model) and the cache of finished summaries.

A finished summary is cached as JSON under ``<index>/summaries/``, keyed by the
file's content hash, the model and the summary settings: asking again costs no
model call, and a changed file (a new hash) is summarized afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.documents.summarize.results import Summary
from gpt4all_rag.trust.grounding import SUPPORT_THRESHOLD
from ingest.atomic import write_atomic

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = ["SUMMARY_VERSION", "SummaryCache", "SummaryConfig"]

SUMMARY_VERSION = 2
"""Bumped when the prompts or the method change, so that older cached summaries are not used.

2: sentences checked against the document, index rows and HTML tags left out.
"""


@dataclass(frozen=True)
class SummaryConfig:
    """The budget and lengths of a summary.

    Args:
        section_tokens: most tokens a section (map or reduce) summary may take.
        final_tokens: most tokens of the final summary.
        prompt_tokens: a cap on any prompt (None: what the context leaves).
        temperature: sampling temperature.
        model: the model's name, part of the cache key.
        context_size: the model's context as configured, part of the cache key.
        support_threshold: support under which a summary sentence is flagged (as in answers).
    """

    section_tokens: int = 160
    final_tokens: int = 384
    prompt_tokens: int | None = None
    temperature: float = 0.2
    model: str = ""
    context_size: int = 4096
    support_threshold: float = SUPPORT_THRESHOLD

    @classmethod
    def from_settings(cls, settings: Settings, model: str) -> SummaryConfig:
        """The settings' lengths: the answer length bounds the final summary too."""
        return cls(
            section_tokens=min(160, settings.max_new_tokens),
            final_tokens=settings.max_new_tokens,
            prompt_tokens=settings.prompt_tokens,
            temperature=settings.temperature,
            model=model,
            context_size=settings.context_size,
            support_threshold=settings.support_threshold,
        )

    def budget(self, context_size: int) -> int:
        """Most tokens a prompt may take: the context less the longest output."""
        budget = context_size - max(self.section_tokens, self.final_tokens)
        if self.prompt_tokens is not None:
            budget = min(budget, self.prompt_tokens)
        return budget

    def cache_key(self, content_hash: str) -> str:
        """The content hash, then a digest of what else changes the summary."""
        recipe = f"{SUMMARY_VERSION}|{self.model}|{self.section_tokens}|{self.final_tokens}"
        recipe += f"|{self.budget(self.context_size)}|{self.temperature}|{self.support_threshold}"
        return f"{content_hash}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


class SummaryCache:
    """Summaries as JSON files in one folder, named ``<content hash>-<recipe>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, key: str) -> Summary | None:
        """The cached summary, or None (missing, or unreadable: it is then made again)."""
        try:
            return Summary.from_json(json.loads((self.folder / f"{key}.json").read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: str, summary: Summary) -> None:
        """Write atomically, so that a reader never sees half a file."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.folder / f"{key}.json", json.dumps(summary.to_json(), ensure_ascii=False))

    def prune(self, live_hashes: set[str]) -> int:
        """Delete summaries of content no indexed file has any more; returns how many."""
        removed = 0
        for file in self.folder.glob("*.json"):
            if file.stem.rsplit("-", 1)[0] not in live_hashes:
                file.unlink(missing_ok=True)
                removed += 1
        return removed
