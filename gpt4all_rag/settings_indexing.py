"""The settings of the index side: folders, ingestion, embeddings and the vector store.

Areas of :class:`gpt4all_rag.settings.Settings`, which composes them: each is a
plain pydantic model, so a field is read from ``GPT4ALL_RAG_<NAME>`` only through
``Settings``. The values a field's default or pattern is named by live beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator

from vectorstore.schema import EmbeddingPrecision

__all__ = [
    "COLLECTION_NAME_PATTERN",
    "DEFAULT_COLLECTION",
    "EmbeddingBackendName",
    "EmbeddingSettings",
    "FolderSettings",
    "IngestSettings",
    "StoreSettings",
]

EmbeddingBackendName = Literal["sentence-transformers", "hash"]

DEFAULT_COLLECTION = "default"  # the settings' own documents_dir and index_dir

# A collection's name: a folder name and, after "documents-", a Chroma collection name
# (3-63 characters, letters and digits at both ends), the same on every file system.
COLLECTION_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$"

# all-MiniLM-L6-v2 truncates at 256 word pieces, two of which are [CLS] and [SEP].
_MINILM_MAX_CHUNK_TOKENS = 254


class FolderSettings(BaseModel):
    """Where the documents and the index live, and which collection is open."""

    documents_dir: Path = Field(Path("documents"), description="Folder of documents to index.")
    index_dir: Path = Field(
        Path("index"), description="Folder holding the Chroma data, manifest and keyword index."
    )
    collection: str = Field(
        DEFAULT_COLLECTION,
        pattern=COLLECTION_NAME_PATTERN,
        description="The collection to open: 'default' is documents_dir with index_dir; any "
        "other name is looked up in data_dir/collections.json (gpt4all-rag collections add).",
    )
    data_dir: Path | None = Field(
        None,
        description="Folder of the named collections: collections.json and "
        "collections/<name>/index. Unset: the folder that holds index_dir.",
    )

    @property
    def chroma_dir(self) -> Path:
        """Where the embedded Chroma keeps its data."""
        return self.index_dir / "chroma"


class IngestSettings(BaseModel):
    """How files become chunks: sizes, the parser's limits, OCR and the page cache."""

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
    ray_address: str | None = Field(
        None,
        description="`ingest` parses, chunks and embeds on this Ray cluster: auto, or host:port "
        "of its head node (the cluster extra: pip install 'gpt4all-rag[cluster]'); unset: here.",
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

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_size ({self.chunk_size})"
            )
        return self


class EmbeddingSettings(BaseModel):
    """How chunks become vectors, in batches, and how the folder is watched for changes."""

    embedding_model_path: Path | None = Field(
        None,
        description="Local sentence-transformers folder; default: the bundled all-MiniLM-L6-v2.",
    )
    embedding_backend: EmbeddingBackendName = Field(
        "sentence-transformers",
        description="sentence-transformers (the real model), or hash: predictable bag-of-words "
        "vectors for tests and demos (gpt4all_rag.index.embedders.HashEmbedder).",
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

    @property
    def bundled_embedder(self) -> bool:
        """Whether the embeddings come from the bundled MiniLM (the calibrated defaults apply)."""
        return self.embedding_backend == "sentence-transformers" and not self.embedding_model_path


class StoreSettings(BaseModel):
    """The Chroma store (embedded in the index folder, or a server) and what replicas read."""

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
    publish_dir: Path | None = Field(
        None,
        description="The writer publishes the manifest and keyword index here, as numbered "
        "read-only generations, after every change: shared storage that replicas on other "
        "machines read with replica_of (docs/deployment.md).",
    )
    publish_keep: int = Field(
        3, ge=2, description="Published generations kept; a replica may still read the last."
    )
    replica_of: Path | None = Field(
        None,
        description="This process is a replica: it reads the manifest and keyword index from "
        "this publication folder (the writer's publish_dir), moves to each new generation "
        "without a restart, and never writes the index. Needs a Chroma server (chroma_host).",
    )
    replica_poll_s: float = Field(
        1.0, gt=0, description="How often at most a replica looks for a new generation."
    )

    @model_validator(mode="after")
    def _replica_reads_a_server(self) -> Self:
        if self.replica_of is not None and not self.chroma_host:
            raise ValueError(
                "replica_of needs a Chroma server (chroma_host): a replica on another "
                "machine cannot read the writer's embedded store"
            )
        if self.replica_of is not None and self.publish_dir is not None:
            raise ValueError("a replica (replica_of) does not write, so it cannot publish_dir")
        return self
