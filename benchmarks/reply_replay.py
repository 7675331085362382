"""Replay real replies of the embedded local models through gome's reply handling.

The corpus (`benchmarks/results/reply_replay/corpus.jsonl`) holds replies the local models
really gave in earlier runs, one JSON line each: model, purpose, competition id and text;
`--collect` adds those of run folders (the ledger names each call's purpose; its reply is the
cache entry with the same token counts). No model is called by the replay, so a change to the
parsers or the checks is measured on the same replies before and after:

- diagnosis replies: how many give a usable diagnosis (`extract_json`, `parse_diagnosis`),
  and where their hypotheses point: a slot of the built-in script by their words, or none;
- slot replies (implement and debug stages): through the product's `write_script` with no
  repair call, on the built-in θ₀ of their competition (the prepared data must be there):
  how many pass every static and slot check as written, and how many once the failing
  statements are pruned (`Scaffolding.prune`).

    python benchmarks/reply_replay.py --collect RUN_DIR...   # add replies to the corpus
    python benchmarks/reply_replay.py [--only diagnosis]      # replay; writes the results
    PYTHONPATH=<older checkout> python benchmarks/reply_replay.py --only diagnosis --label before

Writes benchmarks/results/reply_replay/results.json (one entry per `--label`, replaced on
re-run) with the code's git commit.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench_offline import code_commit

from gome.agent import SearchContext
from gome.competitions import load_competition
from gome.llm import LEDGER_FILE, LLMReply, MalformedReplyError, extract_code, extract_json
from gome.optimizer.coding import Caller, StepFailedError, write_script
from gome.optimizer.config import Scaffolding
from gome.optimizer.diagnosis import Diagnosis, parse_diagnosis
from gome.optimizer.prompts import Briefing, EditTarget
from gome.optimizer.slots import SLOTS, function_node
from gome.proposers.builtin import BuiltinProposer

FOLDER = Path(__file__).parent / "results" / "reply_replay"
CORPUS = FOLDER / "corpus.jsonl"
RESULTS = FOLDER / "results.json"
LOCAL_MODELS = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
DIAGNOSIS = "diagnosis"
SLOT_STAGES = ("implement", "debug")


def read_corpus() -> list[dict[str, str]]:
    if not CORPUS.is_file():
        return []
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def replies_of_run(run_dir: Path) -> list[dict[str, str]]:
    """The local models' fresh replies in one run folder, paired ledger line to cache entry."""
    ledger = run_dir / LEDGER_FILE
    run_json = run_dir / "run.json"
    if not ledger.is_file() or not run_json.is_file():
        return []
    competition = json.loads(run_json.read_text())["config"]["competition_id"]
    by_tokens: dict[tuple[int, int], str] = {}
    for path in glob.glob(str(run_dir / "llm_cache" / "*" / "*.json")):
        entry = json.loads(Path(path).read_text())
        by_tokens[(entry["prompt_tokens"], entry["completion_tokens"])] = entry["text"]
    found = []
    for line in ledger.read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        model = call["model"].split("/")[-1]
        text = by_tokens.get((call["prompt_tokens"], call["completion_tokens"]))
        if model in LOCAL_MODELS and not call.get("cached") and text is not None:
            found.append(
                {"model": model, "purpose": call["purpose"], "competition_id": competition}
                | {"text": text}
            )
    return found


def collect(run_dirs: list[Path]) -> None:
    corpus = read_corpus()
    seen = {(r["model"], r["purpose"], r["text"]) for r in corpus}
    added = 0
    with CORPUS.open("a", encoding="utf-8") as out:
        for run_dir in run_dirs:
            for reply in replies_of_run(run_dir):
                key = (reply["model"], reply["purpose"], reply["text"])
                if key not in seen:
                    seen.add(key)
                    out.write(json.dumps(reply) + "\n")
                    added += 1
    print(f"{added} new replies; the corpus holds {len(seen)}")


def stage(reply: dict[str, str]) -> str:
    return reply["purpose"].split(":")[-1]


def read_diagnosis(text: str) -> Diagnosis | str:
    """The diagnosis a reply gives, or why it is unusable."""
    try:
        return parse_diagnosis(extract_json(text))
    except MalformedReplyError as exc:
        return str(exc).split(" (")[0]


def diagnosis_figures(texts: list[str], slots: bool) -> dict[str, Any]:
    """How many replies are usable; with `slots`, how many of their hypotheses point at a slot
    of the built-in script by their words (the others fall back to `add_features`)."""
    read = [read_diagnosis(text) for text in texts]
    usable = [d for d in read if isinstance(d, Diagnosis)]
    figures: dict[str, Any] = {
        "replies": len(read),
        "usable": len(usable),
        "reasons": dict(Counter(d for d in read if isinstance(d, str))),
    }
    if slots:
        # imported here: `--only diagnosis` then also runs on checkouts older than slot routing
        from gome.optimizer.slots import pointed_slot

        statements = [h.statement for d in usable for h in d.hypotheses]
        pointed = [pointed_slot(s, list(SLOTS)) for s in statements]
        figures["hypotheses"] = len(statements)
        figures["pointing_at_a_slot"] = dict(Counter(p or "none" for p in pointed))
    return figures


class StoredReply:
    """A completion client that gives back one stored reply, however often it is asked."""

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, messages: list[dict], *, purpose: str = "", **kwargs: Any) -> LLMReply:
        return LLMReply(self.text, "stored", 0, 0, 0.0, 0.0, "stop")


def reply_slot(text: str) -> str | None:
    """The slot a reply rewrites: the first slot function its code defines."""
    try:
        code = extract_code(text)
    except MalformedReplyError:
        return None
    return next((name for name in SLOTS if function_node(code, name) is not None), None)


class SlotReplay:
    """Replays slot replies of one competition against its built-in θ₀."""

    def __init__(self, competition_id: str) -> None:
        competition = load_competition(competition_id)
        context = SearchContext(
            competition=competition,
            public_dir=competition.public_dir(),
            history=[],
            trial_timeout_s=600.0,
            time_left_s=3600.0,
            environment="",
            rng=random.Random(0),
        )
        self.parent = BuiltinProposer().propose(context).code
        self.briefing = Briefing.from_context(context, {})

    def outcome(self, text: str) -> str:
        """as-written | pruned | failed: <first problem kind> | not-a-slot."""
        slot = reply_slot(text)
        if slot is None:
            return "not-a-slot"
        target = EditTarget("slot", self.parent, slot)
        notes: dict[str, Any] = {}
        caller = Caller(StoredReply(text), "replay")
        scaffolding = Scaffolding(static_repairs=0, prune=True)
        try:
            write_script(caller, "implement", [], target, self.briefing, scaffolding, notes)
        except StepFailedError as exc:
            first = (notes.get("static_checks") or [{}])[0].get("problems") or [exc.reason]
            return "failed: " + first[0].split(": ", 1)[-1][:60]
        return "pruned" if notes["static_checks"][0].get("pruned") else "as-written"


def replay(corpus: list[dict[str, str]], only: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    by_model: dict[str, list[dict[str, str]]] = defaultdict(list)
    for reply in corpus:
        by_model[reply["model"]].append(reply)
    replays: dict[str, SlotReplay] = {}
    for model, replies in sorted(by_model.items()):
        entry: dict[str, Any] = {}
        texts = [r["text"] for r in replies if stage(r) == DIAGNOSIS]
        entry["diagnosis"] = diagnosis_figures(texts, slots=only != DIAGNOSIS)
        if only != DIAGNOSIS:
            outcomes = []
            for reply in (r for r in replies if stage(r) in SLOT_STAGES):
                competition = reply["competition_id"]
                if competition not in replays:
                    replays[competition] = SlotReplay(competition)
                outcomes.append(replays[competition].outcome(reply["text"]))
                print(model, competition, outcomes[-1], flush=True)
            passed = outcomes.count("as-written") + outcomes.count("pruned")
            entry["slot_replies"] = {
                "replies": len(outcomes),
                "pass_as_written": outcomes.count("as-written"),
                "pass_after_pruning": passed,
                "outcomes": dict(Counter(outcomes)),
            }
        result[model] = entry
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collect", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument("--only", choices=[DIAGNOSIS])
    parser.add_argument("--label", default="current", help="Results entry to write.")
    args = parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    if args.collect:
        collect(args.collect)
        return
    corpus = read_corpus()
    if not corpus:
        sys.exit(f"no corpus at {CORPUS}; add replies with --collect RUN_DIR...")
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[args.label] = {"commit": code_commit(), "models": replay(corpus, args.only)}
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results[args.label], indent=1))


if __name__ == "__main__":
    main()
