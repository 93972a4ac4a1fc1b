"""Keep document text from posing as a chat template's control tokens.

llama.cpp tokenizes a formatted prompt with special tokens enabled, so a passage
that contains ``<|im_end|><|im_start|>system`` would become a real role
boundary: the document would speak as the system. Every text that is data (the
passages, the conversation history, a rewritten follow-up question) is passed
through :func:`neutralize_control_tokens`, which breaks each such string with a
space after its first character: still readable, no longer a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["GENERIC_CONTROL_PATTERNS", "control_token_pattern", "neutralize_control_tokens"]

GENERIC_CONTROL_PATTERNS: tuple[str, ...] = (
    r"<\|[^<>|\n]{0,64}\|>",  # ChatML, Llama 3, Phi-3, most recent families: <|im_start|>
    r"\[/?INST\]",  # Llama 2, Mistral
    r"<</?SYS>>",  # Llama 2's system block
    r"</?s>",  # sentencepiece BOS / EOS
    r"<(?:start|end)_of_turn>",  # Gemma
)

_GENERIC = re.compile("|".join(GENERIC_CONTROL_PATTERNS))


def control_token_pattern(tokens: Iterable[str] = ()) -> re.Pattern[str]:
    """One pattern for ``tokens`` (a model's own control strings) and the generic forms.

    Longer tokens are tried first, so ``<|im_start|>`` wins over a shorter prefix.
    """
    literal = sorted({t for t in tokens if len(t) >= 2}, key=len, reverse=True)
    parts = [re.escape(t) for t in literal] + list(GENERIC_CONTROL_PATTERNS)
    return re.compile("|".join(parts))


def neutralize_control_tokens(text: str, pattern: re.Pattern[str] | None = None) -> str:
    """``text`` with every control-token string broken by a space after its first character.

    Args:
        text: Data that will sit inside a prompt.
        pattern: From :func:`control_token_pattern` for a model's own tokens;
            by default the generic forms only.
    """
    return (pattern or _GENERIC).sub(lambda m: f"{m.group(0)[0]} {m.group(0)[1:]}", text)
