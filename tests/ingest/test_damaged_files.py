"""A damaged file is indexed as far as it reads, and the person is told what is missing.

The damaged PDFs are real copies of tests/data/docs/manual.pdf: once cut short in an
incremental update (as an editor saves it: the first revision's three pages read, the
three added pages are lost, and nothing said so), once cut before its ``startxref``
(pypdf refuses it, PDFium rebuilds it). The warning travels from the loader, through
the worker process, into the manifest, and out through ``ingest --json``, ``status``
(text and JSON), ``SyncReport``, ``IndexStatus`` and the app's document list.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.main import main
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HashEmbedder
from ingest.loaders import load_file
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from ingest.manifest import MANIFEST_FILE, Manifest
from tests.helpers import pdf_bytes
from tests.helpers.app_page import app_page
from tests.helpers.data import DOCS, DOCS_GOOD

CUT_SHORT = "damaged PDF: 3 of ? pages could be read (the file is cut short)"


def manual_with_an_update() -> bytes:
    """manual.pdf with its three pages added again in an incremental update (six pages)."""
    writer = PdfWriter(DOCS / "manual.pdf", incremental=True)
    for page in PdfReader(DOCS / "manual.pdf").pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def cut_in_its_update(path: Path) -> Path:
    """The six-page file cut halfway through its update: the first revision is whole."""
    whole, original = manual_with_an_update(), (DOCS / "manual.pdf").read_bytes()
    assert whole.startswith(original) and len(PdfReader(io.BytesIO(whole)).pages) == 6
    path.write_bytes(whole[: (len(original) + len(whole)) // 2])
    return path


def cut_before_startxref(path: Path) -> Path:
    data = (DOCS / "manual.pdf").read_bytes()
    path.write_bytes(data[: data.rindex(b"startxref")])
    return path


def test_a_pdf_cut_short_in_its_update_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    pages = load_file(cut_in_its_update(tmp_path / "cut.pdf"))

    assert [page.page for page in pages] == [1, 2, 3]
    assert pages.warnings == [CUT_SHORT]


def test_a_pdf_pypdf_cannot_open_is_read_by_pdfium(tmp_path: Path) -> None:
    path = cut_before_startxref(tmp_path / "cut.pdf")

    pages = load_file(path)

    assert [page.page for page in pages] == [1, 2, 3]
    assert "451 kelvin" in pages[1].text
    assert pages.warnings == [CUT_SHORT]


def test_a_page_neither_engine_can_load_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "missing-page.pdf"
    tree = b"<< /Type /Pages /Kids [3 0 R 9 0 R] /Count 2 >>"  # object 9 is not there
    path.write_bytes(
        pdf_bytes.pdf(
            [pdf_bytes.CATALOG, tree, pdf_bytes.PAGE % b"", pdf_bytes.stream(pdf_bytes.TEXT)]
            + [pdf_bytes.FONT]
        )
    )

    pages = load_file(path)

    assert [page.page for page in pages] == [1]
    assert pages.warnings == ["damaged PDF: 1 of 2 pages could be read"]


@pytest.mark.parametrize("name", DOCS_GOOD)
def test_an_intact_file_has_no_warning(name: str) -> None:
    assert load_file(DOCS / name).warnings == []


def test_the_warning_crosses_the_worker_process(tmp_path: Path) -> None:
    loader = IsolatedLoader(ParseLimits())
    try:
        pages = loader(cut_in_its_update(tmp_path / "cut.pdf"))
    finally:
        loader.close()

    assert [page.page for page in pages] == [1, 2, 3]
    assert pages.warnings == [CUT_SHORT]


# --- stored with the index, shown everywhere ------------------------------------------------


def on_fakes(settings: Settings) -> DocumentAssistant:
    """The CLI's assistant on the hash embedder and the scripted model."""
    fakes = {"embedding_backend": "hash", "llm_backend": "scripted"}
    return DocumentAssistant.from_settings(settings.model_copy(update=fakes))


Run = Callable[..., tuple[int, dict]]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """``gpt4all-rag COMMAND --index tmp/index ...`` in process: (exit code, stdout)."""

    def run(*argv: str) -> tuple[int, str]:
        code = main([*argv, "--index", str(tmp_path / "index")], assistant_factory=on_fakes)
        return code, capsys.readouterr().out

    return run


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """notes.md and a damaged PDF."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DOCS / "notes.md", folder / "notes.md")
    cut_in_its_update(folder / "manual.pdf")
    return folder


def test_ingest_and_status_report_the_damaged_file(
    docs: Path, cli: Callable[..., tuple[int, str]]
) -> None:
    code, out = cli("ingest", str(docs), "--json")
    report = json.loads(out)

    assert code == 0 and report["added"] == ["manual.pdf", "notes.md"] and report["failed"] == []
    assert report["warnings"] == [{"file": "manual.pdf", "reason": CUT_SHORT}]
    code, out = cli("status", "--json")
    assert code == 0 and json.loads(out)["warnings"] == report["warnings"]
    code, out = cli("status")
    lines = out.splitlines()
    at = lines.index("warnings: 1")
    assert lines[at + 1] == f"  manual.pdf: {CUT_SHORT}"
    code, out = cli("ingest", str(docs))
    assert f"  WARNING manual.pdf: {CUT_SHORT}" in out.splitlines()


def test_the_warning_is_kept_moved_and_cleared_by_a_fixed_copy(
    docs: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    assistant = make_assistant(docs, embedder=HashEmbedder())
    first = assistant.ingest()
    assert (first.added, first.warnings) == (
        ["manual.pdf", "notes.md"],
        [("manual.pdf", CUT_SHORT)],
    )
    hits = assistant.search("core temperature kelvin", k=1, mode="keyword")
    assert [(hit.file, hit.page) for hit in hits] == [("manual.pdf", 2)]  # what read is indexed

    again = assistant.ingest()  # unchanged: not parsed again, still reported
    assert (again.unchanged, again.warnings) == (2, [("manual.pdf", CUT_SHORT)])
    (docs / "manual.pdf").rename(docs / "renamed.pdf")
    moved = assistant.ingest()
    assert moved.moved == [("manual.pdf", "renamed.pdf")]
    assert moved.warnings == [("renamed.pdf", CUT_SHORT)]
    assert assistant.status().warnings == (("renamed.pdf", CUT_SHORT),)

    (docs / "renamed.pdf").write_bytes(manual_with_an_update())  # the whole file again
    fixed = assistant.ingest()
    assert (fixed.updated, fixed.warnings) == (["renamed.pdf"], [])
    assert assistant.status().warnings == ()
    assert [(d.path, d.pages) for d in assistant.documents()] == [
        ("notes.md", 1),
        ("renamed.pdf", 6),
    ]


def test_a_file_too_big_to_prepare_whole_keeps_its_warning(
    docs: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    assistant = make_assistant(docs, embedder=HashEmbedder(), stream_file_mb=0.001)
    assert (docs / "manual.pdf").stat().st_size > 1024  # streamed: chunked while written

    report = assistant.ingest()

    assert (report.added, report.warnings) == (
        ["manual.pdf", "notes.md"],
        [("manual.pdf", CUT_SHORT)],
    )


def test_an_older_manifest_keeps_its_files_and_gains_warnings(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_FILE
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
        "mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL, pages INTEGER NOT NULL, "
        "chunks INTEGER NOT NULL, indexed_at REAL NOT NULL)"
    )
    old.execute("INSERT INTO files VALUES ('a.md', 1, 2, 'h', 1, 3, 4.0)")
    old.commit()
    old.close()

    manifest = Manifest(path)
    try:
        [record] = manifest.files().values()
        assert (record.path, record.chunks, record.warning) == ("a.md", 3, "")
        assert manifest.warnings() == {}
    finally:
        manifest.close()
    Manifest(path).close()  # opening it again finds the column there


def test_the_app_lists_the_warning_beside_the_file(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "scripted")
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)

    page = app_page(60).run()

    assert not page.exception, page.exception
    rows = [m.value for m in page.sidebar.markdown if m.value.startswith("**")]
    assert rows[:2] == [
        "**manual\\.pdf**  \n3 chunks  \n:material/warning: damaged PDF\\: 3 of \\? pages could "
        "be read \\(the file is cut short\\)",
        "**notes\\.md**  \n5 chunks",
    ]
