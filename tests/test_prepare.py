"""Preparation: MLE-bench-identical splits and every way in (raw zip, Kaggle, MLE-bench dir,
offline mirror), all on miniature data built here; one opt-in test fetches the real mirror."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console
from sklearn.model_selection import train_test_split

from gome import prepare
from gome.competitions import Competition
from gome.errors import PreparationError
from gome.prepare import prepare_competition
from gome.preparers import PREPARERS
from gome.preparers.csv_split import read_csv as read

REPO = Path(__file__).resolve().parents[1]
SPACESHIP = "spaceship-titanic"


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real Kaggle credentials, cache or competition folders leak into a test."""
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("GOME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GOME_COMPETITIONS_DIR", str(tmp_path / "competitions"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def make_comp(tmp_path: Path, spec: dict[str, Any], checksums: dict | None = None) -> Competition:
    """A competition folder under the test's competitions root, with a description."""
    folder = tmp_path / "competitions" / spec["id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "description.md").write_text(f"# {spec['id']}\n")
    if checksums is not None:
        (folder / "checksums.yaml").write_text(yaml.safe_dump(checksums))
    return Competition.model_validate(spec)


def spaceship_spec(**changes: Any) -> dict[str, Any]:
    spec = yaml.safe_load((REPO / "competitions" / SPACESHIP / "competition.yaml").read_text())
    return {**spec, **changes}


def spaceship_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Kaggle's spaceship-titanic columns, with missing values and floats as in the real file."""
    rng = np.random.default_rng(seed)
    spend = rng.choice([0.0, 1.0, 56.0, 1081.5, np.nan], size=(n, 5))
    frame = pd.DataFrame(
        {
            "PassengerId": [f"{i // 2 + 1:04d}_{i % 2 + 1:02d}" for i in range(n)],
            "HomePlanet": rng.choice(["Earth", "Mars", "Europa"], n),
            "CryoSleep": rng.choice([True, False], n),
            "Cabin": [f"F/{i}/P" for i in range(n)],
            "Destination": rng.choice(["TRAPPIST-1e", "55 Cancri e"], n),
            "Age": rng.choice([38.0, 0.5, np.nan, 65.0], n),
            "VIP": rng.choice([True, False], n),
        }
    )
    for k, col in enumerate(["RoomService", "FoodCourt", "ShoppingMall", "Spa", "VRDeck"]):
        frame[col] = spend[:, k]
    frame["Name"] = [f"Name {i}" for i in range(n)]
    frame["Transported"] = rng.choice([True, False], n)
    return frame


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def spaceship_zip(path: Path, n: int = 53) -> tuple[Path, pd.DataFrame]:
    """A competition zip in Kaggle's layout: labelled train.csv, unlabelled test.csv, sample."""
    train = spaceship_rows(n)
    kaggle_test = spaceship_rows(7, seed=1).drop(columns=["Transported"])
    sample = kaggle_test[["PassengerId"]].assign(Transported=False)
    members = {
        "train.csv": csv_bytes(train),
        "test.csv": csv_bytes(kaggle_test),
        "sample_submission.csv": csv_bytes(sample),
    }
    return write_zip(path, members), train


# -- csv_split: MLE-bench's rows and bytes -----------------------------------------------------
def test_csv_split_reproduces_mlebench_rows_and_bytes(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    archive, train = spaceship_zip(tmp_path / "spaceship.zip", n=53)
    prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    public, private = comp.public_dir(data_dir), comp.private_dir(data_dir)

    n_test = math.ceil(0.1 * len(train))
    order = np.random.RandomState(0).permutation(len(train))
    answers = read(private / "test.csv")
    assert len(answers) == n_test == 6
    assert list(answers["PassengerId"]) == list(train["PassengerId"].iloc[order[:n_test]])
    public_train = read(public / "train.csv")
    assert list(public_train["PassengerId"]) == list(train["PassengerId"].iloc[order[n_test:]])

    # byte-identical to MLE-bench's prepare.py run on the same raw file
    raw = read(comp.raw_dir(data_dir) / "train.csv")
    ref_train, ref_test = train_test_split(raw, test_size=0.1, random_state=0)
    assert (public / "train.csv").read_bytes() == csv_bytes(ref_train)
    assert (private / "test.csv").read_bytes() == csv_bytes(ref_test)
    public_test = ref_test.drop(columns=["Transported"])
    assert (public / "test.csv").read_bytes() == csv_bytes(public_test)
    sample = ref_test[["PassengerId", "Transported"]].assign(Transported=False)
    assert (public / "sample_submission.csv").read_bytes() == csv_bytes(sample)


def test_public_files_hide_test_labels(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    archive, _ = spaceship_zip(tmp_path / "spaceship.zip", n=80)
    result = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    public, private = result.public_dir, result.private_dir
    answers = read(private / "test.csv")
    public_test = read(public / "test.csv")
    assert "Transported" not in public_test.columns
    assert list(public_test["PassengerId"]) == list(answers["PassengerId"])
    assert set(answers["PassengerId"]).isdisjoint(read(public / "train.csv")["PassengerId"])
    sample = read(public / "sample_submission.csv")
    assert list(sample.columns) == ["PassengerId", "Transported"]
    assert list(sample["PassengerId"]) == list(answers["PassengerId"])
    assert not sample["Transported"].any()
    assert (public / "description.md").is_file()
    assert sorted(p.name for p in private.iterdir()) == ["test.csv"]


def test_split_is_deterministic(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    archive, _ = spaceship_zip(tmp_path / "spaceship.zip")
    prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    first = prepare.top_level_checksums(comp.private_dir(data_dir))
    prepare_competition(comp, data_dir=data_dir, raw_zip=archive, force=True)
    assert prepare.top_level_checksums(comp.private_dir(data_dir)) == first


def test_integer_test_size_and_one_hot_answers(tmp_path: Path, data_dir: Path) -> None:
    """spooky's pattern: the labelled CSV sits in a nested zip; answers are one-hot."""
    rows = pd.DataFrame(
        {
            "id": [f"id{i:03d}" for i in range(30)],
            "text": [f"sentence {i}" for i in range(30)],
            "author": ["EAP", "HPL", "MWS"] * 10,
        }
    )
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("train.csv", csv_bytes(rows))
    archive = write_zip(tmp_path / "spooky.zip", {"train.zip": inner.getvalue()})
    classes = ["EAP", "HPL", "MWS"]
    spec = {
        "id": "mini-spooky",
        "name": "Mini spooky",
        "suite": "lite",
        "modality": "text",
        "metric": "multiclass_log_loss",
        "higher_is_better": False,
        "id_column": "id",
        "target_columns": classes,
        "submission_columns": {"id": "str", **dict.fromkeys(classes, "probability")},
        "split": {
            "kind": "csv_split",
            "params": {
                "extract": ["train.zip"],
                "source": "train.csv",
                "test_size": 7,
                "target_columns": ["author"],
                "answers_one_hot": {"column": "author", "classes": classes},
                "sample_submission": {"EAP": 0.4, "HPL": 0.3, "MWS": 0.3},
            },
        },
    }
    comp = make_comp(tmp_path, spec)
    result = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    answers = read(result.private_dir / "test.csv")
    assert list(answers.columns) == ["id", *classes]
    assert len(answers) == 7
    assert (answers[classes].sum(axis=1) == 1).all()
    by_id = rows.set_index("id")["author"]
    assert all(answers.loc[i, by_id[answers.loc[i, "id"]]] == 1 for i in answers.index)
    assert list(read(result.public_dir / "test.csv").columns) == ["id", "text"]
    sample = read(result.public_dir / "sample_submission.csv")
    assert list(sample.columns) == ["id", *classes]


def test_media_files_follow_their_rows(tmp_path: Path, data_dir: Path) -> None:
    """aerial-cactus's pattern: images in a nested train.zip, re-zipped per side in public/."""
    ids = [f"{i:04x}.jpg" for i in range(20)]
    labels = pd.DataFrame({"id": ids, "has_cactus": [i % 2 for i in range(20)]})
    images = io.BytesIO()
    with zipfile.ZipFile(images, "w") as zf:
        for name in ids:
            zf.writestr(f"train/{name}", f"jpeg {name}")
    members = {"train.csv": csv_bytes(labels), "train.zip": images.getvalue()}
    archive = write_zip(tmp_path / "cactus.zip", members)
    spec = {
        "id": "mini-cactus",
        "name": "Mini cactus",
        "suite": "lite",
        "modality": "image",
        "metric": "roc_auc",
        "higher_is_better": True,
        "id_column": "id",
        "target_columns": ["has_cactus"],
        "submission_columns": {"id": "str", "has_cactus": "probability"},
        "split": {
            "kind": "csv_split",
            "params": {
                "source": "train.csv",
                "test_size": 0.19,
                "public_test": None,
                "sample_submission": {"has_cactus": 0.5},
                "media": {
                    "raw_dir": "train",
                    "raw_archive": "train.zip",
                    "public_train_dir": "train",
                    "public_test_dir": "test",
                    "zip": True,
                },
            },
        },
    }
    comp = make_comp(tmp_path, spec)
    result = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    public = result.public_dir
    answers = read(result.private_dir / "test.csv")
    assert len(answers) == math.ceil(0.19 * 20)
    assert sorted(p.name for p in public.iterdir()) == [
        "description.md",
        "sample_submission.csv",
        "test.zip",
        "train.csv",
        "train.zip",
    ]
    with zipfile.ZipFile(public / "test.zip") as zf:
        assert sorted(zf.namelist()) == sorted(answers["id"])
        first = answers["id"].iloc[0]
        assert zf.read(first) == f"jpeg {first}".encode()
    with zipfile.ZipFile(public / "train.zip") as zf:
        assert sorted(zf.namelist()) == sorted(read(public / "train.csv")["id"])


def test_media_is_hard_linked_when_unzipped(tmp_path: Path, data_dir: Path) -> None:
    """aptos's pattern: per-row images in raw folders, linked (not copied) into public/."""
    ids = [f"img{i}" for i in range(10)]
    rows = pd.DataFrame({"id_code": ids, "diagnosis": [i % 5 for i in range(10)]})
    members = {"train.csv": csv_bytes(rows)}
    members |= {f"train_images/{i}.png": f"png {i}".encode() for i in ids}
    members |= {"masks/a.txt": b"a", "masks/deep/b.txt": b"b", "info.txt": b"i"}
    archive = write_zip(tmp_path / "aptos.zip", members)
    spec = {
        "id": "mini-aptos",
        "name": "Mini aptos",
        "suite": "lite",
        "modality": "image",
        "metric": "quadratic_weighted_kappa",
        "higher_is_better": True,
        "id_column": "id_code",
        "target_columns": ["diagnosis"],
        "submission_columns": {"id_code": "str", "diagnosis": "int"},
        "split": {
            "kind": "csv_split",
            "params": {
                "source": "train.csv",
                "test_size": 0.1,
                "sample_submission": {"diagnosis": 0},
                "copy": ["masks", "info.txt"],
                "media": {
                    "raw_dir": "train_images",
                    "public_train_dir": "train_images",
                    "public_test_dir": "test_images",
                    "filename": "{id}.png",
                },
            },
        },
    }
    comp = make_comp(tmp_path, spec)
    result = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    test_id = read(result.private_dir / "test.csv")["id_code"].iloc[0]
    linked = result.public_dir / "test_images" / f"{test_id}.png"
    raw_file = comp.raw_dir(data_dir) / "train_images" / f"{test_id}.png"
    assert os.stat(linked).st_ino == os.stat(raw_file).st_ino
    assert not (result.public_dir / "train_images" / f"{test_id}.png").exists()
    assert len(list((result.public_dir / "train_images").iterdir())) == 9
    assert (result.public_dir / "masks" / "deep" / "b.txt").read_bytes() == b"b"
    assert (result.public_dir / "info.txt").read_bytes() == b"i"


def test_no_split_uses_kaggles_labelled_test(tmp_path: Path, data_dir: Path) -> None:
    """insults' pattern: train copied, labelled test is the answers, no id column."""
    train = pd.DataFrame({"Insult": [0, 1], "Date": ["d1", "d2"], "Comment": ["a", "b"]})
    test = pd.DataFrame(
        {"Insult": [1, 0], "Date": ["d3", None], "Comment": ["c", "e"], "Usage": ["P", "Q"]}
    )
    archive = write_zip(
        tmp_path / "insults.zip",
        {"train.csv": csv_bytes(train), "test_with_solutions.csv": csv_bytes(test)},
    )
    spec = {
        "id": "mini-insults",
        "name": "Mini insults",
        "suite": "lite",
        "modality": "text",
        "metric": "roc_auc",
        "higher_is_better": True,
        "id_column": "Comment",
        "target_columns": ["Insult"],
        "submission_columns": {"Insult": "probability", "Date": "str", "Comment": "str"},
        "sample_submission_file": "sample_submission_null.csv",
        "split": {
            "kind": "no_split",
            "params": {
                "train": "train.csv",
                "test": "test_with_solutions.csv",
                "drop_from_public": ["Usage"],
                "extra_private": {"gold_submission.csv": ["Insult", "Date", "Comment"]},
                "sample_submission": {"Insult": 0, "Date": None, "Comment": None},
            },
        },
    }
    comp = make_comp(tmp_path, spec)
    result = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    public, private = result.public_dir, result.private_dir
    assert (public / "train.csv").read_bytes() == csv_bytes(train)
    assert (private / "test.csv").read_bytes() == csv_bytes(test)
    assert list(read(public / "test.csv").columns) == ["Date", "Comment"]
    sample = read(public / "sample_submission_null.csv")
    assert list(sample.columns) == ["Insult", "Date", "Comment"]
    assert list(sample["Insult"]) == [0, 0]
    assert list(read(private / "gold_submission.csv")["Insult"]) == [1, 0]


# -- checksums ----------------------------------------------------------------------------------
def test_checksums_verified_and_mismatch_is_reported(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    archive, _ = spaceship_zip(tmp_path / "spaceship.zip")
    first = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    assert first.checksums_verified is None
    sums = {
        "zip": prepare.md5_file(archive),
        "public": prepare.top_level_checksums(first.public_dir),
        "private": prepare.top_level_checksums(first.private_dir),
    }
    comp = make_comp(tmp_path, spaceship_spec(), checksums=sums)
    again = prepare_competition(comp, data_dir=data_dir, raw_zip=archive, force=True)
    assert again.checksums_verified is True
    assert comp.prepared_source(data_dir)["checksums_verified"] is True

    sums["private"] = {"test.csv": "0" * 32}
    comp = make_comp(tmp_path, spaceship_spec(), checksums=sums)
    out = io.StringIO()
    bad = prepare_competition(
        comp, data_dir=data_dir, raw_zip=archive, force=True, console=Console(file=out)
    )
    assert bad.checksums_verified is False
    assert "private/test.csv" in out.getvalue()


# -- Kaggle -------------------------------------------------------------------------------------
class FakeKaggle:
    """Stands in for KaggleApi: 'downloads' a prepared zip or raises a given error."""

    def __init__(self, archive: Path | None = None, error: Exception | None = None) -> None:
        self.archive, self.error, self.calls = archive, error, 0

    def competition_download_files(self, competition: str, path: str, **_: Any) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error
        assert self.archive is not None
        (Path(path) / f"{competition}.zip").write_bytes(self.archive.read_bytes())


class Forbidden(Exception):
    class response:  # noqa: N801 - mimics requests.HTTPError.response
        status_code = 403


@pytest.fixture
def kaggle_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")


@pytest.mark.usefixtures("kaggle_env")
def test_kaggle_way_downloads_and_checks(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = spaceship_zip(tmp_path / "kaggle.zip")
    reference = make_comp(tmp_path, spaceship_spec())
    done = prepare_competition(reference, data_dir=tmp_path / "ref", raw_zip=archive)
    sums = {
        "zip": prepare.md5_file(archive),
        "public": prepare.top_level_checksums(done.public_dir),
        "private": prepare.top_level_checksums(done.private_dir),
    }
    comp = make_comp(tmp_path, spaceship_spec(), checksums=sums)
    fake = FakeKaggle(archive)
    monkeypatch.setattr(prepare, "kaggle_api", lambda: fake)
    result = prepare_competition(comp, data_dir=data_dir)
    assert (result.data_source, result.checksums_verified, fake.calls) == ("kaggle", True, 1)
    assert (comp.data_dir(data_dir) / f"{SPACESHIP}.zip").is_file()
    assert comp.prepared_source(data_dir)["data_source"] == "kaggle"

    # a real download whose files differ from MLE-bench's is an error, and keeps the old data
    sums["public"] = {**sums["public"], "train.csv": "0" * 32}
    comp = make_comp(tmp_path, spaceship_spec(), checksums=sums)
    with pytest.raises(PreparationError, match="public/train.csv"):
        prepare_competition(comp, data_dir=data_dir, force=True)
    assert comp.is_prepared(data_dir)


@pytest.mark.usefixtures("kaggle_env")
def test_kaggle_rules_not_accepted(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    fake = FakeKaggle(error=Forbidden("403 Client Error: Forbidden"))
    monkeypatch.setattr(prepare, "kaggle_api", lambda: fake)
    with pytest.raises(PreparationError) as info:
        prepare_competition(comp, data_dir=data_dir)
    assert f"https://www.kaggle.com/competitions/{SPACESHIP}/rules" in str(info.value)
    assert "\n" not in str(info.value)
    assert not (comp.data_dir(data_dir) / "prepared").exists()


def test_kaggle_credentials_detection(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert not prepare.kaggle_credentials_present({"HOME": str(home)})
    assert prepare.kaggle_credentials_present(
        {"HOME": str(home), "KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}
    )
    assert prepare.kaggle_credentials_present({"HOME": str(home), "KAGGLE_API_TOKEN": "t"})
    (home / ".kaggle").mkdir(parents=True)
    (home / ".kaggle" / "kaggle.json").write_text("{}")
    assert prepare.kaggle_credentials_present({"HOME": str(home)})


# -- choosing a way in; failures ------------------------------------------------------------------
def test_auto_without_any_source_names_the_ways(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec(mirror=None))
    with pytest.raises(PreparationError) as info:
        prepare_competition(comp, data_dir=data_dir)
    message = str(info.value)
    for way in ("kaggle.json", "KAGGLE_USERNAME", "/rules", "--raw-zip", "--from-mlebench"):
        assert way in message


def test_auto_prepares_a_practice_competition_offline(tmp_path: Path, data_dir: Path) -> None:
    spec = yaml.safe_load(
        (REPO / "competitions" / "practice-diabetes" / "competition.yaml").read_text()
    )
    comp = make_comp(tmp_path, spec)
    result = prepare_competition(comp, data_dir=data_dir)
    assert (result.data_source, result.checksums_verified) == ("practice", None)
    assert comp.is_prepared(data_dir)


def test_already_prepared_is_not_redone(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    archive, _ = spaceship_zip(tmp_path / "spaceship.zip")
    prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    archive.unlink()  # a second prepare that tried to use it would fail
    result = prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    assert result.data_source == "raw-zip"
    assert "already prepared" in result.message


def test_failing_preparer_leaves_nothing(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(raw: Path, public: Path, private: Path, params: dict) -> None:
        (public / "train.csv").write_text("half\n")
        (private / "test.csv").write_text("half\n")
        raise ValueError("disk full")

    monkeypatch.setitem(PREPARERS, "boom", boom)
    comp = make_comp(tmp_path, spaceship_spec(split={"kind": "boom", "params": {}}))
    archive, _ = spaceship_zip(tmp_path / "spaceship.zip")
    with pytest.raises(PreparationError, match="disk full"):
        prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    comp_dir = comp.data_dir(data_dir)
    assert not (comp_dir / "prepared").exists()
    assert not [p for p in comp_dir.iterdir() if p.name.startswith(".")]


def test_stale_scratch_of_a_dead_run_is_removed(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    dead = comp.data_dir(data_dir) / ".prepared-999999999-abc"
    (dead / "public").mkdir(parents=True)
    archive, _ = spaceship_zip(tmp_path / "spaceship.zip")
    prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    assert not dead.exists()


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (None, "not a zip file"),
        ({"other.csv": b"a,b\n1,2\n"}, "lacks train.csv"),
    ],
)
def test_bad_zip_is_a_one_line_error(
    tmp_path: Path, data_dir: Path, members: dict | None, expected: str
) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    archive = tmp_path / "bad.zip"
    if members is None:
        archive.write_bytes(b"PK\x03\x04 truncated")
    else:
        write_zip(archive, members)
    with pytest.raises(PreparationError, match=expected) as info:
        prepare_competition(comp, data_dir=data_dir, raw_zip=archive)
    assert "\n" not in str(info.value)
    with pytest.raises(PreparationError, match="does not exist"):
        prepare_competition(comp, data_dir=data_dir, raw_zip=tmp_path / "missing.zip")


# -- MLE-bench data dir -------------------------------------------------------------------------
def test_from_mlebench_links_without_copying(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    mle = tmp_path / "mle-bench-data"
    prepared = mle / SPACESHIP / "prepared"
    (prepared / "public").mkdir(parents=True)
    (prepared / "private").mkdir()
    (prepared / "public" / "train.csv").write_text("PassengerId,Transported\n1,True\n")
    (prepared / "private" / "test.csv").write_text("PassengerId,Transported\n2,False\n")

    result = prepare_competition(comp, data_dir=data_dir, from_mlebench=mle)
    assert result.data_source == "mlebench"
    assert comp.is_prepared(data_dir)
    ours = result.private_dir / "test.csv"
    assert os.stat(ours).st_ino == os.stat(prepared / "private" / "test.csv").st_ino
    assert comp.prepared_source(data_dir)["origin"] == str(prepared.resolve())

    # the competition dir itself is accepted too
    again = prepare_competition(comp, data_dir=data_dir, from_mlebench=mle / SPACESHIP, force=True)
    assert again.public_dir.resolve() == (prepared / "public").resolve()


def test_from_mlebench_requires_answers(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    prepared = tmp_path / "mle" / SPACESHIP / "prepared"
    (prepared / "public").mkdir(parents=True)
    (prepared / "private").mkdir()
    with pytest.raises(PreparationError, match="answers file test.csv"):
        prepare_competition(comp, data_dir=data_dir, from_mlebench=tmp_path / "mle")
    with pytest.raises(PreparationError, match="holds no MLE-bench data"):
        prepare_competition(comp, data_dir=data_dir, from_mlebench=tmp_path / "elsewhere")


# -- offline mirror -----------------------------------------------------------------------------
def test_mirror_from_cache_needs_no_network(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    mirror = comp.mirror or {}
    cache = tmp_path / "cache" / "mirrors" / f"{mirror['package']}-{mirror['version']}"
    rows = spaceship_rows(40)
    rows["Transported"] = rows["Transported"].astype(object)
    rows.loc[3, "Transported"] = None  # an unlabelled row is left out
    halves = [rows.iloc[:30], rows.iloc[30:]]
    for name, part in zip(mirror["files"], halves, strict=True):
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        (cache / name).write_bytes(csv_bytes(part))

    out = io.StringIO()
    result = prepare_competition(comp, data_dir=data_dir, console=Console(file=out, width=400))
    assert result.data_source == "mirror"
    assert result.checksums_verified is None
    assert len(out.getvalue().strip().splitlines()) == 1
    assert "mirror" in out.getvalue()
    assert len(read(result.private_dir / "test.csv")) == math.ceil(0.1 * 39)
    info = json.loads((comp.data_dir(data_dir) / "prepared" / "gome_source.json").read_text())
    assert info["data_source"] == "mirror"
    assert info["labelled_rows"] == 39
    assert info["note"] == " ".join(mirror["note"].split())


@pytest.mark.network_registry
def test_real_spaceship_mirror(tmp_path: Path, data_dir: Path) -> None:
    comp = make_comp(tmp_path, spaceship_spec())
    result = prepare_competition(comp, data_dir=data_dir, console=Console(file=io.StringIO()))
    assert result.data_source == "mirror"
    assert comp.prepared_source(data_dir)["labelled_rows"] == 6954
    answers = read(result.private_dir / "test.csv")
    assert len(answers) == 696 == math.ceil(0.1 * 6954)
    assert len(read(result.public_dir / "train.csv")) == 6954 - 696
    assert "Transported" not in read(result.public_dir / "test.csv").columns
