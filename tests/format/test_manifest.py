"""Manifest parsing, validation and the sharding rule."""

import dataclasses
import hashlib
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spyx_data.format import manifest as m
from spyx_data.format import plan, records


def example(paths=("train-00000-of-00002.array_record", "train-00001-of-00002.array_record")):
    shards = tuple(m.ShardInfo(p, 5 * k, 5, 100, "ab" * 32) for k, p in enumerate(paths))
    return m.Manifest(
        "shd",
        {"sample_T": 16, "channels": 4},
        20,
        records.RecordLayout(16, (4,)),
        "group_size:1,uncompressed",
        {"train": m.SplitInfo(5 * len(shards), shards, {"events": 3}, m.SourceInfo(1, 10, "cd" * 32, False))},
    )


def test_round_trip_is_deterministic():
    text = example().to_json()
    assert m.Manifest.from_json(text) == example()
    assert m.Manifest.from_json(text).to_json() == text


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.array_record", "a/../../x", "gs://other/x", "c:\\x"])
def test_shard_paths_must_stay_inside_the_dataset(path):
    with pytest.raises(m.ManifestError, match="leaves the dataset directory"):
        m.Manifest.from_json(example(paths=(path,)).to_json(), where="here.json")


def test_counts_must_add_up_and_shards_be_contiguous():
    doc = json.loads(example().to_json())
    doc["splits"]["train"]["num_records"] = 11
    with pytest.raises(m.ManifestError, match="shards hold 10 records, manifest says 11"):
        m.Manifest.from_json(json.dumps(doc))
    doc = json.loads(example().to_json())
    doc["splits"]["train"]["shards"][1]["first_index"] = 6
    with pytest.raises(m.ManifestError, match="does not continue at index 5"):
        m.Manifest.from_json(json.dumps(doc))


def test_malformed_or_foreign_json_is_a_manifest_error_naming_the_file():
    for text in ["{", "[]", '{"format": "other"}', json.dumps({**json.loads(example().to_json()), "record": {}})]:
        with pytest.raises(m.ManifestError, match="^x/manifest.json: "):
            m.Manifest.from_json(text, where="x/manifest.json")


@pytest.mark.parametrize(
    "edit, message",
    [(lambda d: d["splits"]["train"].update(num_records=10.0), "num_records must be an integer"),
     (lambda d: d["splits"]["train"]["shards"][0].update(path="."), "shard 0 of 2 is '.'"),
     (lambda d: d["splits"]["train"]["shards"][1].update(sha256="x"), "no sha256 of 64 hex digits"),
     (lambda d: d.update(num_classes=0), "num_classes must be an integer >= 1"),
     (lambda d: d["splits"]["train"]["source"].update(synthetic=None), "whether it is synthetic"),
     (lambda d: d["splits"].update({"../x": d["splits"]["train"]}), "split name '../x'"),
     (lambda d: d.update(manifest_version=1), "must be built again")],
)
def test_values_of_the_wrong_type_or_name_are_refused(edit, message):
    doc = json.loads(example().to_json())
    edit(doc)
    with pytest.raises(m.ManifestError, match=re.escape(message)):
        m.Manifest.from_json(json.dumps(doc))


def test_a_manifest_that_lists_fewer_shards_than_their_names_say_is_refused():
    doc = json.loads(example().to_json())
    doc["splits"]["train"]["shards"].pop()
    doc["splits"]["train"]["num_records"] = 5  # counts edited consistently
    with pytest.raises(m.ManifestError, match="shard 0 of 1 is 'train-00000-of-00002.array_record'"):
        m.Manifest.from_json(json.dumps(doc))


def test_the_build_key_names_the_build_and_covers_the_sources():
    key = example().build_key
    assert key.name == example().build_name and key.name.startswith("shd-") and len(key.name) == 16
    assert key.build_id == int.from_bytes(key.digest[:8], "little")
    other = m.BuildKey(key.dataset, key.config, key.layout, key.writer_options, {"train": "ef" * 32})
    assert other != key and other.name != key.name and other.build_id != key.build_id
    assert m.BuildKey(key.dataset, dict(key.config), key.layout, key.writer_options, dict(key.sources)) == key


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_writing_refuses_a_value_that_is_not_json(value):
    manifest = example()
    bad = m.Manifest(manifest.dataset, {**manifest.config, "threshold": value}, manifest.num_classes,
                     manifest.layout, manifest.writer_options, manifest.splits)
    with pytest.raises(m.ManifestError, match=f"manifest value config.threshold is {value}, not a finite number"):
        bad.to_json()
    with pytest.raises(m.UsageError, match=f"build option config.threshold is {value}, not a finite number"):
        bad.build_name  # noqa: B018 (the build cannot even be named, so no work starts)


@pytest.mark.parametrize("token, message", [("NaN", "NaN is not JSON"), ("Infinity", "Infinity is not JSON"),
                                            ("-Infinity", "-Infinity is not JSON"),
                                            ("1e400", "the number 1e400 is beyond float64's range")])
def test_the_parser_refuses_what_strict_json_does_not_hold(token, message):
    text = example().to_json().replace('"channels": 4', f'"channels": 4, "threshold": {token}')
    assert token in text
    with pytest.raises(m.ManifestError, match=f"^x/manifest.json: {re.escape(message)}"):
        m.Manifest.from_json(text, where="x/manifest.json")


def test_read_manifest_without_a_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="no finished build"):
        m.read_manifest(str(tmp_path))


@given(n=st.integers(1, 10_000), k=st.integers(1, 64))
def test_shard_ranges_cover_every_index_once_in_order(n, k):
    if k > n:
        with pytest.raises(ValueError):
            plan.shard_ranges(n, k)
        return
    ranges = plan.shard_ranges(n, k)
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a < b for a, b in ranges)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(k - 1))
    sizes = [b - a for a, b in ranges]
    assert max(sizes) - min(sizes) <= 1


def test_default_shard_count_targets_the_shard_size_and_enough_work():
    assert plan.default_num_shards(10, 2096) == 1
    assert plan.default_num_shards(600, 2096) == 2  # two shards of 300 samples
    assert plan.default_num_shards(8156, 2096) == 8  # 17 MB of SHD train: 8 shards, not 3 of 8 MiB
    assert plan.default_num_shards(60000, 11608) == 84  # N-MNIST train: 8 MiB shards
    assert plan.default_num_shards(3, 8750056) == 3  # records over 8 MiB: one each, not 4 shards for 3
    assert plan.shard_name("train", 3, 8) == "train-00003-of-00008.array_record"


def test_members_digests_are_kept_optional_for_older_manifests_and_checked():
    old = example()
    assert old.splits["train"].members_sha256 is None and "members_sha256" not in old.to_json()
    digest = m.members_digest("cd" * 32, ["a/1.bin", "b/2.bin"])
    assert digest == hashlib.sha256(("cd" * 32 + "\na/1.bin\nb/2.bin\n").encode()).hexdigest()
    assert digest != m.members_digest("cd" * 32, ["b/2.bin", "a/1.bin"]) != m.members_digest("ab" * 32, ["a/1.bin"])
    newer = m.Manifest(old.dataset, old.config, old.num_classes, old.layout, old.writer_options,
                       {"train": dataclasses.replace(old.splits["train"], members_sha256=digest)})
    assert m.Manifest.from_json(newer.to_json()) == newer and newer.build_name == old.build_name
    doc = json.loads(newer.to_json())
    doc["splits"]["train"]["members_sha256"] = "zz"
    with pytest.raises(m.ManifestError, match="members_sha256 'zz' is not 64 hex digits"):
        m.Manifest.from_json(json.dumps(doc))
