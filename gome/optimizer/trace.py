"""A trace's state, replayed from the journal: its current best script, memory and stall count.

Nothing is kept in the agent between calls that the journal does not hold: each proposal's
recipe names its trace, segment (incremented by a warm restart) and step kind, and replaying
the trace's trials through acceptance rebuilds the rest. A resumed run therefore continues
exactly where the killed one stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gome.journal import Trial
from gome.optimizer.acceptance import Candidate, decide
from gome.optimizer.config import GomeConfig
from gome.optimizer.momentum import StepRecord

AGENT_NAME = "gome"
# step kinds written to recipe["step"]
INIT_STEPS = frozenset({"draft", "init-builtin", "restart"})
MALFORMED_STEP = "malformed-reply"
# the seed proposer's steps while the model is busy (`GomeConfig.coworker`): they may become
# a trace's θ, but they are not the model's steps, so they never count as its failures, its
# stall, or its latest trial (the one a debug step fixes and a diagnosis reads)
COWORKER_STEP = "coworker"


def trace_of(trial: Trial) -> int | None:
    """The GoME trace a trial belongs to, or None for trials of other agents."""
    if trial.agent != AGENT_NAME:
        return None
    trace = trial.recipe.get("trace")
    return trace if isinstance(trace, int) else None


def step_of(trial: Trial) -> str:
    return str(trial.recipe.get("step", trial.operator))


def segment_of(trial: Trial) -> int:
    segment = trial.recipe.get("segment", 0)
    return segment if isinstance(segment, int) else 0


def _score(trial: Trial) -> str:
    return f"{trial.validation_score:.6g}" if trial.validation_score is not None else "none"


@dataclass(frozen=True)
class TraceState:
    index: int
    segment: int
    segment_trials: tuple[Trial, ...]
    incumbent: Trial | None  # the current best script θ of the current segment
    steps_since_improvement: int
    successes: tuple[StepRecord, ...]  # accepted steps, all segments, oldest first
    failures: tuple[StepRecord, ...]  # rejected steps, current segment only

    @property
    def last(self) -> Trial | None:
        """The latest of the model's own steps (co-worker steps left out)."""
        own = [t for t in self.segment_trials if step_of(t) != COWORKER_STEP]
        return own[-1] if own else None

    @property
    def init_steps(self) -> int:
        return sum(1 for t in self.segment_trials if step_of(t) in INIT_STEPS)

    @property
    def debug_depth(self) -> int:
        """Debug steps in a row at the end of the segment."""
        depth = 0
        for trial in reversed(self.segment_trials):
            if step_of(trial) != "debug":
                break
            depth += 1
        return depth

    @property
    def last_is_debuggable(self) -> bool:
        """The last trial failed to run or to score (integrity flags are not bugs)."""
        last = self.last
        return (
            last is not None
            and (last.label != "ok" or last.validation_score is None)
            and step_of(last) != MALFORMED_STEP
        )


def replay_trace(
    index: int,
    history: Sequence[Trial],
    code_lines: Callable[[Trial], int],
    config: GomeConfig,
    higher_is_better: bool,
) -> TraceState:
    """Rebuild trace `index` from the history (in journal order)."""
    trials = [t for t in history if trace_of(t) == index]
    segment = max((segment_of(t) for t in trials), default=0)
    incumbent: Trial | None = None
    since = 0
    successes: list[StepRecord] = []
    failures: list[StepRecord] = []
    current = 0
    for trial in trials:
        if segment_of(trial) < current:
            continue  # finished after its trace restarted: stale
        if segment_of(trial) > current:  # a warm restart: fresh θ, failures forgotten
            current, incumbent, since, failures = segment_of(trial), None, 0, []
        decision = decide(
            Candidate(trial, code_lines(trial)),
            Candidate(incumbent, code_lines(incumbent)) if incumbent is not None else None,
            higher_is_better=higher_is_better,
            staged=config.staged_acceptance,
            relative_tolerance=config.relative_tolerance,
            absolute_tolerance=config.absolute_tolerance,
            guard=config.guard_acceptance,
        )
        if decision.accepted:
            before = _score(incumbent) if incumbent is not None else "first valid"
            successes.append(StepRecord(trial.id, trial.hypothesis, f"{before} -> {_score(trial)}"))
            incumbent = trial
        elif step_of(trial) == COWORKER_STEP:
            continue
        else:
            failures.append(StepRecord(trial.id, trial.hypothesis, decision.reason))
        if decision.improved:
            since = 0
        elif incumbent is not None:
            since += 1
    return TraceState(
        index=index,
        segment=segment,
        segment_trials=tuple(t for t in trials if segment_of(t) == segment),
        incumbent=incumbent,
        steps_since_improvement=since,
        successes=tuple(successes),
        failures=tuple(failures),
    )
