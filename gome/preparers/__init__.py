"""Preparers: turn a competition's raw files into `prepared/public` + `prepared/private`.

A preparer is a function `(raw: Path, public: Path, private: Path, params: dict) -> None`
registered under the `split.kind` name that `competition.yaml` uses. Generic kinds
(`csv_split`, ...) serve most competitions; the few whose MLE-bench split is irregular get a
module of their own here. Importing this package imports every preparer module so the
registry is complete.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

Preparer = Callable[[Path, Path, Path, dict[str, Any]], None]

PREPARERS: dict[str, Preparer] = {}


def register(kind: str) -> Callable[[Preparer], Preparer]:
    """Decorator: make `fn` the preparer for `split.kind == kind`."""

    def wrap(fn: Preparer) -> Preparer:
        if kind in PREPARERS:
            raise RuntimeError(f"two preparers registered for kind {kind!r}")
        PREPARERS[kind] = fn
        return fn

    return wrap


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_all()
