"""Fault injection: stages killed with SIGKILL mid-way lose no work and leave no torn file.

- `train` killed after some epochs resumes from its last finished epoch and ends with the
  same model file, byte for byte, as a run that was never interrupted;
- `prepare` and `encode` killed mid-way leave their previous outputs untouched, and the
  next run removes the killed run's temporary files;
- :func:`latentspace.io.atomic_path` killed in the middle of a write leaves the old file.
"""

import csv
import filecmp
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from latentspace.io import save_npy
from latentspace.model import ArchitectureConfig, build_autoencoder
from latentspace.training import EpochBackup, train_autoencoder
from stage_helpers import REPO, kill_when, run_stage, save_tiny_autoencoder, start_stage

SIZE = 16


def write_params(path: Path, **sections) -> None:
    """The repository's params with the given sections updated key by key."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for section, changes in sections.items():
        params[section].update(changes)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def write_index(path: Path, n_train: int, n_holdout: int) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "split"])
        writer.writerows([f"{i:06d}.jpg", "train" if i < n_train else "holdout"] for i in range(n_train + n_holdout))


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders of atomic writes (``.name.host-pid.xxxx.tmp...``)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name)


# --- train ----------------------------------------------------------------------------------

TINY_MODEL = {"latent_dim": 8, "filters": [8, 16], "kernel_sizes": [3, 3], "strides": [2, 2], "dropout": 0.1}


@pytest.fixture(scope="module")
def train_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    # Smooth random images, so the loss keeps falling over the epochs.
    coarse = rng.integers(0, 256, (832, 4, 4, 3)).astype(np.uint8)
    np.save(root / "images.npy", coarse.repeat(4, axis=1).repeat(4, axis=2))
    write_index(root / "index.csv", 800, 32)
    write_params(root / "params.yaml", prepare={"image_size": SIZE}, model=TINY_MODEL,
                 train={"epochs": 5, "batch_size": 32, "validation_images": 32, "n_reconstructions": 4,
                        "backup_dir": str(root / "backup")})
    return root


def train_args(root: Path, name: str) -> list:
    return ["--params", root / "params.yaml", "--images", root / "images.npy", "--index", root / "index.csv",
            "--model", root / f"{name}.keras", "--metrics", root / name / "train.json",
            "--reconstructions", root / f"{name}.png", "--live", root / f"live_{name}"]


# what train.py prints when it is done (the timing, replicas and resumption are the log's, not the metrics')
TRAINED_LINE = re.compile(r"^train: (?P<epochs>\d+) epoch\(s\) in \d+\.\d s(?: \(\d+ img/s\))? "
                          r"on (?P<replicas>\d+) replica\(s\)(?:, resumed after epoch (?P<done>\d+))?$", re.M)


def trained_line(stdout: str) -> dict:
    """The fields of the stage's one summary line (exactly one such line)."""
    [match] = TRAINED_LINE.finditer(stdout)
    return match.groupdict()


def logged(live: Path, metric: str) -> list[float]:
    rows = (live / "plots" / "metrics" / f"{metric}.tsv").read_text().splitlines()[1:]
    return [float(row.split("\t")[-1]) for row in rows]


def test_killed_training_resumes_to_the_same_model_file(train_inputs, tmp_path):
    root = train_inputs
    whole = run_stage("train", train_args(root, "whole"))
    assert whole.returncode == 0, whole.stderr[-3000:]

    previous = b"the model of an earlier run"
    (root / "killed.keras").write_bytes(previous)
    log = tmp_path / "train.log"
    proc = start_stage("train", train_args(root, "killed"), log=log)
    kill_when(proc, lambda: any((root / "backup").glob("*/epoch-0002")), log=log)
    assert (root / "killed.keras").read_bytes() == previous  # never a half-written model
    [run_dir] = (root / "backup").iterdir()
    # The kill may fall after a new epoch's folder is complete and before the older one is deleted.
    done = max(int(p.name.removeprefix("epoch-")) for p in run_dir.glob("epoch-*"))
    assert 2 <= done < 5

    resumed = run_stage("train", train_args(root, "killed"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming after epoch {done} of 5" in resumed.stdout
    # the log says which epochs this run trained, after which one it resumed, out of 5 in all
    whole_line, resumed_line = trained_line(whole.stdout), trained_line(resumed.stdout)
    assert whole_line["epochs"] == "5" and whole_line["done"] is None  # the uninterrupted run resumed nothing
    assert resumed_line["done"] == str(done) and int(resumed_line["epochs"]) + done == 5
    assert resumed_line["replicas"] == whole_line["replicas"]
    # Same weights, optimizer steps and dropout masks: the saved files are identical.
    assert filecmp.cmp(root / "whole.keras", root / "killed.keras", shallow=False)
    # ... and so are the metrics, byte for byte: they hold what the params and seed decide, no
    # timing nor resumption (the same final loss, val_loss and hold-out PSNR as the whole run)
    metrics = json.loads((root / "killed" / "train.json").read_text())
    assert list(metrics) == ["train"] and set(metrics["train"]) == {"train_loss", "val_loss", "psnr_holdout_db", "mean_image_psnr_db"}
    assert (root / "killed" / "train.json").read_bytes() == (root / "whole" / "train.json").read_bytes()
    # The curves have every epoch, the ones of the killed run included.
    for metric in ("train/loss", "val/loss"):
        assert logged(root / "live_killed", metric) == logged(root / "live_whole", metric)
        assert len(logged(root / "live_killed", metric)) == 5
    assert not any((root / "backup").iterdir())  # cleared once the model is saved


TINY_CFG = ArchitectureConfig(SIZE, 8, (4, 8), (3, 3), (2, 2), True, "relu", 0.2)


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch: int):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


# cosine: the resumed run must also pick the schedule up at the step where it stopped
FIT = dict(seed=3, epochs=3, batch_size=16, optimizer="adam", learning_rate=0.01, lr_schedule="cosine", loss="mse")


@pytest.fixture(scope="module")
def uninterrupted():
    """Images, split and the weights of a fit that was never interrupted."""
    images = np.random.default_rng(1).integers(0, 256, (120, SIZE, SIZE, 3), dtype=np.uint8)
    split = np.arange(100), np.arange(100, 120)
    model, history = train_autoencoder(TINY_CFG, images, *split, **FIT)
    return images, split, model.get_weights(), history


def interrupted_at(epoch: int, images, split, backup: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        train_autoencoder(TINY_CFG, images, *split, backup=EpochBackup(backup), callbacks=[Interrupt(epoch)], **FIT)


def test_resume_matches_an_uninterrupted_fit_with_dropout(uninterrupted, tmp_path):
    images, split, weights, history = uninterrupted
    interrupted_at(2, images, split, tmp_path)
    # A kill in the middle of writing epoch 3's state leaves only its temporary folder.
    (tmp_path / ".epoch-0003.otherhost-1.abcd.tmp").mkdir()
    assert EpochBackup(tmp_path).completed()[0] == 2

    resumed, resumed_history = train_autoencoder(TINY_CFG, images, *split, backup=EpochBackup(tmp_path), **FIT)
    for a, b in zip(weights, resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed_history["loss"] == history["loss"] and len(resumed_history["val_loss"]) == 3


def test_without_the_dropout_counters_the_resumed_fit_would_differ(uninterrupted, tmp_path):
    """The check above can fail: zeroing the saved SeedGenerator counters changes the weights."""
    images, split, weights, _ = uninterrupted
    interrupted_at(1, images, split, tmp_path)
    [state] = tmp_path.glob("epoch-*/seed_states.npy")
    np.save(state, np.zeros_like(np.load(state)))
    resumed, _ = train_autoencoder(TINY_CFG, images, *split, backup=EpochBackup(tmp_path), **FIT)
    assert any(not np.array_equal(a, b) for a, b in zip(weights, resumed.get_weights()))


def test_a_backup_belongs_to_one_set_of_params_and_data(tmp_path):
    data = tmp_path / "images.npy"
    data.write_bytes(b"one")
    first = EpochBackup.for_run(tmp_path, {"epochs": 5}, [data]).directory
    assert EpochBackup.for_run(tmp_path, {"epochs": 5}, [data]).directory == first
    assert EpochBackup.for_run(tmp_path, {"epochs": 6}, [data]).directory != first
    data.write_bytes(b"two")
    assert EpochBackup.for_run(tmp_path, {"epochs": 5}, [data]).directory != first


# --- prepare and encode ---------------------------------------------------------------------


def snapshot(paths) -> dict:
    return {p.name: p.read_bytes() for p in paths}


def test_killed_prepare_keeps_the_previous_outputs(tmp_path):
    params = tmp_path / "params.yaml"
    write_params(params, data={"synthetic": {"n_images": 3000, "seed": 0, "workers": 2}},
                 prepare={"image_size": SIZE, "workers": 1})
    download = run_stage("download", ["--params", params, "--out", tmp_path / "raw"])
    assert download.returncode == 0, download.stderr[-3000:]
    data = tmp_path / "data"
    outs = [data / "images.npy", data / "index.csv", data / "skipped.csv"]
    args = ["--params", params, "--raw", tmp_path / "raw", "--images", outs[0], "--index", outs[1],
            "--skipped", outs[2], "--metrics", data / "prepare.json"]
    first = run_stage("prepare", args)
    assert first.returncode == 0, first.stderr[-3000:]
    before = snapshot(outs)

    log = tmp_path / "prepare.log"
    proc = start_stage("prepare", args, log=log)
    started = []

    def mid_way():  # the new array is open under its temporary name and being filled
        if not leftovers(data):
            return False
        started.append(started[0] if started else time.monotonic())
        return time.monotonic() - started[0] > 0.3

    kill_when(proc, mid_way, log=log)
    assert snapshot(outs) == before
    # SIGKILL gives no chance to clean up: the temporaries of the three outputs stay
    assert sorted(name.split(".")[1] for name in leftovers(data)) == ["images", "index", "skipped"]

    again = run_stage("prepare", args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert snapshot(outs) == before  # the same bytes again
    assert leftovers(data) == []  # the killed run's temporary array is gone


def test_killed_encode_keeps_the_previous_latents(tmp_path):
    n_train, n_holdout = 40000, 4000
    rng = np.random.default_rng(0)
    np.save(tmp_path / "images.npy", rng.integers(0, 256, (n_train + n_holdout, SIZE, SIZE, 3), dtype=np.uint8))
    write_index(tmp_path / "index.csv", n_train, n_holdout)
    save_tiny_autoencoder(tmp_path / "model.keras", latent_dim=8)
    write_params(tmp_path / "params.yaml", encode={"batch_size": 256})
    outs = [tmp_path / "z.npy", tmp_path / "z_holdout.npy"]
    args = ["--params", tmp_path / "params.yaml", "--images", tmp_path / "images.npy", "--index",
            tmp_path / "index.csv", "--model", tmp_path / "model.keras", "--z", outs[0], "--z-holdout", outs[1]]
    # Previous outputs that the killed run must not touch (not what this model would give).
    save_npy(outs[0], np.ones((3, 8), np.float32))
    save_npy(outs[1], np.ones((2, 8), np.float32))
    before = snapshot(outs)

    log = tmp_path / "encode.log"
    proc = start_stage("encode", args, log=log)
    kill_when(proc, lambda: re.search(r"encode:\s+[1-9]\d?%", log.read_text()) is not None, log=log)
    assert snapshot(outs) == before

    again = run_stage("encode", args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert np.load(outs[0]).shape == (n_train, 8) and np.load(outs[1]).shape == (n_holdout, 8)
    assert leftovers(tmp_path) == []


# --- atomic writes --------------------------------------------------------------------------

KILL_MID_WRITE = """
import os, signal, sys
from latentspace.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"half of the new conte")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_write_killed_half_way_leaves_the_old_file_and_is_cleaned_up_next_time(tmp_path):
    target = tmp_path / "z.npy"
    save_npy(target, np.zeros(3))
    old = target.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", KILL_MID_WRITE, str(target)], env=env)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == old
    [leftover] = leftovers(tmp_path)
    assert leftover.startswith(".z.") and leftover.endswith(".tmp.npy")
    # A temporary of a live process (this one) must survive the clean-up of dead ones.
    live = tmp_path / f".z.{socket.gethostname()}-{os.getpid()}.live.tmp.npy"
    live.write_bytes(b"")
    save_npy(target, np.arange(4))
    np.testing.assert_array_equal(np.load(target), np.arange(4))
    assert leftovers(tmp_path) == [live.name]


STAGE_WRITING_TWO_OUTPUTS = """
import os, signal, sys
import numpy as np
from latentspace.io import after_commit, run_stage, save_json, save_npy
folder, how = sys.argv[1], sys.argv[2]

def main():
    save_json(folder + "/a.json", {"new": True})
    after_commit(lambda: print("committed", os.path.exists(folder + "/b.npy"), flush=True))
    if how == "bad input":
        raise ValueError("the second output's input is bad")
    save_npy(folder + "/b.npy", np.arange(3))
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)

run_stage(main)
"""


@pytest.mark.parametrize("how, code", [("kill", -signal.SIGKILL), ("bad input", 2), ("finish", 0)])
def test_a_stage_renames_all_its_outputs_at_its_end_or_none(tmp_path, how, code):
    (tmp_path / "a.json").write_text("old")
    save_npy(tmp_path / "b.npy", np.zeros(2))
    before = snapshot([tmp_path / "a.json", tmp_path / "b.npy"])
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", STAGE_WRITING_TWO_OUTPUTS, str(tmp_path), how], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == code, proc.stderr
    after = snapshot([tmp_path / "a.json", tmp_path / "b.npy"])
    if how == "finish":
        assert json.loads(after["a.json"]) == {"new": True} and np.load(tmp_path / "b.npy").tolist() == [0, 1, 2]
        assert proc.stdout == "committed True\n" and leftovers(tmp_path) == []
    else:  # both old: the first output was written, but not renamed into place
        assert after == before and "committed" not in proc.stdout
        assert len(leftovers(tmp_path)) == (2 if how == "kill" else 0)
        assert proc.stderr.strip().splitlines()[-1:] == ([] if how == "kill" else
                                                         ["error: the second output's input is bad"])


def test_a_failed_write_removes_its_temporary_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        from latentspace.io import atomic_path

        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new, but cut short")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_the_saved_model_is_reproducible_and_loads(tmp_path):
    from latentspace.model import load_autoencoder, save_model

    keras.utils.set_random_seed(0)
    model = build_autoencoder(ArchitectureConfig(SIZE, 8, (4, 8), (3, 3), (2, 2), True, "relu"))
    save_model(model, tmp_path / "a.keras")
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    save_model(model, tmp_path / "b.keras")
    assert filecmp.cmp(tmp_path / "a.keras", tmp_path / "b.keras", shallow=False)
    loaded = load_autoencoder(tmp_path / "a.keras")
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
