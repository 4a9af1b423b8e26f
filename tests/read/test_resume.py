"""Long runs: a loader resumed from its state continues byte for byte; workers live as long as the loader."""

import functools
import gc
import itertools
import json
import multiprocessing
import os
import re
import subprocess
import sys
import textwrap

import grain
import numpy as np
import pytest

import spyx_data
from spyx_data.errors import UsageError

from ..conftest import write_build
from ..hold import HANG_S


def batches_of(loader, epochs):
    """The byte strings of ``epochs`` epochs of ``loader``."""
    return [b.obs.tobytes() + b.labels.tobytes() for _ in range(epochs) for b in loader]


def interrupted(make, epochs, stop_epoch, stop_batch, worker_count_after):
    """Run ``make(worker_count)``'s loader to batch ``stop_batch`` of epoch ``stop_epoch``, save its
    state through JSON, and finish the ``epochs`` in a new loader made with ``worker_count_after``."""
    first = make(2 if worker_count_after == 0 else 0)
    before = batches_of(first, stop_epoch)
    it = iter(first)
    before += [b.obs.tobytes() + b.labels.tobytes() for b in itertools.islice(it, stop_batch)]
    state = json.loads(json.dumps(first.get_state()))
    first.close()
    second = make(worker_count_after)
    second.set_state(state)
    after = batches_of(second, 1) + batches_of(second, epochs - stop_epoch - 1)
    second.close()
    return before, after


@pytest.mark.parametrize("worker_count", [0, 2])
@pytest.mark.parametrize("random_transform", [False, True], ids=["plain", "ShiftAugment"])
def test_a_resumed_loader_continues_byte_for_byte(written_build, worker_count, random_transform):
    source = spyx_data.open_split(written_build, "train")
    transforms = [spyx_data.ShiftAugment(4, axes=(-1,))] if random_transform else []

    def make(workers):
        return spyx_data.GrainLoader(source, 32, shuffle=True, seed=7, worker_count=workers, transforms=transforms)

    with make(worker_count) as whole:
        uninterrupted = batches_of(whole, 3)
    assert len(set(uninterrupted)) == len(uninterrupted)  # fresh order (and shifts) each epoch
    # Saved by a loader with the other worker count, resumed mid-epoch 1 with this one.
    before, after = interrupted(make, 3, 1, 4, worker_count)
    assert before + after == uninterrupted
    assert len(before) == len(whole) + 4


def test_a_state_taken_at_an_epoch_end_starts_the_next_epoch(written_build):
    source = spyx_data.open_split(written_build, "train")
    loader = spyx_data.GrainLoader(source, 50, shuffle=True, seed=1)
    expected = batches_of(loader, 2)
    first = spyx_data.GrainLoader(source, 50, shuffle=True, seed=1)
    states = []
    for batch in first:  # the state taken inside the loop, right after the epoch's last batch
        states.append(first.get_state())
    assert [(s["epoch"], s["position"]) for s in states] == [(0, b) for b in range(1, len(first))] + [(1, 0)]
    state = states[-1]
    second = spyx_data.GrainLoader(source, 50, shuffle=True, seed=1)
    second.set_state(state)
    assert batches_of(second, 1) == expected[len(first) :]
    assert batches_of(first, 1) == expected[len(first) :]  # and the loader itself goes on there


def test_a_state_of_another_stream_is_refused_in_one_line(written_build, tmp_path):
    source = spyx_data.open_split(written_build, "train")
    loader = spyx_data.GrainLoader(source, 32, shuffle=True, seed=7, process_index=0, process_count=1)
    next(iter(loader))
    state = loader.get_state()
    other_build = write_build(tmp_path, seed=1)
    others = {
        "source": spyx_data.GrainLoader(spyx_data.open_split(other_build, "train"), 32, True, 7),
        "batch_size": spyx_data.GrainLoader(source, 16, True, 7),
        "process_count": spyx_data.GrainLoader(source, 32, True, 7, process_index=0, process_count=2),
        "seed": spyx_data.GrainLoader(source, 32, True, 8),
    }
    shifted = spyx_data.GrainLoader(source, 32, True, 7, transforms=[spyx_data.ShiftAugment(4)]).get_state()
    with pytest.raises(UsageError, match=r"its transforms is \[\"ShiftAugment\(.*max_shift=4"):
        spyx_data.GrainLoader(source, 32, True, 7, transforms=[spyx_data.ShiftAugment(10)]).set_state(shifted)
    for field, other in others.items():
        with pytest.raises(UsageError, match=f"its {field} is") as refused:
            other.set_state(state)
        assert "\n" not in str(refused.value)
    for bad in ({**state, "version": 0}, {**state, "position": len(loader)}, "epoch 3"):
        with pytest.raises(UsageError) as refused:
            loader.set_state(bad)
        assert "\n" not in str(refused.value)


class HoldsAGenerator(grain.transforms.Map):
    """A user's transform with a setting no state can name."""

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def map(self, record):
        return record


def test_a_state_compares_numpy_settings_as_plain_values(written_build):
    source = spyx_data.open_split(written_build, "train")

    def state_of(*transforms, **settings):
        loader = spyx_data.GrainLoader(source, **{"batch_size": 32, "shuffle": True, "seed": 7, **settings},
                                       transforms=transforms)
        next(iter(loader))
        return json.loads(json.dumps(loader.get_state()))  # numpy values would not go through JSON

    saved = state_of(spyx_data.ShiftAugment(max_shift=np.int64(4), axes=np.array([-1])), seed=np.int64(7),
                     batch_size=np.int32(32), shuffle=np.bool_(True))
    assert saved["transforms"] == ["ShiftAugment(axes=(-1,), input_key='obs', max_shift=4, mode='roll')"]
    assert saved == state_of(spyx_data.ShiftAugment(max_shift=4, axes=[-1]))  # the same stream, plain or numpy
    with pytest.raises(UsageError, match=r"its transforms is .*max_shift=4.* this loader's .*max_shift=10") as e:
        spyx_data.GrainLoader(source, 32, True, 7, transforms=[spyx_data.ShiftAugment(np.int64(10))]).set_state(saved)
    assert "\n" not in str(e.value)
    rate = state_of(spyx_data.RateCode(8, max_r=np.float32(0.5)))["transforms"]
    assert rate == ["RateCode(input_key='obs', max_r=0.5, output_key='obs', packed=True, sample_T=8)"]
    # A setting no state can name is refused when a state is taken, in one line, never left out.
    for transform, where in ((HoldsAGenerator(), "transforms[0].rng (Generator"), (lambda r: r, "transforms[0] (<")):
        loader = spyx_data.GrainLoader(source, 32, True, 7, transforms=[transform])
        with pytest.raises(UsageError, match=re.escape(where)) as e:
            loader.get_state()
        assert "\n" not in str(e.value) and "starts with '_'" in str(e.value)
    with pytest.raises(UsageError, match="seed must be an integer, got 7.5"):
        spyx_data.GrainLoader(source, 32, True, 7.5)


def test_a_version_1_state_is_taken_where_the_stream_is_unchanged(written_build):
    source = spyx_data.open_split(written_build, "train")
    for process_count, drop_remainder, taken in ((1, False, True), (2, True, True), (2, False, False)):
        make = functools.partial(spyx_data.GrainLoader, source, 7, True, 3, drop_remainder=drop_remainder,
                                 process_index=process_count - 1, process_count=process_count)
        saved = make()
        it = iter(saved)
        next(it)
        old = {**saved.get_state(), "version": 1}  # as spyx-data before padding several hosts' epochs
        resumed = make()
        if taken:
            resumed.set_state(old)
            assert batches_of(resumed, 1) == [b.obs.tobytes() + b.labels.tobytes() for b in it]
        else:  # version 1 ended this host's epoch with a short batch, version 2 pads it
            with pytest.raises(UsageError, match="not a loader state of version 2:"):
                resumed.set_state(old)


def delivered(loader, iterator, count):
    """``count`` batches of ``iterator`` as bytes, each with the loader's state right after it."""
    return [(b.obs.tobytes() + b.labels.tobytes(), loader.get_state()) for b in itertools.islice(iterator, count)]


@pytest.mark.parametrize("worker_count", [0, 2])
def test_a_new_iter_ends_the_one_before(written_build, worker_count):
    source = spyx_data.open_split(written_build, "train")
    with spyx_data.GrainLoader(source, 32, True, 4) as single:
        expected = delivered(single, iter(single), len(single)) + delivered(single, iter(single), 3)
    with spyx_data.GrainLoader(source, 32, True, 4, worker_count=worker_count) as loader:
        old = iter(loader)
        got = delivered(loader, old, 2)
        new = iter(loader)
        with pytest.raises(UsageError, match=r"ended by a newer iter\(loader\)") as e:
            next(old)  # interleaved: the old iterator refuses, and takes nothing from the stream
        assert "\n" not in str(e.value)
        for _ in range(2):  # and again, between the new one's batches
            got += delivered(loader, new, 1)
            with pytest.raises(UsageError, match="newer iter"):
                next(old)
        for batch in loader:  # a loop left early, then another: the rest of the epoch
            got.append((batch.obs.tobytes() + batch.labels.tobytes(), loader.get_state()))
            break
        got += delivered(loader, loader, len(loader))  # to the epoch's end only
        got += delivered(loader, iter(loader), 3)
        assert got == expected
        assert (got[-1][1]["epoch"], got[-1][1]["position"]) == (1, 3)
        ended = iter(loader)
        loader.set_state(expected[0][1])
        with pytest.raises(UsageError, match=r"ended by set_state"):
            next(ended)
        assert delivered(loader, loader, 1) == expected[1:2]



def workers():
    """The live processes this one started through multiprocessing (Grain's workers), by pid."""
    return {p.pid: p for p in multiprocessing.active_children()}


def assert_stop(processes):
    """Each of ``processes`` ends: at once if it was reaped, else once it is (never by itself: a
    loader's worker runs until it is stopped)."""
    for process in processes:
        process.join(HANG_S)
        assert process.exitcode is not None, f"worker {process.pid} still runs {HANG_S} s after it was to stop"


def test_workers_start_once_per_loader_and_stop_on_close(written_build):
    source = spyx_data.open_split(written_build, "train")
    before = set(workers())
    loader = spyx_data.GrainLoader(source, 32, shuffle=True, seed=1, worker_count=2)
    started = []
    for _ in range(3):
        assert len(list(loader)) == len(loader)
        started.append({pid: p for pid, p in workers().items() if pid not in before})
    assert len(started[0]) >= 2 and started[0].keys() == started[1].keys() == started[2].keys()
    loader.close()
    assert_stop(started[0].values())
    collected = spyx_data.GrainLoader(source, 32, shuffle=True, seed=1, worker_count=2)
    next(iter(collected))
    theirs = [p for pid, p in workers().items() if pid not in before]
    assert len(theirs) >= 2
    del collected
    gc.collect()
    assert_stop(theirs)  # a loader collected stops its workers


#: What a script leaves unfinished when it exits, after a whole epoch with 2 workers (their
#: chunks of batches come in shared memory); each case is run in a process of its own, its
#: names module globals, which live until the interpreter is torn down. Each script first makes
#: a temporary folder, whose finalizer registers weakref's atexit hook before multiprocessing's
#: (which then runs first: it terminates the workers).
LEFT_AT_EXIT = {
    "a loader mid-epoch, never closed": "next(iter(loader))",
    "an iterator mid-epoch and its batches": "it = iter(loader)\nheld = (next(it), next(it))",
    "set_state, which restarts the workers": textwrap.dedent("""
        it = iter(loader)
        next(it)
        state = loader.get_state()
        next(it)
        loader.set_state(state)
        held = next(iter(loader))"""),
    "an exception raised out of the loop": textwrap.dedent("""
        for batch in loader:
            raise RuntimeError("the user's own error")"""),
}


@pytest.mark.parametrize("left", LEFT_AT_EXIT.values(), ids=LEFT_AT_EXIT.keys())
def test_workers_leave_nothing_behind_and_print_nothing_at_exit(written_build, left):
    script = textwrap.dedent(f"""
        import tempfile
        scratch = tempfile.TemporaryDirectory()
        import spyx_data
        if __name__ == "__main__":
            source = spyx_data.open_split({written_build!r}, "train")
            loader = spyx_data.GrainLoader(source, 32, shuffle=True, seed=1, worker_count=2,
                                           transforms=[spyx_data.ShiftAugment(3, axes=(-1,))])
            list(loader)
            print("ok", flush=True)
    """) + textwrap.indent(left, " " * 4)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.stdout == "ok\n", result.stderr[-2000:]
    if "raise" in left:  # the user's traceback, and nothing after it
        assert result.returncode == 1 and result.stderr.count("Traceback") == 1, result.stderr[-2000:]
        assert result.stderr.endswith("RuntimeError: the user's own error\n"), result.stderr[-2000:]
    else:  # no "Exception ignored in SharedMemoryArray.__del__", no resource tracker's leak warning
        assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]


def test_the_checkpoint_handler_saves_and_restores_a_loader_per_host(written_build, tmp_path):
    from spyx_data.read.checkpoint import LoaderCheckpointHandler

    source = spyx_data.open_split(written_build, "train")
    loader = spyx_data.GrainLoader(source, 32, shuffle=True, seed=5, process_index=1, process_count=2)
    it = iter(loader)
    next(it)
    handler = LoaderCheckpointHandler()
    handler.save(tmp_path, loader)
    assert [p.name for p in tmp_path.iterdir()] == ["process_1-of-2.json"]
    resumed = handler.restore(tmp_path, spyx_data.GrainLoader(source, 32, True, 5, process_index=1, process_count=2))
    assert batches_of(resumed, 1) == [b.obs.tobytes() + b.labels.tobytes() for b in it]
    with pytest.raises(UsageError, match="no loader state for host 0 of 2"):
        handler.restore(tmp_path, spyx_data.GrainLoader(source, 32, True, 5, process_index=0, process_count=2))


def test_an_iter_left_before_its_end_leaves_the_rest_of_the_epoch_to_the_next(written_build):
    source = spyx_data.open_split(written_build, "train")
    expected = batches_of(spyx_data.GrainLoader(source, 32, True, 2), 2)
    loader = spyx_data.GrainLoader(source, 32, True, 2)
    for _ in zip(range(3), loader):
        pass
    state = loader.get_state()
    assert (state["epoch"], state["position"]) == (0, 3)
    assert batches_of(loader, 2) == expected[3:]  # the rest of epoch 0, then epoch 1
