"""The runner: labels, metric line, excerpts, environment, GPU pinning, fallback mode."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path

import pytest

from gome import runner
from gome.environment import describe_environment, environment_info
from gome.runner import (
    METRIC_LINE_INSTRUCTION,
    METRIC_LINE_PREFIX,
    FailureLabel,
    Limits,
    RunResult,
    isolation_mode,
    parse_validation_score,
    run_script,
)

WRITE_SUBMISSION = "open('submission.csv', 'w').write('id,y\\n1,0\\n')\n"
LIMITS = Limits(timeout_s=30, memory_bytes=2 * 1024**3)


@pytest.fixture
def public_dir(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    public.mkdir()
    (public / "train.csv").write_text("id,x\n1,2\n")
    return public


def run_code(
    tmp_path: Path, public_dir: Path, code: str, limits: Limits = LIMITS, **kwargs
) -> RunResult:
    trial = tmp_path / "trial"
    trial.mkdir(exist_ok=True)
    script = trial / "solution.py"
    script.write_text(code)
    return run_script(script, trial, public_dir, limits, **kwargs)


def test_ok_run_reads_input_and_reports_score(tmp_path: Path, public_dir: Path) -> None:
    code = (
        "print(open('input/train.csv').read().splitlines()[1])\n"
        + WRITE_SUBMISSION
        + "print('validation_score: 0.8125')\n"
    )
    result = run_code(tmp_path, public_dir, code)
    assert result.label is FailureLabel.OK
    assert result.exit_code == 0 and not result.timed_out
    assert result.validation_score == pytest.approx(0.8125)
    assert result.submission_path == (tmp_path / "trial" / "submission.csv").resolve()
    assert "1,2" in result.stdout_path.read_text()
    assert result.isolation == isolation_mode()
    assert 0 < result.duration_s < 30
    assert result.peak_rss_bytes > 1_000_000  # a Python interpreter at least
    data = json.loads(json.dumps(result.to_dict()))
    assert data["label"] == "ok" and data["submission_path"].endswith("submission.csv")


def test_crash_keeps_the_traceback(tmp_path: Path, public_dir: Path) -> None:
    result = run_code(tmp_path, public_dir, WRITE_SUBMISSION + "raise ValueError('boom 42')\n")
    assert result.label is FailureLabel.CRASH
    assert result.exit_code != 0
    assert "ValueError: boom 42" in result.output_excerpt
    assert "boom 42" in result.stderr_path.read_text()


def test_no_metric(tmp_path: Path, public_dir: Path) -> None:
    result = run_code(tmp_path, public_dir, WRITE_SUBMISSION + "print('score: 0.5')\n")
    assert result.label is FailureLabel.NO_METRIC
    assert result.validation_score is None


def test_no_submission(tmp_path: Path, public_dir: Path) -> None:
    result = run_code(tmp_path, public_dir, "print('validation_score: 0.5')\n")
    assert result.label is FailureLabel.NO_SUBMISSION
    assert result.submission_path is None
    assert result.validation_score == 0.5


def test_invalid_submission_keeps_the_message(tmp_path: Path, public_dir: Path) -> None:
    seen: list[Path] = []

    def validate(path: Path) -> tuple[bool, str]:
        seen.append(path)
        return False, "expected 10 rows, got 1"

    code = WRITE_SUBMISSION + "print('validation_score: 0.5')\n"
    result = run_code(tmp_path, public_dir, code, validate=validate)
    assert result.label is FailureLabel.INVALID_SUBMISSION
    assert result.validity_message == "expected 10 rows, got 1"
    assert seen == [result.submission_path]


def test_valid_submission_passes_the_validator(tmp_path: Path, public_dir: Path) -> None:
    code = WRITE_SUBMISSION + "print('validation_score: 0.5')\n"
    result = run_code(tmp_path, public_dir, code, validate=lambda _: (True, "looks fine"))
    assert result.label is FailureLabel.OK
    assert result.validity_message == "looks fine"


def test_excerpt_keeps_head_and_tail(tmp_path: Path, public_dir: Path) -> None:
    code = "for i in range(5000):\n    print(f'line {i:05d}')\n"
    result = run_code(tmp_path, public_dir, code)
    excerpt = result.output_excerpt
    assert "line 00000" in excerpt and "line 04999" in excerpt
    assert "line 02500" not in excerpt
    assert "omitted" in excerpt
    assert len(excerpt) < runner.EXCERPT_HEAD_CHARS + runner.EXCERPT_TAIL_CHARS + 100
    assert "line 02500" in result.stdout_path.read_text()  # the file keeps everything


def test_metric_printed_after_truncation_is_found(tmp_path: Path, public_dir: Path) -> None:
    code = "print('x' * 50_000)\nprint('validation_score: 0.25')\n" + WRITE_SUBMISSION
    limits = Limits(timeout_s=30, memory_bytes=2 * 1024**3, max_output_bytes=10_000)
    result = run_code(tmp_path, public_dir, code, limits)
    assert result.validation_score == 0.25
    assert result.stdout_path.stat().st_size < 10_200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("validation_score: 0.75", 0.75),
        ("validation_score:-1.5e-3", -1.5e-3),
        ("  Validation_Score: 3  ", 3.0),
        ("validation_score: 0.1\nnoise\nvalidation_score: 0.2\n", 0.2),
        ("validation_score: nan", None),
        ("validation_score: inf", None),
        ("validation_score: 0.9\nvalidation_score: NaN", None),
        ("validation_score: high", None),
        ("best validation_score: 0.4", None),
        ("validation_score: 0.4 (fold mean)", None),
        ("", None),
    ],
)
def test_parse_validation_score(text: str, expected: float | None) -> None:
    assert parse_validation_score(text) == expected


def test_metric_instruction_names_the_prefix() -> None:
    assert METRIC_LINE_PREFIX in METRIC_LINE_INSTRUCTION
    assert parse_validation_score(f"{METRIC_LINE_PREFIX} 0.5") == 0.5


def test_isolation_mode_says_which() -> None:
    mode = isolation_mode()
    assert mode.startswith(("bubblewrap:", "fallback:"))
    if runner._sandbox().bwrap:
        assert "net+pid namespaces" in mode


@pytest.mark.parametrize(("gpu", "expected"), [(3, "3"), (None, "")])
def test_gpu_is_pinned(tmp_path: Path, public_dir: Path, gpu: int | None, expected: str) -> None:
    code = "import os\nprint('CVD=' + repr(os.environ['CUDA_VISIBLE_DEVICES']))\n"
    result = run_code(tmp_path, public_dir, code, Limits(timeout_s=30, gpu=gpu))
    assert f"CVD={expected!r}" in result.stdout_path.read_text()


def test_environment_is_clean(
    tmp_path: Path, public_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    code = "import os\nprint(sorted(os.environ.items()))\n"
    result = run_code(tmp_path, public_dir, code, env={"EXTRA_FLAG": "on"})
    out = result.stdout_path.read_text()
    assert "sk-should-not-leak" not in out
    assert "('EXTRA_FLAG', 'on')" in out
    assert str(tmp_path / "trial" / ".home") in out


def test_script_outside_the_trial_is_copied(tmp_path: Path, public_dir: Path) -> None:
    script = tmp_path / "elsewhere.py"
    script.write_text(WRITE_SUBMISSION + "print('validation_score: 1')\n")
    trial = tmp_path / "t1"
    result = run_script(script, trial, public_dir, LIMITS)
    assert result.label is FailureLabel.OK
    assert (trial / "elsewhere.py").read_text() == script.read_text()


def test_cancel_stops_the_run(tmp_path: Path, public_dir: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    result = run_code(tmp_path, public_dir, "import time\ntime.sleep(60)\n", cancel=cancel)
    assert result.timed_out and result.label is FailureLabel.TIMEOUT
    assert time.monotonic() - started < 10


def test_fallback_mode_runs_without_bwrap(
    tmp_path: Path, public_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runner.SANDBOX_ENV, "none")
    assert isolation_mode().startswith("fallback:")
    code = "print(open('input/train.csv').read())\n" + WRITE_SUBMISSION
    code += "print('validation_score: 0.5')\n"
    result = run_code(tmp_path, public_dir, code)
    assert result.label is FailureLabel.OK
    assert result.isolation.startswith("fallback:")
    assert (tmp_path / "trial" / "input").resolve() == public_dir.resolve()


def test_fallback_timeout_kills_the_group(
    tmp_path: Path, public_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runner.SANDBOX_ENV, "none")
    code = "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)\n"
    result = run_code(tmp_path, public_dir, code, Limits(timeout_s=1, kill_grace_s=0.5))
    assert result.label is FailureLabel.TIMEOUT and result.duration_s < 5


def test_limits_describe() -> None:
    text = Limits(timeout_s=1800, memory_bytes=8 * 1024**3, gpu=0).describe()
    assert "30 min" in text and "8.0 GiB" in text and "GPU 0" in text


def test_environment_description() -> None:
    info = environment_info()
    text = describe_environment()
    assert info.python_version in text
    for name in ("pandas", "numpy", "scikit-learn", "lightgbm", "xgboost"):
        assert f"{name} {info.packages[name]}" in text
    assert f"{info.cpu_count} CPU cores" in text
    assert ("GPU:" in text) == bool(info.gpus)
    if info.pandas_major and info.pandas_major >= 3:
        assert "`str` dtype" in text and "fillna(0)" in text
    assert describe_environment() is text  # cached


def test_user_task_count_counts_this_process() -> None:
    assert runner._user_task_count(os.geteuid()) >= threading.active_count()


def test_default_memory_cap_is_bounded() -> None:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert Limits().memory_bytes <= min(16 * 1024**3, math.ceil(0.75 * total))
