"""An F16 copy of a small GGUF whose quantization llama.cpp's fast CPU kernels skip.

Why: llama.cpp multiplies a prompt's matrices on the CPU with llamafile's kernels for
F32, F16, BF16, Q8_0, Q4_0 and Q5_0 weights; Q4_1 and Q5_1 take a slower generic path.
The bundled SmolLM2 is Q4_1, and reading the prompt is most of the wait for an answer's
first word: its F16 copy reads prompts faster on this project's 2-core machine
(docs/benchmarks.md, "Speed, session 5"). F16 holds every Q4_1 weight to within F16's
rounding (2^-11 relative), so it is the same model; only the arithmetic around the
weights changes (the Q4_1 path also rounds the activations to 8 bits, F16 does not).

F16 takes two bytes a weight (the bundled 98 MB file becomes 271 MB), so only models up
to ``max_bytes`` are copied, and only for the CPU. The copy is made once, beside the
models folder (hidden from the model list), keyed by the source file's size and
modification time; it is written to a temporary name and renamed, so two processes
never read a half-written copy. Any failure (a read-only folder, a full disk) leaves
the original file in use: the copy is a speed-up, never a requirement.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from gpt4all_rag.llm.gguf_header import GGUFHeaderError, read_gguf_metadata

__all__ = ["SLOW_ON_CPU", "f16_copy_path", "prompt_fast_model"]

log = logging.getLogger(__name__)

# ``general.file_type`` values (llama.cpp's ``llama_ftype``) of the quantizations that
# llamafile's CPU kernels skip: Q4_1 and Q5_1.
SLOW_ON_CPU = {"3": "Q4_1", "9": "Q5_1"}
_F16 = 1  # LLAMA_FTYPE_MOSTLY_F16


def f16_copy_path(model: Path, folder: Path) -> Path:
    """Where the F16 copy of ``model`` lives: named by the file and its size and date."""
    info = model.stat()
    key = hashlib.sha256(f"{model.resolve()}|{info.st_size}|{info.st_mtime_ns}".encode())
    return folder / f"{model.stem}.{key.hexdigest()[:12]}.F16.gguf"


def prompt_fast_model(model: Path, folder: Path, max_bytes: int) -> Path:
    """The file to load for ``model``: its F16 copy when that pays, else ``model`` itself.

    A copy is made (once) when the model is a Q4_1 or Q5_1 GGUF of at most
    ``max_bytes``; ``max_bytes`` 0 never copies.
    """
    if max_bytes <= 0 or not _slow_on_cpu(model, max_bytes):
        return model
    target = f16_copy_path(model, folder)
    if target.is_file():
        return target
    try:
        _convert(model, target)
    except (OSError, RuntimeError) as exc:
        log.warning("%s: kept as it is (no F16 copy in %s: %s)", model.name, folder, exc)
        return model
    _remove_stale_copies(model, target)
    return target


def _slow_on_cpu(model: Path, max_bytes: int) -> bool:
    try:
        if model.stat().st_size > max_bytes:
            return False
        file_type = read_gguf_metadata(model).get("general.file_type", "")
    except (OSError, GGUFHeaderError):
        return False  # llama.cpp's own load reports an unreadable file
    return file_type in SLOW_ON_CPU


def _convert(model: Path, target: Path) -> None:
    """Write the F16 copy through llama.cpp's own quantizer, atomically."""
    import llama_cpp  # llama.cpp: on use only
    from llama_cpp._utils import suppress_stdout_stderr  # as above

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".partial-", suffix=".gguf", dir=target.parent)
    os.close(handle)
    try:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = _F16
        params.allow_requantize = True
        params.nthread = os.cpu_count() or 1
        with suppress_stdout_stderr(disable=False):
            status = llama_cpp.llama_model_quantize(
                str(model).encode(), partial.encode(), ctypes.byref(params)
            )
        if status != 0:
            raise RuntimeError(f"llama.cpp's quantizer returned {status}")
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def _remove_stale_copies(model: Path, keep: Path) -> None:
    """Drop copies of earlier versions of this file (same name, other size or date)."""
    for old in keep.parent.glob(f"{model.stem}.*.F16.gguf"):
        if old != keep and len(old.name) == len(keep.name):
            old.unlink(missing_ok=True)
