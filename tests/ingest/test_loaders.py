"""Loaders over the small real documents in tests/data (see tests/data/README.md)."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pptx
import pptx.util
import pytest
from pypdf import PdfReader, PdfWriter

from ingest.errors import DocumentLoadError, UnsupportedFileType
from ingest.loaders import (
    LOADERS,
    Page,
    decode_text,
    load_file,
    stream_file,
    supported_extensions,
)

DATA = Path(__file__).resolve().parents[1] / "data"
DOCS = DATA / "docs"
EXTRA = DATA / "extra"

LATIN1_TEXT = (
    "Le café de la Mère Brûlée ouvre à sept heures.\n"
    "Les élèves y boivent un chocolat chaud très sucré.\n"
    "Le propriétaire, un vieux garçon très aimé, prépare des crêpes à la crème.\n"
    "En été, la terrasse déborde de touristes qui préfèrent le thé glacé.\n"
    "À Noël, la fenêtre est décorée de guirlandes dorées et de bougies."
)


def only_text(path: Path) -> str:
    pages = load_file(path)
    assert [page.page for page in pages] == [None]
    return pages[0].text


def write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --- the documents in tests/data/docs ------------------------------------------------------


def test_pdf_has_one_page_per_pdf_page_numbered_from_one() -> None:
    pages = load_file(DOCS / "manual.pdf")

    assert [page.page for page in pages] == [1, 2, 3]
    assert pages[0].text.splitlines()[0] == "Zorblax Reactor Manual"
    assert "The Zorblax reactor operates at a core temperature of 451 kelvin." in pages[1].text
    assert "Maintenance of the Zorblax reactor is required every 17 days." in pages[2].text
    assert "451 kelvin" not in pages[0].text + pages[2].text
    assert all(len(page.text.split()) < 150 for page in pages)


def test_pdf_page_two_text_is_exact() -> None:
    assert load_file(DOCS / "manual.pdf")[1] == Page(
        "Operating Conditions\n"
        "The Zorblax reactor operates at a core temperature of 451 kelvin.\n"
        "The coolant loop must stay above 2 bar of pressure during operation.\n"
        "Operators record the core temperature every hour in the control room journal.",
        2,
    )


def test_docx_keeps_heading_paragraphs_and_table_rows_in_order() -> None:
    assert only_text(DOCS / "report.docx") == (
        "Project Heron Status Report\n"
        "Project Heron builds a low-cost weather station for mountain huts. "
        "The team finished the sensor prototype in February.\n"
        "The quarterly budget for Project Heron is 82,000 euros. "
        "Most of it pays for field tests in the Tatra mountains.\n\n"
        "report.docx, table 1, row 2\n"
        "Row 2: Milestone: Prototype; Status: Done"
    )


def test_pptx_has_one_page_per_slide() -> None:
    pages = load_file(DOCS / "slides.pptx")

    assert pages == [
        Page("Project Heron Launch Plan\nSpring update for the weather station team", 1),
        Page(
            "Launch\nThe Heron launch date is 14 March.\n"
            "The first ten stations ship to huts in the Tatra mountains.",
            2,
        ),
    ]


def test_epub_joins_chapters_in_reading_order_without_the_table_of_contents() -> None:
    assert only_text(DOCS / "book.epub") == (
        "Chapter 1: The Harbour\n\n"
        "The harbour of Lissen was quiet at dawn. "
        "Fishermen mended their nets while gulls circled the old lighthouse.\n\n"
        "Chapter 2: The Crossing\n\n"
        "Captain Mirela sailed the Azure Gull to Port Talven. "
        "The crossing took three days and two nights of steady wind."
    )


def test_markdown_is_loaded_verbatim() -> None:
    text = only_text(DOCS / "notes.md")

    assert text == (DOCS / "notes.md").read_text(encoding="utf-8").rstrip()
    assert "Queen bees can live for up to five years." in text
    assert text.count("\n## ") == 3
    assert 450 <= len(text.split()) <= 500


def test_html_keeps_title_and_visible_text_only() -> None:
    text = only_text(DOCS / "page.html")

    assert text == (
        "Tea Guide\n\n"
        "Brewing Tea Well\n\n"
        "Green tea should steep at 80 degrees Celsius.\n\n"
        "Black tea needs water at a full boil and about four minutes.\n\n"
        "Use fresh, cold water.\n\n"
        "Warm the pot first."
    )
    assert "SECRET_SCRIPT_TEXT" not in text
    assert "SECRET_STYLE_TEXT" not in text
    assert "font-family" not in text


def test_csv_rows_read_on_their_own() -> None:
    assert only_text(DOCS / "table.csv").splitlines() == [
        "table.csv, rows 2-4",
        "Row 2: city: Lyon; country: France; population: 522250",
        "Row 3: city: Porto; country: Portugal; population: 231800",
        "Row 4: city: Graz; country: Austria; population: 291134",
    ]


def test_latin1_file_is_not_utf8_and_decodes_exactly() -> None:
    raw = (DOCS / "latin1.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    assert only_text(DOCS / "latin1.txt") == LATIN1_TEXT


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("corrupt.pdf", "not a valid PDF: "),
        ("encrypted.pdf", "encrypted PDF (password required)"),
        ("empty.txt", "empty file"),
        ("binary.txt", "binary content, not text"),
    ],
)
def test_bad_documents_raise_load_error_naming_the_file(name: str, reason: str) -> None:
    path = DOCS / name
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert type(caught.value) is DocumentLoadError
    assert caught.value.reason.startswith(reason)
    assert caught.value.path == path
    assert str(caught.value) == f"{path}: {caught.value.reason}"


def test_encrypted_pdf_opens_with_its_password_so_only_the_password_is_missing() -> None:
    reader = PdfReader(DOCS / "encrypted.pdf")

    assert reader.decrypt("secret") != 0
    assert reader.pages[0].extract_text() == "This document is confidential."


# --- the files in tests/data/extra ---------------------------------------------------------


def test_eml_gives_headers_then_plain_text_body() -> None:
    assert only_text(EXTRA / "message.eml") == (
        "Subject: Heron field test moved\n"
        "From: Ana Pereira <ana@example.org>\n"
        "To: Team Heron <heron@example.org>\n"
        "Date: Mon, 03 Mar 2025 09:15:00 +0100\n"
        "\n"
        "The field test moves to the hut below Rysy on 21 March.\n"
        "Bring warm clothes; the café at the hut closes early."
    )


def test_json_is_flattened_to_paths() -> None:
    assert only_text(EXTRA / "data.json").splitlines() == [
        "project.name: Heron",
        "project.active: true",
        "project.stations[0].id: H-1",
        "project.stations[0].altitude_m: 2503",
        "project.stations[1].id: H-2",
        "project.stations[1].altitude_m: 1987",
    ]


@pytest.mark.parametrize("name", ["script.py", "guide.rst"])
def test_source_and_markup_files_load_as_text(name: str) -> None:
    path = EXTRA / name

    assert load_file(path) == [Page(path.read_text(encoding="utf-8").rstrip(), None)]


def test_unknown_extension_raises_unsupported_file_type() -> None:
    path = EXTRA / "unsupported.xyz"
    with pytest.raises(UnsupportedFileType) as caught:
        load_file(path)

    assert caught.value.path == path
    assert caught.value.reason == "unsupported file type .xyz"


# --- the table -----------------------------------------------------------------------------


def test_supported_extensions_are_the_table_keys() -> None:
    extensions = supported_extensions()

    assert extensions == frozenset(LOADERS)
    assert {".pdf", ".docx", ".pptx", ".epub", ".html", ".htm", ".csv", ".tsv"} <= extensions
    assert {".txt", ".md", ".rst", ".eml", ".json", ".py", ".yaml"} <= extensions
    assert all(ext == ext.lower() and ext.startswith(".") for ext in extensions)
    assert ".xyz" not in extensions


def test_extension_is_matched_case_insensitively(tmp_path: Path) -> None:
    path = tmp_path / "MANUAL.PDF"
    shutil.copy(DOCS / "manual.pdf", path)

    assert [page.page for page in load_file(path)] == [1, 2, 3]


def test_page_is_immutable() -> None:
    page = Page("text", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.text = "other"  # type: ignore[misc]


# --- PDF edge cases ------------------------------------------------------------------------


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(DOCS / "manual.pdf"))
    writer.encrypt("", owner_password="owner-only", algorithm="RC4-128")
    path = tmp_path / "protected.pdf"
    with path.open("wb") as out:
        writer.write(out)

    assert load_file(path) == load_file(DOCS / "manual.pdf")


def test_pdf_without_text_layer_explains_itself(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as out:
        writer.write(out)

    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)
    assert caught.value.reason == "no extractable text (scanned PDF without a text layer?)"


def test_pypdf_logger_level_is_restored_after_a_broken_pdf() -> None:
    logger = logging.getLogger("pypdf")
    before = logger.level
    with pytest.raises(DocumentLoadError):
        load_file(DOCS / "corrupt.pdf")

    assert logger.level == before


# --- text decoding and cleaning ------------------------------------------------------------


def test_decode_text_strips_utf8_bom() -> None:
    assert decode_text("\ufeffhéllo".encode(), Path("a.txt")) == "héllo"


def test_utf16_with_bom_is_text_not_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "windows.txt", "Grüße aus Wien.\r\n".encode("utf-16"))

    assert only_text(path) == "Grüße aus Wien."


def test_text_is_normalized(tmp_path: Path) -> None:
    path = write(tmp_path / "crlf.md", "# Title  \r\n\r\nBody line.\r\n\r\n   \r\n")

    assert only_text(path) == "# Title  \n\nBody line."


def test_whitespace_only_file_has_no_extractable_text(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.txt", " \n\t\n")
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason == "no extractable text"


def test_text_full_of_control_characters_is_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "controls.log", bytes(range(1, 32)) * 20)
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason == "binary content, not text"


# --- other formats' edge cases -------------------------------------------------------------


def test_html_inline_markup_does_not_split_sentences(tmp_path: Path) -> None:
    html = (
        "<p>Steep <a href='#'>oolong</a> for <b>three</b> minutes.</p>"
        "<table><tr><td>a</td><td>b</td></tr></table>"
    )
    path = write(tmp_path / "inline.htm", html)

    assert only_text(path) == "Steep oolong for three minutes.\na b"


def test_html_tolerates_unclosed_tags(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Tea &amp; Otters</title><style>p {}</style>"
        "<body><p>first<p>second<div>third</div>fourth<br>fifth"
        "<table><tr><td>1<td>2</table><script>hidden()</script>"
    )
    path = write(tmp_path / "unclosed.html", html)

    assert only_text(path).splitlines() == [
        "Tea & Otters",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "1 2",
    ]


def test_deeply_nested_html_is_read_in_linear_time(tmp_path: Path) -> None:
    """100,000 nested divs took minutes with a parse tree; a tokenizer reads them at once."""
    depth = 100_000
    path = write(tmp_path / "deep.html", "<div>" * depth + "<p>deep otter</p>" + "</div>" * depth)

    started = time.perf_counter()
    text = only_text(path)

    assert text == "deep otter"
    assert time.perf_counter() - started < 15  # about 1 s here; the tree took minutes


def test_csv_omits_empty_cells_and_names_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "gaps.csv", "name,role\nAda,\n,Engineer,London\n")

    assert only_text(path).splitlines() == [
        "gaps.csv, rows 2-3",
        "Row 2: name: Ada",
        "Row 3: role: Engineer; column 3: London",
    ]


def test_csv_delimiter_is_sniffed(tmp_path: Path) -> None:
    path = write(tmp_path / "semicolons.csv", "city;population\nLyon;522250\nGraz;291134\n")

    assert only_text(path).splitlines() == [
        "semicolons.csv, rows 2-3",
        "Row 2: city: Lyon; population: 522250",
        "Row 3: city: Graz; population: 291134",
    ]


def test_tsv_uses_tabs(tmp_path: Path) -> None:
    path = write(tmp_path / "cities.tsv", "city\tnote\nLyon\tsilk, food\n")

    assert only_text(path) == "cities.tsv, row 2\nRow 2: city: Lyon; note: silk, food"


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '{\n  "a": ,\n}')
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason == "invalid JSON: line 2 column 8"


def test_deeply_nested_json_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason == "document nested too deeply"


def test_eml_with_only_html_body_is_converted(tmp_path: Path) -> None:
    message = (
        "Subject: Tea\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><style>p {}</style></head>"
        "<body><p>Steep for <i>two</i> minutes.</p></body></html>\n"
    )
    path = write(tmp_path / "tea.eml", message)

    assert only_text(path) == "Subject: Tea\n\nSteep for two minutes."


def test_docx_that_is_not_a_zip_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.docx", "just text pretending to be Word")
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason.startswith("not a valid DOCX: ")


# --- file-system errors --------------------------------------------------------------------


def test_missing_file_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert (caught.value.reason, caught.value.path) == ("file not found", path)


@pytest.mark.parametrize("name", ["folder.md", "unzipped.docx"])
def test_directory_is_a_load_error(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.mkdir()
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason == "is a directory"


def test_permission_error_from_a_loader_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path) -> list[Page]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setitem(LOADERS, ".txt", refuse)
    path = write(tmp_path / "locked.txt", "secret")
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason == "permission denied"


def _reason_as_unprivileged_user(path: Path) -> str:
    """Load ``path`` in a forked child that dropped root (root reads any file)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery, report through the pipe and leave
        os.close(read_end)
        try:
            os.setgid(65534)
            os.setuid(65534)
            load_file(path)
            message = "loaded"
        except DocumentLoadError as exc:
            message = exc.reason
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as text
            message = f"escaped: {type(exc).__name__}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def test_unreadable_file_is_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.txt", "secret")
    path.chmod(0)
    if os.geteuid() == 0:
        assert _reason_as_unprivileged_user(path) == "permission denied"
        return
    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)
    assert caught.value.reason == "permission denied"


# --- nothing but DocumentLoadError escapes ------------------------------------------------

FUZZ_ROUNDS = 20


def assert_loads_or_load_error(path: Path) -> None:
    try:
        pages = load_file(path)
    except DocumentLoadError as err:
        assert err.path == path
        assert err.reason
        return
    assert pages
    assert all(isinstance(page, Page) and page.text.strip() for page in pages)


@pytest.mark.parametrize("extension", sorted(supported_extensions()))
def test_random_bytes_raise_only_load_errors(extension: str, tmp_path: Path) -> None:
    rng = random.Random(f"random-bytes{extension}")
    for round_number in range(FUZZ_ROUNDS):
        size = rng.choice([1, 7, 64, 512, 2048])
        path = write(tmp_path / f"fuzz{round_number}{extension}", rng.randbytes(size))
        assert_loads_or_load_error(path)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    mutable = bytearray(data)
    for _ in range(8):
        mutable[rng.randrange(len(mutable))] = rng.randrange(256)
    return bytes(mutable)


@pytest.mark.parametrize(
    "name", ["manual.pdf", "report.docx", "slides.pptx", "book.epub", "page.html", "table.csv"]
)
@pytest.mark.parametrize("mutate", [truncate, flip_bytes])
def test_damaged_real_documents_raise_only_load_errors(
    name: str, mutate: Callable[[bytes, random.Random], bytes], tmp_path: Path
) -> None:
    original = (DOCS / name).read_bytes()
    rng = random.Random(f"{mutate.__name__}{name}")
    for round_number in range(FUZZ_ROUNDS):
        path = write(tmp_path / f"damaged{round_number}-{name}", mutate(original, rng))
        assert_loads_or_load_error(path)


def test_pptx_reads_tables_and_grouped_shapes(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])  # blank layout
    inch = pptx.util.Inches(1)
    table = slide.shapes.add_table(2, 2, inch, inch, 4 * inch, inch).table
    for (row, col), text in {
        (0, 0): "Station",
        (0, 1): "Hut",
        (1, 0): "H-1",
        (1, 1): "Rysy",
    }.items():
        table.cell(row, col).text = text
    group = slide.shapes.add_group_shape()
    group.shapes.add_textbox(inch, 3 * inch, 4 * inch, inch).text_frame.text = "Grouped note."
    path = tmp_path / "table.pptx"
    deck.save(str(path))

    assert load_file(path) == [Page("Station | Hut\nH-1 | Rysy\nGrouped note.", 1)]


# --- streaming big text files -----------------------------------------------------------

BLOCK = 1 << 20  # ingest.loaders reads streamed text in blocks of 1 MiB


def paragraphs(count: int) -> str:
    return "".join(
        f"Paragraph {n}: the otter counted {n % 97} stones by the weir.\n"
        + ("\n" if n % 3 == 2 else "")
        for n in range(count)
    )


def assert_segments_of(path: Path, segments: list[Page]) -> None:
    """Each segment is the whole text's at its offset, and together they hold all of it."""
    (whole,) = load_file(path)
    for segment in segments:
        assert whole.text[segment.offset : segment.offset + len(segment.text)] == segment.text
    assert "".join("".join(s.text.split()) for s in segments) == "".join(whole.text.split())


def test_a_big_text_file_streams_in_segments_cut_at_paragraphs(tmp_path: Path) -> None:
    path = write(tmp_path / "big.md", paragraphs(60_000))  # about 3.5 MB

    segments = list(stream_file(path))

    assert len(segments) == -(-path.stat().st_size // BLOCK)
    assert all(s.page is None for s in segments)
    assert all(s.text.endswith("weir.") for s in segments)  # no paragraph is cut
    assert_segments_of(path, segments)


def test_a_crlf_split_between_blocks_stays_one_line_break(tmp_path: Path) -> None:
    head = "x" * (BLOCK - 1)  # the block ends with "\r", the next starts with "\n"
    path = write(tmp_path / "dos.txt", head + "\r\nsecond line\r\n" + "more words\r\n" * 10)

    segments = list(stream_file(path))

    assert [s.text.lstrip().splitlines()[0] for s in segments] == [head, "second line"]
    assert all("\r" not in s.text for s in segments)
    assert_segments_of(path, segments)


def test_a_small_file_streams_as_the_page_load_file_returns(tmp_path: Path) -> None:
    for name in ("notes.md", "latin1.txt", "manual.pdf", "report.docx"):
        assert list(stream_file(DOCS / name)) == load_file(DOCS / name), name


def test_binary_data_part_way_through_a_stream_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.txt", paragraphs(40_000).encode() + bytes(range(32)) * 9000)

    stream = stream_file(path)
    first = next(stream)

    assert first.text.startswith("Paragraph 0:")
    with pytest.raises(DocumentLoadError) as caught:
        list(stream)
    assert caught.value.reason == "binary content, not text" and caught.value.path == path


def test_streaming_refuses_what_load_file_refuses(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.txt", b"")
    blank = write(tmp_path / "blank.txt", "  \n\n \t\n" * 1000)
    with pytest.raises(DocumentLoadError, match="empty file"):
        list(stream_file(empty))
    with pytest.raises(DocumentLoadError, match="no extractable text"):
        list(stream_file(blank))
    with pytest.raises(UnsupportedFileType):
        list(stream_file(write(tmp_path / "x.unknown", "text")))
