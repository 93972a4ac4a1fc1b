"""An adapter in the model list (beside its base) and as the model to answer with."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gpt4all_rag.finetune.lora_gguf import AdapterShape, write_adapter
from gpt4all_rag.llm.factory import model_and_adapter, model_name
from gpt4all_rag.models.discovery import Platform, bundled_model, discover_models
from gpt4all_rag.settings import Settings, bundled_gguf

pytest.importorskip("gguf")

KEY = "base_model.model.model.layers.0.self_attn.v_proj"


def _adapter(path, base_name):
    state = {
        f"{KEY}.lora_A.weight": np.zeros((2, 4), dtype=np.float32),
        f"{KEY}.lora_B.weight": np.zeros((4, 2), dtype=np.float32),
    }
    write_adapter(path, state, 4, AdapterShape("llama", 2, 1, base_name))
    return path


def test_an_adapter_is_listed_right_after_its_base(tmp_path):
    base = bundled_model()
    assert base is not None
    index = tmp_path / "index"
    _adapter(index / "finetune" / "adapter.gguf", base.stem)
    settings = Settings(models_dir=tmp_path / "models", index_dir=index)
    where = Platform(tmp_path / "home", "Linux", {})
    models = discover_models(settings, where)
    assert [m.source for m in models] == ["bundled", "fine-tuned"]
    adapter = models[1]
    assert adapter.adapter_of == base.stem
    assert adapter.chat_format_label == f"LoRA adapter of {base.stem}"
    assert adapter.to_json()["adapter_of"] == base.stem


def test_lora_path_or_an_adapter_as_the_model_loads_base_and_adapter(tmp_path):
    adapter = _adapter(tmp_path / "a.gguf", "Base")
    settings = Settings(model_path=adapter)
    assert model_and_adapter(settings) == (bundled_gguf(), adapter)  # no record: bundled
    other = tmp_path / "other.gguf"
    (tmp_path / "a.json").write_text(json.dumps({"base_model": str(other)}))
    assert model_and_adapter(settings) == (other, adapter)
    assert model_name(settings) == "other.gguf + a.gguf"
    plain = Settings()
    assert model_and_adapter(plain) == (bundled_gguf(), None)
    with_lora = plain.model_copy(update={"lora_path": adapter})
    assert model_and_adapter(with_lora) == (bundled_gguf(), adapter)
