"""Property tests: loaders fail only with ``DocumentLoadError``; the chunker never fails and
its chunks fit the budget and point at their exact text.

Example counts are kept small so this file stays around 20 s in the fast tier.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt4all_rag.settings import bundled_embedding_model
from ingest.chunking import TokenChunker
from ingest.errors import DocumentLoadError
from ingest.loaders import LOADERS, Page, load_file, stream_file, supported_extensions

LOADER_EXAMPLES = 1500
STREAM_EXAMPLES = 300
CHUNKER_EXAMPLES = 400
EXTENSIONS = sorted(supported_extensions())
TEXT_EXTENSIONS = [e for e in EXTENSIONS if LOADERS[e] is LOADERS[".txt"]]
# Valid starts of the formats, so random bytes get past the first check of each parser.
PREFIXES = [
    b"",
    b"%PDF-1.4\n",
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
    b"PK\x03\x04",
    b"<html><body>",
    b'{"a": [',
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"From: a@b\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n",
    b"a,b,c\n1,2,3\n",
]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def tokenizer_file() -> Path:
    return bundled_embedding_model() / "tokenizer.json"


@settings(
    max_examples=LOADER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    extension=st.sampled_from(EXTENSIONS),
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=4096),
)
def test_loaders_raise_only_document_load_error(scratch, extension, prefix, body):
    path = scratch / f"sample{extension}"
    path.write_bytes(prefix + body)
    try:
        pages = load_file(path)
    except DocumentLoadError as err:
        assert err.path == path and err.reason
        return
    assert pages and all(isinstance(p, Page) and p.text.strip() for p in pages)


@settings(
    max_examples=STREAM_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    extension=st.sampled_from(TEXT_EXTENSIONS),
    head=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"plain words\n\n"]),
    body=st.binary(max_size=4096),
    repeat=st.sampled_from([1, 300, 700]),  # up to about 3 MB: several 1 MiB blocks
)
def test_streamed_text_raises_only_document_load_error(scratch, extension, head, body, repeat):
    path = scratch / f"streamed{extension}"
    path.write_bytes(head + body * repeat)
    offset = -1
    try:
        for page in stream_file(path):
            assert page.text.strip() and page.page is None and page.offset > offset
            offset = page.offset
    except DocumentLoadError as err:
        assert err.path == path and err.reason


PIECES = st.sampled_from(
    ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", "", "otter", "naïve", "東京", "🦦", "x" * 40]
)
TEXTS = st.one_of(
    st.text(max_size=3000),
    st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=300).map("".join),
)


@settings(
    max_examples=CHUNKER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    texts=st.lists(TEXTS, min_size=1, max_size=3),
    size=st.integers(min_value=16, max_value=64),
    overlap_share=st.floats(min_value=0.0, max_value=0.5),
)
def test_chunks_fit_the_budget_and_match_their_offsets(tokenizer_file, texts, size, overlap_share):
    chunker = TokenChunker(tokenizer_file, size, int(size * overlap_share))
    pages = [Page(text, n) for n, text in enumerate(texts, start=1)]
    chunks = chunker.split(pages)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunker.count_tokens(chunk.text) <= size, chunk
        page = pages[chunk.page - 1]
        assert page.text[chunk.start : chunk.end] == chunk.text, chunk
