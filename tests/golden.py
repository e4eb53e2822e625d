"""The golden aging cases (``contracts/aging-golden.json``), shared by every test tier.

The shared folder is ``<repo root>/../shared`` unless ``COLLECTIONS_SHARED_DIR`` names it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLDEN_FILE = Path("contracts") / "aging-golden.json"


def shared_dir() -> Path:
    """The folder holding DOMAIN.md and ``contracts/``."""
    override = os.environ.get("COLLECTIONS_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


def load_golden_cases() -> list[dict[str, Any]]:
    """Every golden case: ``name``, ``config``, ``events`` (in publish order), ``expect``."""
    document = json.loads((shared_dir() / GOLDEN_FILE).read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = document["cases"]
    return cases
