"""Atomic publication of folders on disk: write into a temporary sibling, fsync, rename.

A reader either sees the complete folder or none at all, even when the writer is killed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_sibling(final: Path) -> Path:
    """An empty, private folder next to ``final`` to build it in (``.<name>.tmp-<pid>``)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def publish(tmp: Path, final: Path) -> None:
    """fsync every file under ``tmp`` and ``tmp`` itself, then rename it to ``final`` (replacing it)."""
    for path in sorted(tmp.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    fsync_path(final.parent)
