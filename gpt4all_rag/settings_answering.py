"""The settings of the question side: retrieval and answers, the model, and `serve`.

Areas of :class:`gpt4all_rag.settings.Settings`, which composes them: each is a
plain pydantic model, so a field is read from ``GPT4ALL_RAG_<NAME>`` only through
``Settings``. The values a field's default is named by live beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from vectorstore.schema import BM25_B, BM25_K1, SearchMode

__all__ = [
    "DEFAULT_SCRIPTED_REPLY",
    "AnswerStyle",
    "FusionMethod",
    "LLMBackendName",
    "LLMSettings",
    "RetrievalMode",
    "RetrievalSettings",
    "ServeSettings",
]

RetrievalMode = SearchMode
"""The search modes, as ``vectorstore.schema`` defines them (one definition)."""
AnswerStyle = Literal["evidence", "generate", "both"]
FusionMethod = Literal["convex", "rrf"]
LLMBackendName = Literal["llama-cpp", "openai", "scripted"]

# The scripted backend's reply unless told otherwise: it cites [1], so the fake
# exercises the citation path like a well-behaved model.
DEFAULT_SCRIPTED_REPLY = "The answer is in the documents [1]."


class RetrievalSettings(BaseModel):
    """How passages are found and ranked, and how the answer is made from them."""

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
        "both with any other model or with a lora_path adapter (resolved_answer_style()).",
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
        description="Word budget of the evidence quoted before the answer, as many sentences "
        "as fit (on the R-manual dev set 80 words held the key fact more often than 60, and "
        "no cap on sentences more often than three; docs/benchmarks.md, evidence).",
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


class LLMSettings(BaseModel):
    """The model that writes answers: which backend and file, its context and sampling."""

    llm_backend: LLMBackendName = Field(
        "llama-cpp",
        description="llama-cpp (in process), openai (an OpenAI-compatible server), or scripted: "
        "fixed replies for tests and demos (gpt4all_rag.llm.scripted.ScriptedLLM).",
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
    lora_path: Path | None = Field(
        None,
        description="A GGUF LoRA adapter applied to every answer of the llama-cpp model "
        "(`gpt4all-rag finetune` writes one; docs/finetune.md).",
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
    copy_bias: float | None = Field(
        None,
        ge=0.0,
        le=20.0,
        description="Grounded decoding (llama-cpp only; other backends ignore it, as they do "
        "the other sampling fields they cannot pass on): this much is added to the logit of "
        "every token of the passages and the question, and of punctuation, digits and common "
        "words, so the model prefers to copy the sources' spelling. Unset: 4 with the bundled "
        "SmolLM2-135M, where it cut the invented identifiers on the R-manual dev set from 14 to "
        "4 with the key facts kept, and 0 (off) with any other model, where it was not "
        "measured (docs/benchmarks.md, grounded decoding; resolved_copy_bias()).",
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

    @property
    def f16_copy_dir(self) -> Path:
        """Where F16 copies of small Q4_1/Q5_1 models go (hidden from the model list)."""
        return self.models_dir / ".f16"


class ServeSettings(BaseModel):
    """`gpt4all-rag serve`, the HTTP API, and the CLI's use of a running one."""

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
