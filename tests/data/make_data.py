"""Regenerate the small test documents in tests/data/docs and tests/data/extra.

Run from the repository root:  python tests/data/make_data.py
Needs fpdf2 (a dev-only PDF writer, `pip install fpdf2`) besides the project's own
dependencies. The output is deterministic: zip timestamps, document dates, the PDF file
identifier and the random bytes are all fixed, so a rerun gives byte-identical files
(for the same library versions). The generated files are committed; tests never run this.
"""

from __future__ import annotations

import datetime as dt
import random
import zipfile
from pathlib import Path
from typing import Any

import docx
import pptx
from ebooklib import epub
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"
EXTRA = HERE / "extra"
FIXED_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

MANUAL_PAGES = [
    (
        "Zorblax Reactor Manual",
        [
            "This manual describes the safe operation of the Zorblax reactor.",
            "The Zorblax is a compact research reactor built for university laboratories.",
            "Read every section before you start the reactor for the first time.",
        ],
    ),
    (
        "Operating Conditions",
        [
            "The Zorblax reactor operates at a core temperature of 451 kelvin.",
            "The coolant loop must stay above 2 bar of pressure during operation.",
            "Operators record the core temperature every hour in the control room journal.",
        ],
    ),
    (
        "Maintenance",
        [
            "Maintenance of the Zorblax reactor is required every 17 days.",
            "Each visit includes a coolant inspection and a check of the control rods.",
            "Write the date of every visit in the maintenance log.",
        ],
    ),
]

NOTES_MD = """\
# Notes on Keeping Bees

Beekeeping is one of the oldest forms of farming, and it asks for more patience than
equipment. A single hive can hold tens of thousands of bees in summer, yet the whole colony
behaves like one animal. These notes collect what a beginner should understand before the
first hive arrives in the garden.

## The Colony

Every colony has three kinds of bees. Workers are females that never lay eggs in a healthy
hive; they clean cells, feed larvae, build comb, guard the entrance and, in the last weeks of
their short lives, fly out to gather nectar and pollen. Drones are males whose only task is to
mate with a queen from another colony. They do not sting and they do not forage, and in
autumn the workers push them out of the hive to save the winter stores.

The queen is the mother of nearly every bee in the hive. She can lay more than a thousand
eggs a day at the height of the season. Queen bees can live for up to five years. Most
beekeepers, however, replace a queen after two or three seasons, because an older queen lays
fewer eggs and her colony is more likely to swarm.

## Seasons in the Apiary

Spring is the busiest time. As the first willows and fruit trees flower, the colony grows
quickly and the beekeeper adds boxes so the bees have room to store nectar. A crowded hive
will raise new queens and swarm, taking half of the workers away with the old queen.
Inspecting the brood frames every week or so helps to spot queen cells early.

Summer brings the main honey flow. On a good day a strong colony can bring in several
kilograms of nectar, which the workers dry and cap with wax. The beekeeper harvests only the
capped frames, because uncapped honey holds too much water and may ferment in the jar.

In autumn the colony shrinks and prepares for the cold. The beekeeper checks that the hive
has enough stores, treats against varroa mites if needed and fits a mouse guard at the
entrance. During winter the bees form a tight cluster and shiver their flight muscles to keep
the centre of the cluster warm, slowly eating their way through the honey.

## Equipment and Safety

A beginner needs a hive with frames, a veil, gloves, a smoker and a hive tool. The smoker
calms the bees by masking their alarm scent, and a slow, steady manner calms them even more.
Work on warm, still afternoons when most foragers are out of the hive. Keep an antihistamine
at hand, and tell your neighbours before the hive arrives; good relations with the people
next door matter as much as a healthy colony.
"""

PAGE_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tea Guide</title>
<style>
body { font-family: serif; }
.SECRET_STYLE_TEXT { color: red; }
</style>
<script>var token = "SECRET_SCRIPT_TEXT"; console.log(token);</script>
</head>
<body>
<h1>Brewing Tea Well</h1>
<p>Green tea should steep at 80 degrees Celsius.</p>
<p>Black tea needs water at a <strong>full boil</strong> and about four minutes.</p>
<ul>
<li>Use fresh, cold water.</li>
<li>Warm the pot first.</li>
</ul>
<script>document.title = "SECRET_SCRIPT_TEXT";</script>
</body>
</html>
"""

TABLE_CSV = """\
city,country,population
Lyon,France,522250
Porto,Portugal,231800
Graz,Austria,291134
"""

LATIN1_TEXT = """\
Le café de la Mère Brûlée ouvre à sept heures.
Les élèves y boivent un chocolat chaud très sucré.
Le propriétaire, un vieux garçon très aimé, prépare des crêpes à la crème.
En été, la terrasse déborde de touristes qui préfèrent le thé glacé.
À Noël, la fenêtre est décorée de guirlandes dorées et de bougies.
"""

MESSAGE_EML = """\
From: Ana Pereira <ana@example.org>
To: Team Heron <heron@example.org>
Subject: Heron field test moved
Date: Mon, 03 Mar 2025 09:15:00 +0100
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="heron-boundary"

--heron-boundary
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

The field test moves to the hut below Rysy on 21 March.
Bring warm clothes; the caf=C3=A9 at the hut closes early.

--heron-boundary
Content-Type: text/html; charset="utf-8"

<p>The field test moves to the hut below Rysy on <b>21 March</b>.</p>

--heron-boundary--
"""

DATA_JSON = """\
{
  "project": {
    "name": "Heron",
    "active": true,
    "stations": [
      {"id": "H-1", "altitude_m": 2503},
      {"id": "H-2", "altitude_m": 1987}
    ]
  }
}
"""

SCRIPT_PY = '''\
"""Convert wind speed readings from the Heron stations."""


def knots_to_kmh(knots: float) -> float:
    """Return the speed in kilometres per hour; one knot is 1.852 km/h."""
    return knots * 1.852
'''

GUIDE_RST = """\
Heron Station Guide
===================

Installation
------------

Mount the Heron station on a pole at least two metres above the snow line.

* Point the solar panel south.
* Tighten the mast clamps by hand.
"""


def write_manual_pdf(path: Path) -> None:
    """Three pages; each sentence on its own line so extracted text keeps it whole."""
    pdf = _new_pdf()
    for title, sentences in MANUAL_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for sentence in sentences:
            pdf.cell(0, 8, sentence, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_encrypted_pdf(path: Path) -> None:
    """One page, RC4-128 encrypted with the user password "secret"."""
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, "This document is confidential.")
    plain = HERE / "_plain.pdf"
    pdf.output(str(plain))
    writer = PdfWriter(clone_from=PdfReader(plain))
    plain.unlink()
    # pypdf draws random file identifiers (the first one feeds the RC4 key); fix both.
    file_id = ByteStringObject(b"gpt4all-rag-test")
    writer._ID = ArrayObject([file_id, file_id])
    writer.encrypt("secret", algorithm="RC4-128")
    writer._ID = ArrayObject([file_id, file_id])
    with path.open("wb") as out:
        writer.write(out)


def _new_pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_creator("gpt4all-rag tests/data/make_data.py")
    return pdf


def write_report_docx(path: Path) -> None:
    document = docx.Document()
    document.add_heading("Project Heron Status Report", level=1)
    document.add_paragraph(
        "Project Heron builds a low-cost weather station for mountain huts. "
        "The team finished the sensor prototype in February."
    )
    document.add_paragraph(
        "The quarterly budget for Project Heron is 82,000 euros. "
        "Most of it pays for field tests in the Tatra mountains."
    )
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(
        table.rows, [("Milestone", "Status"), ("Prototype", "Done")], strict=True
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    _fix_core_properties(document.core_properties)
    document.save(str(path))
    _fix_zip_times(path)


def write_slides_pptx(path: Path) -> None:
    deck = pptx.Presentation()
    title_slide = deck.slides.add_slide(deck.slide_layouts[0])
    title_slide.shapes.title.text = "Project Heron Launch Plan"
    title_slide.placeholders[1].text = "Spring update for the weather station team"
    content_slide = deck.slides.add_slide(deck.slide_layouts[1])
    content_slide.shapes.title.text = "Launch"
    content_slide.placeholders[1].text = (
        "The Heron launch date is 14 March.\n"
        "The first ten stations ship to huts in the Tatra mountains."
    )
    _fix_core_properties(deck.core_properties)
    deck.save(str(path))
    _fix_zip_times(path)


def write_book_epub(path: Path) -> None:
    book = epub.EpubBook()
    book.set_identifier("gpt4all-rag-test-book")
    book.set_title("The Voyage of the Azure Gull")
    book.set_language("en")
    book.add_author("Ilse Marrow")
    chapters = [
        _chapter(
            "chapter1.xhtml",
            "Chapter 1: The Harbour",
            "The harbour of Lissen was quiet at dawn. "
            "Fishermen mended their nets while gulls circled the old lighthouse.",
        ),
        _chapter(
            "chapter2.xhtml",
            "Chapter 2: The Crossing",
            "Captain Mirela sailed the Azure Gull to Port Talven. "
            "The crossing took three days and two nights of steady wind.",
        ),
    ]
    for chapter in chapters:
        book.add_item(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    epub.write_epub(str(path), book, {"mtime": FIXED_TIME})
    _fix_zip_times(path)


def _chapter(file_name: str, title: str, text: str) -> epub.EpubHtml:
    chapter = epub.EpubHtml(title=title, file_name=file_name, lang="en")
    chapter.content = f"<h1>{title}</h1><p>{text}</p>"
    return chapter


def _fix_core_properties(properties: Any) -> None:
    properties.created = FIXED_TIME.replace(tzinfo=None)
    properties.modified = FIXED_TIME.replace(tzinfo=None)
    properties.last_modified_by = "make_data.py"


def _fix_zip_times(path: Path) -> None:
    """Rewrite a zip-based document with fixed member timestamps (order kept)."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)


def write_bad_files() -> None:
    rng = random.Random(20240101)
    garbage = bytes(rng.randrange(256) for _ in range(600)).replace(b"obj", b"xxx")
    (DOCS / "corrupt.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + garbage)
    write_encrypted_pdf(DOCS / "encrypted.pdf")
    (DOCS / "empty.txt").write_bytes(b"")
    noise = bytearray(rng.randrange(256) for _ in range(2048))
    noise[100:104] = b"\x00\x00\x00\x00"  # a NUL inside the first 8 KiB whatever the seed
    (DOCS / "binary.txt").write_bytes(bytes(noise))


def write_text_files() -> None:
    (DOCS / "notes.md").write_text(NOTES_MD, encoding="utf-8", newline="\n")
    (DOCS / "page.html").write_text(PAGE_HTML, encoding="utf-8", newline="\n")
    (DOCS / "table.csv").write_text(TABLE_CSV, encoding="utf-8", newline="\n")
    (DOCS / "latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    (EXTRA / "message.eml").write_text(MESSAGE_EML, encoding="ascii", newline="\n")
    (EXTRA / "data.json").write_text(DATA_JSON, encoding="utf-8", newline="\n")
    (EXTRA / "script.py").write_text(SCRIPT_PY, encoding="utf-8", newline="\n")
    (EXTRA / "guide.rst").write_text(GUIDE_RST, encoding="utf-8", newline="\n")
    (EXTRA / "unsupported.xyz").write_text("No loader reads this file.\n", encoding="utf-8")


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    EXTRA.mkdir(exist_ok=True)
    write_manual_pdf(DOCS / "manual.pdf")
    write_report_docx(DOCS / "report.docx")
    write_slides_pptx(DOCS / "slides.pptx")
    write_book_epub(DOCS / "book.epub")
    write_text_files()
    write_bad_files()


if __name__ == "__main__":
    main()
