"""`siim_isic`: siim-isic-melanoma-classification as MLE-bench prepares it.

No randomness: the images inside two fixed train TFRecord files become the test set; their
names come from each record's `image_name` feature, read here without TensorFlow. Public gets
DICOMs and JPEGs per part and every TFRecord file copied unchanged: the two test files as
`test00-`/`test01-<count>.tfrec`, the others renumbered `trainNN-<count>.tfrec` in sorted order.

params: test_tfrecords (file names).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gome.preparers import register
from gome.preparers.csv_split import link_or_copy, read_csv, write_csv

PUBLIC_TEST_COLUMNS = [
    "image_name",
    "patient_id",
    "sex",
    "age_approx",
    "anatom_site_general_challenge",
]


def tfrecord_payloads(path: Path) -> Iterator[bytes]:
    """Records of a TFRecord file: u64 length, u32 length CRC, payload, u32 payload CRC (CRCs
    are not checked: the files are copied, not trusted as input to a model)."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        yield data[pos + 12 : pos + 12 + length]
        pos += 12 + length + 4


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of a protobuf message; length-delimited values as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, value


def bytes_feature(example: bytes, name: str) -> bytes:
    """First value of a bytes feature of a `tf.train.Example`
    (Example.features=1 -> Features.feature=1 map entries {key=1, value=2} -> BytesList=1)."""
    for _, features in _fields(example):
        for _, entry in _fields(features):
            parts = dict(_fields(entry))
            if parts.get(1) == name.encode():
                bytes_list = dict(_fields(parts[2]))[1]
                return dict(_fields(bytes_list))[1]
    raise KeyError(name)


@register("siim_isic")
def prepare(raw: Path, public: Path, private: Path, params: dict[str, Any]) -> None:
    test_files = params["test_tfrecords"]
    test_ids = {
        bytes_feature(record, "image_name").decode()
        for name in test_files
        for record in tfrecord_payloads(raw / "tfrecords" / name)
    }
    table = read_csv(raw / "train.csv")
    is_test = table["image_name"].isin(test_ids)
    train, test = table[~is_test], table[is_test]

    write_csv(train, public / "train.csv")
    write_csv(test[PUBLIC_TEST_COLUMNS], public / "test.csv")
    write_csv(test[["image_name"]].assign(target=0), public / "sample_submission.csv")
    write_csv(test[["image_name", "target"]], private / "test.csv")
    for part, frame in (("train", train), ("test", test)):
        for name in frame["image_name"]:
            link_or_copy(raw / "train" / f"{name}.dcm", public / part / f"{name}.dcm")
            link_or_copy(
                raw / "jpeg" / "train" / f"{name}.jpg", public / "jpeg" / part / f"{name}.jpg"
            )

    counters = {"train": 0, "test": 0}
    for record_file in sorted((raw / "tfrecords").glob("train*.tfrec")):
        part = "test" if record_file.name in test_files else "train"
        count = record_file.stem.split("-")[1]
        link_or_copy(
            record_file, public / "tfrecords" / f"{part}{counters[part]:02d}-{count}.tfrec"
        )
        counters[part] += 1
