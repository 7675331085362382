"""The MLE-bench lite competition folders and their preparers.

Every folder must load and agree with ../shared/mlebench; each preparer written for an irregular
MLE-bench split runs on a miniature raw dataset laid out like Kaggle's download, is
deterministic, and publishes no held-out label.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from gome.competitions import load_competition
from gome.prepare import preparer_params
from gome.preparers import PREPARERS
from gome.settings import competitions_root

SHARED = Path(__file__).resolve().parents[2] / "shared" / "mlebench"  # the workspace's copy
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/mlebench is absent")
TSV = (
    pd.read_csv(SHARED / "competitions.tsv", sep="\t").set_index("id")
    if SHARED.is_dir()
    else pd.DataFrame(columns=["split"])
)
WITH_TSV = sorted(TSV.index)


# -- folders ------------------------------------------------------------------------------------
@needs_shared
def test_there_are_22_lite_competitions():
    assert (TSV["split"] == "lite").sum() == 22


@pytest.mark.parametrize("cid", WITH_TSV)
def test_folder_matches_mlebench(cid):
    comp = load_competition(cid)
    row = TSV.loc[cid]
    assert comp.id == cid
    assert comp.suite == row["split"]
    assert comp.higher_is_better == (str(row["higher_is_better"]).lower() == "true")
    assert comp.split.kind in PREPARERS
    leaderboard = (competitions_root() / cid / "leaderboard.csv").read_bytes()
    assert leaderboard == (SHARED / "leaderboards" / f"{cid}.csv").read_bytes()
    assert set(comp.target_columns) <= set(comp.submission_columns)
    assert comp.id_column in comp.submission_columns
    assert comp.source_note
    description = comp.description
    assert 15 <= len(description.splitlines()) <= 60
    assert comp.id_column in description


@pytest.mark.parametrize("cid", WITH_TSV)
def test_checksums_quote_prepare_md(cid):
    sums = yaml.safe_load((competitions_root() / cid / "checksums.yaml").read_text())
    assert set(sums) == {"zip", "public", "private"}
    prepare_md = (SHARED / "PREPARE.md").read_text()
    section = prepare_md.split(f"## {cid}\n")[1].split("\n## ")[0]
    digests = [sums["zip"], *sums["public"].values(), *sums["private"].values()]
    for digest in digests:
        assert len(digest) == 32 and digest in section
    assert sum(section.count(d) for d in set(digests)) >= len(digests)
    # the answers file is one of the private files MLE-bench checksums
    assert load_competition(cid).answers_file in sums["private"]


# -- miniature raw datasets ---------------------------------------------------------------------
def _csv(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def _zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _png(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _example(image_name: str, target: int) -> bytes:
    """A tf.train.Example with a bytes `image_name` and an int64 `target` feature."""
    name = _field(1, _field(1, image_name.encode()))  # Feature.bytes_list.value
    label = _field(3, _field(1, _varint(target)))  # Feature.int64_list.value (packed)
    entries = _field(1, _field(1, b"image_name") + _field(2, name))
    entries += _field(1, _field(1, b"target") + _field(2, label))
    return _field(1, entries)


def _tfrecord(path: Path, examples: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(struct.pack("<Q", len(e)) + b"\0" * 4 + e + b"\0" * 4 for e in examples)
    path.write_bytes(data)


RNG_SEED = 7


def build_aerial(raw: Path) -> None:
    ids = [f"c{i:02d}.jpg" for i in range(12)]
    _csv(raw / "train.csv", pd.DataFrame({"id": ids, "has_cactus": [i % 2 for i in range(12)]}))
    _zip(raw / "train.zip", {f"train/{i}": i.encode() for i in ids})


def build_dog_breed(raw: Path) -> None:
    ids = [f"d{i:02d}" for i in range(10)]
    breeds = ["beagle", "pug", "whippet", "boxer", "pug"] * 2
    _csv(raw / "labels.csv", pd.DataFrame({"id": ids, "breed": breeds}))
    for i in ids:
        (raw / "train").mkdir(exist_ok=True)
        (raw / "train" / f"{i}.jpg").write_bytes(i.encode())


def build_leaf(raw: Path) -> None:
    species = ["Acer_Mono", "Quercus_Ilex", "Zelkova_Serrata"]
    frame = pd.DataFrame(
        {"id": range(1, 11), "species": [species[i % 3] for i in range(10)], "margin1": 0.5}
    )
    _zip(raw / "train.csv.zip", {"train.csv": _csv_bytes(frame)})
    _zip(raw / "images.zip", {f"images/{i}.jpg": str(i).encode() for i in range(1, 14)})


def build_spooky(raw: Path) -> None:
    authors = ["EAP", "HPL", "MWS", "EAP", "MWS"] * 2
    frame = pd.DataFrame({"id": [f"id{i}" for i in range(10)], "text": "boo", "author": authors})
    _zip(raw / "train.zip", {"train.csv": _csv_bytes(frame)})


def build_insults(raw: Path) -> None:
    train = pd.DataFrame({"Insult": [0, 1], "Date": ["2012", None], "Comment": ["hi", "fool"]})
    test = pd.DataFrame(
        {
            "Insult": [1, 0, 1],
            "Date": ["a", "b", None],
            "Comment": ["x", "y", "z"],
            "Usage": ["PublicTest", "PrivateTest", "PublicTest"],
        }
    )
    _csv(raw / "train.csv", train)
    _csv(raw / "test_with_solutions.csv", test)


def build_denoising(raw: Path) -> None:
    rng = np.random.default_rng(RNG_SEED)
    names = [f"{i}.png" for i in range(1, 7)]
    _zip(raw / "train.zip", {f"train/{n}": _png(rng.integers(0, 255, (3, 2))) for n in names})
    _zip(
        raw / "train_cleaned.zip",
        {f"train_cleaned/{n}": _png(rng.integers(0, 255, (3, 2))) for n in names},
    )


def build_dogs_vs_cats(raw: Path) -> None:
    files = {f"train/{a}.{k}.jpg": f"{a}{k}".encode() for a in ("cat", "dog") for k in range(10)}
    _zip(raw / "train.zip", files)
    _zip(raw / "test.zip", {"test/1.jpg": b"unlabelled"})


def build_histopathologic(raw: Path) -> None:
    ids = [f"h{i}" for i in range(10)]
    _csv(raw / "train_labels.csv", pd.DataFrame({"id": ids, "label": [i % 2 for i in range(10)]}))
    for i in ids:
        (raw / "train").mkdir(exist_ok=True)
        (raw / "train" / f"{i}.tif").write_bytes(i.encode())
    (raw / "test").mkdir()
    for k in range(3):
        (raw / "test" / f"kaggle{k}.tif").write_bytes(b"t")


TOXIC = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def build_jigsaw(raw: Path) -> None:
    train = pd.DataFrame(
        {"id": ["a1", "a2"], "comment_text": ["ok", "bad"], **dict.fromkeys(TOXIC, 0)}
    )
    test = pd.DataFrame({"id": ["b1", "b2", "b3"], "comment_text": ["p", "q", "r"]})
    labels = pd.DataFrame({"id": ["b1", "b2", "b3"], **{c: [1, -1, 0] for c in TOXIC}})
    sample = pd.DataFrame({"id": ["b1", "b2", "b3"], **dict.fromkeys(TOXIC, 0.5)})
    for name, frame in (
        ("train", train),
        ("test", test),
        ("test_labels", labels),
        ("sample_submission", sample),
    ):
        _zip(raw / f"{name}.csv.zip", {f"{name}.csv": _csv_bytes(frame)})


def build_mlsp(raw: Path) -> None:
    base = "mlsp_contest_dataset/"
    rec_ids = list(range(12))
    folds = [0] * 10 + [1] * 2
    names = [f"PC{r}_rec" for r in rec_ids]
    labels = ["rec_id,[labels]"] + [
        f"{r}" if r % 4 == 0 else (f"{r},?" if folds[r] else f"{r},{r % 19},{(r + 5) % 19}")
        for r in rec_ids
    ]
    segments = "rec_id,[histogram of segment features]\n" + "".join(
        f"{r},0.{r},1\n" for r in rec_ids
    )
    files = {
        base + "essential_data/CVfolds_2.txt": _csv_bytes(
            pd.DataFrame({"rec_id": rec_ids, "fold": folds})
        ),
        base + "essential_data/rec_id2filename.txt": _csv_bytes(
            pd.DataFrame({"rec_id": rec_ids, "filename": names})
        ),
        base + "essential_data/rec_labels_test_hidden.txt": ("\n".join(labels) + "\n").encode(),
        base + "essential_data/species_list.txt": b"class_id,code,species\n",
        base + "supplemental_data/segment_clusters.bmp": b"c",
        base + "supplemental_data/segment_mosaic.bmp": b"m",
    }
    for name in ("histogram_of_segments.txt", "segment_features.txt", "segment_rectangles.txt"):
        files[base + f"supplemental_data/{name}"] = segments.encode()
    for n in names:
        files[base + f"essential_data/src_wavs/{n}.wav"] = n.encode()
        for folder in ("filtered_spectrograms", "spectrograms", "supervised_segmentation"):
            files[base + f"supplemental_data/{folder}/{n}.bmp"] = n.encode()
    files[base + f"supplemental_data/segmentation_examples/{names[0]}.bmp"] = b"e"
    _zip(raw / "mlsp_contest_dataset.zip", files)


def build_pizza(raw: Path) -> None:
    def record(i: int, labelled: bool) -> dict:
        rec = {
            "request_id": f"t3_{i}",
            "request_text_edit_aware": f"text {i}",
            "giver_username_if_known": "N/A",
        }
        if labelled:
            rec |= {
                "requester_received_pizza": i % 3 == 0,
                "requester_user_flair": None,
                "request_number_of_comments_at_retrieval": i,
            }
        return rec

    (raw / "train.json").write_text(json.dumps([record(i, True) for i in range(10)]))
    (raw / "test.json").write_text(json.dumps([record(100 + i, False) for i in range(4)]))


RANZCR_LABELS = [
    "ETT - Abnormal",
    "ETT - Borderline",
    "ETT - Normal",
    "NGT - Abnormal",
    "NGT - Borderline",
    "NGT - Incompletely Imaged",
    "NGT - Normal",
    "CVC - Abnormal",
    "CVC - Borderline",
    "CVC - Normal",
    "Swan Ganz Catheter Present",
]


def build_ranzcr(raw: Path) -> None:
    uids = [f"1.2.{i}" for i in range(10)]
    frame = pd.DataFrame(
        {
            "StudyInstanceUID": uids,
            **{c: [i % 2 for i in range(10)] for c in RANZCR_LABELS},
            "PatientID": [f"p{i // 2}" for i in range(10)],
        }
    )
    _csv(raw / "train.csv", frame)
    annotations = pd.DataFrame(
        {"StudyInstanceUID": uids[::2] * 2, "label": "ETT - Normal", "data": "[[1, 2]]"}
    )
    _csv(raw / "train_annotations.csv", annotations)
    for u in uids:
        (raw / "train").mkdir(exist_ok=True)
        (raw / "train" / f"{u}.jpg").write_bytes(u.encode())


def build_siim(raw: Path) -> None:
    names = [f"ISIC_{i:07d}" for i in range(8)]
    frame = pd.DataFrame(
        {
            "image_name": names,
            "patient_id": [f"IP_{i}" for i in range(8)],
            "sex": "male",
            "age_approx": 45.0,
            "anatom_site_general_challenge": "torso",
            "diagnosis": "unknown",
            "benign_malignant": "benign",
            "target": [i % 2 for i in range(8)],
        }
    )
    _csv(raw / "train.csv", frame)
    groups = {
        "train00-2071.tfrec": [0, 1],
        "train03-2071.tfrec": [2, 3, 4],
        "train06-2071.tfrec": [5],
        "train09-2071.tfrec": [6, 7],
    }
    for file, members in groups.items():
        _tfrecord(raw / "tfrecords" / file, [_example(names[i], i % 2) for i in members])
    for n in names:
        (raw / "train").mkdir(exist_ok=True)
        (raw / "train" / f"{n}.dcm").write_bytes(n.encode())
        (raw / "jpeg" / "train").mkdir(parents=True, exist_ok=True)
        (raw / "jpeg" / "train" / f"{n}.jpg").write_bytes(n.encode())


def build_nomad(raw: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": range(1, 11),
            "spacegroup": 12,
            "formation_energy_ev_natom": 0.1,
            "bandgap_energy_ev": [float(i) for i in range(10)],
        }
    )
    _zip(raw / "train.csv.zip", {"train.csv": _csv_bytes(frame)})
    _zip(raw / "train.zip", {f"train/{i}/geometry.xyz": f"old {i}".encode() for i in range(1, 11)})


def build_plant(raw: Path) -> None:
    ids = [f"Train_{i}" for i in range(10)]
    frame = pd.DataFrame(
        {"image_id": ids, "healthy": 1, "multiple_diseases": 0, "rust": 0, "scab": 0}
    )
    _csv(raw / "train.csv", frame)
    for i in ids:
        (raw / "images").mkdir(exist_ok=True)
        (raw / "images" / f"{i}.jpg").write_bytes(i.encode())
    (raw / "images" / "Test_0.jpg").write_bytes(b"kaggle test image")


def build_tps_may(raw: Path) -> None:
    _csv(
        raw / "train.csv",
        pd.DataFrame({"id": range(10), "f_00": np.linspace(0, 1, 10), "target": [0, 1] * 5}),
    )


def _text_norm(lang: str) -> Callable[[Path], None]:
    def build(raw: Path) -> None:
        rows = [
            (s, t, "PLAIN", f"w{s}{t}", f"w{s}{t}" if t else "NA")
            for s in range(10)
            for t in range(3)
        ]
        frame = pd.DataFrame(rows, columns=["sentence_id", "token_id", "class", "before", "after"])
        _zip(raw / f"{lang}_train.csv.zip", {f"{lang}_train.csv": _csv_bytes(frame)})
        _zip(
            raw / f"{lang}_test_2.csv.zip", {f"{lang}_test_2.csv": b"sentence_id,token_id,before\n"}
        )

    return build


def build_whale(raw: Path) -> None:
    clips = {}
    for d, date in enumerate(("20090328", "20090329", "20090330", "20090331")):
        for k in range(3):
            name = f"{date}_0{k}0000_{k}s_TRAIN{d * 3 + k}_{(d + k) % 2}.aif"
            clips[f"train2/{name}"] = name.encode()
    _zip(raw / "train2.zip", clips)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "aerial-cactus-identification": build_aerial,
    "dog-breed-identification": build_dog_breed,
    "leaf-classification": build_leaf,
    "spooky-author-identification": build_spooky,
    "detecting-insults-in-social-commentary": build_insults,
    "denoising-dirty-documents": build_denoising,
    "dogs-vs-cats-redux-kernels-edition": build_dogs_vs_cats,
    "histopathologic-cancer-detection": build_histopathologic,
    "jigsaw-toxic-comment-classification-challenge": build_jigsaw,
    "mlsp-2013-birds": build_mlsp,
    "random-acts-of-pizza": build_pizza,
    "ranzcr-clip-catheter-line-classification": build_ranzcr,
    "siim-isic-melanoma-classification": build_siim,
    "nomad2018-predict-transparent-conductors": build_nomad,
    "plant-pathology-2020-fgvc7": build_plant,
    "tabular-playground-series-may-2022": build_tps_may,
    "text-normalization-challenge-english-language": _text_norm("en"),
    "text-normalization-challenge-russian-language": _text_norm("ru"),
    "the-icml-2013-whale-challenge-right-whale-redux": build_whale,
}
# the real sizes do not fit a handful of rows
PARAM_OVERRIDES = {"tabular-playground-series-may-2022": {"test_size": 3}}


def _prepare(cid: str, raw: Path, out: Path) -> tuple[Path, Path]:
    comp = load_competition(cid)
    params = {**preparer_params(comp), **PARAM_OVERRIDES.get(cid, {})}
    public, private = out / "public", out / "private"
    PREPARERS[comp.split.kind](raw, public, private, params)
    return public, private


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path; zips are opened so timestamps do not count."""
    files: dict[str, bytes] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                files |= {f"{rel}!{n}": zf.read(n) for n in sorted(zf.namelist())}
        else:
            files[rel] = path.read_bytes()
    return files


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Callable[[str], tuple[Path, Path, Path]]:
    """Build the raw miniature once per competition and prepare it twice; the two outputs must
    be identical. Returns (raw, public, private)."""
    cache: dict[str, tuple[Path, Path, Path]] = {}

    def get(cid: str) -> tuple[Path, Path, Path]:
        if cid not in cache:
            base = tmp_path_factory.mktemp(cid)
            raw = base / "raw"
            raw.mkdir()
            BUILDERS[cid](raw)
            first = _prepare(cid, raw, base / "one")
            _prepare(cid, raw, base / "two")
            assert _tree(base / "one") == _tree(base / "two"), "preparation is not deterministic"
            cache[cid] = (raw, *first)
        return cache[cid]

    return get


def test_every_custom_kind_has_a_miniature():
    kinds = {load_competition(cid).split.kind for cid in BUILDERS}
    custom = set(PREPARERS) - {"csv_split", "no_split"}
    assert custom <= kinds


@pytest.mark.parametrize("cid", sorted(BUILDERS))
def test_prepares_answers_and_sample(prepared, cid):
    comp = load_competition(cid)
    _, public, private = prepared(cid)
    answers = _read(private / comp.answers_file)
    assert len(answers) > 0
    assert comp.id_column in answers.columns
    assert set(comp.target_columns) <= set(answers.columns)
    assert answers[comp.id_column].is_unique
    sample_path = public / comp.sample_submission_file
    sample = pd.read_csv(sample_path, keep_default_na=False)
    assert sorted(sample[comp.id_column].astype(str)) == sorted(answers[comp.id_column].astype(str))
    assert list(sample.columns) == list(comp.submission_columns)


# -- per-competition checks: right rows, no held-out label in public ----------------------------
def _public_text(public: Path) -> str:
    return "\n".join(v.decode("utf-8", "replace") for v in _tree(public).values())


def test_aerial_zips_hold_each_side(prepared):
    _, public, private = prepared("aerial-cactus-identification")
    answers = _read(private / "test.csv")
    assert len(answers) == 3  # ceil(0.19 * 12)
    with zipfile.ZipFile(public / "test.zip") as zf:
        assert sorted(zf.namelist()) == sorted(answers["id"])
    assert not (public / "test.csv").exists()
    assert set(_read(public / "train.csv")["id"]).isdisjoint(answers["id"])


def test_one_hot_answers(prepared):
    for cid in ("dog-breed-identification", "spooky-author-identification"):
        _, public, private = prepared(cid)
        answers = _read(private / "test.csv")
        assert (answers.drop(columns="id").sum(axis=1) == 1).all()
    assert "author" not in _read(public / "test.csv").columns
    _, public, private = prepared("dog-breed-identification")
    answers = _read(private / "test.csv")
    assert sorted(p.stem for p in (public / "test").iterdir()) == sorted(answers["id"])
    assert set(_read(public / "labels.csv")["id"]).isdisjoint(answers["id"])
    _, public, private = prepared("leaf-classification")
    answers = _read(private / "test.csv")
    assert list(answers.columns[:2]) == ["id", "Acer_Capillipes"] and len(answers.columns) == 100
    assert "species" not in _read(public / "test.csv").columns
    assert sorted(p.name for p in (public / "images").iterdir()) == sorted(
        f"{i}.jpg" for i in range(1, 11)
    )


def test_insults_drop_label_and_usage(prepared):
    _, public, private = prepared("detecting-insults-in-social-commentary")
    assert list(_read(public / "test.csv").columns) == ["Date", "Comment"]
    assert list(_read(private / "gold_submission.csv").columns) == ["Insult", "Date", "Comment"]
    assert (_read(public / "sample_submission_null.csv")["Insult"] == 0).all()


def test_denoising_answers_are_clean_test_pixels(prepared):
    raw, public, private = prepared("denoising-dirty-documents")
    answers = pd.read_csv(private / "answers.csv")
    test_pages = sorted(p.name for p in (public / "test").iterdir())
    assert len(test_pages) == 2 and len(answers) == 2 * 6
    assert not set(test_pages) & {p.name for p in (public / "train_cleaned").iterdir()}
    with zipfile.ZipFile(raw / "train_cleaned.zip") as zf:
        clean = np.asarray(Image.open(io.BytesIO(zf.read(f"train_cleaned/{test_pages[0]}"))))
    stem = test_pages[0].removesuffix(".png")
    first = answers[answers["id"].str.startswith(f"{stem}_")]
    assert first["id"].tolist()[:3] == [f"{stem}_1_1", f"{stem}_1_2", f"{stem}_2_1"]
    assert np.allclose(first["value"].to_numpy(), clean.ravel() / 255.0)


def test_dogs_vs_cats_renames_and_labels(prepared):
    _, public, private = prepared("dogs-vs-cats-redux-kernels-edition")
    answers = _read(private / "answers.csv")
    assert len(answers) == 2
    for row in answers.itertuples():
        content = (public / "test" / f"{row.id}.jpg").read_bytes()
        assert row.label == int(content.startswith(b"dog"))
    train_names = sorted(p.name for p in (public / "train").iterdir())
    assert len(train_names) == 18
    assert all(n.split(".")[0] in ("cat", "dog") for n in train_names)
    test_contents = {p.read_bytes() for p in (public / "test").iterdir()}
    assert not test_contents & {p.read_bytes() for p in (public / "train").iterdir()}


def test_histopathologic_keeps_file_order(prepared):
    _, public, private = prepared("histopathologic-cancer-detection")
    answers = _read(private / "answers.csv")
    assert len(answers) == 3  # ceil(10 * 3 / 13)
    assert answers["id"].tolist() == sorted(answers["id"], key=lambda i: int(i[1:]))
    train = _read(public / "train_labels.csv")
    assert set(train["id"]).isdisjoint(answers["id"]) and len(train) == 7
    assert sorted(p.stem for p in (public / "test").iterdir()) == sorted(answers["id"])


def test_jigsaw_keeps_kaggle_test(prepared):
    _, public, private = prepared("jigsaw-toxic-comment-classification-challenge")
    assert list(_read(public / "test.csv").columns) == ["id", "comment_text"]
    assert _read(private / "test.csv")["toxic"].tolist() == [1, -1, 0]
    assert (_read(public / "sample_submission.csv")[TOXIC] == 0.5).all().all()


def test_mlsp_hides_test_labels(prepared):
    _, public, private = prepared("mlsp-2013-birds")
    folds = _read(public / "essential_data" / "CVfolds_2.txt")
    assert folds["rec_id"].tolist() == list(range(10)) and (folds["fold"] == 1).sum() == 2
    answers = _read(private / "answers.csv")
    test_ids = folds.loc[folds["fold"] == 1, "rec_id"].tolist()
    assert sorted({i // 100 for i in answers["Id"]}) == sorted(test_ids) and len(answers) == 2 * 19
    lines = (public / "essential_data" / "rec_labels_test_hidden.txt").read_text().splitlines()
    assert lines[0] == "rec_id,[labels]" and len(lines) == 11
    shown = {int(line.split(",")[0]): line for line in lines[1:]}
    assert all(shown[i] == f"{i},?" for i in test_ids)
    assert "PC10_rec" not in _public_text(public)  # Kaggle's own test recordings are dropped
    assert len(list((public / "essential_data" / "src_wavs").iterdir())) == 10
    hist = (public / "supplemental_data" / "histogram_of_segments.txt").read_text().splitlines()
    assert hist[0] == "rec_id,[histogram of segment features]" and len(hist) == 11


def test_pizza_test_records_keep_only_test_fields(prepared):
    raw, public, private = prepared("random-acts-of-pizza")
    test_keys = set(json.loads((raw / "test.json").read_text())[0])
    public_test = json.loads((public / "test.json").read_text())
    assert len(public_test) == 3 and all(set(r) == test_keys for r in public_test)
    answers = _read(private / "test.csv")
    assert [r["request_id"] for r in public_test] == answers["request_id"].tolist()
    train_ids = {r["request_id"] for r in json.loads((public / "train.json").read_text())}
    assert train_ids.isdisjoint(answers["request_id"])
    with zipfile.ZipFile(public / "test.zip") as zf:
        assert zf.namelist() == ["test.json"]


def test_ranzcr_filters_annotations(prepared):
    _, public, private = prepared("ranzcr-clip-catheter-line-classification")
    answers = _read(private / "test.csv")
    assert len(answers) == 1 and list(answers.columns) == [
        "StudyInstanceUID",
        *RANZCR_LABELS,
        "PatientID",
    ]
    annotations = _read(public / "train_annotations.csv")
    assert set(annotations["StudyInstanceUID"]) <= set(
        _read(public / "train.csv")["StudyInstanceUID"]
    )
    assert answers["StudyInstanceUID"][0] not in set(annotations["StudyInstanceUID"])
    assert list(_read(public / "sample_submission.csv").columns)[1:] == RANZCR_LABELS[:9]


def test_siim_test_set_is_the_fixed_tfrecords(prepared):
    _, public, private = prepared("siim-isic-melanoma-classification")
    answers = _read(private / "test.csv")
    assert answers["image_name"].tolist() == ["ISIC_0000000", "ISIC_0000001", "ISIC_0000005"]
    assert "target" not in _read(public / "test.csv").columns
    assert sorted(p.name for p in (public / "tfrecords").iterdir()) == [
        "test00-2071.tfrec",
        "test01-2071.tfrec",
        "train00-2071.tfrec",
        "train01-2071.tfrec",
    ]
    assert (
        sorted(p.stem for p in (public / "jpeg" / "test").iterdir())
        == answers["image_name"].tolist()
    )


def test_renumbered_ids_and_media(prepared):
    _, public, private = prepared("nomad2018-predict-transparent-conductors")
    answers = _read(private / "test.csv")
    assert answers["id"].tolist() == [1] and "bandgap_energy_ev" not in _read(public / "test.csv")
    old = int((public / "test" / "1" / "geometry.xyz").read_text().split()[1])
    assert answers["bandgap_energy_ev"][0] == old - 1  # the fixture's label is old id - 1
    _, public, private = prepared("plant-pathology-2020-fgvc7")
    assert _read(private / "test.csv")["image_id"].tolist() == ["Test_0"]
    assert (public / "images" / "Test_0.jpg").read_bytes() != b"kaggle test image"
    assert sorted(_read(public / "train.csv")["image_id"]) == sorted(f"Train_{i}" for i in range(9))
    _, public, private = prepared("tabular-playground-series-may-2022")
    assert _read(public / "train.csv")["id"].tolist() == list(range(7))
    assert _read(private / "test.csv")["id"].tolist() == [7, 8, 9]
    assert list(_read(private / "gold_submission.csv").columns) == ["id", "target"]
    assert "target" not in _read(public / "test.csv").columns


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_text_normalization_splits_by_sentence(prepared, lang):
    cid = f"text-normalization-challenge-{'english' if lang == 'en' else 'russian'}-language"
    _, public, private = prepared(cid)
    answers = _read(private / "answers.csv")
    assert answers["id"].tolist() == ["0_0", "0_1", "0_2"]  # one sentence, renumbered from 0
    with zipfile.ZipFile(public / f"{lang}_test_2.csv.zip") as zf:
        test = pd.read_csv(zf.open(f"{lang}_test_2.csv"))
    assert list(test.columns) == ["sentence_id", "token_id", "before"]
    with zipfile.ZipFile(public / f"{lang}_train.csv.zip") as zf:
        train = pd.read_csv(zf.open(f"{lang}_train.csv"))
    assert train["sentence_id"].unique().tolist() == list(range(9))
    assert (private / "answers.csv").read_text().splitlines()[1].startswith('"0_0",')
    assert not (public / f"{lang}_train.csv").exists()


def test_whale_splits_by_date(prepared):
    _, public, private = prepared("the-icml-2013-whale-challenge-right-whale-redux")
    answers = _read(private / "test.csv")
    assert all(c.startswith(("20090330", "20090331")) for c in answers["clip"])
    assert answers["clip"][0] == "20090330_000000_0s_Test0.aif"
    assert answers["probability"].tolist() == [(2 + k) % 2 for k in range(3)] + [
        (3 + k) % 2 for k in range(3)
    ]
    with zipfile.ZipFile(public / "train2.zip") as zf:
        names = zf.namelist()
    assert names[0] == "train2/20090328_000000_0s_TRAIN0_0.aif" and len(names) == 6
    assert "_TRAIN" not in "".join(answers["clip"])
    with zipfile.ZipFile(public / "test2.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"test2/{c}" for c in answers["clip"])
