"""Data-parallel training, mixed precision and the JAX backend, on CPU.

Each configuration trains the same tiny autoencoder (tests/fit_on_devices.py) in its own
process, because the backend and the logical devices are fixed when a process starts. Data
parallelism must reproduce single-device training: the gradient of the mean loss over a
batch is the average of the replicas' gradients over their halves.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from stage_helpers import REPO


def fit(tmp_path_factory, backend, *args):
    out = tmp_path_factory.mktemp(backend) / "fit.npz"
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("XLA_FLAGS", None)
    done = subprocess.run([sys.executable, str(REPO / "tests" / "fit_on_devices.py"), "--out", str(out), *args],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(out))


@pytest.fixture(scope="module")
def tf_runs(tmp_path_factory):
    return {
        "one": fit(tmp_path_factory, "tensorflow"),
        "two": fit(tmp_path_factory, "tensorflow", "--devices", "2", "--distribution", "data_parallel"),
        "steps2": fit(tmp_path_factory, "tensorflow", "--steps-per-execution", "4"),
    }


@pytest.fixture(scope="module")
def jax_runs(tmp_path_factory):
    model = tmp_path_factory.mktemp("jax_model") / "autoencoder.keras"
    return {
        "one": fit(tmp_path_factory, "jax", "--batch-norm", "--model", str(model)),
        "two": fit(tmp_path_factory, "jax", "--batch-norm", "--devices", "2", "--distribution", "data_parallel"),
        "model": model,
    }


def assert_same_training(a, b, rel):
    """Same final weights, up to ``rel`` of how far training moved them (float rounding)."""
    moved = np.abs(a["weights"] - a["initial"]).max()
    assert moved > 1e-4  # training did move the weights
    np.testing.assert_array_equal(a["initial"], b["initial"])
    assert np.abs(a["weights"] - b["weights"]).max() <= rel * moved
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-4)


def test_tensorflow_mirrored_strategy_on_two_cpu_devices_matches_one_device(tf_runs):
    one, two = tf_runs["one"], tf_runs["two"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    # the replicas' gradients are summed in another order: float32 rounding only
    assert_same_training(one, two, rel=1e-3)
    # prediction splits batches too: one row out per row in, the same vectors
    assert two["z"].shape == one["z"].shape == (80, 8)
    np.testing.assert_allclose(two["z"], one["z"], atol=0.01 * np.abs(one["z"]).max())


def test_a_doubled_gradient_would_be_caught(tf_runs):
    """The tolerance above is far tighter than the error of summing the replicas' gradients
    instead of averaging them."""
    one = tf_runs["one"]
    doubled_step = one["initial"] + 2 * (one["weights"] - one["initial"])
    moved = np.abs(one["weights"] - one["initial"]).max()
    assert np.abs(doubled_step - one["weights"]).max() > 100 * 1e-3 * moved


def test_jax_data_parallel_on_two_cpu_devices_matches_one_device(jax_runs):
    one, two = jax_runs["one"], jax_runs["two"]
    assert str(one["backend"]) == "jax" and (one["replicas"], two["replicas"]) == (1, 2)
    # JAX shards one compiled program: BatchNormalization still sees the whole batch
    assert_same_training(one, two, rel=1e-4)
    np.testing.assert_allclose(two["z"], one["z"], atol=1e-5)


def test_a_model_trained_with_jax_loads_and_encodes_the_same_under_tensorflow(jax_runs):
    import keras

    from latentspace.model import load_part
    from latentspace.training import predict_in_batches

    assert keras.backend.backend() == "tensorflow"
    images = np.random.default_rng(0).integers(0, 256, (80, 16, 16, 3), dtype=np.uint8)  # fit_on_devices' images
    z = predict_in_batches(load_part(jax_runs["model"], "encoder"), images, 32)
    np.testing.assert_allclose(z, jax_runs["one"]["z"], atol=1e-4)


def test_steps_per_execution_changes_speed_not_results(tf_runs):
    np.testing.assert_allclose(tf_runs["steps2"]["weights"], tf_runs["one"]["weights"], atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_computes_in_half_precision_and_returns_float32_latents(tmp_path_factory, tf_runs, policy):
    run = fit(tmp_path_factory, "tensorflow", "--precision", policy)
    assert str(run["compute_dtype"]) == policy.removeprefix("mixed_")
    assert str(run["z_dtype"]) == "float32"
    assert str(run["optimizer"]) == ("LossScaleOptimizer" if policy == "mixed_float16" else "SGD")
    # trains as float32 does, to half-precision accuracy
    assert np.all(np.isfinite(run["weights"]))
    np.testing.assert_allclose(run["loss"], tf_runs["one"]["loss"], rtol=0.02)
    np.testing.assert_allclose(run["z"], tf_runs["one"]["z"], atol=0.05 * np.abs(tf_runs["one"]["z"]).max())


def test_unknown_distribution_and_precision_are_refused():
    from latentspace.distribution import distributed, set_precision

    with pytest.raises(ValueError, match=r"train.distribution = 'mirrored': must be one of none, data_parallel"):
        with distributed("mirrored"):
            pass
    with pytest.raises(ValueError, match=r"train.precision = 'fp16': must be one of float32, mixed_float16"):
        set_precision("fp16")
