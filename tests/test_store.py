"""The run store: finished runs are read back, interrupted runs resume, unfinished runs are never read."""

import json
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata

import pandas as pd
import pytest

from lpts_helpers.core import store as store_module
from lpts_helpers.core.config import StageConfig, knob
from lpts_helpers.core.store import MARKER, atomic_write_bytes, git_commit, library_versions


@dataclass(frozen=True)
class SquaresConfig(StageConfig):
    STAGE = "squares"
    n: int = knob(10, ge=1)
    offset: int = knob(0)


def items(config):
    return [{"item_id": f"x{i}", "x": i} for i in range(config.n)]


class Recorder:
    """A compute function that records what it was asked for and can crash after a number of chunks."""

    def __init__(self, offset=0, crash_after=None):
        self.calls, self.offset, self.crash_after = [], offset, crash_after

    def __call__(self, chunk):
        if self.crash_after is not None and len(self.calls) == self.crash_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls.append([item["item_id"] for item in chunk])
        # two rows per item, like two samples per problem
        return [{"item_id": item["item_id"], "sample": s, "y": item["x"] ** 2 + self.offset} for item in chunk
                for s in range(2)]


def metrics(samples):
    return {"mean_y": float(samples["y"].mean()), "rows": len(samples)}


def test_first_run_computes_and_writes_every_file(store):
    config = SquaresConfig()
    compute = Recorder()
    run = store.run(config, items(config), compute, metrics=metrics, chunk_size=4)
    assert run.computed and len(compute.calls) == 3  # 10 items in chunks of 4
    assert list(run.samples["item_id"][::2]) == [f"x{i}" for i in range(10)]  # the items' order, kept
    assert run.metrics == {"mean_y": 28.5, "rows": 20}
    assert sorted(p.name for p in run.path.iterdir()) == ["COMPLETE", "config.json", "metrics.json",
                                                          "samples.parquet"]
    recorded = json.loads((run.path / "config.json").read_text())
    assert recorded["config"] == {"n": 10, "offset": 0} and recorded["config_hash"] == config.config_hash()
    assert recorded["finished"] is True and "torch" in recorded["libraries"] and recorded["git_commit"]
    assert run.path == store.root / "squares" / config.config_hash()


def test_finished_run_is_read_back_never_recomputed(store):
    config = SquaresConfig()
    first = store.run(config, items(config), Recorder(), metrics=metrics)

    def must_not_run(chunk):
        raise AssertionError("a finished run was recomputed")

    again = store.run(config, items(config), must_not_run, metrics=metrics)
    assert not again.computed
    pd.testing.assert_frame_equal(first.samples, again.samples)
    assert again.metrics == first.metrics


def test_interrupted_run_resumes_from_stored_chunks(store):
    config = SquaresConfig()
    with pytest.raises(KeyboardInterrupt):
        store.run(config, items(config), Recorder(crash_after=2), metrics=metrics, chunk_size=3)
    path = store.path(config)
    assert not (path / MARKER).exists() and len(list((path / "parts").glob("part-*.parquet"))) == 2
    assert not store.is_complete(config)
    with pytest.raises(FileNotFoundError, match="is unfinished and is resumed"):
        store.load(config)  # a run without its marker is never read as finished

    resumed = Recorder()
    run = store.run(config, items(config), resumed, metrics=metrics, chunk_size=3)
    assert resumed.calls == [["x6", "x7", "x8"], ["x9"]]  # only what the crash left undone
    assert list(run.samples["item_id"][::2]) == [f"x{i}" for i in range(10)]
    assert run.metrics == {"mean_y": 28.5, "rows": 20}
    assert not (path / "parts").exists()


def test_a_config_change_is_a_new_run(store):
    base = store.run(SquaresConfig(), items(SquaresConfig()), Recorder(), metrics=metrics)
    other = store.run(SquaresConfig(offset=1), items(SquaresConfig()), Recorder(offset=1), metrics=metrics)
    assert base.path != other.path and other.metrics["mean_y"] == 29.5


def test_fresh_discards_what_is_stored(store):
    config = SquaresConfig(n=2)
    store.run(config, items(config), Recorder(), metrics=metrics)
    compute = Recorder(offset=5)
    run = store.run(config, items(config), compute, metrics=metrics, fresh=True)
    assert run.computed and compute.calls and run.metrics["mean_y"] == 5.5


def test_compute_must_return_rows_for_every_item(store):
    config = SquaresConfig(n=3)
    with pytest.raises(ValueError, match=r"compute\(\) returned no rows for item_id \['x1', 'x2'\]"):
        store.run(config, items(config), lambda chunk: [{"item_id": "x0", "y": 0}], chunk_size=3)


def test_duplicate_item_keys_are_rejected(store):
    with pytest.raises(ValueError, match="unique 'item_id'"):
        store.run(SquaresConfig(), [{"item_id": "a"}, {"item_id": "a"}], Recorder())


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"old")

    def disk_full(fd):
        raise OSError("disk full")

    monkeypatch.setattr("lpts_helpers.core.store.os.fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary file left behind


def test_runs_lists_finished_runs_only(store):
    done = SquaresConfig(n=1)
    store.run(done, items(done), Recorder())
    unfinished = SquaresConfig(n=4)
    with pytest.raises(KeyboardInterrupt):
        store.run(unfinished, items(unfinished), Recorder(crash_after=1), chunk_size=2)
    assert [r["config"] for r in store.runs("squares")] == [{"n": 1, "offset": 0}]


def test_git_commit_names_the_checkout_and_whether_it_is_dirty(tmp_path, monkeypatch):
    def git(*args):
        return subprocess.run(["git", *args], cwd=store_module.REPO_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()

    head = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    assert git_commit() == head + ("-dirty" if dirty else "")
    assert len(head) == 40
    monkeypatch.setattr(store_module, "REPO_ROOT", tmp_path)  # not a git checkout
    assert git_commit() == "unknown"


def test_library_versions_are_the_installed_ones(monkeypatch):
    monkeypatch.setattr(store_module, "TRACKED_LIBRARIES", ("pandas", "no-such-library-lpts"))
    assert library_versions() == {"python": platform.python_version(), "pandas": metadata.version("pandas")}


def test_metrics_follow_the_metric_code_without_recomputing_samples(store):
    config = SquaresConfig(n=3)
    store.run(config, items(config), Recorder(), metrics=metrics)

    def must_not_run(chunk):
        raise AssertionError("samples were recomputed")

    def new_metrics(samples):
        return {"max_y": int(samples["y"].max())}

    run = store.run(config, items(config), must_not_run, metrics=new_metrics)
    assert run.metrics == {"max_y": 4} and store.load(config).metrics == {"max_y": 4}


def test_stored_metrics_are_read_back_while_their_code_is_unchanged(store):
    config, calls = SquaresConfig(n=3), []

    def counted(samples):
        calls.append(len(samples))
        return {"rows": len(samples)}

    first = store.run(config, items(config), Recorder(), metrics=counted).metrics
    for _ in range(3):
        assert store.run(config, items(config), Recorder(), metrics=counted).metrics == first
    assert len(calls) == 1  # computed when the run finished, never again on reading
    marker = json.loads((store.path(config) / MARKER).read_text())
    assert marker["metrics_code"] == store_module.metrics_code(counted)


def test_prune_deletes_runs_not_read_since_a_time(store):
    import os
    import time

    old, used = SquaresConfig(n=1), SquaresConfig(n=2)
    for config in (old, used):
        store.run(config, items(config), Recorder())
    past = time.time() - 100
    for config in (old, used):
        os.utime(store.path(config) / MARKER, (past, past))
    since = time.time() - 1
    store.load(used)  # reading marks the run as used
    assert store.prune_unused(since, dry_run=True) == [store.path(old)]
    assert store.path(old).exists()
    assert store.prune_unused(since) == [store.path(old)]
    assert not store.path(old).exists() and store.is_complete(used)


def test_resume_after_a_deleted_part_numbers_new_parts_after_the_highest(store):
    """A corrupt part is named by the error; deleting it, as the error invites, must not let the resume overwrite
    the next good part (parts were numbered by counting them) and finish with rows missing."""
    config = SquaresConfig(n=8)
    with pytest.raises(KeyboardInterrupt):
        store.run(config, items(config), Recorder(crash_after=3), chunk_size=2)
    parts = store.path(config) / "parts"
    assert sorted(p.name for p in parts.glob("*.parquet")) == [f"part-0000{i}.parquet" for i in range(3)]
    (parts / "part-00000.parquet").unlink()
    compute = Recorder()
    run = store.run(config, items(config), compute, chunk_size=2)
    assert compute.calls == [["x0", "x1"], ["x6", "x7"]]  # the deleted part's items and the ones never computed
    assert list(run.samples["item_id"][::2]) == [f"x{i}" for i in range(8)] and len(run.samples) == 16


def test_a_run_is_never_finished_without_every_items_rows(store, monkeypatch):
    config = SquaresConfig(n=4)
    with pytest.raises(KeyboardInterrupt):
        store.run(config, items(config), Recorder(crash_after=1), chunk_size=2)
    # a store that claims items are done whose rows it cannot give back (e.g. a part replaced behind its back)
    monkeypatch.setattr(store_module.RunStore, "_stored_keys", staticmethod(lambda parts, key: {"x2", "x3"}))
    with pytest.raises(RuntimeError, match=r"2 of 4 items have no stored rows \(item_id \['x2', 'x3'\]\)"):
        store.run(config, items(config), Recorder(), chunk_size=2)
    assert not store.is_complete(config)


@pytest.mark.parametrize("name", store_module.SEALED_FILES)
def test_a_changed_file_of_a_finished_run_is_an_error_naming_it(store, name):
    config = SquaresConfig(n=3)
    path = store.run(config, items(config), Recorder(), metrics=metrics).path
    data = bytearray((path / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    (path / name).write_bytes(bytes(data))
    with pytest.raises(store_module.CorruptRunError, match=rf"{name} does not match the digest .*\(rm -r "):
        store.load(config)
    with pytest.raises(store_module.CorruptRunError):  # nor is it returned as finished by run()
        store.run(config, items(config), Recorder(), metrics=metrics)
    (path / name).unlink()
    with pytest.raises(store_module.CorruptRunError, match=rf"{name} is missing from a finished run"):
        store.load(config)


def test_runs_stored_before_digests_are_sealed_once_keeping_their_stamp(store):
    config = SquaresConfig(n=2)
    path = store.run(config, items(config), Recorder()).path
    marker = json.loads((path / MARKER).read_text())
    legacy = {k: v for k, v in marker.items() if k != "files"}
    (path / MARKER).write_text(json.dumps(legacy))
    with pytest.raises(store_module.CorruptRunError, match=r"records no file digests.*store seal"):
        store.load(config)
    assert store_module.seal_store(store.root) == [path] and store_module.seal_store(store.root) == []
    assert store.load(config).samples.equals(store.run(config, items(config), Recorder()).samples)
    assert store_module.finished_stamp(path) == marker["id"]


def test_a_run_records_the_source_digest_of_the_helpers(store):
    config = SquaresConfig(n=1)
    recorded = store.run(config, items(config), Recorder()).config
    assert recorded["source_digest"] == store_module.source_digest(store_module.PACKAGE_DIR)


def test_a_run_that_fails_before_storing_anything_leaves_no_folder(store):
    config = SquaresConfig(n=4)
    with pytest.raises(KeyboardInterrupt):
        store.run(config, items(config), Recorder(crash_after=0), chunk_size=2)
    assert not store.path(config).exists()
    with pytest.raises(KeyboardInterrupt):  # once a chunk is stored, the folder stays to resume from
        store.run(config, items(config), Recorder(crash_after=1), chunk_size=2)
    assert len(list((store.path(config) / "parts").glob("*.parquet"))) == 1


def test_a_part_damaged_while_its_run_waits_to_resume_is_an_error_naming_it(store):
    config = SquaresConfig(n=4)
    with pytest.raises(KeyboardInterrupt):
        store.run(config, items(config), Recorder(crash_after=1), chunk_size=2)
    part = store.path(config) / "parts" / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 3] ^= 0x10
    part.write_bytes(bytes(data))
    with pytest.raises(store_module.CorruptRunError, match=r"part-00000.parquet does not match its digest .*\(rm "):
        store.run(config, items(config), Recorder(), chunk_size=2)
    part.unlink()  # as the error says: its items are recomputed, the others kept
    compute = Recorder()
    run = store.run(config, items(config), compute, chunk_size=2)
    assert compute.calls == [["x0", "x1"], ["x2", "x3"]] and len(run.samples) == 8
