"""Decompression bombs and runaway documents, built by the tests (nothing large committed)."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from tests.helpers import pdf_bytes
from tests.helpers.data import DOCS

# The member of each zip-based sample that its parser reads first.
MAIN_MEMBER = {
    "report.docx": "word/document.xml",
    "slides.pptx": "ppt/slides/slide1.xml",
}


def zip_bomb(
    sample: Path, target: Path, member: str | None, padding_mb: int, zip64: bool = True
) -> None:
    """``sample`` with one member grown by ``padding_mb`` MB of spaces (valid, after the XML).

    Spaces deflate about a thousand to one: a few tens of kilobytes on disk.
    """
    with zipfile.ZipFile(sample) as source, zipfile.ZipFile(target, "w") as out:
        names = source.namelist()
        grown = member or next(n for n in names if n.endswith((".xhtml", ".html")))
        for info in source.infolist():
            data = source.read(info)
            if info.filename == grown:
                grown_info = zipfile.ZipInfo(info.filename, info.date_time)
                grown_info.compress_type = zipfile.ZIP_DEFLATED
                with out.open(grown_info, "w", force_zip64=zip64) as handle:
                    handle.write(data)
                    block = b" " * (1 << 20)
                    for _ in range(padding_mb):
                        handle.write(block)
            else:
                out.writestr(info, data, compress_type=info.compress_type)


def lying_zip(sample: Path, target: Path, member: str, padding_mb: int) -> int:
    """``sample`` whose ``member`` holds ``padding_mb`` MB of spaces more than it declares.

    Its local header and central directory keep the member's real size and the CRC of
    those first bytes, as a careful attacker would: ``zipfile`` then reads the member
    without complaint, after inflating all of it. Returns the declared size.
    """
    with zipfile.ZipFile(sample) as source:
        declared = source.read(member)
    zip_bomb(sample, target, member, padding_mb, zip64=False)
    raw = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo(member)
    crc = zlib.crc32(declared)
    struct.pack_into("<LLL", raw, info.header_offset + 14, crc, info.compress_size, len(declared))
    name = member.encode()
    entry = raw.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = struct.unpack_from("<H", raw, entry + 28)[0]
        if raw[entry + 46 : entry + 46 + name_length] == name:
            struct.pack_into("<L", raw, entry + 16, crc)
            struct.pack_into("<L", raw, entry + 24, len(declared))
        entry = raw.find(b"PK\x01\x02", entry + 4)
    target.write_bytes(bytes(raw))
    return len(declared)


def unzipped_ratio(path: Path) -> tuple[int, float]:
    """(total uncompressed bytes, that over the file's size), as the loader computes them."""
    with zipfile.ZipFile(path) as archive:
        total = sum(i.file_size for i in archive.infolist())
    return total, total / path.stat().st_size


def pdf_pages_sharing_one_stream(pages: int, text_kb: int) -> bytes:
    """``pages`` pages whose content is one and the same Flate stream of ``text_kb`` KB of text.

    The text runs down the page line by line, then on below it: pypdf extracts all of it;
    PDFium what is on the page (about 2,600 characters a page).
    """
    line = b"(Shared otters hold the whole river again.) Tj 0 -12 Td\n"
    body = line * (text_kb * 1024 // len(line))
    content = zlib.compress(b"BT /F1 10 Tf 72 760 Td\n" + body + b"ET\n", 9)
    kids = b" ".join(b"%d 0 R" % (6 + n) for n in range(pages))
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>"
    )
    return pdf_bytes.pdf(
        [
            pdf_bytes.CATALOG,
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
            b"<< /Type /Pages /Kids [] /Count 0 >>",  # unused: keeps the numbering simple
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
            % (len(content), content),
            pdf_bytes.FONT,
            *([page] * pages),
        ]
    )


def json_with_a_huge_key(path: Path, key_mb: int, values: int) -> None:
    """``{"kkk…": [0, 0, …]}``: each value becomes a line that repeats the whole key."""
    with path.open("wb") as out:
        out.write(b'{"' + b"k" * (key_mb << 20) + b'": [')
        out.write(b"0," * (values - 1))
        out.write(b"0]}")


def sample(name: str) -> Path:
    return DOCS / name
