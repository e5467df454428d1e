import numpy as np
import pytest

from latentspace import samplers


def test_uniform_box_bounds_moments_and_seed():
    rng = np.random.default_rng(0)
    z = samplers.uniform_box(rng, 5000, 16, 1.5)
    assert z.shape == (5000, 16) and z.dtype == np.float32
    assert z.min() >= -1.5 and z.max() <= 1.5
    assert abs(z.var() - 1.5**2 / 3) < 0.02
    with pytest.raises(ValueError, match="b"):
        samplers.uniform_box(rng, 3, 4, -1.0)


def test_uniform_intervals_inside_each_component_interval():
    mu = np.array([0.0, 2.0, -1.0, 0.5])
    hw = np.array([1.0, 0.25, 2.0, 0.125])
    for fact in (0.5, 1.0, 2.0):
        z = samplers.uniform_intervals(np.random.default_rng(1), 20_000, mu, hw, fact)
        lo, hi = mu - fact * hw, mu + fact * hw
        assert np.all(z >= lo - 1e-6) and np.all(z <= hi + 1e-6)
        # uniform: mean at mu, and the extreme deciles reach near the interval ends
        np.testing.assert_allclose(z.mean(axis=0), mu, atol=0.02 * fact * hw.max() + 1e-3)
        np.testing.assert_allclose(np.quantile(z, 0.99, axis=0), hi - 0.02 * fact * hw, atol=0.01 * fact * hw.max())


def test_setting_rng_is_reproducible_and_independent_of_order():
    a = samplers.SamplerSetting("intervals", 1.0)
    b = samplers.SamplerSetting("uniform", 1.0)
    draw = lambda s: samplers.setting_rng(3, s).random(4)  # noqa: E731
    np.testing.assert_array_equal(draw(a), draw(a))
    assert not np.array_equal(draw(a), draw(b))
    assert not np.array_equal(draw(a), samplers.setting_rng(4, a).random(4))


def test_settings_from_params_sorted_named_and_deduplicated():
    settings = samplers.settings_from_params({"uniform": {"b": [2.0, 1.0]}, "intervals": {"fact": [1.5, 0.5, 1.5]}})
    assert [s.name for s in settings] == ["uniform_b_01.00", "uniform_b_02.00",
                                          "intervals_fact_00.50", "intervals_fact_01.50"]
