"""A stack's directory is deleted without the test session waiting for it."""

from __future__ import annotations

import time
from pathlib import Path

from devstack.stack import Stack, delete_in_background


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


def test_a_broker_directory_of_its_own_is_deleted_with_the_stack(tmp_path: Path) -> None:
    base, broker = tmp_path / "run", tmp_path / "memory" / "run-kafka"
    for directory in (base / "postgres", broker / "kraft-logs"):
        directory.mkdir(parents=True)
        (directory / "data").write_bytes(b"x" * 1024)

    Stack(base, broker_dir=broker).destroy()  # nothing started: only the files to delete

    deadline = time.monotonic() + 30
    while (any((tmp_path / "memory").iterdir()) or base.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((tmp_path / "memory").iterdir()) == [], "the broker's directory went too"
    assert not base.exists()
