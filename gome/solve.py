"""`gome solve`: one agent, one competition, one wall-clock budget.

The loop owns the harness: it asks the agent for a script, runs it in the sandbox, audits
it, journals it durably, and keeps the best valid submission on disk at every moment
(`<run>/submission.csv`, `<run>/best_solution.py`), so stopping at any time leaves a gradable
result. A killed run resumes from its journal without redoing finished trials.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gome.agent import Agent, Proposal, SearchContext
from gome.competitions import Competition, load_competition
from gome.environment import describe_environment
from gome.errors import GomeError
from gome.grading import CompetitionReport, grade_submission, validate_submission
from gome.integrity import check_submission, scan_code
from gome.journal import Journal, Trial
from gome.llm import BudgetExceededError, LLMClient, LLMError
from gome.runner import Limits, RunResult, isolation_mode, run_script

RUN_CONFIG_FILE = "run.json"
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
    memory_bytes: int | None = None
    api_base: str | None = None
    max_dollars: float | None = None
    # agent settings: GoME's ablation flags (`GomeConfig` fields), AIDE's (`AideConfig` fields)
    gome: dict[str, Any] = field(default_factory=dict)
    aide: dict[str, Any] = field(default_factory=dict)

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


@dataclass(frozen=True)
class Endpoint:
    """Where LLM calls go for this session of a run (a local server's port changes per run)."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    max_reply_tokens: int = MAX_REPLY_TOKENS


def _llm_client(
    config: SolveConfig, run_dir: Path, endpoint: Endpoint | None, deadline: float
) -> LLMClient:
    endpoint = endpoint or Endpoint(config.model or "", config.api_base)
    if not endpoint.model:
        raise GomeError(f"--agent {config.agent} needs --model (a litellm model or local).")
    return LLMClient(
        endpoint.model,
        api_base=endpoint.api_base,
        api_key=endpoint.api_key,
        ledger_path=run_dir / "llm_ledger.jsonl",
        cache_dir=run_dir / "llm_cache",
        max_dollars=config.max_dollars,
        max_tokens=endpoint.max_reply_tokens,
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
    endpoint: Endpoint | None = None,
    deadline: float | None = None,
) -> Agent:
    """The agent a run names; each names itself on every trial and in every output.

    `deadline` (a `time.monotonic()` instant, default: the whole budget from now) bounds every
    LLM call, so a slow model can never hold the run past its budget.
    """
    if deadline is None:
        deadline = time.monotonic() + config.budget_s
    from gome.proposers.builtin import BuiltinProposer

    if config.agent == "builtin":
        return BuiltinProposer()
    if config.agent == "gome":
        from gome.optimizer import GomeAgent, GomeConfig

        gome_config = _settings(GomeConfig, config.gome, "GoME")
        seed = BuiltinProposer() if gome_config.initialisation == "builtin" else None
        client = _llm_client(config, run_dir, endpoint, deadline)
        return GomeAgent(
            client, gome_config, run_dir=run_dir, seed_proposer=seed, budget_s=config.budget_s
        )
    if config.agent == "aide":
        from baselines.aide import AideAgent, AideConfig

        aide_config = _settings(AideConfig, config.aide, "AIDE")
        return AideAgent(
            _llm_client(config, run_dir, endpoint, deadline), aide_config, run_dir=run_dir
        )
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
        self.public_dir = self.competition.public_dir(config.data_dir)
        self.journal = Journal(run_dir)
        self.status = RunStatus(budget_s=config.budget_s, elapsed_before_s=elapsed_before_s)
        deadline = time.monotonic() + self.status.time_left_s
        self.agent = make_agent(config, run_dir, endpoint, deadline)
        self.in_flight: dict[str, Proposal] = {}
        self.llm_failures = 0
        self.fast_failures = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.interrupted = False
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
    def _propose(self) -> tuple[str, Proposal] | None | Retry:
        with self.lock:
            if self.stop.is_set() or self.status.time_left_s < MIN_TRIAL_SECONDS:
                return None
            trial_id = f"t{self._next_number:04d}"
            self._next_number += 1
            context = SearchContext(
                competition=self.competition,
                public_dir=self.public_dir,
                history=list(self.journal.trials),
                trial_timeout_s=self._trial_timeout(),
                time_left_s=self.status.time_left_s,
                environment=describe_environment(),
                rng=self.rng,
                in_flight=list(self.in_flight.values()),
            )
            try:
                proposal = self.agent.propose(context)
            except BudgetExceededError as exc:
                self.log(f"stop: {exc}")
                self.stop.set()
                return None
            except LLMError as exc:
                # a provider outage must not kill the run: pause, stop after repeated failures
                self._next_number -= 1
                self.llm_failures += 1
                self.log(f"llm error ({self.llm_failures}/{MAX_LLM_FAILURES}): {exc}")
                if self.llm_failures >= MAX_LLM_FAILURES:
                    self.stop.set()
                    return None
                return RETRY
            self.llm_failures = 0
            self.status.running[trial_id] = proposal.operator
            self.in_flight[trial_id] = proposal
            return trial_id, proposal

    def _trial_timeout(self) -> float:
        return max(1.0, min(self.config.effective_trial_timeout_s, self.status.time_left_s))

    def run_one(self) -> Trial | None:
        """Propose, execute, audit and journal one trial; None when the budget is spent."""
        proposed = self._propose()
        while proposed is RETRY:
            self.stop.wait(LLM_FAILURE_PAUSE_S)
            proposed = self._propose()
        if proposed is None or isinstance(proposed, Retry):
            return None
        trial_id, proposal = proposed
        trial_dir = self.run_dir / "trials" / trial_id
        if trial_dir.exists():  # left by a trial in flight when an earlier session was killed
            shutil.rmtree(trial_dir)
        trial_dir.mkdir(parents=True)
        script = trial_dir / "solution.py"
        script.write_text(proposal.code, encoding="utf-8")
        started_at = _now()
        limits = Limits(
            timeout_s=self._trial_timeout(),
            gpu=self.config.gpu,
            **({"memory_bytes": self.config.memory_bytes} if self.config.memory_bytes else {}),
        )
        result = run_script(
            script,
            trial_dir,
            self.public_dir,
            limits,
            validate=self._validator(),
            cancel=self.stop,
        )
        trial = self._record(trial_id, proposal, script, result, started_at)
        self._back_off_after(trial)
        return trial

    def _back_off_after(self, trial: Trial) -> None:
        with self.lock:
            quick_failure = not trial.is_valid and trial.runtime_s < FAST_FAILURE_S
            self.fast_failures = self.fast_failures + 1 if quick_failure else 0
            pause = failure_backoff_s(self.fast_failures)
        if pause:
            self.log(f"backoff: {self.fast_failures} quick failures in a row, pausing {pause:.0f}s")
            self.stop.wait(pause)

    def _validator(self) -> Callable[[Path], tuple[bool, str]]:
        def validate(path: Path) -> tuple[bool, str]:
            return validate_submission(self.competition, path, self.config.data_dir)

        return validate

    def _record(
        self, trial_id: str, proposal: Proposal, script: Path, result: RunResult, started_at: str
    ) -> Trial:
        flags = scan_code(proposal.code, self.competition)
        if result.submission_path is not None and result.submission_path.is_file():
            flags += check_submission(result.submission_path, self.competition, self.public_dir)
        trial = Trial(
            id=trial_id,
            parent_ids=proposal.parent_ids,
            agent=self.agent.name,
            operator=proposal.operator,
            hypothesis=proposal.hypothesis,
            code_path=str(script.relative_to(self.run_dir)),
            code_hash=hashlib.sha256(proposal.code.encode()).hexdigest()[:16],
            recipe=proposal.recipe,
            label=str(result.label),
            runtime_s=round(result.duration_s, 3),
            peak_rss_bytes=result.peak_rss_bytes,
            validation_score=result.validation_score,
            validity_message=result.validity_message or "",
            flags=tuple(flags),
            tokens=proposal.tokens,
            cost_usd=proposal.cost_usd,
            started_at=started_at,
            finished_at=_now(),
        )
        with self.lock:
            if self.stop.is_set() and result.timed_out:
                # cancelled by the user, not a real timeout: leave it for --resume to redo
                self.status.running.pop(trial_id, None)
                self.in_flight.pop(trial_id, None)
                return trial
            self.journal.append(trial)
            self.status.running.pop(trial_id, None)
            self.in_flight.pop(trial_id, None)
            self.status.done += 1
            if not trial.is_valid:
                self.status.failed += 1
            self._maybe_promote(trial)
            self.save_config()
        return trial

    def _maybe_promote(self, trial: Trial) -> None:
        """Keep `<run>/submission.csv` and `best_solution.py` at the best valid trial."""
        if not trial.is_valid or trial.validation_score is None:
            return
        best = self.status.best_score
        if best is not None and not self.competition.direction.is_better(
            trial.validation_score, best
        ):
            return
        trial_dir = self.run_dir / "trials" / trial.id
        _atomic_copy(trial_dir / "submission.csv", self.run_dir / "submission.csv")
        _atomic_copy(trial_dir / "solution.py", self.run_dir / "best_solution.py")
        _atomic_write_text(self.run_dir / "best.json", json.dumps(asdict(trial), indent=2))
        self.status.best_score, self.status.best_trial = trial.validation_score, trial.id

    # -- the loop -----------------------------------------------------------------------------
    def search(self) -> None:
        """Keep `workers` trials in flight until the budget is spent or `stop` is set."""
        workers = max(1, self.config.workers)
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
        self.save_config()

    def grade(self) -> CompetitionReport:
        """Grade the best submission against the private answers (never shown to the agent)."""
        report = grade_submission(
            self.competition, self.run_dir / "submission.csv", self.config.data_dir
        )
        payload: dict[str, Any] = report.to_dict()
        payload.update(
            agent=self.agent.name, run_dir=str(self.run_dir), best_trial=self.status.best_trial
        )
        _atomic_write_text(self.run_dir / "grade.json", json.dumps(payload, indent=2))
        return report


def load_run(run_dir: Path) -> tuple[SolveConfig, float]:
    """Config and elapsed seconds of an existing run folder, for `--resume`."""
    path = run_dir / RUN_CONFIG_FILE
    if not path.is_file():
        raise GomeError(f"{run_dir} is not a gome run folder (no {RUN_CONFIG_FILE}).")
    payload = json.loads(path.read_text(encoding="utf-8"))
    return SolveConfig(**payload["config"]), float(payload.get("elapsed_s", 0.0))
