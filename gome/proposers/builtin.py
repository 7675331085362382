"""The built-in proposer: a search over known tabular recipes, no LLM.

Policy, one proposal per call, read off the history each time (so it resumes from a journal):
1. draft: a cheap robust baseline (LightGBM on every applicable feature block); if it fails,
   simpler fallbacks (HistGradientBoosting, then linear, on the base columns).
2. explore: feature levels x model families, and the best OMEGA registry algorithm of the
   task's type on the base features (`omega_models`), neighbours of the best trial first,
   until `explore_quota` single-model trials have a score.
3. tune: Optuna inside the script for the best recipe of each of the two best model families,
   n_trials sized to the time one run of that recipe took and to the trial budget.
4. ensemble: the best recipes of the top-k families averaged over several seeds in one script.
Then it cycles: new leaders are tuned and re-ensembled, leftover explore variants run, then the
best untuned recipes are bagged over more seeds and the best is re-tuned with fresh Optuna
seeds. An identical recipe is never proposed twice; with the time nearly gone it goes straight
to an ensemble. Every choice is deterministic given `context.rng`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gome.agent import Proposal, SearchContext
from gome.journal import Trial, ranked
from gome.proposers import recipes as rc
from gome.proposers.recipes import Member, Recipe
from gome.proposers.script import OmegaEstimator, profile_public_data, render, threads_for

LARGE_DATA_ROWS = 200_000  # above this, 3 folds instead of 5
STARTUP_S = 3.0  # imports and reading the data, roughly, in a trial's runtime
SCRIPT_BUDGET_SHARE = 0.75  # of the trial timeout: imports, I/O and the last fit fit in the rest
BAG_SEEDS = (0, 1, 2)  # seeds averaged by tuned and ensemble scripts


@dataclass(frozen=True)
class Scored:
    """A valid trial of ours, with its recipe parsed."""

    trial: Trial
    recipe: Recipe

    @property
    def score(self) -> float:
        assert self.trial.validation_score is not None
        return self.trial.validation_score


@dataclass(frozen=True)
class Move:
    operator: str
    recipe: Recipe
    parents: tuple[str, ...] = ()


class BuiltinProposer:
    """Agent protocol: `propose(context) -> Proposal`, `name = "builtin"`."""

    name = "builtin"

    def __init__(
        self,
        explore_quota: int = 6,
        ensemble_size: int = 3,
        max_tune_trials: int = 60,
        omega_models: int = 1,
    ) -> None:
        self.explore_quota = explore_quota
        self.ensemble_size = ensemble_size
        self.max_tune_trials = max_tune_trials
        self.omega_models = omega_models
        self._profiles: dict[Path, dict[str, Any]] = {}
        self._omega: dict[str, list[OmegaEstimator]] = {}
        # proposals may be asked for from several threads (GoME's co-worker, parallel
        # workers): one at a time, and never a recipe proposed before, even one whose trial
        # is not in the context's history or in flight yet
        self._lock = threading.Lock()
        self._proposed: set[str] = set()

    # -- entry point ----------------------------------------------------------------------------
    def propose(self, context: SearchContext) -> Proposal:
        task = rc.task_config(context.competition)
        with self._lock:
            profile = self._profile(context.public_dir, task)
            omega = self._omega_estimators(context, task["problem"])
            move = self._next_move(context, profile, tuple(e.family for e in omega))
            self._proposed.add(move.recipe.key())
        why = move.recipe.describe(profile)
        budget = SCRIPT_BUDGET_SHARE * min(context.trial_timeout_s, context.time_left_s)
        return Proposal(
            code=render(
                task,
                move.recipe.to_dict(),
                time_budget_s=max(budget, 10.0),
                n_jobs=threads_for(profile["n_train"]),
                why=why,
                omega=omega,
            ),
            operator=move.operator,
            hypothesis=why,
            parent_ids=move.parents,
            recipe=move.recipe.to_dict(),
        )

    def _profile(self, public_dir: Path, task: dict[str, Any]) -> dict[str, Any]:
        if public_dir not in self._profiles:
            self._profiles[public_dir] = profile_public_data(public_dir, task)
        return self._profiles[public_dir]

    def _omega_estimators(self, context: SearchContext, problem: str) -> list[OmegaEstimator]:
        """The best `omega_models` OMEGA registry algorithms of the task's type (distinct class
        names, since their modules share the script), read once per run; none off tabular
        data."""
        if self.omega_models <= 0 or context.competition.modality != "tabular":
            return []
        if problem not in self._omega:
            from omega.registry import entries

            chosen: dict[str, OmegaEstimator] = {}
            for entry in entries(task=problem):
                if len(chosen) < self.omega_models and entry.class_name not in chosen:
                    chosen[entry.class_name] = OmegaEstimator(
                        entry.name, entry.class_name, entry.code
                    )
            self._omega[problem] = list(chosen.values())
        return self._omega[problem]

    # -- policy ---------------------------------------------------------------------------------
    def _next_move(
        self, context: SearchContext, profile: dict[str, Any], omega_families: tuple[str, ...]
    ) -> Move:
        """The first untried move of the generators, in the order the search phase asks for."""
        state = State.read(context, profile, omega_families)
        time_short = context.time_left_s < state.time_for_ensemble()
        if not state.ranked:
            order = [self._drafts, self._explore, self._fallback]
        elif time_short:
            order = [self._ensemble, self._fallback]
        elif len(state.singles) < self.explore_quota:
            order = [self._explore, self._tune, self._ensemble, self._fallback]
        else:
            order = [self._tune, self._ensemble, self._explore, self._fallback]
        tried = {recipe.key() for recipe in state.attempted} | self._proposed
        for generate in order:
            for move in generate(state):
                if move.recipe.key() not in tried:
                    return move
        raise AssertionError("the fallback generator never runs dry")

    def _drafts(self, state: State) -> Iterator[Move]:
        """The baseline, then ever simpler fallbacks while drafts fail."""
        richest = rc.feature_levels(state.profile)[-1]
        ladder = [("lightgbm", richest), ("hgb", ("base",)), ("linear", ("base",))]
        for family, features in ladder:
            yield Move("draft", state.single(Member(family, features, rc.DEFAULT_PARAMS[family])))

    def _explore(self, state: State) -> Iterator[Move]:
        """Feature levels x families with default parameters, and each OMEGA algorithm on the
        base features; one change from the best first."""
        candidates = [
            (features, family)
            for features in rc.feature_levels(state.profile)
            for family in rc.FAMILIES
        ] + [(("base",), family) for family in state.omega_families]
        state.rng.shuffle(candidates)
        if state.singles:
            best = state.singles[0].recipe.members[0]

            def changes(candidate: tuple[tuple[str, ...], str]) -> int:
                return (candidate[0] != best.features) + (candidate[1] != best.family)

            candidates.sort(key=lambda c: changes(c) != 1)  # stable: shuffled within tiers
        parents = (state.singles[0].trial.id,) if state.singles else ()
        for features, family in candidates:
            member = Member(family, features, rc.DEFAULT_PARAMS.get(family, {}))
            yield Move("explore", state.single(member), parents)

    def _tune(self, state: State) -> Iterator[Move]:
        """Optuna for the leaders of the two best tunable model families, unless already
        tuned."""
        tuned_before = {r.members[0].signature for r in state.attempted if not r.is_ensemble}
        tunable = [s for s in state.family_leaders() if s.recipe.members[0].tunable]
        for scored in tunable[:2]:
            member = scored.recipe.members[0]
            tuned = replace(member, tune_trials=self._tune_trials(scored, state.context))
            if member.tune_trials or tuned.signature in tuned_before:
                continue
            recipe = replace(scored.recipe, members=(tuned,), seeds=BAG_SEEDS)
            yield Move("tune", recipe, (scored.trial.id,))

    def _tune_trials(self, scored: Scored, context: SearchContext) -> int:
        """Optuna trials that fit in the script's budget next to the final seeds, one trial
        costing one CV of the recipe (its runtime less start-up, per seed). The script also
        stops tuning early on its own when time runs short."""
        per_cv = max((scored.trial.runtime_s - STARTUP_S) / len(scored.recipe.seeds), 1.0)
        fit = int(SCRIPT_BUDGET_SHARE * context.trial_timeout_s / per_cv) - len(BAG_SEEDS)
        return max(5, min(self.max_tune_trials, fit))

    def _ensemble(self, state: State) -> Iterator[Move]:
        """The top-k of the family leaders (then other feature sets), averaged over seeds."""
        picked = {scored.trial.id: scored for scored in state.family_leaders()}
        for scored in state.singles:
            if len(picked) >= self.ensemble_size:
                break
            member = scored.recipe.members[0]
            signatures = {s.recipe.members[0].signature[:2] for s in picked.values()}
            if member.signature[:2] not in signatures:
                picked[scored.trial.id] = scored
        top = list(picked.values())[: self.ensemble_size]
        if len(top) >= 2:
            members = tuple(s.recipe.members[0] for s in top)
            recipe = replace(state.base, members=members, seeds=BAG_SEEDS)
            yield Move("ensemble", recipe, tuple(s.trial.id for s in top))

    def _fallback(self, state: State) -> Iterator[Move]:
        """Endless variants: the best untuned recipes bagged over more seeds (cheap), then
        re-tunes of the best recipe with fresh Optuna seeds."""
        untuned = [s for s in state.singles if not s.recipe.members[0].tune_trials]
        for scored in untuned[:2]:
            for n_seeds in (len(BAG_SEEDS), 5):
                recipe = scored.recipe.with_seeds(tuple(range(n_seeds)))
                yield Move("ensemble", recipe, (scored.trial.id,))
        tunable = [s for s in state.singles if s.recipe.members[0].tunable]
        if tunable:
            best, parents = tunable[0].recipe, (tunable[0].trial.id,)
        else:  # nothing has worked yet: keep trying the sklearn baseline
            best, parents = state.single(Member("hgb", ("base",), {})), ()
        member = best.members[0]
        trials = member.tune_trials or self.max_tune_trials // 2
        while True:
            seed = state.rng.randrange(1_000_000)
            tuned = replace(member, tune_trials=trials, tune_seed=seed)
            yield Move("tune", replace(best, members=(tuned,)), parents)


@dataclass(frozen=True)
class State:
    """What the generators read: the history ranked, the data profile, the CV set-up."""

    context: SearchContext
    profile: dict[str, Any]
    ranked: list[Scored]
    attempted: list[Recipe]  # every recipe of ours run (valid or not) or in flight
    base: Recipe
    omega_families: tuple[str, ...] = ()  # "omega:<name>" families explore may try

    @classmethod
    def read(
        cls, context: SearchContext, profile: dict[str, Any], omega_families: tuple[str, ...] = ()
    ) -> State:
        base = Recipe(
            members=(),
            folds=3 if profile["n_train"] > LARGE_DATA_ROWS else 5,
            group_cv=profile["group_key"] is not None,
        )
        raws = [t.recipe for t in context.history] + [p.recipe for p in context.in_flight]
        attempted = [r for r in map(Recipe.from_dict, raws) if r is not None]
        return cls(context, profile, ranked_trials(context), attempted, base, omega_families)

    @property
    def singles(self) -> list[Scored]:
        return [s for s in self.ranked if not s.recipe.is_ensemble]

    def family_leaders(self) -> list[Scored]:
        """The best single-model trial of each model family, best family first."""
        leaders: dict[str, Scored] = {}
        for scored in self.singles:
            leaders.setdefault(scored.recipe.members[0].family, scored)
        return list(leaders.values())

    @property
    def rng(self) -> random.Random:
        return self.context.rng

    def time_for_ensemble(self) -> float:
        """Time left below which the search settles: ~10 typical trials, at most 2.5 timeouts."""
        runtimes = sorted(s.trial.runtime_s for s in self.ranked)
        typical = runtimes[len(runtimes) // 2] if runtimes else self.context.trial_timeout_s
        return min(2.5 * self.context.trial_timeout_s, 10 * typical)

    def single(self, member: Member) -> Recipe:
        return replace(self.base, members=(member,))


def ranked_trials(context: SearchContext) -> list[Scored]:
    """Our valid trials (those with a recipe of ours), best validation score first."""
    direction = context.competition.direction
    with_recipes = ((t, Recipe.from_dict(t.recipe)) for t in ranked(context.history, direction))
    return [Scored(trial, recipe) for trial, recipe in with_recipes if recipe is not None]
