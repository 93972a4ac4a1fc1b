"""Moving a person's file to the trash instead of deleting it, so a delete can be undone.

The documents folder is the user's own: the app's delete button should behave like
the file manager's. On Linux and the BSDs that is the freedesktop.org trash
(``$XDG_DATA_HOME/Trash``, with ``files/`` and an ``info/NAME.trashinfo`` that says
where the file came from and when, so the desktop's "Restore" puts it back); on macOS
``~/.Trash``. A file on another device than the home trash goes to the device's own
``$topdir/.Trash-$UID``, as the specification says, since a rename cannot cross
devices and a copy of a large file is not what a delete should do. Elsewhere, or when
no trash can take the file, :class:`TrashUnavailable` says why and nothing is touched.
"""

from __future__ import annotations

import errno
import os
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from gpt4all_rag.errors import AssistantError
from ingest.errors import DocumentLoadError
from ingest.paths import inside

__all__ = ["TrashUnavailable", "home_trash", "move_to_trash", "trash_document"]

_MAX_NAMES = 1000


class TrashUnavailable(AssistantError):
    """The file could not be moved to a trash; ``reason`` says why. The file is untouched."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name} was not moved to the trash: {reason}")
        self.path = path
        self.reason = reason


def home_trash() -> Path:
    """The freedesktop home trash: ``$XDG_DATA_HOME/Trash`` (``~/.local/share/Trash``)."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "Trash"


def move_to_trash(path: Path, trash: Path | None = None) -> Path:
    """Move ``path`` (a file, or a symbolic link itself) to the trash; return where it went.

    ``trash`` overrides the trash folder (tests; the default is the platform's).

    Raises:
        TrashUnavailable: No trash on this platform, or none that could take the file.
    """
    path = Path(os.path.abspath(path))
    if not (path.is_symlink() or path.exists()):
        raise TrashUnavailable(path, "the file does not exist")
    if trash is None and sys.platform == "darwin":
        return _move_to_mac_trash(path)
    if trash is None and os.name != "posix":
        raise TrashUnavailable(path, f"no trash is known on this platform ({sys.platform})")
    try:
        return _freedesktop_move(path, trash or home_trash())
    except OSError as exc:
        if exc.errno != errno.EXDEV or trash is not None:
            raise TrashUnavailable(path, exc.strerror or str(exc)) from exc
    try:
        return _freedesktop_move(path, _device_trash(path))
    except OSError as exc:
        raise TrashUnavailable(path, exc.strerror or str(exc)) from exc


def _device_trash(path: Path) -> Path:
    """``$topdir/.Trash-$UID`` on the device that holds ``path``."""
    top = path.parent
    device = top.stat().st_dev
    while top.parent != top and top.parent.stat().st_dev == device:
        top = top.parent
    return top / f".Trash-{os.getuid()}"


def _freedesktop_move(path: Path, trash: Path) -> Path:
    """Write the ``.trashinfo`` (claiming a free name), then rename the file into ``files/``."""
    files, info = trash / "files", trash / "info"
    for folder in (trash, files, info):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name, record = _claim_name(info, path)
    target = files / name
    try:
        os.rename(path, target)
    except OSError:
        record.unlink(missing_ok=True)
        raise
    return target


def _claim_name(info: Path, path: Path) -> tuple[str, Path]:
    """A name free in the trash, reserved by creating its info file (``O_EXCL``)."""
    deleted = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    text = f"[Trash Info]\nPath={quote(str(path), safe='/')}\nDeletionDate={deleted}\n"
    for number in range(_MAX_NAMES):
        name = path.name if number == 0 else f"{path.stem}.{number}{path.suffix}"
        record = info / f"{name}.trashinfo"
        try:
            descriptor = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        return name, record
    raise OSError(errno.EEXIST, f"{_MAX_NAMES} files named {path.name} are in the trash already")


def _move_to_mac_trash(path: Path) -> Path:
    """``~/.Trash/NAME``, numbered when the name is taken."""
    trash = Path.home() / ".Trash"
    for number in range(_MAX_NAMES):
        name = path.name if number == 0 else f"{path.stem} {number}{path.suffix}"
        target = trash / name
        if not (target.exists() or target.is_symlink()):
            try:
                os.rename(path, target)
            except OSError as exc:
                raise TrashUnavailable(path, exc.strerror or str(exc)) from exc
            return target
    raise TrashUnavailable(path, "too many files of that name are in the trash")


def trash_document(folder: Path, relative: str, trash: Path | None = None) -> Path:
    """Move the file ``relative`` of the documents folder to the trash; return where it went.

    A symbolic link is moved itself, never the file it points to, and a path that
    leaves the folder is refused.

    Raises:
        TrashUnavailable: The path leaves the folder, or no trash could take the file.
    """
    try:
        target = inside(folder, relative, follow_symlinks=False)
    except DocumentLoadError as exc:
        raise TrashUnavailable(Path(relative), exc.reason) from exc
    return move_to_trash(target, trash)
