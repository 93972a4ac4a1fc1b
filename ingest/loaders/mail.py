"""E-mail messages (.eml): the main headers, then the body."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path

from ingest.loaders.base import Page
from ingest.loaders.html import html_to_text
from ingest.loaders.text import decode_text

__all__ = ["load_eml"]

_EMAIL_HEADERS = ("Subject", "From", "To", "Date")


def load_eml(path: Path) -> list[Page]:
    """Load an e-mail as its main headers followed by its body."""
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    lines = [f"{name}: {message[name]}" for name in _EMAIL_HEADERS if message[name]]
    body = message.get_body(("plain", "html")) if isinstance(message, EmailMessage) else None
    if body is not None:
        lines += ["", _email_part_text(body, path)]
    return [Page("\n".join(lines), None)]


def _email_part_text(part: Message, path: Path) -> str:
    """Decode a text part with its declared charset, else guess; HTML becomes plain text."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset()
    try:
        text = data.decode(charset) if charset else decode_text(data, path)
    except (LookupError, UnicodeDecodeError):
        text = decode_text(data, path)
    return html_to_text(text) if part.get_content_subtype() == "html" else text
