"""OCR: scanned PDFs and image files are read by Tesseract, with their page numbers.

The scanned PDF is made here: tests/data/docs/manual.pdf rendered to images, saved
as an image-only PDF (no text layer: pypdf reads nothing from it). Tesseract itself
runs (``make deps`` installs it); the tests that need it are skipped where it is not.
A fake engine (a shell script that sleeps, then prints) times the worker's clock.
"""

from __future__ import annotations

import io
import shutil
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.testing import HashEmbedder
from ingest.errors import DocumentLoadError
from ingest.loaders import load_file, supported_extensions
from ingest.loaders.isolated import IsolatedLoader, ParseLimits
from ingest.loaders.ocr import IMAGE_EXTENSIONS, OcrOptions, ocr_in_force
from tests.helpers.data import DOCS
from vectorstore.schema import SearchMode

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (make deps)"
)
NOT_INSTALLED = "OCR needs Tesseract, which is not installed (apt-get install tesseract-ocr)"
MISSING = OcrOptions(command="tesseract-is-not-installed-here")


def manual_images(dpi: int = 200) -> list[Image.Image]:
    """The three pages of tests/data/docs/manual.pdf as grey images."""
    document = pypdfium2.PdfDocument(str(DOCS / "manual.pdf"))
    try:
        return [page.render(scale=dpi / 72, grayscale=True).to_pil() for page in document]
    finally:
        document.close()


def write_scan(path: Path, images: list[Image.Image], dpi: int = 200) -> Path:
    """An image-only PDF, one page per image, as a scanner makes it."""
    first, *rest = [image.convert("RGB") for image in images]
    first.save(path, format="PDF", save_all=True, append_images=rest, resolution=dpi)
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scan(tmp_path_factory.mktemp("scan") / "scan.pdf", manual_images())


@pytest.fixture
def fake_engine(tmp_path: Path) -> Callable[[float], str]:
    """A stand-in for Tesseract that takes ``seconds`` per page and reads "FAKE OCR".

    It writes its process id to ``engine.pid`` beside itself.
    """

    def make(seconds: float) -> str:
        script = tmp_path / f"fake-tesseract-{seconds:g}"
        pid = tmp_path / "engine.pid"
        script.write_text(
            f'#!/bin/sh\necho $$ > {pid}\ncat >/dev/null\nsleep {seconds}\necho "FAKE OCR"\n'
        )
        script.chmod(0o755)
        return str(script)

    return make


@pytest.fixture
def worker() -> Iterator[Callable[[ParseLimits], IsolatedLoader]]:
    loaders: list[IsolatedLoader] = []

    def make(limits: ParseLimits) -> IsolatedLoader:
        loaders.append(IsolatedLoader(limits))
        return loaders[-1]

    yield make
    for loader in loaders:
        loader.close()


def test_the_test_scan_has_no_text_layer(scan: Path) -> None:
    assert [page.extract_text() for page in PdfReader(scan).pages] == ["", "", ""]


@needs_tesseract
def test_scanned_pdf_is_read_with_its_page_numbers(scan: Path) -> None:
    pages = load_file(scan)

    assert [page.page for page in pages] == [1, 2, 3]
    assert pages[0].text.startswith("Zorblax Reactor Manual\n")
    assert "core temperature of 451 kelvin" in pages[1].text
    assert "required every 17 days" in pages[2].text


@needs_tesseract
@pytest.mark.parametrize(
    "mode",
    ["keyword", pytest.param("hybrid", marks=pytest.mark.slow)],  # hybrid: real MiniLM
)
def test_search_finds_the_right_page_of_a_scanned_pdf(
    mode: SearchMode,
    scan: Path,
    tmp_path: Path,
    make_assistant: Callable[..., DocumentAssistant],
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(scan, folder / "scan.pdf")
    # It parses in the worker process, where OCR is on by default.
    assistant = make_assistant(folder, embedder=HashEmbedder() if mode == "keyword" else None)

    report = assistant.ingest()
    hits = assistant.search("How often is maintenance of the reactor required?", k=1, mode=mode)

    assert (report.added, report.failed) == (["scan.pdf"], [])
    assert [(hit.file, hit.page) for hit in hits] == [("scan.pdf", 3)]
    assert "every 17 days" in hits[0].text


@needs_tesseract
def test_only_the_pages_without_text_are_read_by_ocr(scan: Path, tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_page(PdfReader(DOCS / "manual.pdf").pages[0])  # a text layer
    writer.add_page(PdfReader(scan).pages[1])  # a scanned page
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as out:
        writer.write(out)

    with ocr_in_force(MISSING):  # without OCR, the text page is still indexed
        assert [page.page for page in load_file(mixed)] == [1]
    pages = load_file(mixed)

    assert pages[0] == load_file(DOCS / "manual.pdf")[0]
    assert [page.page for page in pages] == [1, 2]
    assert "core temperature of 451 kelvin" in pages[1].text


def stamp_pdf(text: str, width: int, height: int) -> bytes:
    """A one-page PDF with ``text`` in small Helvetica at the bottom, as a scanner stamps."""
    content = f"BT /F1 8 Tf 20 20 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>".encode(),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@needs_tesseract
def test_a_scanner_stamp_does_not_hide_the_scanned_page(scan: Path, tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=scan)
    for page in writer.pages:
        width, height = int(page.mediabox.width), int(page.mediabox.height)
        stamp = PdfReader(io.BytesIO(stamp_pdf("Scanned with FakeScanner", width, height)))
        page.merge_page(stamp.pages[0])
    stamped = tmp_path / "stamped.pdf"
    with stamped.open("wb") as out:
        writer.write(out)
    assert PdfReader(stamped).pages[1].extract_text() == "Scanned with FakeScanner"

    pages = load_file(stamped)

    assert [page.page for page in pages] == [1, 2, 3]
    assert "core temperature of 451 kelvin" in pages[1].text


@needs_tesseract
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_image_file_is_read_by_ocr(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"photo{suffix}"
    manual_images()[1].save(path)

    pages = load_file(path)

    assert [page.page for page in pages] == [None]
    assert "core temperature of 451 kelvin" in pages[0].text


@needs_tesseract
def test_multi_page_tiff_has_one_page_per_frame(tmp_path: Path) -> None:
    path = tmp_path / "fax.tiff"
    first, *rest = manual_images()
    first.save(path, save_all=True, append_images=rest)

    pages = load_file(path)

    assert [page.page for page in pages] == [1, 2, 3]
    assert "required every 17 days" in pages[2].text


def test_without_tesseract_the_reason_says_how_to_install_it(scan: Path, tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    manual_images(72)[1].save(image)

    with ocr_in_force(MISSING), pytest.raises(DocumentLoadError) as pdf_error:
        load_file(scan)
    with ocr_in_force(MISSING), pytest.raises(DocumentLoadError) as image_error:
        load_file(image)

    assert pdf_error.value.reason == f"no text layer (scanned PDF?); {NOT_INSTALLED}"
    assert image_error.value.reason == f"image file: {NOT_INSTALLED}"
    assert image_error.value.path == image


def test_worker_uses_the_ocr_options_it_is_given(
    scan: Path, worker: Callable[[ParseLimits], IsolatedLoader]
) -> None:
    missing = worker(ParseLimits(ocr=MISSING))
    off = worker(ParseLimits(ocr=OcrOptions(enabled=False)))

    with pytest.raises(DocumentLoadError, match="apt-get install tesseract-ocr"):
        missing(scan)
    with pytest.raises(DocumentLoadError) as caught:
        off(scan)
    assert caught.value.reason == (
        "no text layer (scanned PDF?); OCR is turned off (GPT4ALL_RAG_OCR_ENABLED=false)"
    )


@needs_tesseract
def test_missing_language_data_names_its_package(scan: Path) -> None:
    with ocr_in_force(OcrOptions(languages="xyz")), pytest.raises(DocumentLoadError) as caught:
        load_file(scan)

    assert caught.value.reason == (
        "OCR: Tesseract has no 'xyz' language data (apt-get install tesseract-ocr-xyz)"
    )


def test_blank_page_is_not_sent_to_the_engine(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    blank = tmp_path / "blank.pdf"
    with blank.open("wb") as out:
        writer.write(out)
    failing = OcrOptions(command=shutil.which("false") or "/bin/false")

    with ocr_in_force(failing), pytest.raises(DocumentLoadError) as caught:
        load_file(blank)

    assert caught.value.reason == "no extractable text (scanned PDF without a text layer?)"


def test_each_page_read_restarts_the_parse_clock(
    tmp_path: Path,
    fake_engine: Callable[[float], str],
    worker: Callable[[ParseLimits], IsolatedLoader],
) -> None:
    scan = write_scan(tmp_path / "six.pdf", manual_images(50) * 2, dpi=50)
    engine = OcrOptions(dpi=72, command=fake_engine(1.0))  # 1 s a page, and a small render
    loader = worker(ParseLimits(timeout_s=4.0, ocr=engine))
    loader(DOCS / "notes.md")  # the worker's start is not part of what is timed

    started = time.monotonic()
    pages = loader(scan)

    assert time.monotonic() - started > 6.0  # longer than the timeout, in six pages
    assert [(page.page, page.text) for page in pages] == [(n, "FAKE OCR") for n in range(1, 7)]


def test_a_stuck_page_still_times_out_and_its_engine_is_killed(
    scan: Path,
    tmp_path: Path,
    fake_engine: Callable[[float], str],
    worker: Callable[[ParseLimits], IsolatedLoader],
) -> None:
    loader = worker(ParseLimits(timeout_s=2.0, ocr=OcrOptions(dpi=72, command=fake_engine(60))))
    loader(DOCS / "notes.md")

    started = time.monotonic()
    with pytest.raises(DocumentLoadError) as caught:
        loader(scan)

    assert caught.value.reason == "parsing timed out after 2 s"
    assert time.monotonic() - started < 10
    engine = Path(f"/proc/{(tmp_path / 'engine.pid').read_text().strip()}/status")
    assert wait_until(lambda: not engine.exists() or "State:\tZ" in engine.read_text())


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:  # the process went away between two reads
            return True
        time.sleep(0.1)
    return False


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds none of them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_image_bomb_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30_000, 30_000))  # 900 million pixels

    engine = OcrOptions(command=shutil.which("true") or "/bin/true")  # installed: not the reason
    with ocr_in_force(engine), pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason.startswith(
        "not a valid PNG: Image size (900000000 pixels) exceeds limit of "
    )


def test_every_image_extension_is_supported() -> None:
    assert set(IMAGE_EXTENSIONS) <= supported_extensions()
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"} == set(IMAGE_EXTENSIONS)


# --- one file's OCR is bounded as a whole --------------------------------------------------


@pytest.fixture
def six_page_scan(tmp_path: Path) -> Path:
    """Six scanned pages, small enough to render in a blink at 72 dpi."""
    return write_scan(tmp_path / "six.pdf", manual_images(50) * 2, dpi=50)


@pytest.fixture
def stuck_after_first_page(tmp_path: Path) -> str:
    """An engine that reads the first page at once, then hangs for a minute on each next one."""
    script, marker = tmp_path / "stuck-tesseract", tmp_path / "read-one"
    script.write_text(
        f"#!/bin/sh\ncat >/dev/null\nif [ -e {marker} ]; then sleep 60; fi\n"
        f'touch {marker}\necho "FAKE OCR"\n'
    )
    script.chmod(0o755)
    return str(script)


def test_ocr_stops_at_the_per_file_page_cap_and_keeps_what_it_read(
    six_page_scan: Path, fake_engine: Callable[[float], str]
) -> None:
    engine = OcrOptions(dpi=72, command=fake_engine(0), max_pages=2)

    with ocr_in_force(engine):
        pages = load_file(six_page_scan)

    assert [(page.page, page.text) for page in pages] == [(1, "FAKE OCR"), (2, "FAKE OCR")]
    assert pages.warnings == ["OCR stopped after 2 pages: the per-file limit of 2 pages"]


def test_ocr_stops_at_the_per_file_deadline_even_inside_a_page(
    six_page_scan: Path,
    stuck_after_first_page: str,
    worker: Callable[[ParseLimits], IsolatedLoader],
) -> None:
    """The per-page clock alone would wait 30 s a page; the file's deadline stops at 2 s."""
    engine = OcrOptions(dpi=72, command=stuck_after_first_page, timeout_s=2.0)
    loader = worker(ParseLimits(timeout_s=30.0, ocr=engine))
    loader(DOCS / "notes.md")

    started = time.monotonic()
    pages = loader(six_page_scan)

    assert time.monotonic() - started < 10
    assert [(page.page, page.text) for page in pages] == [(1, "FAKE OCR")]
    assert pages.warnings == ["OCR stopped after 1 page: the per-file time limit of 2 s"]


def test_an_image_whose_ocr_ran_out_of_time_fails_with_the_reason(
    tmp_path: Path, stuck_after_first_page: str
) -> None:
    (tmp_path / "read-one").touch()  # the engine hangs from the first image on
    image = tmp_path / "photo.png"
    manual_images(50)[1].save(image)
    engine = OcrOptions(command=stuck_after_first_page, timeout_s=1.0)

    started = time.monotonic()
    with ocr_in_force(engine), pytest.raises(DocumentLoadError) as caught:
        load_file(image)

    assert time.monotonic() - started < 10
    assert caught.value.reason == "OCR stopped after 0 pages: the per-file time limit of 1 s"


def test_the_parent_stops_a_file_at_its_overall_deadline_whatever_the_worker_does(
    six_page_scan: Path,
    fake_engine: Callable[[float], str],
    worker: Callable[[ParseLimits], IsolatedLoader],
) -> None:
    """The backstop: a worker that does not stop its own OCR is killed at the deadline.

    The worker is started with an hour of OCR time; the parent is then told one second,
    as if the worker ignored its budget: 4 s a page plus 1 s is the file's deadline.
    """
    started_with = ParseLimits(timeout_s=4.0, ocr=OcrOptions(dpi=72, command=fake_engine(1.0)))
    loader = worker(started_with)
    loader(DOCS / "notes.md")
    loader.limits = replace(started_with, ocr=replace(started_with.ocr, timeout_s=1.0))

    started = time.monotonic()
    with pytest.raises(DocumentLoadError) as caught:
        loader(six_page_scan)

    assert caught.value.reason == "parsing timed out after 5 s (the per-file limit)"
    assert 4.5 < time.monotonic() - started < 7.0  # the six pages would take over 6 s


def test_the_settings_reach_the_worker() -> None:
    from gpt4all_rag.assistant.single import parse_limits
    from gpt4all_rag.settings import Settings

    chosen = parse_limits(Settings(ocr_max_pages_per_file=7, ocr_timeout_s=90.0, _env_file=None))
    default = parse_limits(Settings(_env_file=None))

    assert (chosen.ocr.max_pages, chosen.ocr.timeout_s) == (7, 90.0)
    assert (default.ocr.max_pages, default.ocr.timeout_s) == (500, 3600.0)
