"""Prompts fit the model's context window: token counting, the trimming order, the budget of a
client, the small-model defaults, and the size of a slot-mode improve prompt on a realistic
(spaceship-like) preview."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gome import competitions
from gome.agent import SearchContext
from gome.competitions import load_competition
from gome.environment import describe_environment
from gome.optimizer.budget import DEFAULT_CONTEXT_WINDOW, PromptBudget, context_window
from gome.optimizer.config import (
    LOCAL_MAX_PROMPT_TOKENS,
    scaffolding_defaults,
    with_scaffolding_defaults,
)
from gome.optimizer.diagnosis import Hypothesis, Problem
from gome.optimizer.prompts import (
    TRIM_CODE,
    TRIM_HISTORY,
    TRIM_OUTPUT,
    TRIM_PREVIEW,
    TRIM_SIBLINGS,
    Briefing,
    Cut,
    EditTarget,
    diagnosis_messages,
    fit_conversation,
    implement_messages,
)
from gome.proposers.builtin import BuiltinProposer

REPO = Path(__file__).resolve().parents[1]
SPACESHIP_ID = "spaceship-like"


class LocalClient:
    """What the agents read of an `LLMClient` serving the 0.5B model on 127.0.0.1."""

    model = "openai/qwen2.5-coder-0.5b"
    context_window = 16384
    max_tokens = 2048


def _body(messages: list[dict[str, str]]) -> str:
    return messages[1]["content"]


def test_fallback_counter_for_local_and_unknown_models_litellm_for_known_ones() -> None:
    text = "def add_features(frame):\n    return frame\n" * 20
    assert PromptBudget(model="openai/qwen2.5-coder-0.5b").count(text) == len(text) // 3
    assert PromptBudget().count(text) == len(text) // 3
    known = PromptBudget(model="openai/gpt-4o-mini").count(text)  # offline: bundled tokenizer
    assert 0 < known != len(text) // 3
    assert context_window("openai/qwen2.5-coder-0.5b") == DEFAULT_CONTEXT_WINDOW
    assert context_window("openai/gpt-4o-mini") >= 100_000


def test_client_budget_is_window_less_reply_and_capped() -> None:
    assert PromptBudget.for_client(LocalClient()).max_prompt_tokens == 16384 - 2048
    capped = PromptBudget.for_client(LocalClient(), cap=LOCAL_MAX_PROMPT_TOKENS)
    assert capped.max_prompt_tokens == LOCAL_MAX_PROMPT_TOKENS
    assert PromptBudget.for_client(object()).max_prompt_tokens == DEFAULT_CONTEXT_WINDOW - 4096
    # a reply limit set for the agent (--max-reply-tokens, the client's) is what the window
    # keeps back
    shorter = LocalClient()
    shorter.max_tokens = 600
    assert PromptBudget.for_client(shorter).max_prompt_tokens == 16384 - 600


def test_trimming_order_outputs_preview_history_siblings_code_never_essentials() -> None:
    def cut(name: str, rank: int) -> Cut:
        return Cut((f"{name} " + "x" * 300, f"{name} short", ""), rank)

    sections = [
        "TASK essentials",
        cut("CODE", TRIM_CODE),
        cut("SIBLINGS", TRIM_SIBLINGS),
        cut("HISTORY", TRIM_HISTORY),
        cut("PREVIEW", TRIM_PREVIEW),
        cut("OUTPUT", TRIM_OUTPUT),
        "REPLY FORMAT",
    ]
    full = _body(fit_conversation("sys", PromptBudget(), sections))
    steps = []
    for limit in range(len(full) // 3, 0, -25):
        body = _body(fit_conversation("sys", PromptBudget(limit), sections))
        steps.append(
            {
                name: (f"{name} x" in body, f"{name} short" in body)
                for name in ("OUTPUT", "PREVIEW", "HISTORY", "SIBLINGS", "CODE")
            }
        )
        assert "TASK essentials" in body and "REPLY FORMAT" in body
    # the first section to lose its long form is the output, the last the code
    order = []
    for state in steps:
        for name, (long, _) in state.items():
            if not long and name not in order:
                order.append(name)
    assert order == ["OUTPUT", "PREVIEW", "HISTORY", "SIBLINGS", "CODE"]
    # an output is dropped entirely before the preview loses its rows
    first_preview_cut = next(s for s in steps if not s["PREVIEW"][0])
    assert first_preview_cut["OUTPUT"] == (False, False)


@pytest.fixture
def spaceship_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SearchContext:
    """Spaceship Titanic's spec, description and columns, with synthetic rows."""
    folder = tmp_path / "competitions" / SPACESHIP_ID
    folder.mkdir(parents=True)
    spec = yaml.safe_load((REPO / "competitions/spaceship-titanic/competition.yaml").read_text())
    spec["id"] = SPACESHIP_ID
    (folder / "competition.yaml").write_text(yaml.safe_dump(spec))
    shutil.copy(REPO / "competitions/spaceship-titanic/description.md", folder)
    rng = np.random.default_rng(0)
    n = 600
    spends = {
        c: rng.exponential(300, n).round() * (rng.random(n) < 0.4)
        for c in ("RoomService", "FoodCourt", "ShoppingMall", "Spa", "VRDeck")
    }
    frame = pd.DataFrame(
        {
            "PassengerId": [f"{i // 2:04d}_{i % 2 + 1:02d}" for i in range(n)],
            "HomePlanet": rng.choice(["Earth", "Europa", "Mars"], n),
            "CryoSleep": rng.choice([True, False], n),
            "Cabin": [
                f"{d}/{k}/{s}"
                for d, k, s in zip(
                    rng.choice(list("ABCDEFG"), n),
                    rng.integers(0, 1800, n),
                    rng.choice(["P", "S"], n),
                    strict=True,
                )
            ],
            "Destination": rng.choice(["TRAPPIST-1e", "55 Cancri e", "PSO J318.5-22"], n),
            "Age": rng.integers(0, 80, n).astype(float),
            "VIP": rng.choice([True, False], n),
            **spends,
            "Name": [f"Name{i} Family{i // 3}" for i in range(n)],
            "Transported": rng.choice([True, False], n),
        }
    )
    public = tmp_path / "data" / SPACESHIP_ID / "prepared" / "public"
    public.mkdir(parents=True)
    frame.iloc[:500].to_csv(public / "train.csv", index=False)
    frame.iloc[500:].drop(columns="Transported").to_csv(public / "test.csv", index=False)
    frame.iloc[500:][["PassengerId"]].assign(Transported=False).to_csv(
        public / "sample_submission.csv", index=False
    )
    monkeypatch.setenv("GOME_COMPETITIONS_DIR", str(tmp_path / "competitions"))
    monkeypatch.setenv("GOME_DATA_DIR", str(tmp_path / "data"))
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()
    competition = load_competition(SPACESHIP_ID)
    yield SearchContext(
        competition=competition,
        public_dir=competition.public_dir(),
        history=[],
        trial_timeout_s=600.0,
        time_left_s=3000.0,
        environment=describe_environment(),
        rng=random.Random(0),
    )
    competitions.list_competition_ids.cache_clear()
    competitions.load_competition.cache_clear()


def test_slot_mode_improve_prompts_for_the_local_model_fit_in_3000_tokens(
    spaceship_like: SearchContext,
) -> None:
    parent = BuiltinProposer().propose(spaceship_like).code
    budget = PromptBudget.for_client(LocalClient(), cap=LOCAL_MAX_PROMPT_TOKENS)
    briefing = Briefing.from_context(spaceship_like, {}, budget)
    output = "lightgbm seed 0: 0.80123\n" * 150 + "validation_score: 0.80123"
    evidence = (f"Trial t0002 (improve): add a deck feature\n```\n{output}\n```", "Trial t0002")
    memory = "\n".join(
        f"- [0.80] t000{i}: a feature idea number {i} -> 0.79 -> 0.80" for i in range(6)
    )
    hypothesis = Hypothesis(
        Problem("scenario", "cabin deck is unused"),
        "split Cabin into deck, number and side and add the deck as a category",
        {"alignment": 8.0},
    )
    count = PromptBudget().count  # the fallback counter: len(text) // 3
    sizes = {}
    for mode in ("full", "slot"):
        diagnosis = diagnosis_messages(
            briefing, parent, "t0001, validation score 0.8", evidence, memory, "", None, mode
        )
        target = EditTarget.resolve(mode, parent, hypothesis.statement)
        implement = implement_messages(briefing, target, hypothesis, None)
        sizes[mode] = [count("\n".join(m["content"] for m in p)) for p in (diagnosis, implement)]
    assert max(sizes["slot"]) < 3000, sizes
    assert min(sizes["full"]) > 3000, sizes  # the whole script alone is far over it
    slot_prompt = _body(implement)
    assert "def add_features(frame: pd.DataFrame)" in slot_prompt
    assert "- Cabin: str" in slot_prompt or "- Cabin: object" in slot_prompt  # columns, dtypes
    assert "Predict `Transported`" in slot_prompt and "split Cabin into deck" in slot_prompt


def test_small_local_models_default_to_builtin_slot_and_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "DEEPSEEK_API_KEY",
        "MISTRAL_API_KEY",
    ):
        monkeypatch.delenv(key, raising=False)
    local = {
        "initialisation": "builtin",
        "edit_mode": "slot",
        "static_checks": True,
        "max_prompt_tokens": LOCAL_MAX_PROMPT_TOKENS,
    }
    assert scaffolding_defaults("local:qwen2.5-coder-0.5b") == local
    assert scaffolding_defaults(None) == local  # no key: gome solve serves the local model
    assert scaffolding_defaults("openai/gpt-4.1-mini") == {}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert scaffolding_defaults(None) == {}
    flags = {"edit_mode": "patch", "initialisation": None, "static_checks": None}
    assert with_scaffolding_defaults(flags, "local") == local | {"edit_mode": "patch"}
    assert with_scaffolding_defaults(flags, "openai/gpt-4.1-mini") == {"edit_mode": "patch"}
