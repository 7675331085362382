"""`gome omega generate` and `gome omega evaluate` end to end.

generate: briefs -> candidates (LLM, else the no-LLM fallback) -> self-healing -> the
evaluation suite -> acceptance -> registry. Everything lands in a run folder:
`heal.jsonl` (one line per check round), `candidates/<id>/round_<k>/`, `llm_ledger.jsonl`,
the evaluation report (`report.md`, CSVs, critical-difference PNGs) and `summary.json`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from gome.errors import GomeError
from gome.llm import LEDGER_FILE, LLMClient
from omega import registry
from omega.candidate import inspect_source
from omega.datasets import prepare, resolve_names
from omega.evaluate import Entrant, Scores, Suite, baselines, evaluate
from omega.fallback import fallback_candidates
from omega.generate import generate_candidate, plan_briefs
from omega.heal import HealingSummary, HealOutcome, heal
from omega.report import summarise, write_report
from omega.sandbox.reference import TASKS


def new_run_dir(command: str, root: Path = Path("runs")) -> Path:
    return root / f"omega_{command}_{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


@contextlib.contextmanager
def llm_client(
    model: str | None, api_base: str | None, run_dir: Path, console: Console
) -> Iterator[LLMClient | None]:
    """The client `--model` names (a local model served for the length of the block); None
    without `--model` or when the local model cannot be had: generation then falls back."""
    if model is None:
        yield None
        return
    from gome.models import ModelUnavailableError, resolve_model
    from gome.solve import LOCAL_MAX_REPLY_TOKENS, MAX_REPLY_TOKENS

    try:
        handle = resolve_model(model, console, api_base=api_base)
    except ModelUnavailableError as exc:
        console.print(f"[yellow]{exc}[/] Generating without an LLM.", highlight=False)
        yield None
        return
    with handle:
        yield LLMClient(
            handle.model,
            api_base=handle.api_base,
            api_key=handle.api_key,
            ledger_path=run_dir / LEDGER_FILE,
            max_tokens=LOCAL_MAX_REPLY_TOKENS if handle.is_local else MAX_REPLY_TOKENS,
        )


@dataclass(frozen=True)
class SuiteSettings:
    """Which datasets and what protocol; `--datasets` narrows the default suite."""

    datasets: list[str] | None = None
    n_splits: int = 2
    n_repeats: int = 5
    fit_timeout_s: float = 60.0
    n_jobs: int | None = None

    def suite(self, tasks: tuple[str, ...] = TASKS) -> Suite:
        specs = [s for s in resolve_names(self.datasets) if s.task in tasks]
        if not specs:
            raise GomeError("No dataset of the requested task(s) in the chosen suite.")
        extra = {"n_jobs": self.n_jobs} if self.n_jobs else {}
        return Suite(
            tuple(prepare(specs)),
            n_splits=self.n_splits,
            n_repeats=self.n_repeats,
            fit_timeout_s=self.fit_timeout_s,
            **extra,
        )


def baseline_scores(
    suite: Suite, work_dir: Path, *, fresh: bool = False
) -> dict[str, list[Scores]]:
    return {
        task: [evaluate(e, suite, work_dir, fresh=fresh) for e in baselines(task)]
        for task in suite.tasks
    }


@dataclass
class GenerateSummary:
    """What `summary.json` holds and the CLI prints."""

    run_dir: str
    model: str | None
    requested: int
    generated: int
    healing: HealingSummary
    accepted: list[str] = field(default_factory=list)
    verdicts: dict[str, dict] = field(default_factory=dict)
    best: dict | None = None
    seconds: float = 0.0


def run_generate(
    n: int,
    client: LLMClient | None,
    run_dir: Path,
    *,
    tasks: tuple[str, ...] = TASKS,
    max_repairs: int = 3,
    settings: SuiteSettings = SuiteSettings(),
    registry_dir: Path | None = None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> GenerateSummary:
    start = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)
    folder = registry_dir or registry.default_registry()
    known = registry.entries(folder)
    if client is None:
        log(f"no LLM: {n} fallback candidates (mutations and ensembles, named as such)")
        candidates = fallback_candidates(n, tasks, known, seed)
    else:
        parents = {t: [(e.name, e.code) for e in known if e.task == t] for t in tasks}
        candidates = []
        for i, brief in enumerate(plan_briefs(n, tasks, parents, seed)):
            made = generate_candidate(client, brief, f"c{i + 1:02d}")
            log(
                f"c{i + 1:02d} {brief.task} · {brief.principle} · {brief.operator}: "
                + ("code" if made else "no code in the reply")
            )
            if made:
                candidates.append(made)
    outcomes: list[HealOutcome] = []
    for candidate in candidates:
        outcome = heal(candidate, client, run_dir, max_repairs=max_repairs)
        outcomes.append(outcome)
        state = f"healed after {outcome.repairs} repair(s)" if outcome.healed else "rejected"
        log(
            f"{candidate.id} {candidate.origin}: {state}; failed checks: "
            f"{', '.join(outcome.failed_checks) or '-'}"
        )
    summary = GenerateSummary(
        str(run_dir),
        client.model if client else None,
        n,
        len(candidates),
        HealingSummary.of(outcomes),
    )
    healed = [o for o in outcomes if o.healed]
    if healed:
        _evaluate_and_accept(healed, run_dir, settings, folder, summary, log)
    summary.seconds = time.monotonic() - start
    (run_dir / "summary.json").write_text(json.dumps(asdict(summary), indent=1), encoding="utf-8")
    return summary


def _evaluate_and_accept(
    healed: list[HealOutcome],
    run_dir: Path,
    settings: SuiteSettings,
    folder: Path,
    summary: GenerateSummary,
    log: Callable[[str], None],
) -> None:
    tasks = tuple(dict.fromkeys(o.candidate.task for o in healed))
    suite = settings.suite(tasks)
    work = run_dir / "evaluation"
    by_task = baseline_scores(suite, work)
    for outcome in healed:
        candidate = outcome.candidate
        name = f"{candidate.id}_{candidate.inspection.class_name}"
        scores = evaluate(Entrant.of_candidate(name, candidate), suite, work)
        verdict = registry.judge(scores, by_task[candidate.task])
        summary.verdicts[name] = asdict(verdict)
        log(f"{name}: {'accepted' if verdict.accepted else 'not accepted'} ({verdict.reason})")
        if verdict.accepted:
            entry = registry.save(
                folder, candidate, scores, by_task[candidate.task], verdict, outcome.repairs
            )
            summary.accepted.append(entry.name)
        by_task[candidate.task].append(scores)
        best = summary.best
        if best is None or verdict.mean_rank < best["mean_rank"]:
            summary.best = {"name": name, "task": candidate.task, **asdict(verdict)}
    header = f"Candidates of {run_dir.name} against the reference models."
    write_report(summarise(by_task), run_dir, header)


def entrants_from(refs: list[str], folder: Path) -> list[Entrant]:
    """`ALGO` arguments: registry names, or paths to modules (task read from the class)."""
    known = {e.name: e for e in registry.entries(folder)}
    found = []
    for ref in refs:
        if ref in known:
            e = known[ref]
            found.append(Entrant(e.name, e.task, code=e.code, class_name=e.class_name))
            continue
        path = Path(ref)
        if not path.is_file():
            raise GomeError(f"{ref!r} is neither a registry algorithm nor a module file.")
        code = path.read_text(encoding="utf-8")
        for task in TASKS:
            if (found_class := inspect_source(code, task).class_name) is not None:
                found.append(Entrant(path.stem, task, code=code, class_name=found_class))
                break
        else:
            raise GomeError(f"{path} defines no ClassifierMixin or RegressorMixin class.")
    return found


def run_evaluate(
    refs: list[str],
    run_dir: Path,
    *,
    settings: SuiteSettings = SuiteSettings(),
    registry_dir: Path | None = None,
    fresh: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Evaluate `refs` (none: the reference models alone) and write the report; its path."""
    entrants = entrants_from(refs, registry_dir or registry.default_registry())
    tasks = tuple(dict.fromkeys(e.task for e in entrants)) or TASKS
    suite = settings.suite(tasks)
    work = run_dir / "evaluation"
    log(
        f"{len(suite.datasets)} datasets, {suite.n_repeats}x{suite.n_splits}-fold CV, "
        f"{suite.n_jobs} jobs"
    )
    by_task: dict[str, list[Scores]] = {}
    for task in suite.tasks:
        for entrant in [*baselines(task), *(e for e in entrants if e.task == task)]:
            scores = evaluate(entrant, suite, work, fresh=fresh)
            by_task.setdefault(task, []).append(scores)
            log(
                f"{task} {entrant.name}: {scores.seconds:.0f} s, "
                f"{'valid' if scores.valid else 'failed on ' + ', '.join(scores.failed_datasets)}"
            )
    header = "Reference models only." if not entrants else f"Entrants: {', '.join(refs)}."
    return write_report(summarise(by_task), run_dir, header)
