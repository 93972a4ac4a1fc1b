"""all-MiniLM-L6-v2 (any BERT sentence-transformers model with mean pooling) in numpy.

Why: ``import sentence_transformers`` costs about 8 s on 2 cores (torch, transformers),
while embedding one query with a 6-layer BERT takes a few milliseconds. Reading the same
weights with numpy gives the CLI and the app query vectors without torch: the forward
pass below is BERT's, term for term, so the vectors equal the sentence-transformers ones
to float32 rounding (cosine >= 0.999, see tests/vectorstore/test_numpy_minilm.py).

The weights are memory-mapped from ``model.safetensors`` (parsed here: an 8-byte header
length, a JSON header, then raw little-endian arrays), so loading reads only the pages a
query touches: a few rows of the word-embedding table, not all 47 MB of it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import struct
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BertConfig",
    "NumpyMiniLM",
    "NumpyQueryEmbedder",
    "UnsupportedModel",
    "numpy_model",
    "read_safetensors",
]

_DTYPES: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),  # ``embeddings.position_ids``: a buffer, not a weight
}
_MASKED = np.float32(-1e9)  # added to the attention scores of padding tokens
_BATCH_TOKENS = 4096  # tokens per forward pass in ``encode`` (bounds the attention memory)
_PAD_GROWTH, _PAD_SLACK = 1.3, 4  # a batch's texts are at most 1.3 times its shortest, + 4


class UnsupportedModel(Exception):
    """The folder is not a BERT model with mean pooling, so numpy cannot run it.

    The caller falls back to sentence-transformers; users never see this error.
    """


@dataclass(frozen=True)
class BertConfig:
    """The architecture numbers the forward pass needs (from ``config.json``)."""

    hidden_size: int
    heads: int
    layers: int
    layer_norm_eps: float
    max_positions: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        """Read a Hugging Face ``config.json``; refuse anything that is not a GELU BERT."""
        config = _read_json(path)
        if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise UnsupportedModel(f"{path}: not a BERT model with GELU")
        return cls(
            hidden_size=int(config["hidden_size"]),
            heads=int(config["num_attention_heads"]),
            layers=int(config["num_hidden_layers"]),
            layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
            max_positions=int(config.get("max_position_embeddings", 512)),
        )


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Memory-map every tensor of a ``.safetensors`` file as a read-only numpy array.

    F32 and I64 tensors are mapped as they are; F16 and BF16 ones are converted to float32.
    """
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_len))
    blob = np.memmap(path, dtype=np.uint8, mode="r")
    start = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] not in _DTYPES:
            raise UnsupportedModel(f"{path}: tensor {name} has dtype {spec['dtype']}")
        begin, end = spec["data_offsets"]
        raw = blob[start + begin : start + end].view(_DTYPES[spec["dtype"]])
        tensors[name] = _as_float32(raw, spec["dtype"]).reshape(spec["shape"])
    return tensors


def _as_float32(raw: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    return raw.astype(np.float32) if dtype == "F16" else raw


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnsupportedModel(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UnsupportedModel(f"{path}: not a JSON object")
    return data


def _check_pipeline(model_dir: Path) -> bool:
    """Check the sentence-transformers modules: Transformer, mean Pooling, [Normalize].

    Returns whether the model normalizes its vectors (the embedder normalizes anyway).
    """
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UnsupportedModel(f"{model_dir}: modules {kinds}")
    pooling_dir = model_dir / next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = _read_json(pooling_dir / "config.json")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True}
    if modes != {"pooling_mode_mean_tokens"}:
        raise UnsupportedModel(f"{model_dir}: pooling {sorted(modes)}")
    return kinds[-1] == "Normalize"


def max_seq_length(model_dir: Path) -> int:
    """Word pieces the model reads (``sentence_bert_config.json``), as sentence-transformers."""
    config = _read_json(model_dir / "sentence_bert_config.json")
    return int(config["max_seq_length"])


class NumpyMiniLM:
    """A BERT sentence encoder with mean pooling, run by numpy; vectors of unit length.

    Args:
        model_dir: a sentence-transformers folder (``config.json``, ``modules.json``,
            ``model.safetensors``, ``tokenizer.json``, ``sentence_bert_config.json``).

    Raises:
        UnsupportedModel: the folder holds another architecture or pooling.
    """

    def __init__(self, model_dir: Path) -> None:
        try:
            self.config = BertConfig.from_file(model_dir / "config.json")
            _check_pipeline(model_dir)
            self.max_seq_length = min(max_seq_length(model_dir), self.config.max_positions)
            tensors = read_safetensors(model_dir / "model.safetensors")
        except (OSError, KeyError, ValueError, StopIteration) as exc:
            raise UnsupportedModel(f"{model_dir}: {exc}") from exc
        self.weights = _transposed(
            _fuse_qkv({k.removeprefix("bert."): v for k, v in tensors.items()}, self.config.layers)
        )
        self.tokenizer = _load_tokenizer(model_dir / "tokenizer.json", self.max_seq_length)
        self._one_blas_thread = _blas_limiter()

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Word pieces the model reads for ``texts``, [CLS] and [SEP] included."""
        return sum(len(e.ids) for e in self.tokenizer.encode_batch(list(texts)))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts``, one row each (float32).

        Texts are batched by length, so a short query never pays for a long passage's
        padding.
        """
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        out = np.zeros((len(ids), self.config.hidden_size), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with self._one_blas_thread():
            for batch in _length_batches(order, ids):
                out[batch] = self._forward([ids[i] for i in batch])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        length = max(len(x) for x in batch)
        token_ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            token_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        hidden = self._embed(token_ids)
        bias = ((1.0 - mask) * _MASKED)[:, None, None, :]
        for layer in range(self.config.layers):
            hidden = self._layer(hidden, bias, f"encoder.layer.{layer}.")
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def _embed(self, token_ids: np.ndarray) -> np.ndarray:
        w = self.weights
        length = token_ids.shape[1]
        summed = (
            w["embeddings.word_embeddings.weight"][token_ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        return self._norm(summed, "embeddings.LayerNorm.")

    def _layer(self, hidden: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        attention = self._attention(hidden, bias, prefix + "attention.")
        hidden = self._norm(hidden + attention, prefix + "attention.output.LayerNorm.")
        inner = _gelu(self._linear(hidden, prefix + "intermediate.dense."))
        output = self._linear(inner, prefix + "output.dense.")
        return self._norm(hidden + output, prefix + "output.LayerNorm.")

    def _attention(self, hidden: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        batch, length, width = hidden.shape
        heads = self.config.heads
        size = width // heads
        qkv = self._linear(hidden, prefix + "self.qkv.").reshape(batch, length, 3, heads, size)
        query, key, value = qkv.transpose(2, 0, 3, 1, 4)  # each (batch, heads, length, size)
        scores = (query * np.float32(1 / math.sqrt(size))) @ key.transpose(0, 1, 3, 2)
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        return self._linear(context, prefix + "output.dense.")

    def _linear(self, x: np.ndarray, prefix: str) -> np.ndarray:
        out = x.reshape(-1, x.shape[-1]) @ self.weights[prefix + "weight.T"]
        return (out + self.weights[prefix + "bias"]).reshape(*x.shape[:-1], out.shape[-1])

    def _norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=-1, keepdims=True)
        scaled = centered / np.sqrt(variance + np.float32(self.config.layer_norm_eps))
        return scaled * self.weights[prefix + "weight"] + self.weights[prefix + "bias"]


class NumpyQueryEmbedder:
    """Query vectors from a :class:`NumpyMiniLM`: what a search needs, without LangChain or torch.

    ``SentenceTransformerEmbedder`` embeds queries with the same model, so the vectors
    are the same; a command that only searches (``gpt4all-rag search``) uses this one
    and skips importing LangChain (0.2 s).
    """

    def __init__(self, model: NumpyMiniLM) -> None:
        self.model = model

    def embed_query(self, text: str) -> list[float]:
        """The unit vector of a query."""
        vector: list[float] = self.model.encode([text])[0].tolist()
        return vector


def numpy_model(model_dir: Path) -> NumpyMiniLM | None:
    """A ``NumpyMiniLM`` for the folder, or None for a model it cannot run."""
    try:
        return NumpyMiniLM(model_dir)
    except UnsupportedModel:
        return None


def _fuse_qkv(weights: dict[str, np.ndarray], layers: int) -> dict[str, np.ndarray]:
    """Stack each layer's query, key and value projections: one matrix product, not three.

    A query is a dozen tokens, where a product's fixed cost outweighs its arithmetic.
    """
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}.attention.self."
        for part in ("weight", "bias"):
            names = [f"{prefix}{name}.{part}" for name in ("query", "key", "value")]
            if any(name not in weights for name in names):
                raise UnsupportedModel(f"layer {layer}: not the tensor names of a BERT encoder")
            weights[f"{prefix}qkv.{part}"] = np.concatenate([weights[n] for n in names])
    return weights


def _transposed(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add an (in, out) contiguous copy of every dense layer's (out, in) weight.

    torch's Linear keeps (out, in). A query's product with the transposed view took
    2.75 ms a layer here, with a contiguous (in, out) copy 1.6 ms: the copy (42 MB for
    MiniLM, made once per process) pays from the first query on.
    """
    for name in [n for n in weights if n.endswith(("dense.weight", "qkv.weight"))]:
        weights[name + ".T"] = np.ascontiguousarray(weights[name].T)
    return weights


def _blas_limiter() -> Callable[[], AbstractContextManager[Any]]:
    """A context that runs numpy's BLAS on one thread, where threadpoolctl is installed.

    A query's matrices are small: on 2 cores where anything else runs (an ingest, the
    app), OpenBLAS's threads wait for each other, and a query took 524 ms instead of
    57 ms on one thread. Only numpy's own BLAS is limited, not torch's.
    """
    try:
        from threadpoolctl import ThreadpoolController  # optional; on use only
    except ImportError:  # an optional speed-up: sentence-transformers brings it
        return contextlib.nullcontext
    controller = ThreadpoolController()
    paths = [i["filepath"] for i in controller.info() if "numpy" in i["filepath"]]
    if not paths:
        return contextlib.nullcontext
    numpy_blas = controller.select(filepath=paths)
    return functools.partial(numpy_blas.limit, limits=1)


def _load_tokenizer(path: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer  # tokenizers: on first use only

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def _length_batches(order: list[int], ids: list[list[int]]) -> list[list[int]]:
    """Indices (shortest first) in batches of about ``_BATCH_TOKENS`` and of like lengths.

    Every text of a batch is padded to its longest; a batch also ends where the next
    text is ``_PAD_GROWTH`` times longer than the batch's first, so that a few long
    sentences do not make many short ones pay for padding (an answer's evidence: 909
    tokens padded to 2,160 in one batch).
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        length = len(ids[i])
        if current and (
            (len(current) + 1) * length > _BATCH_TOKENS
            or length > _PAD_GROWTH * len(ids[current[0]]) + _PAD_SLACK
        ):
            batches.append(current)
            current = []
        current.append(i)
    return batches + [current] if current else batches


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf to within 1.5e-7 (Abramowitz-Stegun 7.1.26).

    In place where it can: on a batch of passages this is millions of elements a layer.
    """
    z = np.abs(x)
    z *= np.float32(1 / math.sqrt(2))
    t = z * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    tail = t * np.float32(1.061405429)  # tail = 1 - erf(|x| / sqrt 2)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        tail += np.float32(coefficient)
        tail *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    tail *= z
    # Phi(x) = (1 + erf(x / sqrt 2)) / 2: 1 - tail / 2 for x >= 0, tail / 2 below
    phi = np.where(x >= 0, 2 - tail, tail)
    phi *= x
    phi *= np.float32(0.5)
    return phi
