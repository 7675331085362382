"""The server process: llama.cpp (xllamacpp) serving one GGUF file on 127.0.0.1.

Run as `python -m gome.models.serve_process --model PATH ...` by `LocalModelServer`. Once the
model is loaded and the socket listens, it prints one JSON line, `{"address": "http://..."}`, on
stdout (port 0 lets the OS pick a free port, so there is no race for it), then sends any further
stdout to stderr (the log) and waits to be killed.

With `--parent-pid`, a watchdog thread exits the process as soon as its parent is gone, however
the parent died (kill -9 included). It polls `os.getppid()` rather than using Linux's
PR_SET_PDEATHSIG, which fires when the *thread* that forked exits: a server started from a
worker thread would die with that thread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARENT_POLL_S = 0.5


@dataclass(frozen=True)
class ServerSettings:
    """How llama.cpp runs: context per request, parallel slots, CPU threads (decode, prefill)."""

    n_ctx: int
    n_parallel: int
    threads: int
    threads_batch: int


def build_params(path: Path, alias: str, settings: ServerSettings, port: int) -> Any:
    """xllamacpp's CommonParams for one model on 127.0.0.1:`port` (0: any free port)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {alias}  # a set of names in this xllamacpp; a str would be split
    params.n_parallel = settings.n_parallel
    params.n_ctx = settings.n_ctx * settings.n_parallel  # llama.cpp splits it among the slots
    params.cpuparams.n_threads = settings.threads
    params.cpuparams_batch.n_threads = settings.threads_batch
    params.hostnames = ["127.0.0.1"]
    params.port = port
    return params


def start_server(path: Path, alias: str, settings: ServerSettings, port: int) -> tuple[Any, str]:
    """Load the model and listen (blocks for the load, seconds); (server, address).

    The server object must stay referenced for as long as it serves.
    """
    import xllamacpp

    server = xllamacpp.Server(build_params(path, alias, settings, port))
    return server, server.listening_address


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(0)  # no cleanup to do: the OS frees the model and the socket


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gome.models.serve_process")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--n-ctx", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--threads-batch", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    settings = ServerSettings(args.n_ctx, args.parallel, args.threads, args.threads_batch)
    server, address = start_server(args.model, args.alias, settings, args.port)
    print(json.dumps({"address": address}), flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe from now on
    threading.Event().wait()  # `server` stays referenced, and serving, until we are killed


if __name__ == "__main__":
    main()
