"""Local model speed: prefill and decode tokens/s, and time from start to first token.

    python benchmarks/local_model_speed.py [--models qwen2.5-coder-0.5b qwen2.5-coder-1.5b]
        [--threads 1 2] [--prompt-tokens 1500] [--decode-tokens 64] [--repeats 3]

For each model (fetched first if not cached; the fetch is timed but not part of the figures):
- `first_token_s`: a fresh Python process that imports gome, resolves `local:<name>` (file
  cached), starts the managed server, imports litellm and gets one token through `LLMClient`;
  the wall time from that process's start to the reply, and its parts;
- prefill and decode tokens/s from llama.cpp's own `timings` in the reply (prompt cache off),
  median of `--repeats` runs: a ~`--prompt-tokens` code prompt with one output token, and a
  short prompt with `--decode-tokens` output tokens, under `choose_settings`' defaults and
  under each of `--threads` (prefill and decode threads alike), with the server's resident
  memory after the runs.
Other engineers share this machine, so the 1-minute load average is recorded before and after
each model: figures taken under load are lower than on an idle machine.
Writes benchmarks/results/local_model_speed.json, replacing the entries of the models measured
and keeping the others, so models can be measured in separate runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

from gome.models import LocalModelServer, choose_settings, get_spec, model_path, pull

RESULTS = Path(__file__).parent / "results" / "local_model_speed.json"

# Runs in a fresh interpreter so imports count, as they do for `gome solve`.
FIRST_TOKEN = """
import json, sys, time
t0 = time.perf_counter()
from gome.models import resolve_model
from gome.llm import LLMClient
t_import = time.perf_counter()
handle = resolve_model("local:" + sys.argv[1])
t_resolve = time.perf_counter()
with handle:
    t_up = time.perf_counter()
    client = LLMClient(handle.model, api_base=handle.api_base, api_key=handle.api_key)
    reply = client.complete([{"role": "user", "content": "Say hi."}], max_tokens=1)
    t_reply = time.perf_counter()
print(json.dumps({"first_token_s": t_reply - t0, "imports_s": t_import - t0,
                  "resolve_s": t_resolve - t_import, "server_start_s": t_up - t_resolve,
                  "first_call_s": t_reply - t_up, "completion_tokens": reply.completion_tokens}))
"""


def code_prompt(tokens: int) -> str:
    """Python-like text of roughly `tokens` tokens (about 3.5 characters each)."""
    line = "    df['feature_{i}'] = df['col_{i}'].fillna(df['col_{i}'].median()) * {i}\n"
    lines, chars = [], 0
    i = 0
    while chars < tokens * 3.5:
        lines.append(line.format(i=i))
        chars += len(lines[-1])
        i += 1
    return "def add_features(df):\n" + "".join(lines) + "    return df\n"


def chat(server: LocalModelServer, content: str, max_tokens: int) -> dict:
    """One raw chat completion; llama.cpp's `timings` ride along in the reply."""
    body = {
        "model": server.model_name,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "cache_prompt": False,
        "ignore_eos": True,
    }
    request = urllib.request.Request(
        f"{server.api_base}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())["timings"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def speed(server: LocalModelServer, prompt_tokens: int, decode_tokens: int, repeats: int) -> dict:
    """Median prefill and decode tokens/s over `repeats` runs."""
    prefill, decode = [], []
    for r in range(repeats):
        timings = chat(server, f"# run {r}\n" + code_prompt(prompt_tokens), 1)
        prefill.append(timings["prompt_per_second"])
        prompt_n = timings["prompt_n"]
        timings = chat(server, f"Run {r}: write a long Python tutorial.", decode_tokens)
        decode.append(timings["predicted_per_second"])
    return {
        "prompt_tokens": prompt_n,
        "prefill_tokens_per_s": round(statistics.median(prefill), 1),
        "decode_tokens_per_s": round(statistics.median(decode), 1),
        "prefill_runs": [round(v, 1) for v in prefill],
        "decode_runs": [round(v, 1) for v in decode],
        "server_rss_mib": round(rss_mib(server.pid)),
    }


def measure(
    name: str, threads: list[int], prompt_tokens: int, decode_tokens: int, repeats: int
) -> dict:
    spec = get_spec(name)
    fetched = model_path(name) is None
    started = time.perf_counter()
    path = pull(name)
    fetch_s = time.perf_counter() - started
    load_before = os.getloadavg()[0]
    child = subprocess.run(
        [sys.executable, "-c", FIRST_TOKEN, name], capture_output=True, text=True, check=True
    )
    first = json.loads(child.stdout.strip().splitlines()[-1])
    configs = {"default": choose_settings(spec)} | {
        f"threads={n}": choose_settings(spec, threads=n, threads_batch=n) for n in threads
    }
    speeds = {}
    for label, settings in configs.items():
        with LocalModelServer(spec, path, settings) as server:
            speeds[label] = {"settings": vars(settings)} | speed(
                server, prompt_tokens, decode_tokens, repeats
            )
    return {
        "model": name,
        "file_gb": round(spec.size / 1e9, 3),
        "fetched_now": fetched,
        "fetch_s": round(fetch_s, 1),
        "first_token": {k: round(v, 2) for k, v in first.items()},
        "speed": speeds,
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-coder-0.5b"])
    parser.add_argument("--prompt-tokens", type=int, default=1500)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, nargs="*", default=[], help="thread counts to compare"
    )
    args = parser.parse_args()
    measured = [
        measure(name, args.threads, args.prompt_tokens, args.decode_tokens, args.repeats)
        for name in args.models
    ]
    earlier = json.loads(RESULTS.read_text())["models"] if RESULTS.exists() else []
    kept = [m for m in earlier if m["model"] not in args.models]
    result = {
        "benchmark": "local_model_speed",
        "models": kept + measured,
        "xllamacpp": version("xllamacpp"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other engineers' "
        "jobs (see load_average_1m)",
        "python": platform.python_version(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
