"""Where gome keeps things: data root, cache, bundled competition folders."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "gome"


def cache_root() -> Path:
    """The user cache dir (`~/.cache/gome` on Linux), overridable with `GOME_CACHE_DIR`."""
    override = os.environ.get("GOME_CACHE_DIR")
    return Path(override) if override else platformdirs.user_cache_path(APP_NAME)


def data_root(override: Path | str | None = None) -> Path:
    """Root of prepared data: `--data-dir`, else `GOME_DATA_DIR`, else `<cache>/data`."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("GOME_DATA_DIR")
    return Path(env).expanduser() if env else cache_root() / "data"


def competitions_root() -> Path:
    """Folder holding one sub-folder per competition.

    A source checkout uses the repository's top-level `competitions/`; an installed wheel
    carries the same folder as `gome/_competitions`. `GOME_COMPETITIONS_DIR` overrides both.
    """
    env = os.environ.get("GOME_COMPETITIONS_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "competitions"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_competitions"
