"""``show``: a page of a document, as text, and for a PDF as a picture (``--png``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, emit, settings_from

if TYPE_CHECKING:
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.settings import Settings

__all__ = ["cmd_show", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``show``."""
    show = commands.add_parser(
        "show",
        parents=[common],
        help="print a page's text; --png saves a PDF page as an image",
        description="Print the text of one page of FILE as it is indexed (a PDF page, a "
        "slide, or the whole text of an unpaged file). FILE is a path, or a path inside "
        "the (collection's) documents folder as sources name it.",
    )
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument("--page", type=int, help="page number, from 1 (default: 1)")
    show.add_argument("--png", type=Path, metavar="OUT", help="save the page as a PNG (PDF only)")
    show.set_defaults(handler=cmd_show)


def cmd_show(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Print the page's text; with ``--png``, also render it to that file."""
    # The renderer (subprocess, sandbox) and the settings: imported when the command runs.
    from gpt4all_rag.documents.pages.render import PageRenderer, PageUnavailable, is_pdf
    from gpt4all_rag.index.registry import resolve_collection  # pydantic: on use only

    settings = resolve_collection(settings_from(args))  # --collection: its documents folder
    path = _find(args.file, settings)
    page = args.page if args.page is not None else 1
    if page < 1:
        raise PageUnavailable(path, f"no page {page} (pages are numbered from 1)")
    renderer = PageRenderer.from_settings(settings, cached=False)
    payload: dict[str, Any] = {"file": str(path), "page": page}
    if is_pdf(path):
        payload["text"] = renderer.text(path, page)
    else:
        payload["text"] = _unpaged_text(path, args.page, settings)
        payload["page"] = args.page
    if args.png is not None:
        image = renderer.render(path, page)
        args.png.write_bytes(image.png)
        payload.update(png=str(args.png), width=image.width, height=image.height)
    emit(args, payload, payload["text"])
    return EXIT_OK


def _find(file: Path, settings: Settings) -> Path:
    """``file`` as given, else inside the documents folder (a source's path)."""
    from gpt4all_rag.documents.pages.render import PageUnavailable  # on use, as above

    for candidate in (file, settings.documents_dir / file):
        if candidate.is_file():
            return candidate
    raise PageUnavailable(file, "no such file (nor in the documents folder)")


def _unpaged_text(path: Path, page: int | None, settings: Settings) -> str:
    """The text of a file that is not a PDF, read in the parser's limited process.

    Slides have pages; the other formats are one text, which only ``--page 1`` (or
    no ``--page``) names.
    """
    from gpt4all_rag.assistant.single import parse_limits  # LangChain: on use only
    from gpt4all_rag.documents.pages.render import PageUnavailable  # on use, as above
    from ingest.loaders.isolated import IsolatedLoader  # multiprocessing: on use only

    loader = IsolatedLoader(parse_limits(settings))
    try:
        pages = loader(path)
    finally:
        loader.close()
    if page is None and all(p.page is None for p in pages):
        return "\n\n".join(p.text for p in pages)
    wanted = page or 1
    chosen = [p.text for p in pages if (p.page or 1) == wanted]
    if not chosen:
        numbers = sorted({p.page or 1 for p in pages})
        raise PageUnavailable(path, f"no page {wanted} (pages: {numbers[0]}-{numbers[-1]})")
    return "\n\n".join(chosen)
