"""Hand-written PDF files: a valid skeleton, cyclic page trees and deep nesting."""

from __future__ import annotations

TEXT = b"BT /F1 12 Tf 72 720 Td (Hostile otters hold the river.) Tj ET"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
PAGE = (
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >>%s >>"
)


def pdf(objects: list[bytes]) -> bytes:
    """A PDF with these objects (numbered from 1, object 1 the catalog) and a correct xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
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


def stream(content: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)


def one_page(extra: bytes = b"") -> bytes:
    """A valid one-page PDF (``Hostile otters hold the river.``); ``extra`` goes in the page."""
    return pdf(
        [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE % extra, stream(TEXT), FONT]
    )


def cyclic_page_tree() -> bytes:
    """The page tree lists itself among its own kids."""
    return pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
            PAGE % b"",
            stream(TEXT),
            FONT,
        ]
    )


def catalog_is_its_own_page_tree() -> bytes:
    return pdf([b"<< /Type /Catalog /Pages 1 0 R >>"])


def deeply_nested_array(depth: int = 100_000) -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep %s >>" % (b"[" * depth + b"]" * depth),
            b"<< /Type /Pages /Kids [] /Count 0 >>",
        ]
    )


def deeply_nested_dict_in_page(depth: int = 20_000) -> bytes:
    return one_page(b" /Deep " + b"<< /A " * depth + b"1" + b" >>" * depth)


def form_xobject_that_draws_itself() -> bytes:
    """A page whose only content is a form XObject that draws itself, forever."""
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /XObject << /X1 5 0 R >> >> >>"
    )
    form = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10]"
        b" /Resources << /XObject << /X1 5 0 R >> >> /Length 6 >>\nstream\n/X1 Do\nendstream"
    )
    return pdf(
        [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, stream(b"/X1 Do"), form]
    )
