"""The CLI's commands on the fakes: an ``assistant_factory`` for ``main(argv, ...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings

__all__ = ["FAKES", "fakes", "on_fakes"]

# What ``gpt4all_rag.testing.fake_settings`` sets, laid over the settings a command built
# from its flags: bag-of-words vectors of long chunks score low against short questions.
FAKES: dict[str, Any] = {
    "embedding_backend": "hash",
    "llm_backend": "scripted",
    "relevance_floor": 0.1,
}


def on_fakes(settings: Settings, **update: Any) -> Settings:
    """``settings`` (the command's own) on the fakes; ``update`` wins over :data:`FAKES`."""
    return settings.model_copy(update={**FAKES, **update})


def fakes(*replies: str, floor: float = 0.1) -> Callable[[Settings], DocumentAssistant]:
    """An assistant factory that runs the command's settings on the hash embedder and a script."""

    def make(settings: Settings) -> DocumentAssistant:
        update: dict[str, Any] = {"relevance_floor": floor}
        if replies:
            update["scripted_replies"] = list(replies)
        return DocumentAssistant.from_settings(on_fakes(settings, **update))

    return make
