"""A stack's directory is deleted without the test session waiting for it."""

from __future__ import annotations

import time
from pathlib import Path

from devstack.stack import delete_in_background


def test_the_directory_is_gone_at_once_and_its_files_soon_after(tmp_path: Path) -> None:
    run = tmp_path / "collections-test-x"
    for n in range(50):
        (run / f"topic-{n}").mkdir(parents=True)
        (run / f"topic-{n}" / "00000000000000000000.log").write_bytes(b"x" * 1024)

    delete_in_background(run)

    assert not run.exists(), "the name is free as soon as the call returns"
    deadline = time.monotonic() + 30
    while any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.iterdir()) == [], "the detached deletion removed everything"


def test_a_directory_already_gone_is_no_error(tmp_path: Path) -> None:
    delete_in_background(tmp_path / "never-made")
