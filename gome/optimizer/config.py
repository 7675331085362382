"""GoME's knobs: every algorithmic piece has a flag, so each can be ablated.

`GomeConfig.as_recipe()` is written into every proposal's recipe, so the journal (and from it
batch evaluation) knows which variant produced each trial.

`Scaffolding` holds what helps a model that writes broken scripts (a built-in θ₀, slot edits,
static checks with repairs, prompt and reply caps); GoME and AIDE share it, so a comparison can
hold it fixed. `scaffolding_defaults` is the one rule for its defaults per model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

EditMode = Literal["full", "patch", "slot"]
Initialisation = Literal["draft", "builtin"]
EDIT_MODES = ("full", "patch", "slot")
# prompt cap of a small local model: 2 CPU cores prefill ~30-160 tokens/s
LOCAL_MAX_PROMPT_TOKENS = 3000


@dataclass(frozen=True)
class Scaffolding:
    """How an agent's coding steps are helped; the defaults suit a capable API model."""

    # θ₀ / first draft: written by the LLM, or the built-in proposer's script
    initialisation: Initialisation = "draft"
    # the new script: a whole file, search/replace patches to the parent, or one slot function
    # of a built-in parent (`add_features`, `model_params`) spliced in and checked alone
    edit_mode: EditMode = "full"
    # syntax, undefined names and unknown columns checked before a run; each failure gets up
    # to `static_repairs` targeted repairs
    static_checks: bool = True
    static_repairs: int = 2
    # slot mode: a failing check whose line is in one statement of the slot drops that
    # statement (no model call) when the rest then passes every check; else a repair is asked
    prune: bool = True
    # cap on prompt tokens below the context window (None: the window less the reply)
    max_prompt_tokens: int | None = None
    # the most tokens of each reply (None: the endpoint's, 2048 for a local model, 8192 for
    # an API one); a small model that falls into repeating itself stops here
    max_reply_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.edit_mode not in EDIT_MODES:
            raise ValueError(f"edit_mode must be one of {EDIT_MODES}, not {self.edit_mode!r}")
        if self.initialisation not in ("draft", "builtin"):
            raise ValueError("initialisation must be 'draft' or 'builtin'")
        if self.static_repairs < 0:
            raise ValueError("static_repairs must be at least 0")
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 0:
            raise ValueError("max_prompt_tokens must be positive (0 or None: no cap)")
        if self.max_reply_tokens is not None and self.max_reply_tokens < 1:
            raise ValueError("max_reply_tokens must be at least 1 (None: the endpoint's)")


def is_local_model(model: str | None) -> bool:
    """Whether `--model` names an embedded local model (no model: local unless a provider
    key is set, as `gome solve` resolves it)."""
    from gome.models.resolve import LOCAL, provider_default

    name = model or provider_default() or LOCAL
    return name == LOCAL or name.startswith(f"{LOCAL}:")


def scaffolding_defaults(model: str | None) -> dict[str, Any]:
    """The one rule for scaffolding defaults: a small local model starts from the built-in
    script, edits one slot, gets static checks and short prompts; any other model keeps each
    agent's own defaults (an empty dict)."""
    if not is_local_model(model):
        return {}
    return {
        "initialisation": "builtin",
        "edit_mode": "slot",
        "static_checks": True,
        "max_prompt_tokens": LOCAL_MAX_PROMPT_TOKENS,
    }


def with_scaffolding_defaults(settings: dict[str, Any], model: str | None) -> dict[str, Any]:
    """An agent's settings from the command line (None: flag not given), completed by
    `scaffolding_defaults(model)`."""
    given = {key: value for key, value in settings.items() if value is not None}
    return {**scaffolding_defaults(model), **given}


@dataclass(frozen=True)
class GomeConfig(Scaffolding):
    """Settings of the GoME agent; the defaults are the full algorithm."""

    # LLM drafts (initialisation="draft") until this many are done and one is valid
    num_drafts: int = 2
    # gradient: hypotheses kept after scoring, and whether one is drawn in proportion to its
    # score (off: always the top one)
    top_k: int = 5
    weighted_draw: bool = True
    # an improve step whose code fails every check and repair (or whose reply is unusable)
    # tries another of its top hypotheses (then a problem no hypothesis answered, stated as
    # the change), up to this many in all: a small model's failure is often the idea's, and
    # a second idea costs less than a wasted step
    hypothesis_attempts: int = 2
    # acceptance: staged (validity, integrity, clearly better, tie-break) or plain greedy
    staged_acceptance: bool = True
    relative_tolerance: float = 1e-3
    absolute_tolerance: float = 1e-4
    # staged acceptance also rejects a win whose generalisation-guard score regressed
    guard_acceptance: bool = True
    # momentum = success memory; off keeps only the failed directions
    momentum: bool = True
    momentum_size: int = 6
    momentum_decay: float = 0.8
    failure_memory_size: int = 6
    # step-size schedule (rewrite -> component swap -> hyper-parameter tweak)
    schedule: bool = True
    escalate_after: int = 2
    # warm restart of a stalled trace from a fresh initialisation
    restart: bool = True
    restart_patience: int = 6
    # debug steps for failed candidates: fix attempts in a row, traceback + code only
    debug: bool = True
    max_debug_attempts: int = 2
    # parallel traces; each is told what its siblings try so they diverge
    traces: int = 1
    diversify: bool = True
    # merge the best traces' scripts in the last fraction of the budget (0 = never)
    merge_fraction: float = 0.15
    # with a seed proposer (initialisation "builtin"): one more trial slot, where the seed
    # proposer's next recipe runs while every trace's own step is being written or run, so
    # the CPU never idles through an LLM step
    coworker: bool = True
    # OMEGA registry algorithms (`gome omega generate`) offered as model choices in the
    # prompts of tabular tasks: the best this many of the task's type (0 = none)
    omega_models: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.top_k, self.traces, self.num_drafts, self.hypothesis_attempts) < 1:
            raise ValueError("top_k, traces, num_drafts and hypothesis_attempts must be at least 1")
        if self.omega_models < 0:
            raise ValueError("omega_models must be at least 0")
        if not 0.0 <= self.merge_fraction < 1.0:
            raise ValueError("merge_fraction must be in [0, 1)")

    def as_recipe(self) -> dict[str, Any]:
        return asdict(self)
