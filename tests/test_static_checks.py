"""Static checks before a run and their targeted repairs: syntax, undefined names (pyflakes),
unknown columns; the repair shows only the lines around the problem, a repeated reply is
resampled at a higher temperature, and a script that stays broken is a labelled failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome.competitions import load_competition
from gome.optimizer.coding import RESAMPLE_TEMPERATURE
from gome.optimizer.static_checks import find_problems
from gome.proposers.templates import solution as template
from tests.conftest import TOY_ID
from tests.test_optimizer_agent import DIAGNOSIS, Run, agent_for, script_reply, two_drafts

COLUMNS = ("PassengerId", "HomePlanet", "Cabin", "Age", "Spa", "Transported")


def _long_script(bad_line: str) -> str:
    """60 lines; line 30 is `bad_line`, every other line a distinct assignment."""
    lines = [f"v{i} = {i}" for i in range(1, 61)]
    lines[29] = bad_line
    return "\n".join(lines) + "\nprint(f'validation_score: {v1}')\n"


@pytest.fixture
def run(toy_competition: tuple[Path, Path], tmp_path: Path) -> Run:
    return Run(tmp_path, load_competition(TOY_ID))


def test_syntax_error_and_undefined_names_are_found_with_their_lines() -> None:
    (syntax,) = find_problems("x = 1\ny = (\n")
    assert syntax.kind == "syntax" and syntax.line == 2
    problems = find_problems("import pandas as pd\n\nx = undefined_name + 1\nprint(pd, x)\n")
    assert [(p.kind, p.line) for p in problems] == [("undefined-name", 3)]
    assert "undefined name 'undefined_name'" in problems[0].message


def test_builtin_template_passes_every_check() -> None:
    source = Path(template.__file__).read_text()
    assert find_problems(source, COLUMNS) == []


def test_unknown_columns_are_flagged_but_created_derived_and_non_frame_keys_are_not() -> None:
    code = """import pandas as pd
train = pd.read_csv("input/train.csv")
feats = train.copy()
feats["Total"] = feats["Spa"] + feats["Age"]
renamed = train.rename(columns={"Age": "Years"})
params = {"learning_rate": 0.1}
print(feats["Total"], renamed["Years"], train["Cabin_deck"], params["learning_rate"])
print(train["Deck"], feats.Planet, feats.Age, feats.T)


def add(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["HomePlanet", "Destination"]]
"""
    problems = find_problems(code, COLUMNS)
    flagged = {(p.kind, p.line, p.message.split("'")[1]) for p in problems}
    assert flagged == {
        ("unknown-column", 8, "Deck"),
        ("unknown-column", 8, "Planet"),
        ("unknown-column", 12, "Destination"),
    }
    columns = "the data's columns are: PassengerId, HomePlanet, Cabin, Age, Spa, Transported"
    assert columns in problems[0].message  # listed once, on the first problem
    assert not any("the data's columns" in p.message for p in problems[1:])
    by_name = {p.message.split("'")[1]: p.message for p in problems}
    assert "the closest are 'HomePlanet'" in by_name["Planet"]
    assert "closest" not in by_name["Deck"]
    assert find_problems(code, ()) == []  # no known columns: nothing to compare with


def test_label_indexers_are_checked_on_their_column_key() -> None:
    code = """import pandas as pd
train = pd.read_csv("input/train.csv")
train.loc[train["Age"] > 60, "Senior"] = 1
print(train.loc[:, "Age"], train.loc[train["Spa"] > 0, ["Cabin", "Deck"]])
print(train.at[0, "Planet"], train.loc[:, "Senior"], train.iloc[:, 2], train.loc[0])
"""
    flagged = {(p.line, p.message.split("'")[1]) for p in find_problems(code, COLUMNS)}
    assert flagged == {(4, "Deck"), (5, "Planet")}  # "Senior" is created by the .loc store


def test_repair_shows_only_the_lines_around_the_problem(run: Run) -> None:
    two_drafts(run)
    broken = _long_script("v30 = undefined_name")
    fixed_window = "\n".join(f"v{i} = {i}" for i in range(25, 36)) + "\n"
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(broken), script_reply(fixed_window)])
    proposal = agent.propose(run.context())
    assert [p for p, _ in client.calls] == ["gome:diagnosis", "gome:implement", "gome:repair"]
    repair = client.calls[2][1]
    assert len(repair) == 2 and repair[0]["role"] == "system"  # a fresh context
    prompt = repair[1]["content"]
    assert "line 30: undefined name 'undefined_name'" in prompt
    assert "v30 = undefined_name  # <-- problem" in prompt
    assert "v25 = 25" in prompt and "v35 = 35" in prompt  # the window: 5 lines either side
    assert "v24 = 24" not in prompt and "v36 = 36" not in prompt and "v1 = 1\n" not in prompt
    assert "Predict `label`" not in prompt  # not the task, not the conversation
    assert "corrected lines 25-35" in prompt
    assert proposal.operator == "improve" and proposal.code == _long_script("v30 = 30")
    assert proposal.recipe["static_checks"] == [
        {"problems": ["line 30: undefined name 'undefined_name'"], "resampled": False},
        {"problems": []},
    ]


def test_a_repeated_repair_is_resampled_at_a_higher_temperature(run: Run) -> None:
    two_drafts(run)
    broken = _long_script("v30 = undefined_name")
    same = "\n".join(broken.splitlines()[24:35]) + "\n"  # the window back, unchanged
    fixed = same.replace("undefined_name", "30")
    replies = [DIAGNOSIS, script_reply(broken), script_reply(same), script_reply(fixed)]
    agent, client = agent_for(run, replies)
    proposal = agent.propose(run.context())
    assert [p for p, _ in client.calls][2:] == ["gome:repair", "gome:repair"]
    assert client.kwargs[2] == {} and client.kwargs[3] == {"temperature": RESAMPLE_TEMPERATURE}
    assert client.calls[3][1] == client.calls[2][1]  # the same prompt, resampled
    assert proposal.code == _long_script("v30 = 30")
    assert proposal.recipe["static_checks"][0]["resampled"] is True


def test_repairs_are_bounded_and_a_still_broken_script_is_a_labelled_failure(run: Run) -> None:
    two_drafts(run)
    broken = _long_script("v30 = undefined_name")
    window = "\n".join(broken.splitlines()[24:35]) + "\n"
    still = window.replace("undefined_name", "other_undefined")
    replies = [DIAGNOSIS, script_reply(broken), script_reply(still)]
    agent, client = agent_for(run, replies, static_repairs=1, hypothesis_attempts=1)
    proposal = agent.propose(run.context())
    assert len(client.calls) == 3  # diagnosis, implement, one repair
    assert proposal.operator == "malformed-reply"
    assert proposal.recipe["failed_stage"] == "static-check"
    assert "other_undefined" in proposal.recipe["failure"]
    assert len(proposal.recipe["static_checks"]) == 2
    assert "script failed its static checks" in proposal.code


def test_static_checks_off_runs_the_script_unchecked(run: Run) -> None:
    two_drafts(run)
    broken = _long_script("v30 = undefined_name")
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(broken)], static_checks=False)
    proposal = agent.propose(run.context())
    assert proposal.code == broken and len(client.calls) == 2
    assert "static_checks" not in proposal.recipe


def test_a_forgotten_import_is_added_without_a_repair_call(run: Run) -> None:
    two_drafts(run)
    forgot = "import pandas as pd\n\nprint(pd.__name__, np.pi)\nprint('validation_score: 0.8')\n"
    agent, client = agent_for(run, [DIAGNOSIS, script_reply(forgot)])
    proposal = agent.propose(run.context())
    assert len(client.calls) == 2  # diagnosis, implement: no repair needed
    assert proposal.operator == "improve"
    assert proposal.code.startswith("import pandas as pd\nimport numpy as np\n")
    assert proposal.recipe["auto_imports"] == ["import numpy as np"]
    assert proposal.recipe["static_checks"] == [{"problems": []}]
