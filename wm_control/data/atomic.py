"""Atomic publication of files and folders on disk: write into a temporary sibling, fsync, rename.

A reader either sees the complete folder or none at all, even when the writer is killed.

Published files get the permissions a plain ``open()`` would have given them under the user's
umask (0644 under umask 022): some writers build their files with ``mkstemp`` (safetensors, the
video encoder of lerobot), which makes them private (0600), and the rename would keep that.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask (read from /proc where possible: setting it to read it is racy)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def follow_umask(path: Path) -> None:
    """Give ``path`` (and, for a folder, everything under it) the permissions ``open()`` and
    ``mkdir()`` would have given it: 0666 (files) or 0777 (folders) less the umask."""
    mask = current_umask()
    path = Path(path)
    entries = [path, *path.rglob("*")] if path.is_dir() else [path]
    for entry in entries:
        if entry.is_symlink():
            continue
        os.chmod(entry, (0o777 if entry.is_dir() else 0o666) & ~mask)


def temporary_sibling(final: Path) -> Path:
    """An empty, private folder next to ``final`` to build it in (``.<name>.tmp-<pid>``)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def replace_folder(new: Path, final: Path) -> None:
    """Move the complete folder ``new`` to ``final``; an existing ``final`` is moved aside first and
    deleted only once ``new`` is in place, so at every moment one of them is whole on disk."""
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
    os.rename(new, final)
    fsync_path(final.parent)
    if old.exists():
        shutil.rmtree(old)


def publish(tmp: Path, final: Path) -> None:
    """Set the user's permissions and fsync every file under ``tmp`` and ``tmp`` itself, then move
    it to ``final`` (replacing it, see :func:`replace_folder`)."""
    follow_umask(tmp)
    for path in sorted(tmp.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(tmp)
    replace_folder(tmp, final)
