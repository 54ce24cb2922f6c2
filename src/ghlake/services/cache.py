"""Filling the download cache once, even when several installs run at the same time.

Two checkouts installing on one machine (a CI run beside a developer's ``make run``,
or worktrees side by side) share the cache under ``GHLAKE_CACHE_DIR``. Each fill takes
an exclusive lock on a file beside its target, looks again whether the target is
complete, and only then builds it in a staging folder that it renames into place, so
a reader sees either nothing or the whole thing.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["fill_once", "locked"]


@contextmanager
def locked(target: Path) -> Iterator[None]:
    """Hold the cache lock of ``target`` (a ``.lock`` file beside it) while inside."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fill_once(
    target: Path, is_complete: Callable[[Path], bool], fill: Callable[[Path], None]
) -> Path:
    """Make ``target`` by ``fill(staging)`` unless it is complete already; return it.

    ``fill`` gets an empty staging folder and leaves in it what ``target`` must hold
    (raising on failure, which leaves ``target`` as it was); the folder then becomes
    ``target`` in one rename.
    """
    if is_complete(target):
        return target
    with locked(target):
        if is_complete(target):  # another install filled it while this one waited
            return target
        staging = target.with_name(f"{target.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        fill(staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target
