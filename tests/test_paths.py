"""Straight paths through the cloud: exact centres, ends, spacing and Mahalanobis offsets,
and the `paths` stage end to end on a tiny untrained model."""

import json
from pathlib import Path

import numpy as np
import pytest
import stage_helpers
from PIL import Image
from stage_helpers import save_tiny_autoencoder, write_params

from latentspace import geometry, paths


def test_offsets_are_exactly_symmetric_with_a_zero_middle():
    for extent, steps in [(3.0, 9), (0.1, 7), (2.5, 25), (1.7, 2), (3.0, 10)]:
        t = paths.offsets(extent, steps)
        assert t.shape == (steps,) and t[0] == -extent and t[-1] == extent
        np.testing.assert_array_equal(t, -t[::-1])
        np.testing.assert_allclose(np.diff(t), 2 * extent / (steps - 1), rtol=1e-12)
        if steps % 2:
            assert t[steps // 2] == 0.0
    assert list(paths.offsets(3.0, 9)) == [-3, -2.25, -1.5, -0.75, 0, 0.75, 1.5, 2.25, 3]
    assert [paths.offset_label(t) for t in paths.offsets(3.0, 5)] == ["-3", "-1.5", "0", "+1.5", "+3"]
    f = paths.fractions(5)
    assert f[0] == 0.0 and f[-1] == 1.0 and list(f) == [0, 0.25, 0.5, 0.75, 1]
    with pytest.raises(ValueError, match="steps"):
        paths.offsets(1.0, 1)


def correlated_cloud(rng, n=4000, dim=5):
    return rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim)) + rng.normal(3.0, 1.0, dim)


def test_principal_axis_paths_centre_spacing_and_mahalanobis_offsets():
    pca = geometry.principal_axes(correlated_cloud(np.random.default_rng(0)))
    t = paths.offsets(3.0, 9)
    v = paths.principal_axis_paths(pca.mean, pca.axes, pca.variances, n_axes=3, t=t)
    assert v.shape == (3, 9, 5)
    np.testing.assert_array_equal(v[:, 4], np.broadcast_to(pca.mean, (3, 5)))  # centre at the middle step
    # in the cloud's own units every step lies |t| from the centre, along its own axis only
    np.testing.assert_allclose(pca.mahalanobis(v.reshape(-1, 5)).reshape(3, 9), np.abs(t)[None].repeat(3, 0),
                               rtol=1e-9, atol=1e-12)
    aligned = pca.aligned(v.reshape(-1, 5)).reshape(3, 9, 5)
    for a in range(3):
        expected = np.zeros((9, 5))
        expected[:, a] = t * np.sqrt(pca.variances[a])
        np.testing.assert_allclose(aligned[a], expected, atol=1e-9)
    # a straight line walked in equal steps: constant first differences
    np.testing.assert_allclose(np.diff(v, n=2, axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(v[:, -1] - v[:, 0], 6.0 * (pca.axes[:, :3] * np.sqrt(pca.variances[:3])).T,
                               rtol=1e-12)
    assert paths.principal_axis_paths(pca.mean, pca.axes, pca.variances, n_axes=0, t=t).shape == (0, 9, 5)
    with pytest.raises(ValueError, match="n_axes"):
        paths.principal_axis_paths(pca.mean, pca.axes, pca.variances, n_axes=6, t=t)


def test_walked_components_orders_dominant_by_std_then_fills():
    std = np.array([0.5, 2.0, 0.1, 1.0, 3.0, 0.7])
    dominant = np.array([False, True, False, True, False, False])
    components, filled = paths.walked_components(std, dominant, 2)
    assert components.tolist() == [1, 3] and filled == 0
    components, filled = paths.walked_components(std, dominant, 5)
    assert components.tolist() == [1, 3, 4, 5, 0] and filled == 3  # then the largest-std others
    assert paths.walked_components(std, np.zeros(6, bool), 6)[0].tolist() == [4, 1, 3, 5, 0, 2]
    with pytest.raises(ValueError, match="n = 7"):
        paths.walked_components(std, dominant, 7)


def test_component_paths_move_one_component_by_its_std():
    mean, std = np.array([1.0, -2.0, 0.5]), np.array([0.5, 2.0, 0.1])
    t = paths.offsets(2.0, 5)
    v = paths.component_paths(mean, std, np.array([1, 2]), t=t)
    assert v.shape == (2, 5, 3)
    np.testing.assert_array_equal(v[:, 2], [mean, mean])
    np.testing.assert_allclose(v[0, :, 1], mean[1] + t * 2.0, rtol=1e-12)
    np.testing.assert_allclose(v[1, :, 2], mean[2] + t * 0.1, rtol=1e-12)
    np.testing.assert_array_equal(v[0][:, [0, 2]], np.broadcast_to(mean[[0, 2]], (5, 2)))  # the others stay


def test_interpolation_ends_are_the_real_vectors_and_steps_are_equal():
    z = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    ends = paths.draw_pairs(np.random.default_rng(7), len(z), 6)
    assert ends.shape == (6, 2) and np.all(ends[:, 0] != ends[:, 1]) and ends.min() >= 0 and ends.max() < 50
    np.testing.assert_array_equal(ends, paths.draw_pairs(np.random.default_rng(7), len(z), 6))  # seeded
    t = paths.fractions(9)
    v = paths.interpolation_paths(z, ends, t=t)
    assert v.shape == (6, 9, 4)
    np.testing.assert_array_equal(v[:, 0], z[ends[:, 0]])
    np.testing.assert_array_equal(v[:, -1], z[ends[:, 1]])
    np.testing.assert_allclose(v[:, 4], (z[ends[:, 0]].astype(np.float64) + z[ends[:, 1]]) / 2, rtol=1e-12)
    np.testing.assert_allclose(np.diff(v, n=2, axis=1), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        paths.draw_pairs(np.random.default_rng(0), 1, 1)
    assert paths.draw_pairs(np.random.default_rng(0), 1, 0).shape == (0, 2)


# ---- the stage, end to end -------------------------------------------------------------

DIM = 8


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("paths")
    save_tiny_autoencoder(root / "ae.keras", DIM)
    z = correlated_cloud(np.random.default_rng(2), n=300, dim=DIM).astype(np.float32)
    np.save(root / "z.npy", z)
    pca = geometry.principal_axes(z)
    np.savez(root / "pca.npz", mean=pca.mean, axes=pca.axes, variances=pca.variances)
    std = z.std(axis=0)
    dominant = np.zeros(DIM, bool)
    dominant[[2, 5]] = True
    np.savez(root / "stats.npz", mean=z.mean(0), std=std, mu=z.mean(0), hw=std, dominant=dominant)
    return root, std, dominant


def run_stage(root: Path, work: Path, **changes):
    write_params(work / "params.yaml", "paths", **{"axes": 3, "components": 4, "extent": 2.0, "steps": 5,
                                                    "batch_size": 16,
                                                    "interpolation": {"pairs": 2, "steps": 4, "seed": 3},
                                                    **changes})
    return stage_helpers.run_stage("paths", ["--model", root / "ae.keras", "--z", root / "z.npy",
                                             "--pca", root / "pca.npz", "--component-stats", root / "stats.npz",
                                             "--out", "out", "--described", "paths.json"], cwd=work)


def test_stage_writes_one_figure_per_kind_and_describes_every_path(inputs, tmp_path):
    root, std, dominant = inputs
    proc = run_stage(root, tmp_path / "work")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "work/out"
    assert sorted(f.name for f in out.iterdir()) == ["dominant_components.png", "interpolation.png",
                                                     "principal_axes.png"]  # only figures: dvc plots shows them all
    for png in out.glob("*.png"):
        with Image.open(png) as im:
            assert im.width > 400 and im.height > 150  # magnified, not 16-pixel thumbnails
    described = json.loads((tmp_path / "work/paths.json").read_text())["paths"]
    by_kind = {}
    for path in described:
        by_kind.setdefault(path["kind"], []).append(path)
    assert [p["axis"] for p in by_kind["principal_axes"]] == [1, 2, 3]
    assert by_kind["principal_axes"][0]["t"] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    walked = [p["component"] for p in by_kind["dominant_components"]]
    others = [c for c in np.argsort(-std, kind="stable") if not dominant[c]]
    assert walked == sorted([2, 5], key=lambda c: -std[c]) + others[:2]
    assert [p["dominant"] for p in by_kind["dominant_components"]] == [True, True, False, False]
    expected_ends = paths.draw_pairs(np.random.default_rng(3), 300, 2)
    assert [[p["start"], p["end"]] for p in by_kind["interpolation"]] == expected_ends.tolist()
    assert by_kind["interpolation"][0]["t"] == pytest.approx([0, 1 / 3, 2 / 3, 1])


def test_stage_rejects_more_axes_than_latent_dim_and_writes_nothing(inputs, tmp_path):
    root, _, _ = inputs
    proc = run_stage(root, tmp_path / "work", axes=DIM + 1)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml: paths.axes = 9"), proc.stderr
    assert f"latent_dim ({DIM})" in lines[0]
    assert sorted(f.name for f in (tmp_path / "work").iterdir()) == ["params.yaml"]


def test_path_strips_draw_every_step_in_one_labelled_image():
    from latentspace import plots

    images = np.random.default_rng(0).integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    fig = plots.path_strips(images, row_labels=["axis 1", "axis 2"], column_labels=["-1", "0", "+1"],
                            title="t", xlabel="x")
    [ax] = fig.axes
    canvas = ax.images[0].get_array()
    assert canvas.shape == (2 * 17 + 1, 3 * 17 + 1, 3)  # 1-pixel seams around 16-pixel faces
    np.testing.assert_array_equal(canvas[1 + 17:1 + 17 + 16, 1 + 2 * 17:1 + 2 * 17 + 16], images[1, 2])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "+1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["axis 1", "axis 2"]
    # each label sits over the centre of its column / row of faces
    np.testing.assert_allclose(ax.get_xticks(), [8.5, 25.5, 42.5])
