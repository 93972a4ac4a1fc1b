"""The language model that writes the answers: llama-cpp in process, or an OpenAI-compatible server.

Both backends meet one small protocol, :class:`LLMBackend`: a name, a context
size, a token count and a stream of text pieces. The chain only sees that.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from gpt4all_rag.errors import LLMError, ModelNotFound

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = [
    "DEFAULT_CHAT_FORMAT",
    "FAMILY_CHAT_FORMATS",
    "LLMBackend",
    "LlamaCppBackend",
    "Message",
    "OpenAICompatibleBackend",
    "build_llm",
    "fallback_chat_format",
    "loaded_model_count",
]

Message = dict[str, str]
"""One chat turn: ``{"role": "system" | "user" | "assistant", "content": text}``."""

GGUF_MAGIC = b"GGUF"

# Chat formats for GGUF files that carry no ``tokenizer.chat_template``. The first
# pattern found in the file name, ``general.name`` or ``general.architecture`` wins;
# ``(?!\d)`` keeps "llama-30b" (LLaMA 1) from passing for Llama 3.
FAMILY_CHAT_FORMATS: dict[str, str] = {
    r"llama[-_ ]?3(?!\d)": "llama-3",
    r"mi[sx]tral": "mistral-instruct",
    r"phi[-_ ]?3(?!\d)": "phi-3",
    r"orca[-_ ]?mini": "chatml",
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
}


@runtime_checkable
class LLMBackend(Protocol):
    """What the chain needs from a language model."""

    @property
    def name(self) -> str:
        """A short name for status displays and logs."""
        ...

    @property
    def context_size(self) -> int:
        """The context window, in tokens, that prompt and answer must fit in."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes in this model's context."""
        ...

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the answer to ``messages`` in pieces, as the model writes it."""
        ...


# --- chat formats ---------------------------------------------------------


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


def _choose_chat_format(explicit: str | None, metadata: dict[str, str], path: Path) -> str | None:
    """The format to set on a loaded model; None keeps the GGUF's own template."""
    if explicit:
        return explicit
    if "tokenizer.chat_template" in metadata:
        return None
    return fallback_chat_format(
        path.name, metadata.get("general.name", ""), metadata.get("general.architecture", "")
    )


def _apply_chat_format(llm: Any, chat_format: str) -> None:
    """Make ``llm`` format its prompts with ``chat_format``, or raise LLMError."""
    from llama_cpp import llama_chat_format

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


# --- llama-cpp in process -------------------------------------------------


@dataclass
class _LoadedModel:
    """A ``llama_cpp.Llama`` and the lock that lets one answer at a time use it."""

    llm: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    streaming_thread: int | None = None


_ModelKey = tuple[Path, int, int | None, int, str | None]
_models: dict[_ModelKey, _LoadedModel] = {}
_models_lock = threading.Lock()
_created = 0


@atexit.register
def _close_models() -> None:
    """Free the cached models before interpreter teardown.

    Left to llama-cpp's own ``__del__``, they are freed after its bindings are
    gone, which prints a traceback at exit.
    """
    with _models_lock:
        for model in _models.values():
            model.llm.close()
        _models.clear()


def loaded_model_count() -> int:
    """How many ``llama_cpp.Llama`` objects this process has loaded into its shared cache."""
    return _created


def _shared_model(key: _ModelKey) -> _LoadedModel:
    """The process-wide model for ``key``, loaded on the first request for it."""
    global _created
    with _models_lock:
        if key not in _models:
            _models[key] = _LoadedModel(_load_llama(*key))
            _created += 1
        return _models[key]


def _load_llama(
    path: Path, context_size: int, threads: int | None, gpu_layers: int, chat_format: str | None
) -> Any:
    """Create a ``llama_cpp.Llama`` for the GGUF at ``path`` and set its chat format."""
    import llama_cpp

    try:
        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=context_size,
            n_threads=threads or os.cpu_count(),  # llama-cpp defaults to half the cores
            n_gpu_layers=gpu_layers,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelNotFound(path, f"llama.cpp could not load it ({exc})") from exc
    chosen = _choose_chat_format(chat_format, llm.metadata, path)
    if chosen is not None:
        try:
            _apply_chat_format(llm, chosen)
        except LLMError:
            llm.close()
            raise
    return llm


@contextmanager
def _generating(model: _LoadedModel) -> Iterator[None]:
    """Hold ``model`` for one answer; other threads wait, this thread may not nest.

    A llama.cpp context is not thread-safe, and the model is shared by every
    backend in the process, so answers take turns.
    """
    if model.streaming_thread == threading.get_ident():
        raise LLMError("this thread is still reading an earlier answer; finish or close it first")
    with model.lock:
        model.streaming_thread = threading.get_ident()
        try:
            yield
        finally:
            model.streaming_thread = None


def _checked_gguf(model_path: Path | str) -> Path:
    """Return the resolved path of a readable GGUF file, or raise ModelNotFound."""
    path = Path(model_path).expanduser()
    if not path.exists():
        raise ModelNotFound(path, "no such file")
    if path.is_dir():
        raise ModelNotFound(path, "is a folder, not a .gguf file")
    try:
        with path.open("rb") as file:
            magic = file.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelNotFound(path, f"cannot be read ({exc.strerror or exc})") from exc
    if magic != GGUF_MAGIC:
        raise ModelNotFound(path, f"not a GGUF model (it starts with {magic!r}, not b'GGUF')")
    return path.resolve()


class LlamaCppBackend:
    """A GGUF model run in this process by llama-cpp-python.

    Construction only checks the file. The weights are loaded on the first
    token count or answer, once per process for a given file and configuration.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 4096,
        threads: int | None = None,
        gpu_layers: int = 0,
        seed: int = 42,
        chat_format: str | None = None,
    ) -> None:
        self._path = _checked_gguf(model_path)
        self._key: _ModelKey = (self._path, context_size, threads, gpu_layers, chat_format)
        self._context_size = context_size
        self._seed = seed

    @property
    def name(self) -> str:
        """The GGUF file name."""
        return self._path.name

    @property
    def model_path(self) -> Path:
        """The resolved path of the GGUF file."""
        return self._path

    @property
    def context_size(self) -> int:
        """The context window the model is loaded with."""
        return self._context_size

    def llama(self) -> Any:
        """The shared ``llama_cpp.Llama`` itself, for benchmarks and advanced use."""
        return _shared_model(self._key).llm

    def count_tokens(self, text: str) -> int:
        """Count ``text``'s tokens with the model's own tokenizer (no BOS token)."""
        llm = _shared_model(self._key).llm
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the answer's text pieces; the same seed and input give the same answer.

        The KV cache of the previous answer is dropped first: llama.cpp evaluates
        a prompt in batches and a reused prefix's last token alone, and the two
        round differently enough to change even a greedy answer.

        Raises:
            ModelNotFound: The model cannot be loaded.
            LLMError: Generation failed, e.g. the prompt does not fit the context.
        """
        model = _shared_model(self._key)
        with _generating(model):
            try:
                model.llm.reset()
                chunks = model.llm.create_chat_completion(
                    messages=messages,
                    stream=True,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=self._seed,
                    stop=stop or [],
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"{self.name}: generation failed: {exc}") from exc


# --- OpenAI-compatible server ---------------------------------------------


def _checked_base_url(base_url: str) -> str:
    """Return ``base_url`` without a trailing slash, or raise LLMError if it is no http URL."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMError(f"not an http(s) URL for an OpenAI-compatible server: {base_url!r}")
    return base_url.rstrip("/")


def _error_detail(body: bytes) -> str:
    """The readable part of an error reply: its ``error.message``, else its text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:300]
    if isinstance(error, dict):
        return str(error.get("message", error))[:300]
    return str(error or text)[:300]


def _delta_content(data: str, url: str) -> str | None:
    """The text of one streamed ``chat.completion.chunk`` event, if it has any."""
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise LLMError(f"{url} sent a stream event that is not JSON: {data[:200]!r}") from exc
    if not isinstance(event, dict):
        raise LLMError(f"{url} sent an unexpected stream event: {data[:200]!r}")
    if event.get("error"):
        raise LLMError(f"{url} reported an error: {event['error']}")
    choices = event.get("choices") or []
    content = (choices[0].get("delta") or {}).get("content") if choices else None
    return content if isinstance(content, str) else None


def _sse_pieces(lines: Iterable[str], url: str) -> Iterator[str]:
    """Yield the non-empty text pieces of a server-sent event stream up to ``[DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, "event:" and "id:" fields
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        piece = _delta_content(data, url)
        if piece:
            yield piece
    raise LLMError(
        f"{url} ended the answer without [DONE]: the server dropped it (is "
        "GPT4ALL_RAG_CONTEXT_SIZE larger than the server's context window?)"
    )


class OpenAICompatibleBackend:
    """Any server that speaks OpenAI's ``/v1/chat/completions`` with streaming.

    For example ``python -m llama_cpp.server``, llama.cpp's ``llama-server``,
    Ollama or vLLM. Only the URL the user configures is ever contacted.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "not-needed",
        context_size: int = 4096,
        timeout: float = 120.0,
    ) -> None:
        self._base_url = _checked_base_url(base_url)
        self._model = model
        self._api_key = api_key
        self._context_size = context_size
        self._timeout = timeout

    @property
    def name(self) -> str:
        """``openai:<model>@<base_url>``."""
        return f"openai:{self._model}@{self._base_url}"

    @property
    def context_size(self) -> int:
        """The context window the server is assumed to have."""
        return self._context_size

    def count_tokens(self, text: str) -> int:
        """Estimate ``text``'s tokens as one per three characters, rounded up.

        The server's tokenizer is unknown here; real tokenizers average three to
        four characters a token on prose, so this errs towards too many.
        """
        return math.ceil(len(text) / 3)

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Stream the server's answer to ``messages``.

        Raises:
            LLMError: The server cannot be reached, times out, answers with an
                HTTP error or sends a reply that is not a chat completion stream.
        """
        import httpx

        url = f"{self._base_url}/chat/completions"
        body: dict[str, Any] = {
            "model": self._model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        if stop:
            body["stop"] = stop
        headers = {"Authorization": f"Bearer {self._api_key}"}
        try:
            with httpx.stream(
                "POST", url, json=body, headers=headers, timeout=self._timeout
            ) as response:
                if response.is_error:
                    detail = _error_detail(response.read())
                    raise LLMError(f"{url} answered HTTP {response.status_code}: {detail}")
                yield from _sse_pieces(response.iter_lines(), url)
        except httpx.TimeoutException as exc:
            raise LLMError(f"{url} did not answer within {self._timeout:g} s ({exc})") from exc
        except httpx.ConnectError as exc:
            raise LLMError(f"cannot reach the model server at {url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"{url}: {type(exc).__name__}: {exc}") from exc


# --- factory --------------------------------------------------------------


def build_llm(settings: Settings) -> LLMBackend:
    """Build the backend that ``settings.llm_backend`` names.

    Raises:
        ModelNotFound: The llama-cpp model file is missing or not GGUF.
        LLMError: The OpenAI-compatible URL is malformed.
    """
    match settings.llm_backend:
        case "llama-cpp":
            return LlamaCppBackend(
                settings.resolved_model_path(),
                context_size=settings.context_size,
                threads=settings.threads,
                gpu_layers=settings.gpu_layers,
                seed=settings.seed,
                chat_format=settings.chat_format,
            )
        case "openai":
            return OpenAICompatibleBackend(
                settings.openai_base_url,
                settings.openai_model,
                api_key=settings.openai_api_key,
                context_size=settings.context_size,
            )
        case "scripted":
            from gpt4all_rag.testing import ScriptedLLM

            return ScriptedLLM(settings.scripted_replies, context_size=settings.context_size)
        case other:
            raise LLMError(
                f"unknown LLM backend {other!r}; expected 'llama-cpp', 'openai' or 'scripted'"
            )
