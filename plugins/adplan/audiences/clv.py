"""Predictive customer lifetime value: BG/NBD for purchases, Gamma-Gamma for spend, fitted with scipy.

``lifetimes`` is unmaintained and breaks on numpy 2 / pandas 3, so both models are fitted here by maximum
likelihood on their closed-form log-likelihoods, vectorized over customers:

* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a customer buys
  as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase they drop out with
  probability p ~ Beta(a, b). Per customer: x repeat purchases, t_x the time of the last one and T (here
  ``tenure``) the time since the first purchase, all in days.
* Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's spend per
  transaction is Gamma(p, nu) with nu ~ Gamma(q, gamma); fitted on customers with x >= 1 and the mean m_x
  of their repeat transactions.

Identical (x, t_x, tenure) rows are collapsed with weights before fitting, so a million customers with integer
day counts cost a few thousand likelihood terms per evaluation. Parameters are fitted on the log scale with
times (and values) rescaled to their mean for conditioning, then mapped back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special


class ModelFitError(RuntimeError):
    """The likelihood could not be maximized (too little data, or data the model cannot describe)."""


# --- BG/NBD -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood (FHL 2005, eq. 6), in logs throughout so large x cannot overflow."""
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + tenure)
    repeat = x > 0
    # The second term exists only for repeat buyers (b + x - 1 > 0 is then guaranteed for b > 0).
    safe_x = np.where(repeat, x, 1.0)
    a4 = np.log(a) - np.log(b + safe_x - 1) - (r + safe_x) * np.log(alpha + t_x)
    return a1 + a2 + np.where(repeat, np.logaddexp(a3, a4), a3)


def bgnbd_gradient(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray
) -> np.ndarray:
    """Per-customer gradient of the log-likelihood in (r, alpha, a, b), shape (4, n).

    With L = log(exp(A3) + exp(A4)), w3 = exp(A3 - L) and w4 = exp(A4 - L) are the shares of the two
    likelihood terms (w4 = 0 without repeat purchases), which weight the derivatives of A3 and A4.
    """
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    a3 = -(r + x) * np.log(alpha + tenure)
    a4 = np.log(a) - np.log(b + safe_x - 1) - (r + safe_x) * np.log(alpha + t_x)
    w4 = np.where(repeat, special.expit(a4 - a3), 0.0)
    w3 = 1.0 - w4
    digamma_ab, digamma_abx = special.digamma(a + b), special.digamma(a + b + x)
    d_r = (
        special.digamma(r + x)
        - special.digamma(r)
        + np.log(alpha)
        - w3 * np.log(alpha + tenure)
        - w4 * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - w3 * (r + x) / (alpha + tenure) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma_ab - digamma_abx + w4 / a
    d_b = digamma_ab + special.digamma(b + x) - special.digamma(b) - digamma_abx - w4 / (b + safe_x - 1)
    return np.vstack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters (alpha in the time unit of ``t_x`` and ``tenure``)."""
    x, t_x, tenure = (np.asarray(values, dtype=float) for values in (x, t_x, tenure))
    _check_rfm_inputs(x, t_x, tenure)
    (ux, utx, u_tenure), weights = _collapse(x, t_x, tenure)
    scale = max(float(np.average(u_tenure, weights=weights)), 1e-9)
    utx, u_tenure = utx / scale, u_tenure / scale
    total = weights.sum()

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = -(weights @ bgnbd_log_likelihood(*params, ux, utx, u_tenure)) / total
        # chain rule for the log scale: d/d(log p) = p * d/dp
        gradient = -(bgnbd_gradient(*params, ux, utx, u_tenure) @ weights) / total * params
        return _finite(value, gradient)

    r, alpha, a, b = np.exp(_maximize(objective, np.zeros(4), "BG/NBD"))
    return BgNbdParams(r=r, alpha=alpha * scale, a=a, b=b)


def probability_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    """P(still active | x, t_x, tenure) (FHL 2005, eq. 11); 1 for customers without a repeat purchase."""
    x, t_x, tenure = (np.asarray(values, dtype=float) for values in (x, t_x, tenure))
    return special.expit(-_dropout_log_odds(params, x, t_x, tenure))


def expected_purchases(
    params: BgNbdParams, horizon: float, x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray
) -> np.ndarray:
    """E[purchases in (tenure, tenure + horizon] | x, t_x, tenure] (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, tenure = (np.asarray(values, dtype=float) for values in (x, t_x, tenure))
    z = horizon / (alpha + tenure + horizon)
    hypergeometric = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    shrink = np.exp((r + x) * (np.log(alpha + tenure) - np.log(alpha + tenure + horizon)))
    unconditional = (a + b + x - 1) / (a - 1) * (1 - shrink * hypergeometric)
    expected = unconditional * special.expit(-_dropout_log_odds(params, x, t_x, tenure))
    # hyp2f1 loses precision for very heavy buyers; such rows fall back to their observed rate while alive.
    fallback = (x / np.maximum(tenure, 1.0)) * horizon * probability_alive(params, x, t_x, tenure)
    return np.where(np.isfinite(expected) & (expected >= 0), expected, fallback)


def _dropout_log_odds(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    """log of a/(b+x-1) * ((alpha+tenure)/(alpha+t_x))^(r+x): the odds of having dropped out (-inf when x = 0)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    log_odds = (
        np.log(a) - np.log(b + safe_x - 1) + (r + safe_x) * (np.log(alpha + tenure) - np.log(alpha + t_x))
    )
    return np.where(repeat, log_odds, -np.inf)


# --- Gamma-Gamma ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}

    @property
    def population_mean(self) -> float:
        """E[spend per transaction] of a customer about whom nothing is known (needs q > 1)."""
        return self.p * self.gamma / (self.q - 1)


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, x: np.ndarray, m_x: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend m_x over x transactions (Fader & Hardie 2013, eq. 5)."""
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m_x)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m_x * x)
    )


def gamma_gamma_gradient(p: float, q: float, gamma: float, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Per-customer gradient of the Gamma-Gamma log-likelihood in (p, q, gamma), shape (3, n)."""
    px = p * x
    digamma_pxq = special.digamma(px + q)
    log_total = np.log(gamma + m_x * x)
    d_p = x * (digamma_pxq - special.digamma(px) + np.log(m_x) + np.log(x) - log_total)
    d_q = digamma_pxq - special.digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + m_x * x)
    return np.vstack([d_p, d_q, d_gamma])


def fit_gamma_gamma(x: np.ndarray, m_x: np.ndarray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers (x >= 1, m_x > 0)."""
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    usable = (x >= 1) & np.isfinite(m_x) & (m_x > 0)
    if usable.sum() < 10:
        raise ModelFitError(
            f"Gamma-Gamma needs at least 10 repeat buyers with spend, got {int(usable.sum())}"
        )
    x, m_x = x[usable], m_x[usable]
    scale = float(m_x.mean())
    (ux, um), weights = _collapse(x, np.round(m_x / scale, 6))
    total = weights.sum()

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = -(weights @ gamma_gamma_log_likelihood(*params, ux, um)) / total
        gradient = -(gamma_gamma_gradient(*params, ux, um) @ weights) / total * params
        return _finite(value, gradient)

    p, q, gamma = np.exp(_maximize(objective, np.log([2.0, 3.0, 1.0]), "Gamma-Gamma"))
    return GammaGammaParams(p=p, q=q, gamma=gamma * scale)


def expected_average_value(params: GammaGammaParams, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """E[spend per transaction | x, m_x] (Fader & Hardie 2013, eq. 8): a weighted mean of the population mean
    and the customer's own mean; customers without repeat transactions get the population mean."""
    x = np.asarray(x, dtype=float)
    m_x = np.nan_to_num(np.asarray(m_x, dtype=float), nan=0.0)
    p, q = params.p, params.q
    individual_weight = p * x / (p * x + q - 1)
    return (1 - individual_weight) * params.population_mean + individual_weight * m_x


# --- simulation (tests, synthetic worlds) -----------------------------------------------------------


def simulate_bgnbd(
    params: BgNbdParams, tenure: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases of customers observed for ``tenure`` after a first purchase at time 0.

    Returns (customer index, purchase time) of every repeat purchase. Vectorized over customers: each
    step draws every still-active customer's next purchase at once.
    """
    tenure = np.asarray(tenure, dtype=float)
    n = len(tenure)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)  # dropout follows repeat purchases only (FHL 2005, assumption iii)
    customers, times = [], []
    while active.any():
        index = np.flatnonzero(active)
        now[index] += rng.exponential(1.0 / np.maximum(rate[index], 1e-12))
        bought = now[index] < tenure[index]
        index = index[bought]
        customers.append(index)
        times.append(now[index])
        active[:] = False
        active[index] = rng.random(len(index)) >= dropout[index]
    if not customers:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(customers), np.concatenate(times)


def summarize_purchases(customers: np.ndarray, times: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, t_x) per customer from repeat purchase events."""
    x = np.bincount(customers, minlength=n).astype(float)
    t_x = np.zeros(n)
    np.maximum.at(t_x, customers, times)
    return x, t_x


def simulate_spend(params: GammaGammaParams, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mean spend over each customer's x repeat transactions (NaN where x = 0).

    The sum of x Gamma(p, nu) spends is Gamma(p x, nu), so the mean needs one draw per customer.
    """
    x = np.asarray(x, dtype=float)
    nu = rng.gamma(params.q, 1.0 / params.gamma, len(x))
    total = rng.gamma(np.maximum(params.p * x, 1e-12), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1), np.nan)


# --- helpers ----------------------------------------------------------------------------------------


def _collapse(*columns: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Unique rows of the given columns and how often each occurs (the likelihood's weights)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return tuple(unique[:, i] for i in range(unique.shape[1])), counts.astype(float)


def _finite(value: float, gradient: np.ndarray) -> tuple[float, np.ndarray]:
    """Steer the optimizer away from parameters where the likelihood overflows."""
    if not np.isfinite(value) or not np.isfinite(gradient).all():
        return 1e100, np.zeros_like(gradient)
    return float(value), gradient


def _maximize(objective, start: np.ndarray, model: str) -> np.ndarray:
    """Minimize a (value, gradient) objective over log-parameters."""
    bounds = [(-12.0, 12.0)] * len(start)
    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    if not result.success or result.fun >= 1e99:
        # L-BFGS-B can stop on a flat ridge; Nelder-Mead from its end point is slower but sure-footed.
        result = optimize.minimize(
            lambda point: objective(point)[0],
            result.x,
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-10},
        )
    if not np.isfinite(result.fun) or result.fun >= 1e99:
        raise ModelFitError(f"{model} likelihood could not be maximized: {result.message}")
    return result.x


def _check_rfm_inputs(x: np.ndarray, t_x: np.ndarray, tenure: np.ndarray) -> None:
    if len(x) < 10:
        raise ModelFitError(f"BG/NBD needs at least 10 customers, got {len(x)}")
    if (x < 0).any() or (t_x < 0).any() or (t_x > tenure + 1e-9).any():
        raise ModelFitError("BG/NBD inputs need x >= 0 and 0 <= t_x <= tenure")
    if not (x > 0).any():
        raise ModelFitError("BG/NBD needs at least one repeat purchase to identify the dropout process")
