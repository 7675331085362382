"""Run one slot of a candidate script alone on a data sample and check its contract.

A standalone script (not imported by gome): `slots.check_slot_in_isolation` copies it into a
scratch folder next to `candidate.py` (the spliced script), `parent.py` (the script it edits)
and `slot_check.json` (the slot, target columns and sample size), and runs it in the sandbox
with ./input mounted. It prints `slot_check: ok ...`, or `slot_check_failed: {"message": ...,
"line": ...}` and exits 1; `line` is the line of candidate.py a failure points at.

A `model_params` or `choose_recipe` edit must also change what a model predicts: both versions
of each changed model are fitted on a sample of the train rows. Why: the 1.5B model's parameter
edits often set only what the script owns (n_estimators, threads) or keys the library ignores
(`family`, `transformer`); they ran "valid" and changed nothing, a step spent for no signal.
"""

import copy
import inspect
import json
import runpy
import sys
import traceback
from collections.abc import Callable

import numpy as np
import pandas as pd

CANDIDATE = "candidate.py"
PARENT = "parent.py"
EFFECT_ROWS = 2000  # train rows the models are fitted on to see a parameter's effect
FAILURE_PREFIX = "slot_check_failed: "
FITTING_PREFIX = "slot_check_fitting: "
RECIPE_KEYS = ("members", "folds", "seeds", "group_cv")
MAX_COLUMNS_SHOWN = 4
PLAIN_VALUES = "a parameter's value must be a number, a string, True/False or a list of those"


def fail(message: str, exc: BaseException | None = None) -> None:
    line = None
    if exc is not None:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f.filename.endswith(CANDIDATE)]
        line = ours[-1].lineno if ours else None
    print(FAILURE_PREFIX + json.dumps({"message": message, "line": line}))
    sys.exit(1)


def unusable_params(params: dict) -> list[str]:
    """Keys whose values no model library takes as a parameter: anything but a number, a
    string, True/False, None or a list of those (LightGBM raises on a dict, e.g.)."""
    scalar = (str, int, float, bool, type(None))

    def plain(value: object) -> bool:
        items = value if isinstance(value, list | tuple) else [value]
        return all(isinstance(item, scalar) for item in items)

    return [
        f"{key!r} is of type {type(value).__name__}"
        for key, value in params.items()
        if not plain(value)
    ]


Predict = Callable[[dict, dict], np.ndarray]


def sample_predictor(ns: dict, targets: list[str]) -> Predict:
    """`predict(member, params)`: the member's model fitted with `params` on the first
    EFFECT_ROWS train rows (its blocks and the script's own add_features), predicting them."""
    frame, targets, n_train = sample_frame(ns, targets, EFFECT_ROWS)
    train = pd.read_csv("input/train.csv", nrows=EFFECT_ROWS)
    target = ns["target_plan"](train, targets)[0][0]
    labelled = target.notna().to_numpy()
    _, y, n_classes = ns["encode_target"](target[labelled])
    profile = ns["profile_columns"](frame, ns["TASK"]["id_column"])
    built: dict[tuple[str, ...], pd.DataFrame] = {}

    def predict(member: dict, params: dict) -> np.ndarray:
        blocks = tuple(member["features"])
        if blocks not in built:
            features = ns["build_features"](frame, profile, list(blocks))
            built[blocks] = features.iloc[:n_train][labelled]
        X = built[blocks]
        return ns["fit_predict"](member, params, X, y, [X], 0, n_classes)[0]

    return predict


def changed_keys(pairs: list[tuple[dict, dict, dict]]) -> list[str]:
    return sorted({k for _, old, new in pairs for k in {*old, *new} if old.get(k) != new.get(k)})


def check_effect(pairs: list[tuple[dict, dict, dict]], predict: Predict, edit: str) -> None:
    """Fail unless some (member, params before, params after) fits differently after: the
    changed keys are then ones the script sets itself or the library ignores."""
    for member, old, new in pairs:
        try:
            before = predict(member, old)
        except Exception:  # the parent's own fit fails on the sample: nothing to compare
            return
        fitting = f"fitting {member['family']} with the parameters from {edit}"
        print(FITTING_PREFIX + fitting, flush=True)  # named by the caller if the process dies
        try:
            after = predict(member, new)
        except Exception as exc:
            fail(f"{fitting} raised {type(exc).__name__}: {exc}")
        if not np.allclose(before, after, rtol=0.0, atol=1e-9):
            return
    families = sorted({member["family"] for member, _, _ in pairs})
    fail(
        f"{edit} changes nothing the models use: fitted on {EFFECT_ROWS} train rows, the "
        f"models it changes ({', '.join(families)}) predict exactly the same with and without "
        f"the edit. The keys it changes ({', '.join(changed_keys(pairs))}) are set by the "
        "script itself (n_estimators, early stopping, seeds, threads) or are not parameters of "
        "that model; change a parameter the model uses"
    )


def check_model_params(ns: dict, parent: dict, targets: list[str]) -> None:
    slot = ns["model_params"]
    members = ns["choose_recipe"](copy.deepcopy(ns["RECIPE"]))["members"]
    families = {m["family"] for m in members} | {"lightgbm"}
    for family in sorted(families):
        try:
            params = slot(family, {})
        except Exception as exc:
            fail(f"model_params({family!r}, {{}}) raised {type(exc).__name__}: {exc}", exc)
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            kind = type(params).__name__
            fail(f"model_params({family!r}, ...) must return a dict with str keys, not {kind}")
        unusable = unusable_params(params)
        if unusable:
            fail(f"model_params({family!r}, ...): {'; '.join(unusable)}; {PLAIN_VALUES}")
    pairs = []
    for member in members:
        given = member["params"]
        old = parent["model_params"](member["family"], dict(given))
        new = slot(member["family"], dict(given))
        if old != new:
            pairs.append((member, old, new))
    if not pairs:
        used = ", ".join(sorted({m["family"] for m in members}))
        fail(
            f"model_params returns the same parameters as before for the recipe's models "
            f"({used}), so the edit would change nothing; change a parameter of one of them"
        )
    check_effect(pairs, sample_predictor(ns, targets), "model_params")
    print("slot_check: ok")


def recipe_problems(
    recipe: object, families: list[str], blocks: list[str], limits: dict
) -> list[str]:
    """What makes a recipe one the script cannot run (see the slot's contract)."""
    if not isinstance(recipe, dict):
        return [f"choose_recipe must return the recipe dict, not {type(recipe).__name__}"]
    problems = [f"the recipe lost its key {k!r}" for k in RECIPE_KEYS if k not in recipe]
    members = recipe.get("members")
    if not isinstance(members, list) or not 1 <= len(members) <= limits["members"]:
        if "members" in recipe:  # a lost key is reported once, above
            problems.append(f"members must be a list of 1-{limits['members']} model dicts")
        members = []
    for i, member in enumerate(members):
        if not isinstance(member, dict):
            problems.append(f"member {i} must be a dict")
            continue
        if member.get("family") not in families:
            problems.append(f"member {i}: family {member.get('family')!r} is not one of {families}")
        features = member.get("features")
        if not isinstance(features, list) or not features or not set(features) <= set(blocks):
            problems.append(f"member {i}: features must be a non-empty list from {blocks}")
        params = member.get("params")
        unusable = unusable_params(params) if isinstance(params, dict) else []
        if not isinstance(params, dict):
            problems.append(f"member {i}: params must be a dict (it may be empty)")
        elif unusable:
            problems.append(f"member {i}: params {'; '.join(unusable)}; {PLAIN_VALUES}")
        trials = member.get("tune_trials", 0)
        if not isinstance(trials, int) or not 0 <= trials <= limits["tune_trials"]:
            problems.append(f"member {i}: tune_trials must be an int in 0-{limits['tune_trials']}")
    folds = recipe.get("folds")
    if "folds" in recipe and not (isinstance(folds, int) and 2 <= folds <= limits["folds"]):
        problems.append(f"folds must be an int in 2-{limits['folds']}")
    seeds = recipe.get("seeds")
    valid_seeds = isinstance(seeds, list) and all(isinstance(s, int) for s in seeds)
    if "seeds" in recipe and not (valid_seeds and 1 <= len(seeds) <= limits["seeds"]):
        problems.append(f"seeds must be a list of 1-{limits['seeds']} ints")
    if "group_cv" in recipe and not isinstance(recipe["group_cv"], bool):
        problems.append("group_cv must be True or False")
    return problems


def params_only_changes(before: dict, after: dict) -> list[tuple[dict, dict, dict]] | None:
    """(member, params before, params after) of each member whose params alone changed, when
    nothing else of the recipe did; None when something else changed."""
    old_members, new_members = before["members"], after["members"]
    rest_same = {k: v for k, v in before.items() if k != "members"} == {
        k: v for k, v in after.items() if k != "members"
    }
    if not rest_same or len(old_members) != len(new_members):
        return None
    pairs = []
    for old, new in zip(old_members, new_members, strict=True):
        if {**old, "params": None} != {**new, "params": None}:
            return None
        if old["params"] != new["params"]:
            pairs.append((new, old["params"], new["params"]))
    return pairs


def check_choose_recipe(ns: dict, parent: dict, spec: dict) -> None:
    given = copy.deepcopy(ns["RECIPE"])
    try:
        recipe = ns["choose_recipe"](copy.deepcopy(given))
    except Exception as exc:
        fail(f"choose_recipe raised {type(exc).__name__}: {exc}", exc)
    omega = [f"omega:{name}" for name in ns.get("OMEGA_ESTIMATORS", {})]
    families = spec["families"] + omega
    problems = recipe_problems(recipe, families, list(ns["BLOCKS"]), spec["recipe_limits"])
    if problems:
        fail("; ".join(problems))
    before = parent["choose_recipe"](copy.deepcopy(given))
    if recipe == before:
        fail("choose_recipe returns the recipe unchanged, so the edit would change nothing")
    pairs = params_only_changes(before, recipe)
    if pairs:  # what the models get is the params after the script's model_params
        tuned = ns["model_params"]
        pairs = [(m, tuned(m["family"], dict(o)), tuned(m["family"], dict(n))) for m, o, n in pairs]
        check_effect(pairs, sample_predictor(ns, spec["targets"]), "choose_recipe")
    print("slot_check: ok")


def sample_frame(ns: dict, targets: list[str], rows: int) -> tuple[pd.DataFrame, list[str], int]:
    """Train and test features stacked as the script's main() stacks them (no target)."""
    train = pd.read_csv("input/train.csv", nrows=rows)
    test = pd.read_csv("input/test.csv", nrows=rows)
    found = list(ns["train_targets"](train, test)) if "train_targets" in ns else []
    targets = list(dict.fromkeys(found + [t for t in targets if t in train]))
    features = [train.drop(columns=targets), test.drop(columns=targets, errors="ignore")]
    return pd.concat(features, ignore_index=True), targets, len(train)


def values_read(ns: dict, frame: pd.DataFrame) -> str:
    """The first values (and their Python types) of the input columns add_features names: an
    all-NaN column usually compared or mapped them as something they are not (the string
    'True' for a bool), which the message alone does not show the model."""
    try:
        source = inspect.getsource(ns["add_features"])
    except (OSError, TypeError):
        return ""
    named = [c for c in frame.columns if f"'{c}'" in source or f'"{c}"' in source]
    shown = []
    for col in named[:MAX_COLUMNS_SHOWN]:
        values = frame[col].dropna().unique()[:3]
        shown.append(f"{col}: " + ", ".join(f"{v!r} ({type(v).__name__})" for v in values))
    return f" (the input values it reads look like {' | '.join(shown)})" if shown else ""


def unusable_columns(ns: dict, frame: pd.DataFrame, out: pd.DataFrame, new: list[str]) -> list[str]:
    """Why new columns would be lost: duplicated names, or nothing left once the script's
    `as_model_column` converted them (all missing)."""
    problems = []
    for col in new:
        values = out[col]
        if not isinstance(values, pd.Series):
            problems.append(f"column {col!r} is duplicated")
        elif ns["as_model_column"](values) is None:
            problems.append(f"new column {col!r} is all NaN{values_read(ns, frame)}")
    return problems


def check_add_features(ns: dict, targets: list[str], rows: int) -> None:
    frame, targets, n_train = sample_frame(ns, targets, rows)
    raw = list(frame.columns)
    try:
        out = ns["add_features"](frame.copy())
    except KeyError as exc:
        key = exc.args[0] if exc.args else None
        if key in targets:
            fail(
                f"add_features read the target column {key!r}, which is not in its input: it "
                "gets train and test features only, so a feature can never use the target",
                exc,
            )
        if key in raw:
            fail(
                f"add_features raised KeyError {key!r}: the column is in its input, so the "
                "function removed or renamed it before this line",
                exc,
            )
        fail(f"add_features raised KeyError {key!r}: no such column; the columns are {raw}", exc)
    except Exception as exc:
        fail(f"add_features raised {type(exc).__name__}: {exc}", exc)
    if not isinstance(out, pd.DataFrame):
        fail(f"add_features must return a DataFrame, not {type(out).__name__}")
    if len(out) != len(frame):
        fail(
            f"add_features returned {len(out)} rows for {len(frame)} ({n_train} train + "
            f"{len(frame) - n_train} test): it must keep every row (no dropna, filtering or "
            "merges that change rows)"
        )
    if not out.index.equals(frame.index):
        fail(
            "add_features changed the index (sorted, reset or shuffled rows): keep it as it is, "
            "so train rows stay first and test rows after them"
        )
    new = [c for c in out.columns if c not in raw]
    problems = unusable_columns(ns, frame, out, new)
    if problems:
        fail("; ".join(problems))
    if not new:
        changed = [c for c in raw if not out[c].equals(frame[c])] if set(raw) <= set(out) else []
        if changed:
            fail(
                f"add_features changed the existing columns {changed[:5]} and added none: "
                "changes to existing columns are ignored, so write each result as a new column "
                f"instead, e.g. frame['{changed[0]}_filled'] = ..."
            )
        fail(
            "add_features adds no new column: changes to existing columns are ignored, so the "
            "edit would change nothing; add the feature as a new column"
        )
    print(f"slot_check: ok, {len(new)} new columns: {new[:20]}")


def main() -> None:
    with open("slot_check.json", encoding="utf-8") as fh:
        spec = json.load(fh)
    try:
        ns = runpy.run_path(CANDIDATE, run_name="slot_check")
    except Exception as exc:
        fail(f"the script fails on import: {type(exc).__name__}: {exc}", exc)
    if spec["slot"] not in ns:
        fail(f"the script defines no function {spec['slot']}")
    if spec["slot"] == "add_features":
        check_add_features(ns, spec["targets"], spec["rows"])
        return
    # a parameter edit is compared with the script it starts from
    parent = runpy.run_path(PARENT, run_name="slot_check")
    if spec["slot"] == "model_params":
        check_model_params(ns, parent, spec["targets"])
    else:
        check_choose_recipe(ns, parent, spec)


if __name__ == "__main__":
    main()
