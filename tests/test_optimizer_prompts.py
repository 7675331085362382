"""Script replies, static checks, the data preview and the labelled-failure script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gome.competitions import load_competition
from gome.llm import MalformedReplyError, NoCodeBlockError
from gome.optimizer.agent import failure_script
from gome.optimizer.data_preview import MAX_COLUMN_NAMES, MAX_COLUMNS_SHOWN, preview_data
from gome.optimizer.patches import PatchError
from gome.optimizer.prompts import EditTarget, check_script, parse_script_reply
from tests.conftest import TOY_ID

SCRIPT = "x = 1\nprint(f'validation_score: {x}')\n"


def test_full_reply_gives_sketch_and_script() -> None:
    text = f"Use x = 1.\nThen print.\n```python\n{SCRIPT}```\nDone."
    reply = parse_script_reply(text, EditTarget("full"))
    assert reply.sketch == "Use x = 1.\nThen print." and reply.code == SCRIPT


def test_patch_reply_is_applied_to_the_parent() -> None:
    text = "Bump x.\n```\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```"
    reply = parse_script_reply(text, EditTarget("patch", SCRIPT))
    assert reply.code == SCRIPT.replace("x = 1", "x = 2") and reply.sketch == "Bump x."


@pytest.mark.parametrize(
    ("text", "mode", "error", "match"),
    [
        ("no code at all", "full", NoCodeBlockError, "no code block"),
        ("```python\nx = (\n```", "full", MalformedReplyError, "not valid Python"),
        ("```python\nprint('score', 1)\n```", "full", MalformedReplyError, "never prints"),
        ("<<<<<<< SEARCH\ny = 1\n=======\ny = 2\n>>>>>>> REPLACE", "patch", PatchError, "not in"),
        (
            "<<<<<<< SEARCH\nx = 1\n=======\nx = 1\n>>>>>>> REPLACE",
            "patch",
            MalformedReplyError,
            "change nothing",
        ),
    ],
)
def test_unusable_script_replies_raise(text: str, mode: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        parse_script_reply(text, EditTarget(mode, SCRIPT))  # type: ignore[arg-type]


def test_check_script_accepts_a_valid_script() -> None:
    check_script(SCRIPT)


def test_data_preview_shows_files_columns_head_and_target(
    toy_competition: tuple[Path, Path],
) -> None:
    competition = load_competition(TOY_ID)
    text = preview_data(competition.public_dir(), competition)
    assert "- train.csv (" in text and "### train.csv: 320 rows x 5 columns" in text
    assert "- x2: float64" in text and "missing" in text
    assert "Head:" in text and "Target `label` balance" in text
    assert "### test.csv: 80 rows x 4 columns" in text and "Columns: id, x1, x2, colour" in text


def test_a_wide_table_lists_every_column_by_name_up_to_a_cap(
    toy_competition: tuple[Path, Path], tmp_path: Path
) -> None:
    competition = load_competition(TOY_ID)
    names = [f"col{i}" for i in range(MAX_COLUMNS_SHOWN + MAX_COLUMN_NAMES + 5)]
    public = tmp_path / "wide"
    public.mkdir()
    train = pd.DataFrame([range(len(names) + 1)], columns=[*names, "label"])
    train.to_csv(public / "train.csv", index=False)
    train.drop(columns="label").to_csv(public / "test.csv", index=False)
    text = preview_data(public, competition)
    detailed, rest = names[:MAX_COLUMNS_SHOWN], [*names[MAX_COLUMNS_SHOWN:], "label"]
    assert f"- {detailed[-1]}: int64" in text and f"- {rest[0]}: int64" not in text
    listed = ", ".join(rest[:MAX_COLUMN_NAMES])
    assert f"- the other {len(rest)} columns: {listed} (and 6 more)" in text
    assert f"Columns: {', '.join(names[:MAX_COLUMN_NAMES])} (and 45 more)" in text


def test_failure_script_exits_nonzero_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "labelled.py"
    path.write_text(failure_script("diagnosis", "the reply has no JSON object"))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert done.returncode == 1 and "no JSON object" in done.stderr
