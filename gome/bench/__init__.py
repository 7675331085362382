"""`gome bench`: agents × competitions × seeds, one `gome solve` run each, on a local pool or a
Ray cluster, resumable, reported the way MLE-bench's leaderboard reports agents.

- `plan`: splits, the runs, the competitions skipped and why;
- `executors` / `ray_executor`: where runs execute (one subprocess per run);
- `state`: `bench.json`, what makes re-running the same command continue the bench;
- `report` / `plots`: the tables, MLE-bench grading reports and figures;
- `command`: the CLI's entry point.
"""
