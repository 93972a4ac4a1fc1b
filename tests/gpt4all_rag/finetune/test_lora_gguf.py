"""The GGUF LoRA adapter: llama.cpp's names, shapes and header keys, read back."""

from __future__ import annotations

import numpy as np
import pytest

from gpt4all_rag.finetune.lora_gguf import (
    AdapterShape,
    peft_to_gguf_name,
    read_adapter_header,
    write_adapter,
)
from gpt4all_rag.llm.gguf_header import read_gguf_metadata

gguf = pytest.importorskip("gguf")

PREFIX = "base_model.model.model.layers"
SHAPE = AdapterShape("llama", head_count=2, head_count_kv=1, base_name="Tiny-Base")


def _state(rank: int = 2, width: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    state = {}
    for layer in (0, 1):
        for module, out in (("q_proj", width), ("k_proj", width // 2), ("v_proj", width // 2)):
            key = f"{PREFIX}.{layer}.self_attn.{module}"
            state[f"{key}.lora_A.weight"] = rng.normal(size=(rank, width)).astype(np.float32)
            state[f"{key}.lora_B.weight"] = rng.normal(size=(out, rank)).astype(np.float32)
    return state


def test_peft_keys_get_llama_cpp_names():
    assert peft_to_gguf_name(f"{PREFIX}.3.self_attn.q_proj.lora_A.weight") == (
        "blk.3.attn_q.weight.lora_a"
    )
    assert peft_to_gguf_name(f"{PREFIX}.0.self_attn.o_proj.lora_B.weight") == (
        "blk.0.attn_output.weight.lora_b"
    )
    assert peft_to_gguf_name(f"{PREFIX}.2.mlp.down_proj.lora_A.default.weight") == (
        "blk.2.ffn_down.weight.lora_a"
    )
    assert peft_to_gguf_name("base_model.model.lm_head.weight") is None


def test_the_header_says_lora_adapter_with_its_alpha(tmp_path):
    path = tmp_path / "adapter.gguf"
    names = write_adapter(path, _state(), alpha=16, shape=SHAPE)
    meta = read_gguf_metadata(path)
    assert meta["general.type"] == "adapter"
    assert meta["adapter.type"] == "lora"
    assert meta["general.architecture"] == "llama"
    header = read_adapter_header(path)
    assert header.alpha == 16.0
    assert header.base_name == "Tiny-Base"
    assert set(header.tensor_names) == set(names)
    assert len(names) == 12 and "blk.1.attn_v.weight.lora_b" in names


def test_tensors_keep_peft_shapes_and_q_k_rows_are_permuted_like_llama_cpp(tmp_path):
    path = tmp_path / "adapter.gguf"
    state = _state()
    write_adapter(path, state, alpha=4, shape=SHAPE)
    tensors = {t.name: t for t in gguf.GGUFReader(str(path)).tensors}
    a = tensors["blk.0.attn_q.weight.lora_a"]
    # ggml's ne[] lists the innermost dimension first: A is rank x in, so (in, rank)
    assert list(a.shape) == [8, 2]
    np.testing.assert_array_equal(
        np.asarray(a.data), state[f"{PREFIX}.0.self_attn.q_proj.lora_A.weight"]
    )
    v = np.asarray(tensors["blk.0.attn_v.weight.lora_b"].data)
    np.testing.assert_array_equal(v, state[f"{PREFIX}.0.self_attn.v_proj.lora_B.weight"])
    q = np.asarray(tensors["blk.0.attn_q.weight.lora_b"].data)
    original = state[f"{PREFIX}.0.self_attn.q_proj.lora_B.weight"]
    # two heads of four rows each: rows (0, 2, 1, 3) within each head, as llama.cpp stores q
    expected = original.reshape(2, 2, 2, 2).swapaxes(1, 2).reshape(original.shape)
    np.testing.assert_array_equal(q, expected)
    k = np.asarray(tensors["blk.0.attn_k.weight.lora_b"].data)
    k_original = state[f"{PREFIX}.0.self_attn.k_proj.lora_B.weight"]
    np.testing.assert_array_equal(k, k_original[[0, 2, 1, 3]])  # one kv head


def test_an_a_without_its_b_or_no_lora_at_all_is_refused(tmp_path):
    state = _state()
    del state[f"{PREFIX}.1.self_attn.v_proj.lora_B.weight"]
    with pytest.raises(ValueError, match="without their pair"):
        write_adapter(tmp_path / "a.gguf", state, alpha=4, shape=SHAPE)
    with pytest.raises(ValueError, match="no LoRA tensors"):
        write_adapter(tmp_path / "b.gguf", {"lm_head.weight": np.zeros(2)}, alpha=4, shape=SHAPE)


def test_a_model_file_is_not_an_adapter(tmp_path):
    path = tmp_path / "model.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ValueError, match="not a GGUF LoRA adapter"):
        read_adapter_header(path)
