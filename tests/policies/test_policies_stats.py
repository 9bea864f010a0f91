"""policies.stats: the one Student-t, paired-difference and batch-means helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from policies.stats import (
    batch_means,
    batch_means_ci,
    mean_ci,
    paired_difference_ci,
    standard_error,
)


def test_mean_ci_is_the_student_t_interval() -> None:
    x = np.array([1.0, 2.0, 4.0, 7.0])
    ci = mean_ci(x, 0.9)
    se = x.std(ddof=1) / 2.0
    assert ci.mean == 3.5 and ci.n == 4
    assert ci.half_width == pytest.approx(stats.t.ppf(0.95, 3) * se, rel=1e-12)
    assert ci.contains(3.5) and not ci.contains(ci.high + 1e-9)


def test_one_observation_has_no_interval_and_bad_input_is_refused() -> None:
    assert math.isnan(mean_ci([2.0]).half_width)
    assert standard_error([2.0]) == math.inf
    with pytest.raises(ValueError, match="empty"):
        mean_ci([])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference_ci([1.0, 2.0], [1.0])


def test_paired_interval_is_narrow_when_both_share_the_noise() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 5.0, 20)
    a, b = 10.0 + noise, 9.0 + noise + rng.normal(0.0, 0.1, 20)
    paired = paired_difference_ci(a, b)
    assert paired.contains(1.0)
    assert paired.half_width < 0.2 < mean_ci(a).half_width


def test_batch_means_drop_the_remainder_and_feed_the_t_interval() -> None:
    series = np.arange(10.0)
    assert batch_means(series, 3).tolist() == [1.0, 4.0, 7.0]
    ci = batch_means_ci(series, 3)
    assert ci.mean == 4.0 and ci.n == 3
    with pytest.raises(ValueError, match="at least 2 batches"):
        batch_means(series, 1)
