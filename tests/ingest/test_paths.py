"""ingest.paths.inside: the one check that a relative path stays in the documents folder."""

from __future__ import annotations

import pytest

from ingest.errors import DocumentLoadError
from ingest.paths import inside


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "a.md").write_text("a")
    (tmp_path / "secret.txt").write_text("s")
    return docs


def test_a_path_inside_resolves_to_the_file(folder):
    assert inside(folder, "sub/a.md") == (folder / "sub" / "a.md").resolve()
    assert inside(folder, "sub/../sub/a.md") == (folder / "sub" / "a.md").resolve()


@pytest.mark.parametrize(
    "relative", ["../secret.txt", "sub/../../secret.txt", "/etc/passwd", ".", ""]
)
def test_a_path_that_escapes_or_is_the_folder_is_refused(folder, relative):
    with pytest.raises(DocumentLoadError) as caught:
        inside(folder, relative)
    assert caught.value.reason == "path outside the documents folder"


def test_a_symlink_out_of_the_folder_is_refused_when_followed(folder, tmp_path):
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(DocumentLoadError):
        inside(folder, "link.txt")


def test_not_following_gives_the_link_itself_never_its_target(folder, tmp_path):
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    target = inside(folder, "link.txt", follow_symlinks=False)
    assert target == folder.resolve() / "link.txt" and target.is_symlink()
    with pytest.raises(DocumentLoadError):
        inside(folder, "sub/..", follow_symlinks=False)


def test_a_symlinked_parent_outside_is_refused_even_without_following(folder, tmp_path):
    (tmp_path / "outside").mkdir()
    (folder / "door").symlink_to(tmp_path / "outside")
    with pytest.raises(DocumentLoadError):
        inside(folder, "door/x.md", follow_symlinks=False)
