"""GoME's knobs: every algorithmic piece has a flag, so each can be ablated.

`GomeConfig.as_recipe()` is written into every proposal's recipe, so the journal (and from it
batch evaluation) knows which variant produced each trial.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

EditMode = Literal["full", "patch"]
Initialisation = Literal["draft", "builtin"]


@dataclass(frozen=True)
class GomeConfig:
    """Settings of the GoME agent; the defaults are the full algorithm."""

    # initialisation: LLM drafts from task + data preview + hardware, or the built-in
    # proposer's script as θ₀ (what a small local model needs)
    initialisation: Initialisation = "draft"
    num_drafts: int = 2
    # the new script: a whole file, or search/replace patches applied to the parent
    edit_mode: EditMode = "full"
    # gradient: hypotheses kept after scoring, and whether one is drawn in proportion to its
    # score (off: always the top one)
    top_k: int = 5
    weighted_draw: bool = True
    # acceptance: staged (validity, integrity, clearly better, tie-break) or plain greedy
    staged_acceptance: bool = True
    relative_tolerance: float = 1e-3
    absolute_tolerance: float = 1e-4
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

    def __post_init__(self) -> None:
        if self.edit_mode not in ("full", "patch"):
            raise ValueError(f"edit_mode must be 'full' or 'patch', not {self.edit_mode!r}")
        if self.initialisation not in ("draft", "builtin"):
            raise ValueError("initialisation must be 'draft' or 'builtin'")
        if self.top_k < 1 or self.traces < 1 or self.num_drafts < 1:
            raise ValueError("top_k, traces and num_drafts must be at least 1")
        if not 0.0 <= self.merge_fraction < 1.0:
            raise ValueError("merge_fraction must be in [0, 1)")

    def as_recipe(self) -> dict[str, Any]:
        return asdict(self)
