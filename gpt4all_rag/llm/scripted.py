"""The scripted fake as an LLM backend (it lives in ``gpt4all_rag.testing``)."""

from gpt4all_rag.testing import ScriptedLLM

__all__ = ["ScriptedLLM"]
