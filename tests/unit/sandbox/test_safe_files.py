"""gradekit.sandbox.safe_files: deleting what a sandbox could write never follows a link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gradekit.sandbox.safe_files import MAX_DEPTH, remove_tree


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A folder of the host that the tree below links to (it must come out untouched)."""
    folder = tmp_path / "host"
    (folder / "inner").mkdir(parents=True)
    (folder / "precious.txt").write_text("keep me")
    folder.chmod(0o755)
    return folder


def tree_with_traps(root: Path, host: Path) -> Path:
    shared = root / "shared"
    (shared / "locked" / "deeper").mkdir(parents=True)
    (shared / "locked" / "deeper" / "file.txt").write_text("x")
    (shared / "link-to-host").symlink_to(host)
    (shared / "locked" / "link-to-inner").symlink_to(host / "inner")
    (shared / "link-to-file").symlink_to(host / "precious.txt")
    (shared / "locked" / "deeper").chmod(0)
    (shared / "locked").chmod(0)
    return shared


def test_a_tree_with_locked_folders_and_links_is_deleted_without_touching_the_host(tmp_path, host):
    shared = tree_with_traps(tmp_path, host)
    assert remove_tree(shared)
    assert not shared.exists()
    assert (host / "precious.txt").read_text() == "keep me"
    assert (host / "inner").is_dir()
    assert stat.S_IMODE(host.stat().st_mode) == 0o755
    assert stat.S_IMODE((host / "inner").stat().st_mode) == 0o755


def test_a_link_given_as_the_tree_is_removed_not_followed(tmp_path, host):
    link = tmp_path / "link"
    link.symlink_to(host)
    assert remove_tree(link)
    assert not os.path.lexists(link) and (host / "precious.txt").exists()


def test_a_missing_path_is_nothing_to_do(tmp_path):
    assert remove_tree(tmp_path / "nothing")


def test_a_tree_deeper_than_the_limit_is_left_not_crashed_on(tmp_path):
    folder = tmp_path / "deep"
    path = folder
    for _ in range(MAX_DEPTH + 5):
        path = path / "d"
    path.mkdir(parents=True)
    assert not remove_tree(folder)
    assert folder.exists()
