"""Trainings that fail are stopped or reported, never passed on: a loss that becomes NaN ends the
stage at once with one line and no model; a model no better than the mean training face is
reported (a warning and a metric), or refused when `train.fail_if_trivial` asks for it; and
BatchNorm's recalibration makes the reported held-out loss agree with the PSNR."""

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from latentspace.training import mean_image, psnr, reconstruction_loss, to_model_input
from stage_helpers import REPO, run_stage

SIZE, N_TRAIN, N_HOLDOUT = 16, 256, 32
TINY_MODEL = {"latent_dim": 8, "filters": [8, 16], "kernel_sizes": [3, 3], "strides": [2, 2], "dropout": 0.0}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("failures")
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (N_TRAIN + N_HOLDOUT, 4, 4, 3)).astype(np.uint8)
    np.save(root / "images.npy", coarse.repeat(4, axis=1).repeat(4, axis=2))
    with open(root / "index.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "split"])
        writer.writerows([f"{i:06d}.jpg", "train" if i < N_TRAIN else "holdout"] for i in range(N_TRAIN + N_HOLDOUT))
    return root


def train(root: Path, work: Path, **train_params):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"]["image_size"] = SIZE
    params["model"].update(TINY_MODEL)
    params["train"].update({"epochs": 2, "batch_size": 32, "validation_images": N_HOLDOUT, "n_reconstructions": 4,
                            "bn_recalibration_images": 64, "backup_dir": str(work / "backup"), **train_params})
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = run_stage("train", ["--params", work / "params.yaml", "--images", root / "images.npy",
                               "--index", root / "index.csv", "--model", work / "ae.keras",
                               "--metrics", work / "train.json", "--reconstructions", work / "r.png",
                               "--live", work / "live"])
    return proc, params["train"]


def test_a_nan_loss_stops_training_with_one_line_and_no_output(inputs, tmp_path):
    # the largest legal rate, in half precision: float32 alone overflows the weights, not the loss
    proc, _ = train(inputs, tmp_path, optimizer="sgd", learning_rate=1e9, precision="mixed_float16")
    assert proc.returncode == 2
    [line] = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
    assert "train: the training loss became nan at epoch 1, step 2" in line
    assert "train.learning_rate = 1e+09 too high for train.optimizer sgd" in line
    assert "train.precision mixed_float16 overflowing (try float32)" in line
    # no model, metrics or curves, and the epoch backup is gone (its empty root may stay)
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()] == ["params.yaml"]


def test_weights_that_overflow_stop_training_with_one_line_and_no_output(inputs, tmp_path):
    """Adam at 1e6 saturates the output; recalibrating BatchNorm on those weights overflows."""
    proc, _ = train(inputs, tmp_path, optimizer="adam", learning_rate=1e6)
    assert proc.returncode == 2
    [line] = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
    assert "reconstructs held-out faces as NaN or infinity after BatchNorm's recalibration" in line
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()] == ["params.yaml"]


def test_a_saturated_training_is_reported_and_recorded(inputs, tmp_path):
    proc, _ = train(inputs, tmp_path, optimizer="adam", learning_rate=1e6, bn_recalibration_images=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no better than the mean training face" in proc.stderr and "train.learning_rate = 1e+06" in proc.stderr
    m = json.loads((tmp_path / "train.json").read_text())["train"]
    assert m["psnr_holdout_db"] <= m["mean_image_psnr_db"]
    images = np.load(inputs / "images.npy")
    held = to_model_input(images[N_TRAIN:])  # the trivial model's PSNR, by hand
    assert m["mean_image_psnr_db"] == pytest.approx(
        psnr(held, np.broadcast_to(images[:N_TRAIN].mean(axis=0) / 255.0, held.shape)), rel=1e-6)


def test_fail_if_trivial_refuses_the_saturated_model(inputs, tmp_path):
    proc, _ = train(inputs, tmp_path, optimizer="adam", learning_rate=1e6, bn_recalibration_images=0,
                    fail_if_trivial=True)
    assert proc.returncode == 2
    assert "(train.fail_if_trivial: true)" in proc.stderr.splitlines()[-1]
    assert not (tmp_path / "ae.keras").exists() and not (tmp_path / "train.json").exists()


def test_a_good_training_passes_and_its_val_loss_is_the_saved_models(inputs, tmp_path):
    proc, t = train(inputs, tmp_path, learning_rate=0.01, epochs=6, batch_size=16)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no better than the mean" not in proc.stderr
    m = json.loads((tmp_path / "train.json").read_text())["train"]
    assert m["psnr_holdout_db"] > m["mean_image_psnr_db"]
    # val_loss is the saved (recalibrated) model's loss: it agrees with its PSNR (mse -> PSNR)
    assert t["loss"] == "mse" and m["psnr_holdout_db"] >= 10 * np.log10(1 / m["val_loss"]) - 1e-9
    fitted = json.loads((tmp_path / "live" / "metrics.json").read_text())["val"]["loss"]
    assert m["val_loss"] != fitted  # the fit's last value, before recalibration, stays in dvclive


def test_mean_image_and_reconstruction_loss_against_numpy():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (50, 4, 4, 3)).astype(np.uint8)
    rows = np.array([3, 7, 11, 20, 41])
    np.testing.assert_allclose(mean_image(images, rows, chunk_rows=2), images[rows].mean(axis=0) / 255.0, rtol=1e-6)
    a, b = rng.uniform(size=(6, 4, 4, 3)), rng.uniform(size=(6, 4, 4, 3))
    assert reconstruction_loss("mse", a, b) == pytest.approx(((a - b) ** 2).mean(), rel=1e-5)
    assert reconstruction_loss("mae", a, b) == pytest.approx(np.abs(a - b).mean(), rel=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = np.clip(b, 1e-7, 1 - 1e-7)
        bce = -(a * np.log(p) + (1 - a) * np.log(1 - p)).mean()
    assert reconstruction_loss("binary_crossentropy", a, b) == pytest.approx(bce, rel=1e-4)
