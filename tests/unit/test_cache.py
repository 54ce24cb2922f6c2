"""The download cache is filled once when installs run side by side."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from ghlake.services.cache import fill_once


def _complete(folder: Path) -> bool:
    return (folder / "done").is_file()


def _fill_slowly(staging: Path) -> None:
    with (staging.parent / "fills.log").open("a") as log:
        log.write("fill\n")
    time.sleep(0.5)  # long enough for the other process to find the target missing
    (staging / "done").write_text("ok")


def _install(target: str) -> None:
    fill_once(Path(target), _complete, _fill_slowly)


def test_two_installs_at_once_fill_the_target_once(tmp_path: Path) -> None:
    target = tmp_path / "jars"
    context = multiprocessing.get_context("spawn")
    installs = [context.Process(target=_install, args=(str(target),)) for _ in range(2)]
    for install in installs:
        install.start()
    for install in installs:
        install.join(timeout=60)
        assert install.exitcode == 0
    assert (target / "done").read_text() == "ok"
    assert (tmp_path / "fills.log").read_text() == "fill\n"
    assert not target.with_name("jars.partial").exists()


def test_a_failed_fill_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "bin"

    def broken(staging: Path) -> None:
        (staging / "half").write_text("")
        raise RuntimeError("the build failed")

    with pytest.raises(RuntimeError, match="the build failed"):
        fill_once(target, _complete, broken)
    assert not target.exists()
    assert fill_once(target, _complete, _fill_slowly) == target
    assert _complete(target)
    assert not (target / "half").exists()
