"""`gome solve`: one agent, one competition, one wall-clock budget.

The loop owns the harness: it asks the agent for a script, runs it in the sandbox, audits
it, journals it durably, and keeps the best valid submission on disk at every moment
(`<run>/submission.csv`, `<run>/best_solution.py`), so stopping at any time leaves a gradable
result. A killed run resumes from its journal without redoing finished trials.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gome.agent import Agent, Proposal, SearchContext
from gome.competitions import Competition, load_competition
from gome.environment import SEED_ENV, describe_environment
from gome.errors import GomeError
from gome.final_selection import SELECTION_FILE, choose_final, next_rerun, top_trials
from gome.grading import CompetitionReport, grade_submission, validate_submission
from gome.guard import (
    DEFAULT_FRACTION,
    GUARD_REGRESSION,
    VALIDATION_GAP,
    GuardScore,
    build_guard,
    guard_regressed,
    validation_gap,
)
from gome.integrity import check_submission, scan_code
from gome.journal import (
    FINAL_REFIT,
    FINAL_SEED,
    HARNESS_OPERATORS,
    Journal,
    Trial,
    code_hash,
)
from gome.llm import (
    LEDGER_FILE,
    BudgetExceededError,
    DeadlineReachedError,
    LLMClient,
    LLMError,
)
from gome.optimizer.config import Scaffolding
from gome.runner import Limits, RunResult, isolation_mode, run_script

RUN_CONFIG_FILE = "run.json"
DEFAULT_FINAL_TOP_K = 3
DEFAULT_FINAL_SHARE = 0.15
REFIT_MARGIN = 1.25  # the final refit has more rows to fit than the run it repeats
MIN_TRIAL_SECONDS = 15.0
MAX_LLM_FAILURES = 5
LLM_FAILURE_PAUSE_S = 10.0
# A proposer whose scripts keep failing within seconds would otherwise spin (one run logged
# 1,172 crashes in 10 minutes): after a few free ones, pause 1, 2, 4 ... 30 s between them.
FAST_FAILURE_S = 5.0
FREE_FAST_FAILURES = 3
MAX_BACKOFF_S = 30.0


def failure_backoff_s(fast_failures_in_a_row: int) -> float:
    """Seconds to wait before the next trial after this many quick failures in a row."""
    excess = fast_failures_in_a_row - FREE_FAST_FAILURES
    return 0.0 if excess <= 0 else min(MAX_BACKOFF_S, 2.0 ** (excess - 1))


class Retry:
    """Marker: the proposal failed transiently (an LLM error); ask again after a pause."""


RETRY = Retry()


@dataclass(frozen=True)
class SolveConfig:
    """Everything that defines a run; saved as `run.json` so `--resume` needs no flags."""

    competition_id: str
    budget_s: float
    agent: str = "builtin"
    model: str | None = None
    gpu: int | None = None
    workers: int = 1
    seed: int = 0
    data_dir: str | None = None
    trial_timeout_s: float | None = None
    # the search ends after this many of the agent's trials (the harness's final re-runs and
    # refit not counted), or when the budget is spent; None: the budget alone
    max_steps: int | None = None
    memory_bytes: int | None = None
    api_base: str | None = None
    max_dollars: float | None = None
    # agent settings: GoME's ablation flags (`GomeConfig` fields), AIDE's (`AideConfig` fields)
    gome: dict[str, Any] = field(default_factory=dict)
    aide: dict[str, Any] = field(default_factory=dict)
    # share of the public train rows held out as the generalisation guard (gome/guard.py)
    guard_fraction: float = DEFAULT_FRACTION
    # multi-seed final selection (gome/final_selection.py): how many trials, how much budget
    final_top_k: int = DEFAULT_FINAL_TOP_K
    final_share: float = DEFAULT_FINAL_SHARE

    def __post_init__(self) -> None:
        if not 0.0 <= self.guard_fraction <= 0.5:
            raise GomeError("--guard-fraction must be between 0 (off) and 0.5.")
        if self.final_top_k < 0:
            raise GomeError("--final-top-k must be at least 0 (0: no final re-runs).")
        if not 0.0 <= self.final_share < 1.0:
            raise GomeError("--final-share must be at least 0 (off) and below 1.")
        if self.max_steps is not None and self.max_steps < 1:
            raise GomeError("--max-steps must be at least 1.")

    @property
    def effective_trial_timeout_s(self) -> float:
        """Per-trial wall-clock cap: a quarter of the budget, between 1 minute and 1 hour."""
        if self.trial_timeout_s:
            return self.trial_timeout_s
        return min(3600.0, max(60.0, self.budget_s / 4))


@dataclass
class RunStatus:
    """Live counters for the progress display."""

    budget_s: float
    elapsed_before_s: float = 0.0
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    failed: int = 0
    best_score: float | None = None
    best_trial: str | None = None
    running: dict[str, str] = field(default_factory=dict)  # trial id -> operator

    @property
    def elapsed_s(self) -> float:
        return self.elapsed_before_s + time.monotonic() - self.started

    @property
    def time_left_s(self) -> float:
        return max(0.0, self.budget_s - self.elapsed_s)

    @property
    def ends_at(self) -> float:
        """The `time.monotonic()` instant the budget ends."""
        return self.started - self.elapsed_before_s + self.budget_s


@dataclass(frozen=True)
class SolveOutcome:
    run_dir: Path
    best: Trial | None
    report: CompetitionReport
    trials: int


# A reply longer than this is a model rambling, not a script.
MAX_REPLY_TOKENS = 8192
# A small local model decodes at 20-40 tokens/s on 2 cores and, left alone, can ramble for
# minutes; its replies (a JSON diagnosis, a patch, one function) fit well inside this.
LOCAL_MAX_REPLY_TOKENS = 2048

AGENTS = ("builtin", "gome", "aide")
LLM_AGENTS = ("gome", "aide")


def with_selection_defaults(agent: str, **given: float | None) -> dict[str, float]:
    """The guard and final-pick settings given (None: not given), completed per agent.

    On for the LLM agents, whose scripts can overfit or leak into their own validation score;
    off for the built-in proposer, whose catalogue scripts use leak-free CV and average seeds
    already, and would only lose a tenth of their training rows to the guard.
    """
    llm = agent in LLM_AGENTS
    defaults = {
        "guard_fraction": DEFAULT_FRACTION if llm else 0.0,
        "final_top_k": DEFAULT_FINAL_TOP_K if llm else 0,
        "final_share": DEFAULT_FINAL_SHARE,
    }
    return defaults | {key: value for key, value in given.items() if value is not None}


@dataclass(frozen=True)
class Endpoint:
    """Where LLM calls go for this session of a run (a local server's port changes per run)."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    max_reply_tokens: int = MAX_REPLY_TOKENS
    context_window: int | None = None  # a local server's n_ctx; None: litellm's, or a default


def _llm_client(
    config: SolveConfig,
    run_dir: Path,
    endpoint: Endpoint | None,
    deadline: Callable[[], float],
    scaffolding: Scaffolding,
) -> LLMClient:
    """The run's client; its reply limit is the agent's `max_reply_tokens`, else the
    endpoint's (prompt budgets read it from the client)."""
    endpoint = endpoint or Endpoint(config.model or "", config.api_base)
    if not endpoint.model:
        raise GomeError(f"--agent {config.agent} needs --model (a litellm model or local).")
    return LLMClient(
        endpoint.model,
        api_base=endpoint.api_base,
        api_key=endpoint.api_key,
        ledger_path=run_dir / LEDGER_FILE,
        cache_dir=run_dir / "llm_cache",
        max_dollars=config.max_dollars,
        max_tokens=scaffolding.max_reply_tokens or endpoint.max_reply_tokens,
        context_window=endpoint.context_window,
        deadline=deadline,
    )


def _settings(cls: type, values: dict[str, Any], agent: str) -> Any:
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise GomeError(f"Invalid {agent} settings: {exc}") from exc


def make_agent(
    config: SolveConfig,
    run_dir: Path,
    endpoint: Endpoint | None,
    deadline: Callable[[], float],
) -> Agent:
    """The agent a run names; each names itself on every trial and in every output.

    `deadline` (asked before each LLM call: a `time.monotonic()` instant) bounds every LLM
    call, so a slow model can never hold the run past its search time and eat the time kept
    for the final re-runs.
    """
    from gome.proposers.builtin import BuiltinProposer

    if config.agent == "builtin":
        return BuiltinProposer()
    if config.agent == "gome":
        from gome.optimizer import GomeAgent, GomeConfig

        gome_config = _settings(GomeConfig, config.gome, "GoME")
        seed = BuiltinProposer() if gome_config.initialisation == "builtin" else None
        client = _llm_client(config, run_dir, endpoint, deadline, gome_config)
        return GomeAgent(
            client, gome_config, run_dir=run_dir, seed_proposer=seed, budget_s=config.budget_s
        )
    if config.agent == "aide":
        from baselines.aide import AideAgent, AideConfig

        aide_config = _settings(AideConfig, config.aide, "AIDE")
        seed = BuiltinProposer() if aide_config.initialisation == "builtin" else None
        client = _llm_client(config, run_dir, endpoint, deadline, aide_config)
        return AideAgent(client, aide_config, run_dir=run_dir, seed_proposer=seed)
    raise GomeError(f"Unknown agent {config.agent!r}. Available: {', '.join(AGENTS)}.")


def new_run_dir(config: SolveConfig, root: Path = Path("runs")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return root / f"{config.competition_id}_{config.agent}_{stamp}"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SolveRun:
    """One run folder: its config, journal, best-so-far files and the search loop."""

    def __init__(
        self,
        run_dir: Path,
        config: SolveConfig,
        elapsed_before_s: float = 0.0,
        endpoint: Endpoint | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.config = config
        self.competition: Competition = load_competition(config.competition_id)
        # trials read the guarded view; the original public data is what submissions follow
        self.original_public_dir = self.competition.public_dir(config.data_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.guard, guard_line = build_guard(
            self.competition, self.original_public_dir, run_dir, config.guard_fraction, config.seed
        )
        self.log(guard_line)
        self.public_dir = self.guard.view_dir if self.guard else self.original_public_dir
        self.journal = Journal(run_dir)
        self.status = RunStatus(budget_s=config.budget_s, elapsed_before_s=elapsed_before_s)
        self.agent = make_agent(config, run_dir, endpoint, self._search_deadline)
        self.in_flight: dict[str, Proposal] = {}
        self.final_in_flight: set[tuple[str, int]] = set()  # (trial id, seed) being re-run
        self.llm_failures = 0
        self.fast_failures = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.interrupted = False
        self.search_over_because = ""  # logged once, when the search stops taking steps
        self.refit_trial: str | None = None  # whose submission.csv is kept, when refitted
        self.rng = random.Random(config.seed + len(self.journal))
        self._next_number = max((int(t.id[1:]) for t in self.journal), default=0) + 1
        best = self.journal.best(self.competition.direction)
        if best is not None:
            self.status.best_score, self.status.best_trial = best.validation_score, best.id
        self.status.done = len(self.journal)
        self.status.failed = len(self.journal.failed)

    # -- persistence ------------------------------------------------------------------------
    def save_config(self) -> None:
        payload = {"config": asdict(self.config), "elapsed_s": self.status.elapsed_s}
        _atomic_write_text(self.run_dir / RUN_CONFIG_FILE, json.dumps(payload, indent=2))

    def log(self, message: str) -> None:
        with (self.run_dir / "run.log").open("a", encoding="utf-8") as fh:
            fh.write(f"{_now()} {message}\n")

    # -- one trial --------------------------------------------------------------------------
    def _propose(self) -> tuple[str, Proposal, float] | None | Retry:
        """The agent's next proposal, registered in flight under a new trial id.

        The agent proposes outside the run's lock: an LLM step takes minutes, and meanwhile
        the other workers' trials must be journaled and new ones proposed (agents keep their
        own state thread-safe)."""
        with self.lock:
            if self.stop.is_set() or self._search_over():
                return None
            context = SearchContext(
                competition=self.competition,
                public_dir=self.public_dir,
                # final-seed re-runs are the harness's, not steps of the agent's search
                history=self._agent_steps(),
                trial_timeout_s=self._trial_timeout(),
                time_left_s=self._search_time_left(),
                environment=describe_environment(),
                rng=self.rng,
                in_flight=list(self.in_flight.values()),
            )
        proposing = time.monotonic()
        try:
            proposal = self.agent.propose(context)
        except DeadlineReachedError as exc:
            # the search is over, not the run: the final re-runs and the refit still go
            self.log(f"search over: {exc}")
            return None
        except BudgetExceededError as exc:
            self.log(f"stop: {exc}")
            self.stop.set()
            return None
        except LLMError as exc:
            # a provider outage must not kill the run: pause, stop after repeated failures
            with self.lock:
                self.llm_failures += 1
                self.log(f"llm error ({self.llm_failures}/{MAX_LLM_FAILURES}): {exc}")
                if self.llm_failures >= MAX_LLM_FAILURES:
                    self.stop.set()
                    return None
            return RETRY
        # the LLM agents' time in `propose` is their model calls; the built-in one has none
        llm_s = time.monotonic() - proposing if self.config.agent in LLM_AGENTS else 0.0
        with self.lock:
            if self.stop.is_set():
                return None
            self.llm_failures = 0
            trial_id = self._take_trial_id()
            self.status.running[trial_id] = proposal.operator
            self.in_flight[trial_id] = proposal
        return trial_id, proposal, llm_s

    def _take_trial_id(self) -> str:
        """The next unused trial id (call with the lock held)."""
        trial_id = f"t{self._next_number:04d}"
        self._next_number += 1
        return trial_id

    def _trial_timeout(self, *, final: bool = False) -> float:
        """A trial's wall-clock cap; a search trial must end before the final reserve."""
        left = self.status.time_left_s if final else self._search_time_left()
        return max(1.0, min(self.config.effective_trial_timeout_s, left))

    def run_one(self) -> Trial | None:
        """Propose, execute, audit and journal one trial; None when the budget is spent.

        In the final share of the budget it re-runs the best trials with other seeds instead,
        once there is a valid trial to re-run (`gome/final_selection.py`).
        """
        if not self._final_phase():
            proposed = self._propose()
            while proposed is RETRY:
                self.stop.wait(LLM_FAILURE_PAUSE_S)
                proposed = self._propose()
            if isinstance(proposed, tuple):
                trial_id, proposal, llm_s = proposed
                return self._execute(trial_id, proposal, llm_s=llm_s)
            if not self._final_phase():
                return None
        return self._final_step()

    def _final_step(self) -> Trial | None:
        """The next final-seed re-run that fits; None when none is left (or on stop)."""
        with self.lock:
            if self.stop.is_set():
                return None
            rerun = next_rerun(
                self.journal.trials,
                self.competition.direction,
                self.config.final_top_k,
                self.status.time_left_s - self._refit_reserve_s(),
                self.final_in_flight,
            )
            if rerun is None:
                self.log("final phase: no re-run left that fits in the time left")
                return None
            self.final_in_flight.add((rerun[0].id, rerun[1]))
        return self._rerun(*rerun)

    def _execute(
        self,
        trial_id: str,
        proposal: Proposal,
        *,
        llm_s: float = 0.0,
        seed: int = 0,
        public_dir: Path | None = None,
    ) -> Trial:
        """Run a proposal's script in the sandbox with `GOME_SEED=seed`; audit and journal it.
        `public_dir`: other data than the trials' view (the final refit's original data)."""
        trial_dir = self.run_dir / "trials" / trial_id
        if trial_dir.exists():  # left by a trial in flight when an earlier session was killed
            shutil.rmtree(trial_dir)
        trial_dir.mkdir(parents=True)
        script = trial_dir / "solution.py"
        script.write_text(proposal.code, encoding="utf-8")
        started_at = _now()
        limits = Limits(
            timeout_s=self._trial_timeout(final=proposal.operator in HARNESS_OPERATORS),
            gpu=self.config.gpu,
            **({"memory_bytes": self.config.memory_bytes} if self.config.memory_bytes else {}),
        )
        result = run_script(
            script,
            trial_dir,
            public_dir or self.public_dir,
            limits,
            validate=self._validator(guarded=public_dir is None),
            env={SEED_ENV: str(seed)},
            cancel=self.stop,
        )
        trial = self._record(trial_id, proposal, script, result, started_at, llm_s)
        self._back_off_after(trial)
        return trial

    def _back_off_after(self, trial: Trial) -> None:
        with self.lock:
            # the whole step counts: a step that failed after a minute in the LLM is not a spin
            quick_failure = not trial.is_valid and trial.runtime_s + trial.llm_s < FAST_FAILURE_S
            self.fast_failures = self.fast_failures + 1 if quick_failure else 0
            pause = failure_backoff_s(self.fast_failures)
        if pause:
            self.log(f"backoff: {self.fast_failures} quick failures in a row, pausing {pause:.0f}s")
            self.stop.wait(pause)

    def _validator(self, guarded: bool = True) -> Callable[[Path], tuple[bool, str]]:
        def validate(path: Path) -> tuple[bool, str]:
            if self.guard is not None and guarded:
                self.guard.separate(path)  # the real submission, without the guard rows
            return validate_submission(self.competition, path, self.config.data_dir)

        return validate

    def _record(
        self,
        trial_id: str,
        proposal: Proposal,
        script: Path,
        result: RunResult,
        started_at: str,
        llm_s: float,
    ) -> Trial:
        flags = scan_code(proposal.code, self.competition)
        if result.submission_path is not None and result.submission_path.is_file():
            flags += check_submission(
                result.submission_path, self.competition, self.original_public_dir
            )
        guard = None if proposal.operator == FINAL_REFIT else self._guard_score(trial_id, result)
        trial = Trial(
            id=trial_id,
            parent_ids=proposal.parent_ids,
            agent=self.agent.name,
            operator=proposal.operator,
            hypothesis=proposal.hypothesis,
            code_path=str(script.relative_to(self.run_dir)),
            code_hash=code_hash(proposal.code),
            recipe=proposal.recipe,
            label=str(result.label),
            runtime_s=round(result.duration_s, 3),
            peak_rss_bytes=result.peak_rss_bytes,
            validation_score=result.validation_score,
            validity_message=result.validity_message or "",
            guard_score=guard.score if guard else None,
            guard_se=guard.se if guard else None,
            flags=tuple(flags),
            tokens=proposal.tokens,
            cost_usd=proposal.cost_usd,
            llm_s=round(llm_s, 3),
            started_at=started_at,
            finished_at=_now(),
        )
        with self.lock:
            if self.stop.is_set() and result.timed_out:
                # cancelled by the user, not a real timeout: leave it for --resume to redo
                self.status.running.pop(trial_id, None)
                self.in_flight.pop(trial_id, None)
                return trial
            trial = replace(trial, flags=(*trial.flags, *self._guard_flags(trial)))
            self.journal.append(trial)
            self.status.running.pop(trial_id, None)
            self.in_flight.pop(trial_id, None)
            self.status.done += 1
            if not trial.is_valid:
                self.status.failed += 1
            self._maybe_promote(trial)
            self.save_config()
        return trial

    def _guard_score(self, trial_id: str, result: RunResult) -> GuardScore | None:
        """The guard rows' score of a trial that ran cleanly (None: guard off, or no score)."""
        if self.guard is None or str(result.label) != "ok":
            return None
        try:
            return self.guard.score(self.run_dir / "trials" / trial_id)
        except GomeError as exc:
            self.log(f"guard: no score for {trial_id}: {exc}")
            return None

    def _guard_flags(self, trial: Trial) -> list[str]:
        """Integrity flags that need the guard score: a validation gain that did not carry
        over to the guard rows, and a validation score that the guard rows do not support."""
        flags = [GUARD_REGRESSION] if self._guard_regression(trial) else []
        if validation_gap(
            trial.validation_score, trial.guard_score, trial.guard_se, self.competition.direction
        ):
            self.log(
                f"validation-gap: {trial.id} validates at {trial.validation_score:.6g}, the "
                f"guard rows at {trial.guard_score:.6g} (se {trial.guard_se or 0:.3g}): flagged"
            )
            flags.append(VALIDATION_GAP)
        return flags

    def _guard_regression(self, trial: Trial) -> bool:
        """A first run that beats the best on validation but is worse on the guard by more
        than the guard's noise (`guard_regressed`): its gain did not carry over."""
        if trial.operator in HARNESS_OPERATORS or not trial.is_valid or not self.status.best_trial:
            return False
        best = self.journal.get(self.status.best_trial)
        direction = self.competition.direction
        assert trial.validation_score is not None and best.validation_score is not None
        if not direction.is_better(trial.validation_score, best.validation_score):
            return False
        regressed = guard_regressed(
            trial.guard_score, trial.guard_se, best.guard_score, best.guard_se, direction
        )
        if regressed:
            self.log(
                f"guard-regression: {trial.id} beats {best.id} on validation "
                f"({trial.validation_score:.6g} vs {best.validation_score:.6g}) but not on the "
                f"guard ({trial.guard_score:.6g} vs {best.guard_score:.6g}, "
                f"se {trial.guard_se or 0:.3g}/{best.guard_se or 0:.3g}): not promoted"
            )
        return regressed

    def _maybe_promote(self, trial: Trial) -> None:
        """Keep `<run>/submission.csv` and `best_solution.py` at the best valid trial."""
        score = trial.validation_score
        if trial.operator in HARNESS_OPERATORS or not trial.is_valid or score is None:
            return
        best = self.status.best_score
        if best is not None and not self.competition.direction.is_better(score, best):
            return
        self._promote(trial)

    def _promote(self, trial: Trial) -> None:
        trial_dir = self.run_dir / "trials" / trial.id
        _atomic_copy(trial_dir / "submission.csv", self.run_dir / "submission.csv")
        _atomic_copy(trial_dir / "solution.py", self.run_dir / "best_solution.py")
        _atomic_write_text(self.run_dir / "best.json", json.dumps(asdict(trial), indent=2))
        self.status.best_score, self.status.best_trial = trial.validation_score, trial.id

    # -- the loop -----------------------------------------------------------------------------
    def search(self) -> None:
        """Keep `workers` trials in flight until the budget is spent or `stop` is set."""
        # an agent may ask for slots of its own (GoME's co-worker)
        workers = max(1, self.config.workers) + getattr(self.agent, "extra_workers", 0)
        self.log(f"search: agent={self.agent.name} workers={workers} isolation={isolation_mode()}")
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trial") as pool:
            futures: set[Future[Trial | None]] = {pool.submit(self.run_one) for _ in range(workers)}
            while futures:
                try:
                    finished, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    # Ctrl-C: cancel trials in flight, then fall through to grading
                    self.interrupted = True
                    self.stop.set()
                    continue
                for future in finished:
                    trial = future.result()
                    if trial is not None and not self.stop.is_set():
                        futures.add(pool.submit(self.run_one))
        self._finalise()
        self.save_config()

    # -- final selection ----------------------------------------------------------------------
    def _final_reserve_s(self) -> float:
        """The budget's last `final_share`, kept for re-running the best trials; 0 while
        there is no valid trial to re-run (the search may then use it all)."""
        cfg = self.config
        if cfg.final_top_k <= 0 or not top_trials(
            self.journal.trials, self.competition.direction, 1
        ):
            return 0.0
        return cfg.final_share * cfg.budget_s

    def _refit_reserve_s(self) -> float:
        """With the guard on, time kept for the final refit: the best trial's runtime with
        a margin (0 while there is no valid trial)."""
        if self.guard is None:
            return 0.0
        top = top_trials(self.journal.trials, self.competition.direction, 1)
        return REFIT_MARGIN * top[0].runtime_s if top else 0.0

    def _search_time_left(self) -> float:
        """What the agent's search has left: the budget less the final reserves."""
        return max(0.0, self._search_deadline() - time.monotonic())

    def _search_deadline(self) -> float:
        """When the search ends (a `time.monotonic()` instant; the agent's model calls end by
        then): the budget's end less the final reserves, earlier as the refit's reserve grows."""
        return self.status.ends_at - self._final_reserve_s() - self._refit_reserve_s()

    def _agent_steps(self) -> list[Trial]:
        """The agent's trials: the journal without the harness's final re-runs and refit."""
        return [t for t in self.journal.trials if t.operator not in HARNESS_OPERATORS]

    def _expected_step_s(self) -> float:
        """What the agent's next step should take: the median model time of its steps so far
        plus the median runtime of its valid trials (0 for what it has not done yet)."""
        steps = self._agent_steps()
        model = [t.llm_s for t in steps if t.llm_s > 0]
        scripts = [t.runtime_s for t in steps if t.label == "ok"]
        return sum(statistics.median(times) for times in (model, scripts) if times)

    def _search_over(self) -> bool:
        """True once the agent may take no more steps: it has proposed `max_steps` trials
        (journaled or in flight), or the search's time left would not see a step through.

        Why the second: a small local model's step takes minutes before its script starts; one
        begun too late only times out at the search's end, and its time is better spent on the
        final re-runs. The first time, the reason goes to the run's log."""
        left, step = self._search_time_left(), self._expected_step_s()
        if self.config.max_steps is not None and (
            len(self._agent_steps()) + len(self.in_flight) >= self.config.max_steps
        ):
            reason = f"{self.config.max_steps} steps taken"
        elif left < max(MIN_TRIAL_SECONDS, step):
            reason = f"a step takes about {step:.0f} s, {left:.0f} s left"
        else:
            return False
        if not self.search_over_because:
            self.search_over_because = reason
            self.log(f"search over: {reason}")
        return True

    def _final_phase(self) -> bool:
        """Re-runs start once the search is over (and there is a valid trial to re-run)."""
        return self._final_reserve_s() > 0 and self._search_over()

    def _rerun(self, parent: Trial, seed: int) -> Trial:
        """`parent`'s script again under `GOME_SEED=seed`, journaled as a final-seed trial."""
        proposal = Proposal(
            code=(self.run_dir / parent.code_path).read_text(encoding="utf-8"),
            operator=FINAL_SEED,
            hypothesis=f"{parent.id} re-run with {SEED_ENV}={seed}",
            parent_ids=(parent.id,),
            recipe={"seed": seed},
        )
        with self.lock:
            trial_id = self._take_trial_id()
            self.status.running[trial_id] = FINAL_SEED
        try:
            return self._execute(trial_id, proposal, seed=seed)
        finally:
            with self.lock:
                self.final_in_flight.discard((parent.id, seed))

    def _finalise(self) -> None:
        """Promote the multi-seed pick (`choose_final`, from the journal alone), then refit
        the kept trial on every public train row."""
        if self.config.final_top_k > 0:
            choice = choose_final(self.journal.trials, self.competition.direction)
            if choice is not None:
                selection = json.dumps(choice.to_dict(), indent=2)
                _atomic_write_text(self.run_dir / SELECTION_FILE, selection)
                self.log(f"final selection: {choice.reason}")
                if choice.chosen is not None:  # also after a resume: the files follow the pick
                    self._promote(choice.chosen)
        self._refit()

    def _refit(self) -> None:
        """With the guard on, the kept trial trained on 90 % of the labelled rows: its script
        runs once more on the original public data (the guard rows back in train, test as
        published), and that submission is kept when valid. The selection itself never
        changes: the refit's own score is on other rows and is never compared."""
        if self.guard is None or self.status.best_trial is None or self.interrupted:
            return
        kept = self.journal.get(self.status.best_trial)
        done = next(
            (t for t in self.journal if t.operator == FINAL_REFIT and t.parent_ids == (kept.id,)),
            None,
        )
        if done is None:
            # the reserve is the runtime and a quarter; a reply cut at the search deadline can
            # eat some of it, and runs of one script vary by a fifth: try while that may fit
            if self.status.time_left_s < kept.runtime_s / REFIT_MARGIN:
                self.log(f"final refit: skipped, too little time left to re-run {kept.id}")
                return
            proposal = Proposal(
                code=(self.run_dir / kept.code_path).read_text(encoding="utf-8"),
                operator=FINAL_REFIT,
                hypothesis=f"{kept.id} on every public train row (the guard rows included)",
                parent_ids=(kept.id,),
            )
            with self.lock:
                trial_id = self._take_trial_id()
                self.status.running[trial_id] = FINAL_REFIT
            done = self._execute(trial_id, proposal, public_dir=self.original_public_dir)
        if not done.is_valid:
            self.log(f"final refit: {done.id} failed ({done.label}); keeping {kept.id}'s file")
            return
        _atomic_copy(
            self.run_dir / "trials" / done.id / "submission.csv", self.run_dir / "submission.csv"
        )
        self.refit_trial = done.id
        self.log(f"final refit: submission.csv is {kept.id}'s script on all rows ({done.id})")

    def grade(self) -> CompetitionReport:
        """Grade the best submission against the private answers (never shown to the agent)."""
        report = grade_submission(
            self.competition, self.run_dir / "submission.csv", self.config.data_dir
        )
        payload: dict[str, Any] = report.to_dict()
        payload.update(
            agent=self.agent.name,
            run_dir=str(self.run_dir),
            best_trial=self.status.best_trial,
            refit_trial=self.refit_trial,
        )
        _atomic_write_text(self.run_dir / "grade.json", json.dumps(payload, indent=2))
        return report


def load_run(run_dir: Path) -> tuple[SolveConfig, float]:
    """Config and elapsed seconds of an existing run folder, for `--resume`."""
    path = run_dir / RUN_CONFIG_FILE
    if not path.is_file():
        raise GomeError(f"{run_dir} is not a gome run folder (no {RUN_CONFIG_FILE}).")
    payload = json.loads(path.read_text(encoding="utf-8"))
    # a run started before the guard existed keeps the data view its trials had
    payload["config"].setdefault("guard_fraction", 0.0)
    return SolveConfig(**payload["config"]), float(payload.get("elapsed_s", 0.0))
