"""Where the repository's files are, for tests at any depth of ``tests/``."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPES = REPO_ROOT / "recipes"
DEPLOY = REPO_ROOT / "deploy"
DOCS = REPO_ROOT / "docs"
HIL_DATA = REPO_ROOT / "tests" / "hil_data"
