"""Search/replace patches: parsing, application, and failures that must be labelled."""

from __future__ import annotations

import pytest

from gome.optimizer.patches import PatchError, apply_patches, parse_patches

PARENT = """import pandas as pd

model = "logistic"
C = 1.0
print("validation_score: 0.8")
"""


def _block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"


def test_blocks_are_parsed_in_order_and_applied() -> None:
    reply = (
        "Sketch: stronger model.\n```python\n"
        + _block('model = "logistic"', 'model = "lgbm"')
        + "\n"
        + _block("C = 1.0", "C = 0.1\nn_estimators = 500")
        + "\n```"
    )
    patches = parse_patches(reply)
    assert [p.search for p in patches] == ['model = "logistic"', "C = 1.0"]
    patched = apply_patches(PARENT, patches)
    assert 'model = "lgbm"' in patched and "n_estimators = 500" in patched
    assert patched.endswith('print("validation_score: 0.8")\n')


def test_trailing_whitespace_differences_still_match() -> None:
    parent = PARENT.replace("C = 1.0\n", "C = 1.0   \n")
    patched = apply_patches(parent, parse_patches(_block("C = 1.0", "C = 2.0")))
    assert "C = 2.0" in patched and "C = 1.0" not in patched


def test_missing_search_text_raises_naming_the_patch() -> None:
    patches = parse_patches(_block("C = 1.0", "C = 2.0") + "\n" + _block("gamma = 3", "gamma = 4"))
    with pytest.raises(PatchError, match="patch 2: .*not in the script"):
        apply_patches(PARENT, patches)


def test_ambiguous_search_text_raises() -> None:
    parent = PARENT + "C = 1.0\n"
    with pytest.raises(PatchError, match="occurs 2 times"):
        apply_patches(parent, parse_patches(_block("C = 1.0", "C = 2.0")))


@pytest.mark.parametrize("reply", ["no blocks here", _block("", "x = 1")])
def test_replies_without_usable_blocks_raise(reply: str) -> None:
    with pytest.raises(PatchError):
        parse_patches(reply)
