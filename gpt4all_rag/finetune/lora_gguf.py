"""PEFT LoRA weights as a llama.cpp GGUF adapter, and the reading back of its header.

The format is that of llama.cpp's ``convert_lora_to_gguf.py``: ``general.type`` is
``adapter``, ``adapter.type`` is ``lora``, ``adapter.lora.alpha`` the PEFT alpha, and each
adapted base tensor ``blk.N.attn_q.weight`` gets ``.lora_a`` (rank x in) and ``.lora_b``
(out x rank). llama.cpp stores a llama model's q and k rows permuted for its rotary
embedding (transformers undoes that when it loads a GGUF), so their ``lora_b`` rows are
permuted the same way here; otherwise the adapter would change the wrong heads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gpt4all_rag.llm.gguf_header import read_gguf_metadata

__all__ = [
    "AdapterShape",
    "LoraHeader",
    "peft_to_gguf_name",
    "read_adapter_header",
    "write_adapter",
]

# base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight (PEFT's state dict keys)
_PEFT_KEY = re.compile(
    r"(?:^|\.)layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight$"
)
_GGUF_NAMES = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}


@dataclass(frozen=True)
class AdapterShape:
    """What the writer needs to know of the base model."""

    architecture: str
    head_count: int
    head_count_kv: int
    base_name: str = ""


@dataclass(frozen=True)
class LoraHeader:
    """An adapter file's header, read back."""

    architecture: str
    file_type: str
    adapter_type: str
    alpha: float
    base_name: str
    tensor_names: tuple[str, ...]


def peft_to_gguf_name(key: str) -> str | None:
    """``blk.N.attn_q.weight.lora_a`` for a PEFT LoRA key, or None for any other key."""
    match = _PEFT_KEY.search(key)
    if match is None or match.group(3) not in _GGUF_NAMES:
        return None
    layer, _, module, which = match.groups()
    return f"blk.{layer}.{_GGUF_NAMES[module]}.weight.lora_{which.lower()}"


def _permute_rows(rows: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's rotary permutation of q/k output rows (``convert_hf_to_gguf.permute``)."""
    shape = rows.shape
    return rows.reshape(heads, 2, shape[0] // heads // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def _gguf_tensor(name: str, array: np.ndarray, shape: AdapterShape) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float32)
    if name.endswith(".lora_b") and ".attn_q." in name:
        return np.ascontiguousarray(_permute_rows(array, shape.head_count))
    if name.endswith(".lora_b") and ".attn_k." in name:
        return np.ascontiguousarray(_permute_rows(array, shape.head_count_kv))
    return array


def write_adapter(
    path: Path, state: Mapping[str, Any], alpha: float, shape: AdapterShape
) -> list[str]:
    """Write PEFT LoRA tensors (``{key: array}``) as a GGUF adapter; return the tensor names.

    Raises:
        ValueError: no LoRA tensor in ``state``, or an A without its B.
    """
    import gguf  # the writer is needed only here; `import gpt4all_rag` stays light

    tensors = {}
    for key, value in state.items():
        name = peft_to_gguf_name(key)
        if name is not None:
            tensors[name] = _gguf_tensor(name, np.asarray(value), shape)
    if not tensors:
        raise ValueError("no LoRA tensors to write")
    unpaired = {n.rsplit(".", 1)[0] for n in tensors} - {
        n.rsplit(".", 1)[0] for n in tensors if n.replace("lora_a", "lora_b") in tensors
    }
    if unpaired:
        raise ValueError(f"LoRA tensors without their pair: {sorted(unpaired)[:3]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), shape.architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    if shape.base_name:
        writer.add_name(f"{shape.base_name} LoRA")
        writer.add_string("general.base_model.0.name", shape.base_name)
    for name in sorted(tensors):
        writer.add_tensor(name, tensors[name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return sorted(tensors)


def read_adapter_header(path: Path) -> LoraHeader:
    """The adapter's type, alpha and tensor names (metadata through the project's reader).

    Raises:
        GGUFHeaderError: not a GGUF file.
        ValueError: a GGUF file that is not a LoRA adapter.
    """
    meta = read_gguf_metadata(Path(path))
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise ValueError(f"{path} is not a GGUF LoRA adapter")
    return LoraHeader(
        architecture=str(meta.get("general.architecture", "")),
        file_type=str(meta["general.type"]),
        adapter_type=str(meta["adapter.type"]),
        alpha=float(meta.get("adapter.lora.alpha", 0.0)),
        base_name=str(meta.get("general.base_model.0.name", "")),
        tensor_names=tuple(_tensor_names(path)),
    )


def _tensor_names(path: Path) -> list[str]:
    import gguf  # see write_adapter

    return [t.name for t in gguf.GGUFReader(str(path)).tensors]
