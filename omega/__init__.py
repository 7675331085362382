"""OMEGA: generate, self-heal and evaluate new scikit-learn algorithms.

Reading order: `candidate` (a module holding one estimator class) -> `generate` (prompts;
`fallback` without an LLM) -> `checks` and `heal` (run in gome's sandbox, repair from the
failing check's traceback) -> `datasets` and `evaluate` (the suite) -> `stats` and `report`
(ranks, Friedman, critical difference, wins/ties/losses) -> `registry` (accepted algorithms,
offered to agents) -> `pipeline` and `cli` (`gome omega ...`). `sandbox/` holds the scripts
that run inside the sandbox.
"""
