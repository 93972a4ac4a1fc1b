"""Which chat format a GGUF model gets: its own template, an explicit one, or its family's.

Most GGUF files carry ``tokenizer.chat_template``; older ones do not, and are
then matched by family from the file name and ``general.*`` metadata.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gpt4all_rag.errors import LLMError

__all__ = [
    "DEFAULT_CHAT_FORMAT",
    "FAMILY_CHAT_FORMATS",
    "apply_chat_format",
    "choose_chat_format",
    "fallback_chat_format",
]

# The first pattern found in the file name, ``general.name`` or ``general.architecture``
# wins; ``(?!\d)`` keeps "llama-30b" (LLaMA 1) from passing for Llama 3.
FAMILY_CHAT_FORMATS: dict[str, str] = {
    r"llama[-_ ]?3(?!\d)": "llama-3",
    r"mi[sx]tral": "mistral-instruct",
    r"phi[-_ ]?3(?!\d)": "phi-3",
    r"orca[-_ ]?mini": "chatml",
    r"gemma[-_ ]?3": "gemma-3",
}
DEFAULT_CHAT_FORMAT = "chatml"

# Formats that llama-cpp-python does not register (0.3.x has no Phi-3 format), as
# Jinja chat templates with the text that ends a turn.
_EXTRA_CHAT_TEMPLATES: dict[str, tuple[str, str]] = {
    "phi-3": (
        "{% for message in messages %}"
        "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
        "<|end|>",
    ),
    # Gemma 3 has no system turn: the system text opens the first user turn. The 0.3.x
    # "gemma" format is Gemma 1's and drops the system text.
    "gemma-3": (
        "{% set ns = namespace(system='', first=true) %}"
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{% set ns.system = ns.system + m['content'] + '\\n\\n' %}{% endif %}{% endfor %}"
        "{% for m in messages %}{% if m['role'] != 'system' %}"
        "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else 'user') + '\\n' }}"
        "{% if ns.first and m['role'] == 'user' %}{{ ns.system }}{% set ns.first = false %}"
        "{% endif %}{{ m['content'] | trim }}{{ '<end_of_turn>\\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
        "<end_of_turn>",
    ),
}


def fallback_chat_format(*names: str) -> str:
    """Pick a chat format from a model's file name or GGUF ``general.*`` metadata.

    Used only when the GGUF carries no chat template of its own.

    Args:
        *names: Strings that may name the family, e.g. the file name,
            ``general.name`` and ``general.architecture``.

    Returns:
        A format from :data:`FAMILY_CHAT_FORMATS`, else :data:`DEFAULT_CHAT_FORMAT`.
    """
    text = " ".join(names).lower()
    for pattern, chat_format in FAMILY_CHAT_FORMATS.items():
        if re.search(pattern, text):
            return chat_format
    return DEFAULT_CHAT_FORMAT


def choose_chat_format(explicit: str | None, metadata: dict[str, str], path: Path) -> str | None:
    """The format to set on a loaded model; None keeps the GGUF's own template."""
    if explicit:
        return explicit
    if "tokenizer.chat_template" in metadata:
        return None
    return fallback_chat_format(
        path.name, metadata.get("general.name", ""), metadata.get("general.architecture", "")
    )


def apply_chat_format(llm: Any, chat_format: str) -> None:
    """Make a ``llama_cpp.Llama`` format its prompts with ``chat_format``, or raise LLMError."""
    from llama_cpp import llama_chat_format  # llama.cpp: on use only

    if chat_format in _EXTRA_CHAT_TEMPLATES:
        template, end_of_turn = _EXTRA_CHAT_TEMPLATES[chat_format]
        formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template, eos_token=end_of_turn, bos_token=""
        )
        llm.chat_handler = formatter.to_chat_handler()
        return
    try:
        llama_chat_format.get_chat_completion_handler(chat_format)
    except Exception as exc:  # llama-cpp raises a bare Exception subclass here
        raise LLMError(f"unknown chat format {chat_format!r}: {exc}") from exc
    llm.chat_format = chat_format
