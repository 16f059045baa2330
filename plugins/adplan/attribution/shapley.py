"""Shapley value attribution over channel coalitions (Dalessandro et al. 2012; Shao & Li 2011).

A journey's coalition is the set of channels on its path. The worth of a coalition S is its observed
conversion rate ``v(S) = conversions(S) / journeys(S)`` over journeys whose channel set is exactly S
(an unseen coalition is worth 0, as is the empty one). The conversions of each coalition T are shared
among its channels by the Shapley values of ``v`` restricted to the subsets of T, scaled so that they
sum to the conversions of T: ``credit_i = Σ_T conversions(T) · φ_i^T / v(T)``. Credits therefore sum
exactly to the total conversions (efficiency). A channel whose presence lowers the conversion rate
gets a negative marginal contribution, and can get negative credit: that is the model's honest answer.

Everything is exact over all 2^n coalitions with subset transforms (O(n² 2^n)): with Harsanyi
dividends ``d = Möbius(v)``, ``φ_i^T = Σ_{R ⊆ T, i ∈ R} d(R) / |R|``, a subset sum (zeta transform).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adplan.attribution.paths import PathSet, as_paths, credits_frame

MAX_CHANNELS = 16  # 2^16 coalitions x 16 channels: well under a second; each extra channel doubles it


def shapley(paths: PathSet | pd.DataFrame, *, max_channels: int = MAX_CHANNELS) -> pd.DataFrame:
    """Shapley credits: columns model (``shapley``), channel, campaign_id, conversions, value."""
    paths = as_paths(paths)
    n = paths.n_channels
    if n > max_channels:
        raise ValueError(
            f"{n} channels: exact Shapley needs 2^n coalitions; group channels or raise max_channels"
        )
    size = 1 << n
    coalition = coalition_of_paths(paths)
    conversions = np.bincount(coalition, weights=paths.conversions, minlength=size)
    value = np.bincount(coalition, weights=paths.value, minlength=size)
    journeys = np.bincount(coalition, weights=paths.conversions + paths.nulls, minlength=size)
    rate = np.divide(conversions, journeys, out=np.zeros(size), where=journeys > 0)

    contributions = restricted_shapley(rate, n)  # size x n: φ_i of the game restricted to each T
    scale = np.divide(1.0, rate, out=np.zeros(size), where=rate > 0)
    credited = (conversions * scale) @ contributions
    credited_value = (value * scale) @ contributions
    return credits_frame("shapley", paths.channels, credited, credited_value)


def coalition_of_paths(paths: PathSet) -> np.ndarray:
    """Bit mask of the channels each path touches."""
    bits = np.left_shift(np.int64(1), paths.codes.astype(np.int64))
    return np.bitwise_or.reduceat(bits, paths.offsets[:-1])


def restricted_shapley(worth: np.ndarray, n: int) -> np.ndarray:
    """``out[T, i]``: Shapley value of player i in the game ``worth`` restricted to the subsets of T.

    ``worth[mask]`` is indexed by coalition bit mask; ``worth[0]`` is the empty coalition's worth.
    """
    dividends = mobius(worth - worth[0], n)
    members = coalition_members(n)
    size_of = members.sum(axis=1)
    per_member = np.divide(dividends, size_of, out=np.zeros_like(dividends), where=size_of > 0)
    out = np.empty((1 << n, n))
    for player in range(n):
        out[:, player] = zeta(np.where(members[:, player], per_member, 0.0), n)
    return out


def shapley_values(worth: np.ndarray, n: int) -> np.ndarray:
    """Shapley values of the game ``worth`` (indexed by coalition mask) for its n players."""
    dividends = mobius(worth - worth[0], n)
    members = coalition_members(n)
    size_of = members.sum(axis=1)
    per_member = np.divide(dividends, size_of, out=np.zeros_like(dividends), where=size_of > 0)
    return per_member @ members


def coalition_members(n: int) -> np.ndarray:
    """(2^n, n) boolean: is player i in coalition mask."""
    masks = np.arange(1 << n)
    return ((masks[:, None] >> np.arange(n)) & 1).astype(bool)


def mobius(values: np.ndarray, n: int) -> np.ndarray:
    """Möbius transform over subsets: ``out[S] = Σ_{R ⊆ S} (-1)^{|S|-|R|} values[R]``."""
    out = np.array(values, dtype=float)
    for bit in range(n):
        view = out.reshape(-1, 2, 1 << bit)
        view[:, 1, :] -= view[:, 0, :]
    return out


def zeta(values: np.ndarray, n: int) -> np.ndarray:
    """Subset-sum transform: ``out[S] = Σ_{R ⊆ S} values[R]``."""
    out = np.array(values, dtype=float)
    for bit in range(n):
        view = out.reshape(-1, 2, 1 << bit)
        view[:, 1, :] += view[:, 0, :]
    return out
