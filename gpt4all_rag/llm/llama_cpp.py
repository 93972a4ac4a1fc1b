"""A GGUF model run in this process by llama-cpp-python, behind one :class:`ModelCache`.

The cache holds at most one model: loading a different file (or the same file
with other load parameters) evicts the previous one, so trying several models
in the app does not exhaust memory. The weights load on the first token count
or answer, never when a backend is built.
"""

from __future__ import annotations

import atexit
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpt4all_rag.errors import LLMError, ModelNotFound
from gpt4all_rag.llm.chat_formats import apply_chat_format, choose_chat_format
from gpt4all_rag.llm.control_tokens import control_token_pattern, neutralize_control_tokens
from gpt4all_rag.llm.copy_bias import (
    VocabTable,
    llama_copy_bias,
    llama_vocab_table,
    source_text,
)
from gpt4all_rag.llm.f16_copy import prompt_fast_model
from gpt4all_rag.llm.prompt_prefix import PromptPrefix
from gpt4all_rag.llm.protocol import Sampling
from gpt4all_rag.types import Message

__all__ = [
    "GGUF_MAGIC",
    "MODELS",
    "LlamaCppBackend",
    "ModelCache",
    "ModelKey",
    "checked_gguf",
    "extra_buffer_types",
    "loaded_model_count",
]

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelKey:
    """What makes two loaded models different: the file and its load parameters."""

    path: Path
    context_size: int
    threads: int | None
    gpu_layers: int
    chat_format: str | None
    extra_buffers: bool = False
    flash_attention: bool = True
    f16_copy_dir: Path | None = None  # where an F16 copy may be made (llm.f16_copy)
    f16_copy_max_bytes: int = 0
    lora_path: Path | None = None  # a GGUF LoRA adapter applied to every answer


@dataclass(eq=False)
class LoadedModel:
    """A ``llama_cpp.Llama``, the lock that lets one answer at a time use it, and its state.

    ``retired`` is set when the cache evicts it; it is closed as soon as no
    answer holds it (at once, or when the current answer ends).
    """

    key: ModelKey
    llm: Any  # llama_cpp.Llama: the library ships no type information
    control: re.Pattern[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    prefix: PromptPrefix = field(default_factory=PromptPrefix)
    holder: int | None = None
    retired: bool = False
    closed: bool = False
    vocab: VocabTable | None = None  # read on the first answer with a copy bias

    def vocab_table(self) -> VocabTable:
        """The model's vocabulary as the copy bias reads it (read once)."""
        if self.vocab is None:
            self.vocab = llama_vocab_table(self.llm)
        return self.vocab

    def close(self) -> None:
        """Free the weights (idempotent)."""
        if not self.closed:
            self.closed = True
            self.llm.close()

    def retire(self) -> None:
        """Close now if no answer holds the model, else when that answer ends."""
        self.retired = True
        if self.lock.acquire(blocking=False):
            try:
                self.close()
            finally:
                self.lock.release()


class ModelCache:
    """The process's llama.cpp model: at most one in memory, shared by every backend.

    Args:
        loader: Builds a ``LoadedModel`` for a key (tests may count or replace it).
    """

    def __init__(self, loader: Callable[[ModelKey], LoadedModel] | None = None) -> None:
        self._loader = loader
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self.loads = 0

    def _get(self, key: ModelKey) -> LoadedModel:
        with self._lock:
            current = self._current
            if current is not None and current.key == key and not current.closed:
                return current
            self._current = None
            if current is not None:
                current.retire()  # before loading: two models never need memory at once
            self._current = (self._loader or load_model)(key)
            self.loads += 1
            return self._current

    @contextmanager
    def hold(self, key: ModelKey) -> Iterator[LoadedModel]:
        """The model for ``key``, locked for this thread until the block ends.

        A llama.cpp context is not thread-safe, so answers take turns; a thread
        that still reads an unfinished answer may not start another (it would
        wait for itself forever).
        """
        while True:
            model = self._get(key)
            if model.holder == threading.get_ident():
                raise LLMError(
                    "this thread is still reading an earlier answer; finish or close it first"
                )
            with model.lock:
                if model.closed:  # evicted between _get and the lock: load it again
                    continue
                model.holder = threading.get_ident()
                try:
                    yield model
                finally:
                    model.holder = None
                    if model.retired:
                        model.close()
                return

    def close(self) -> None:
        """Free the cached model; the next request loads it again."""
        with self._lock:
            if self._current is not None:
                self._current.retire()
            self._current = None


MODELS = ModelCache()


def loaded_model_count() -> int:
    """How many ``llama_cpp.Llama`` objects this process has loaded into its model cache."""
    return MODELS.loads


# Freed before interpreter teardown: left to llama-cpp's own __del__, the model is
# freed after its bindings are gone, which prints a traceback at exit.
atexit.register(MODELS.close)


def checked_gguf(model_path: Path | str) -> Path:
    """Return the resolved path of a regular, readable GGUF file, or raise ModelNotFound.

    The file is opened without blocking and checked to be regular before a byte
    is read, so a FIFO or a device never hangs the app; the error never quotes
    the file's contents, which may be anything readable.
    """
    path = Path(model_path).expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ModelNotFound(path, "no such file") from None
    except OSError as exc:
        raise ModelNotFound(path, f"cannot be read ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ModelNotFound(path, "is a folder, not a .gguf file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelNotFound(path, "not a regular file")
    if _read_magic(path) != GGUF_MAGIC:
        raise ModelNotFound(path, "not a GGUF model (it does not start with b'GGUF')")
    return path.resolve()


def _read_magic(path: Path) -> bytes:
    """The first four bytes of a regular file, opened without blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ModelNotFound(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped after the first check
            raise ModelNotFound(path, "not a regular file")
        return os.read(fd, len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelNotFound(path, f"cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)


def load_model(key: ModelKey) -> LoadedModel:
    """Load the GGUF of ``key``, set its chat format and read its control tokens."""
    import llama_cpp  # llama.cpp: on use only

    checked_gguf(key.path)  # again: the file may have changed since the backend was built
    weights = _weights_file(key)
    try:
        with extra_buffer_types(key.extra_buffers):
            llm = llama_cpp.Llama(
                model_path=str(weights),
                n_ctx=key.context_size,
                n_threads=key.threads or os.cpu_count(),  # llama-cpp defaults to half the cores
                n_gpu_layers=key.gpu_layers,
                flash_attn=key.flash_attention,
                lora_path=None if key.lora_path is None else str(key.lora_path),
                verbose=False,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelNotFound(key.path, f"llama.cpp could not load it ({exc})") from exc
    try:
        chosen = choose_chat_format(key.chat_format, llm.metadata, key.path)
        if chosen is not None:
            apply_chat_format(llm, chosen)
        control = control_token_pattern(control_token_strings(llm))
    except LLMError:
        llm.close()
        raise
    return LoadedModel(key, llm, control)


def _weights_file(key: ModelKey) -> Path:
    """The file llama.cpp loads: the model, or its F16 copy on a CPU when that reads faster."""
    if key.f16_copy_dir is None or key.gpu_layers != 0:
        return key.path
    return prompt_fast_model(key.path, key.f16_copy_dir, key.f16_copy_max_bytes)


_params_lock = threading.Lock()


@contextmanager
def extra_buffer_types(enabled: bool) -> Iterator[None]:
    """Load with llama.cpp's extra CPU buffer types (AMX, weight repacking) on or off.

    A native build on a CPU that reports AMX crashes on its first decode in some
    virtual machines (seen on this project's CI kind), so they are off unless the
    settings turn them on. ``Llama()`` takes no parameter for it: its default
    model parameters are swapped for the duration of the load, under a lock.
    """
    import llama_cpp.llama_cpp as low  # llama.cpp: on use only

    if enabled:
        yield
        return
    with _params_lock:
        default = low.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = default()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            low.llama_model_default_params = default


def control_token_strings(llm: Any) -> list[str]:
    """The texts of a model's control and user-defined tokens that are not plain words.

    These are what llama.cpp matches as special tokens in a prompt; a plain word
    such as a user-defined "hello" cannot end a turn, so it is left alone.
    """
    import llama_cpp  # llama.cpp: on use only

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    special = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    found: list[str] = []
    for token in range(llama_cpp.llama_vocab_n_tokens(vocab)):
        if not llama_cpp.llama_vocab_get_attr(vocab, token) & special:
            continue
        text = llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8", errors="replace")
        if re.search(r"[^\w\s]", text):
            found.append(text)
    return found


class LlamaCppBackend:
    """A GGUF model run in this process by llama-cpp-python.

    Construction only checks the file. The weights are loaded on the first
    token count or answer, through the process's :class:`ModelCache`.
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
        sampling: Sampling | None = None,
        cache: ModelCache | None = None,
        extra_buffers: bool = False,
        flash_attention: bool = True,
        f16_copy_dir: Path | None = None,
        f16_copy_max_mb: int = 0,
        lora_path: Path | None = None,
        copy_bias: float = 0.0,
    ) -> None:
        self._path = checked_gguf(model_path)
        self._copy_bias = copy_bias
        lora = None if lora_path is None else checked_gguf(lora_path)
        self._sampling = sampling or Sampling()
        self._key = ModelKey(
            self._path,
            context_size,
            threads,
            gpu_layers,
            chat_format,
            extra_buffers,
            flash_attention,
            f16_copy_dir,
            f16_copy_max_mb * 1024 * 1024,
            lora,
        )
        self._seed = seed
        self._cache = cache or MODELS

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
        return self._key.context_size

    def llama(self) -> Any:
        """The shared ``llama_cpp.Llama`` itself, for benchmarks and advanced use."""
        with self._cache.hold(self._key) as model:
            model.prefix.forget()  # the caller may evaluate anything: the next answer starts over
            return model.llm

    def count_tokens(self, text: str) -> int:
        """Count ``text``'s tokens with the model's own tokenizer (no BOS token)."""
        with self._cache.hold(self._key) as model:
            return len(model.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the answer's text pieces; the same seed and input give the same answer.

        The previous answer's KV cache is dropped first, except for the prompt's
        fixed prefix (the system turn), which is kept and always evaluated on its
        own (:mod:`gpt4all_rag.llm.prompt_prefix`): an answer does not depend on
        what was asked before it.

        Raises:
            ModelNotFound: The model cannot be loaded.
            LLMError: Generation failed, e.g. the prompt does not fit the context.
        """
        with self._cache.hold(self._key) as model:
            # No content may hold a role boundary: the chat template adds the real ones.
            safe = [
                {**m, "content": neutralize_control_tokens(m["content"], model.control)}
                for m in messages
            ]
            try:
                model.prefix.prepare(model.llm, safe)
                chunks = model.llm.create_chat_completion(
                    logits_processor=self._logits_processor(model, safe),
                    messages=safe,
                    stream=True,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=self._seed,
                    stop=stop or [],
                    top_p=self._sampling.top_p,
                    top_k=self._sampling.top_k,
                    min_p=self._sampling.min_p,
                    repeat_penalty=self._sampling.repeat_penalty,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"{self.name}: generation failed: {exc}") from exc

    def _logits_processor(self, model: LoadedModel, messages: list[Message]) -> Any:
        """The copy bias toward the user turns (the passages and the question), or None."""
        if self._copy_bias == 0.0:
            return None
        import llama_cpp  # llama.cpp: on use only (already loaded with the model)

        user = "\n".join(m["content"] for m in messages if m["role"] == "user")
        bias = llama_copy_bias(model.llm, model.vocab_table(), source_text(user), self._copy_bias)
        return llama_cpp.LogitsProcessorList([bias])
