"""Citable splits: ``--split=spikingjelly`` equals SpikingJelly's own ``split_to_train_test_set``,
and every manifest records a digest of each split's members that ``spyx-data info`` prints.

SpikingJelly's ``split_to_train_test_set`` (and the two helpers it calls) are taken from the
installed package's source and run as they are: ``spikingjelly/datasets/utils.py`` imports torch
at the top, and the function needs only ``tqdm`` (installed) and ``torch.utils.data.Subset``,
given here as a list of the chosen items (``torch.utils.data.Dataset``, its annotation, as ``list``). It runs on a stand-in of SpikingJelly's dataset: the
``.npz`` names its converters give our recordings, listed as torchvision's ``DatasetFolder``
lists a folder (classes sorted, ``sorted(os.walk(...))``, ``sorted(fnames)``).
"""

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import tqdm

import spyx_data
from spyx_data import cli
from spyx_data.builder import camera, cifar10dvs, fixtures, registry

from ..conftest import manifests_under

#: Recordings per class, uneven (class 3 of one recording: all of it train, as ceil(0.9) = 1).
SIZES = {"airplane": 12, "automobile": 7, "bird": 3, "cat": 1, "deer": 10}
#: A name whose stem sorts otherwise than the whole name ("x.b.npz" < "x.npz" but "x.aedat4" < "x.b.aedat4").
ODD = ("airplane", "cifar10_airplane_1.b.aedat4")


def write_recordings(folder: Path, moved: bool = False) -> None:
    """CIFAR10-DVS recordings (AEDAT4 by faery) in class folders of :data:`SIZES`, named as the
    dataset's (``cifar10_<class>_<i>``, so string order is not numeric order), plus :data:`ODD`;
    ``moved``: the last airplane recording sits in the deer folder instead."""
    width, height, _ = cifar10dvs.DATASET.sensor
    names = [(k, f"cifar10_{k}_{i}.aedat4") for k, n in SIZES.items() for i in range(n)] + [ODD]
    for i, (k, name) in enumerate(names):
        t, x, y, p = fixtures.camera_sample(0, "splits", "train", i, list(SIZES).index(k), (width, height), 50_000)
        t, x, y, p = t[:40], x[:40], y[:40], p[:40]
        if moved and name == "cifar10_airplane_11.aedat4":
            k = "deer"
        (folder / k).mkdir(parents=True, exist_ok=True)
        (folder / k / name).write_bytes(fixtures.faery_bytes(t + cifar10dvs.FIXTURE_CLOCK_US, x, y, p,
                                                             (width, height), ".aedat4"))


@pytest.fixture(scope="module")
def split_to_train_test_set():
    """SpikingJelly 2.0's ``split_to_train_test_set``, from its source (see the module docstring)."""
    assert importlib.metadata.version("spikingjelly") == "2.0.0"
    path = Path(importlib.util.find_spec("spikingjelly").submodule_search_locations[0]) / "datasets" / "utils.py"
    wanted = {"split_to_train_test_set", "_class_index", "_split_class_indices"}
    defs = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    assert {d.name for d in defs} == wanted
    subset = types.SimpleNamespace(Subset=lambda dataset, indices: [dataset[i] for i in indices], Dataset=list)
    torch = types.SimpleNamespace(utils=types.SimpleNamespace(data=subset), Tensor=type("Tensor", (), {}))
    namespace = {"np": np, "math": math, "tqdm": tqdm, "torch": torch}
    exec(compile(ast.Module(body=defs, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["split_to_train_test_set"]


def spikingjelly_dataset(data: Path, converted: Path) -> list[tuple[str, int]]:
    """SpikingJelly's CIFAR10DVS over the recordings in ``data``: each converted to
    ``os.path.splitext(name)[0] + ".npz"`` in its class folder under ``converted``
    (``create_raw_from_extracted``), then listed as torchvision's ``DatasetFolder`` lists them:
    ``(our relative path, label)`` in its sample order."""
    ours = {}
    for k in os.listdir(data):
        (converted / k).mkdir(parents=True)
        for name in os.listdir(data / k):
            target = converted / k / (os.path.splitext(name)[0] + ".npz")
            target.touch()
            ours[str(target)] = f"{k}/{name}"
    classes = sorted(entry.name for entry in os.scandir(converted) if entry.is_dir())  # find_classes
    samples = []
    for label, k in enumerate(classes):  # make_dataset
        for root, _, fnames in sorted(os.walk(converted / k, followlinks=True)):
            samples += [(ours[os.path.join(root, f)], label) for f in sorted(fnames) if f.endswith((".npy", ".npz"))]
    return samples


def build(capsys, data: Path, out: Path, *flags: str) -> str:
    """``spyx-data build cifar10dvs`` of the recordings in ``data`` (as tonic's CIFAR10DVS
    folder); the build's folder."""
    shutil.copytree(data, out / "data" / "CIFAR10DVS")
    code = cli.main(["build", "cifar10dvs", f"--data_dir={out / 'data'}", f"--output_dir={out / 'builds'}", *flags])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    (folder,) = os.listdir(out / "builds")
    return str(out / "builds" / folder)


def info_digests(capsys, folder: str) -> dict[str, str]:
    """The members digest ``spyx-data info`` prints per split."""
    assert cli.main(["info", folder]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("members sha256"))
    return dict(line.split() for line in lines[start + 1 : start + 3])


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recordings") / "CIFAR10DVS"
    write_recordings(folder)
    return folder


def test_spikingjelly_split_equals_spikingjellys_own(capsys, tmp_path, recordings, split_to_train_test_set):
    samples = spikingjelly_dataset(recordings, tmp_path / "events_np")
    want_train, want_test = split_to_train_test_set(0.9, samples, len(SIZES), random_split=False)
    # the fixture tells the orders apart: SpikingJelly's is neither numeric nor that of our file names
    airplanes = [p for p, _ in want_train if p.startswith("airplane/")]
    assert airplanes[:4] == ["airplane/cifar10_airplane_0.aedat4", "airplane/cifar10_airplane_1.b.aedat4",
                             "airplane/cifar10_airplane_1.aedat4", "airplane/cifar10_airplane_10.aedat4"]
    assert [len([s for s in want_test if s[1] == k]) for k in range(len(SIZES))] == [1, 0, 0, 0, 1]

    spec = registry.get("cifar10dvs").spec(split="spikingjelly")
    for split, want in (("train", want_train), ("test", want_test)):
        reader = spec.open(split, str(recordings))
        assert reader.members() == [p for p, _ in want]

    folder = build(capsys, recordings, tmp_path, "--split=spikingjelly")
    manifest = spyx_data.read_manifest(folder)
    assert manifest.config["split"] == "spikingjelly" and "split_seed" not in manifest.config
    digests = info_digests(capsys, folder)
    for split, want in (("train", want_train), ("test", want_test)):
        info = manifest.split(split)
        listing = info.source.sha256 + "\n" + "".join(f"{p}\n" for p, _ in want)
        assert digests[split] == info.members_sha256 == hashlib.sha256(listing.encode()).hexdigest()
        _, labels = spyx_data.load_split(folder, split)
        names = [p.split("/")[0] for p, _ in want]
        assert labels.tolist() == [cifar10dvs.CLASSES.index(k) for k in names]  # SpikingJelly's Subset order


def test_members_digests_follow_the_samples_not_the_folder_names(capsys, tmp_path, recordings):
    first = info_digests(capsys, build(capsys, recordings, tmp_path / "lab_a", "--split=spikingjelly"))
    renamed = tmp_path / "somewhere" / "else"
    shutil.copytree(recordings, renamed)
    second = info_digests(capsys, build(capsys, renamed, tmp_path / "lab_b", "--split=spikingjelly"))
    assert first == second and first["train"] != first["test"]
    moved = tmp_path / "moved"
    write_recordings(moved, moved=True)
    third = info_digests(capsys, build(capsys, moved, tmp_path / "lab_c", "--split=spikingjelly"))
    assert third["train"] != first["train"] and third["test"] != first["test"]
    seeded = info_digests(capsys, build(capsys, recordings, tmp_path / "lab_d"))  # the default split too
    assert seeded != first and all(len(d) == 64 for d in seeded.values())


def test_a_manifest_without_members_digests_says_they_are_not_recorded(capsys, tmp_path, recordings):
    folder = build(capsys, recordings, tmp_path)
    path = os.path.join(folder, "manifest.json")
    doc = json.loads(open(path).read())
    for split in doc["splits"].values():
        del split["members_sha256"]
    with open(path, "w") as f:
        json.dump(doc, f)
    assert cli.main(["info", folder]) == 0
    out = capsys.readouterr().out
    assert out.count(cli.MEMBERS_NOT_RECORDED) == 2


@pytest.mark.parametrize("flags, message", [
    (["--dataset=nmnist", "--split=spikingjelly"], "nmnist has no option split"),
    (["--dataset=cifar10dvs", "--split=spikingjelly", "--split_seed=3"],
     "--split=spikingjelly takes the first ceil(0.9 n) recordings of each class in SpikingJelly's order, no seed or "
     "fraction: drop --split_seed"),
    (["--dataset=asldvs", "--split=spikingjelly", "--test_fraction=0.1"], "drop --test_fraction"),
    (["--dataset=ncaltech101", "--split=random"], "invalid choice: 'random'"),
])
def test_misused_split_flags_are_refused_in_one_line(tmp_path, capsys, flags, message):
    from pipelines import tonic as tonic_pipeline

    code = tonic_pipeline.main([*flags, f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not os.path.exists(tmp_path / "out")


def test_a_recording_below_a_class_folder_is_refused_by_the_spikingjelly_split(tmp_path, capsys, recordings):
    data = tmp_path / "data" / "CIFAR10DVS"
    shutil.copytree(recordings, data)
    (data / "cat" / "session").mkdir()
    shutil.copy(data / "cat" / "cifar10_cat_0.aedat4", data / "cat" / "session" / "cifar10_cat_9.aedat4")
    code = cli.main(["build", "cifar10dvs", f"--data_dir={tmp_path / 'data'}", f"--output_dir={tmp_path / 'out'}",
                     "--split=spikingjelly"])
    err = capsys.readouterr().err
    assert code == 2 and "cat/session/cifar10_cat_9.aedat4: not directly in a class folder" in err, err
    assert not manifests_under(tmp_path / "out")


def test_spikingjelly_split_of_each_class_is_its_first_ceil_nine_tenths():
    parts = [("b", f"{i}.bin") for i in range(11)] + [("a", "x.bin")]
    split = camera.spikingjelly_split(parts)
    assert split["train"] == [("a", "x.bin"), *[("b", n) for n in sorted(f"{i}.bin" for i in range(11))][:10]]
    assert split["test"] == [("b", "9.bin")]
