"""Which out-of-scope rule the factory wires: MiniLM's calibrated one, or what settings say."""

from __future__ import annotations

from gpt4all_rag import Settings
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.testing import HashEmbedder
from vectorstore.abstention import Abstention


def rule(tmp_path, embedder=None, **settings) -> Abstention | None:
    s = Settings(documents_dir=tmp_path / "docs", index_dir=tmp_path / "index", **settings)
    return DocumentAssistant.from_settings(s, embedder=embedder).retriever.abstention


def test_the_bundled_minilm_gets_the_calibrated_rule(tmp_path):
    assert rule(tmp_path) == Abstention()


def test_another_embedder_gets_none_unless_the_settings_give_one(tmp_path):
    assert rule(tmp_path, HashEmbedder()) is None
    assert rule(tmp_path, embedding_backend="hash") is None
    assert rule(tmp_path, embedding_backend="hash", abstain_similarity=0.3) == Abstention(
        0.3, Abstention().min_coverage
    )
    assert rule(tmp_path, abstain_similarity=0.2, abstain_coverage=0.5) == Abstention(0.2, 0.5)


def test_the_ocr_settings_reach_the_parse_workers():
    from gpt4all_rag.assistant.single import parse_limits
    from ingest.loaders.ocr import OcrOptions

    limits = parse_limits(Settings(ocr_enabled=False, ocr_dpi=200, ocr_languages="eng+deu"))
    assert limits.ocr == OcrOptions(enabled=False, dpi=200, languages="eng+deu")
