"""BG/NBD and Gamma-Gamma: the fits recover the parameters of data simulated from the models themselves,
and the predictions match what the simulated customers then do."""

from __future__ import annotations

import numpy as np
import pytest

from adplan.audiences import clv

TRUE_BGNBD = clv.BgNbdParams(r=0.8, alpha=40.0, a=0.9, b=3.0)
TRUE_GAMMA_GAMMA = clv.GammaGammaParams(p=6.0, q=4.0, gamma=15.0)


def simulated_customers(n: int, seed: int, horizon: float = 0.0):
    """x, t_x, tenure over a calibration period, and the purchases in the ``horizon`` days after it."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(60, 730, n).astype(float)
    customer, time = clv.simulate_bgnbd(TRUE_BGNBD, tenure + horizon, rng)
    in_calibration = time <= tenure[customer]
    x, t_x = clv.summarize_purchases(customer[in_calibration], time[in_calibration], n)
    future = np.bincount(customer[~in_calibration], minlength=n)
    return x, t_x, tenure, future, rng


@pytest.fixture(scope="module")
def calibration():
    return simulated_customers(15_000, seed=5, horizon=365.0)


@pytest.fixture(scope="module")
def fitted(calibration):
    x, t_x, tenure, _, _ = calibration
    return clv.fit_bgnbd(x, t_x, tenure)


def test_bgnbd_recovers_parameters(fitted):
    for name in ("r", "alpha", "a", "b"):
        true, estimate = getattr(TRUE_BGNBD, name), getattr(fitted, name)
        assert estimate == pytest.approx(true, rel=0.2), name


def test_bgnbd_fit_is_unchanged_by_day_rounding():
    # the profiles count in whole days; rounding t_x and tenure down must not move the estimates much
    x, t_x, tenure, _, _ = simulated_customers(15_000, seed=9)
    exact = clv.fit_bgnbd(x, t_x, tenure)
    rounded = clv.fit_bgnbd(x, np.floor(t_x), np.floor(tenure))
    assert rounded.r == pytest.approx(exact.r, rel=0.05)
    assert rounded.alpha == pytest.approx(exact.alpha, rel=0.05)


def test_conditional_expectations_match_the_holdout(calibration, fitted):
    x, t_x, tenure, future, _ = calibration
    predicted = clv.expected_purchases(fitted, 365.0, x, t_x, tenure)
    assert np.isfinite(predicted).all()
    assert (predicted >= 0).all()
    assert predicted.sum() == pytest.approx(future.sum(), rel=0.1)
    # and per group: heavier past buyers are predicted to buy more, as they do
    for low, high in ((0, 0), (1, 2), (3, 6), (7, 1000)):
        group = (x >= low) & (x <= high)
        assert predicted[group].mean() == pytest.approx(future[group].mean(), rel=0.25, abs=0.05)


def test_probability_alive(calibration, fitted):
    x, t_x, tenure, _, _ = calibration
    alive = clv.probability_alive(fitted, x, t_x, tenure)
    assert ((alive >= 0) & (alive <= 1)).all()
    assert (alive[x == 0] == 1).all()  # no repeat purchase: no chance to have dropped out yet
    # the same history, with the last purchase long ago, is less likely to be alive
    recent = clv.probability_alive(fitted, np.array([5.0]), np.array([300.0]), np.array([310.0]))
    stale = clv.probability_alive(fitted, np.array([5.0]), np.array([30.0]), np.array([310.0]))
    assert recent[0] > 0.8 > 0.2 > stale[0]


def test_gamma_gamma_recovers_parameters_and_shrinks(calibration):
    x, _, _, _, rng = calibration
    spend = clv.simulate_spend(TRUE_GAMMA_GAMMA, x, rng)
    fitted = clv.fit_gamma_gamma(x, spend)
    assert fitted.p == pytest.approx(TRUE_GAMMA_GAMMA.p, rel=0.2)
    assert fitted.q == pytest.approx(TRUE_GAMMA_GAMMA.q, rel=0.2)
    assert fitted.gamma == pytest.approx(TRUE_GAMMA_GAMMA.gamma, rel=0.25)
    expected = clv.expected_average_value(
        fitted, np.array([0.0, 1.0, 50.0]), np.array([np.nan, 500.0, 500.0])
    )
    assert expected[0] == pytest.approx(fitted.population_mean)
    # one big purchase moves the estimate a little, fifty move it almost all the way
    assert fitted.population_mean < expected[1] < expected[2] < 500.0
    assert expected[2] > 450.0


def test_fit_refuses_unusable_input():
    with pytest.raises(clv.ModelFitError, match="at least 10"):
        clv.fit_bgnbd(np.zeros(5), np.zeros(5), np.ones(5))
    with pytest.raises(clv.ModelFitError, match="repeat purchase"):
        clv.fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 100.0))
    with pytest.raises(clv.ModelFitError, match="t_x <= tenure"):
        clv.fit_bgnbd(np.ones(50), np.full(50, 200.0), np.full(50, 100.0))
    with pytest.raises(clv.ModelFitError, match="Gamma-Gamma"):
        clv.fit_gamma_gamma(np.zeros(50), np.full(50, np.nan))


def test_analytic_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 8, 40).astype(float)
    tenure = rng.uniform(50, 400, 40)
    t_x = np.where(x > 0, rng.uniform(0, 1, 40) * tenure, 0.0)
    m_x = rng.gamma(3.0, 20.0, 40)
    cases = [
        (clv.bgnbd_log_likelihood, clv.bgnbd_gradient, np.array([0.7, 30.0, 0.9, 2.5]), (x, t_x, tenure)),
        (clv.gamma_gamma_log_likelihood, clv.gamma_gamma_gradient, np.array([5.0, 3.5, 12.0]), (x + 1, m_x)),
    ]
    for likelihood, gradient, point, data in cases:
        analytic = gradient(*point, *data).sum(axis=1)
        numeric = np.array(
            [
                (likelihood(*(point + step), *data).sum() - likelihood(*(point - step), *data).sum())
                / (2 * h)
                for h, step in (
                    (1e-6 * value, np.eye(len(point))[i] * 1e-6 * value) for i, value in enumerate(point)
                )
            ]
        )
        assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-6)
