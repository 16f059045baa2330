"""Markov chain attribution with removal effects, computed exactly.

The chain is ChannelAttribution's: states are the last ``order`` channels of a path (a path shorter
than the order is one state, itself), plus ``(start)`` and the absorbing ``(conversion)`` and
``(null)``. Every path adds its journeys to the transitions it walks. A channel's removal effect is
the relative drop in the probability of reaching ``(conversion)`` from ``(start)`` when every state
that contains the channel leads to ``(null)`` instead; conversions are shared in proportion to the
removal effects. Where ChannelAttribution simulates walks, here the absorbing probability is solved:
with transient transition matrix ``Q`` and expected visits ``x`` from ``(start)``,
``(I - Q)^T x = e_start`` and ``P(conversion) = x · r`` (``r``: one-step conversion probabilities).
One sparse solve per channel; the states of order 3 run to thousands, the system stays sparse.

Conversion value follows the same chain: a conversion reached from state s is worth the mean value
of the conversions that ended in s, so the expected value is ``x · (r * v)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from adplan.attribution.paths import PathSet, as_paths, credits_frame


@dataclass(frozen=True)
class MarkovChain:
    """Transition structure of one order; state ``n_states`` (the last index) is ``(start)``."""

    transitions: sp.csr_matrix  # (n_states + 1)^2 transient-to-transient probabilities
    to_conversion: np.ndarray  # n_states + 1 one-step probabilities of converting
    conversion_value: np.ndarray  # n_states + 1 mean value of a conversion reached from the state
    state_channels: np.ndarray  # n_states x order channel codes of each state, -1 padded
    n_states: int

    @property
    def start(self) -> int:
        return self.n_states


def markov(paths: PathSet | pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Removal-effect attribution of a Markov chain of ``order``.

    Columns: model (``markov_<order>``), channel, campaign_id, conversions, value,
    removal_effect, removal_effect_value. ``.attrs['conversion_probability']`` is P(conversion).
    """
    paths = as_paths(paths)
    chain = build_chain(paths, order)
    everything = np.ones(chain.n_states + 1, dtype=bool)
    base_probability, base_value = absorption(chain, everything)
    effect = np.zeros(paths.n_channels)
    effect_value = np.zeros(paths.n_channels)
    for channel in range(paths.n_channels):
        keep = ~(chain.state_channels == channel).any(axis=1)
        probability, value = absorption(chain, np.append(keep, True))
        effect[channel] = _relative_drop(base_probability, probability)
        effect_value[channel] = _relative_drop(base_value, value)
    credits = credits_frame(
        f"markov_{order}",
        paths.channels,
        _share(effect) * paths.total_conversions,
        _share(effect_value) * paths.total_value,
    )
    credits["removal_effect"] = effect
    credits["removal_effect_value"] = effect_value
    credits.attrs["conversion_probability"] = base_probability
    return credits


def build_chain(paths: PathSet, order: int) -> MarkovChain:
    """Count the transitions that the paths walk and normalize them into probabilities."""
    if order < 1:
        raise ValueError("order must be at least 1")
    state_of_step, path_of_step, state_channels = _states(paths, order)
    n_states = len(state_channels)
    start = n_states
    journeys = paths.conversions + paths.nulls

    # Consecutive steps of the same path. Self-loops are dropped: they change how long a walk stays
    # in a state, never where it is absorbed (ChannelAttribution drops them as well).
    same_path = path_of_step[1:] == path_of_step[:-1]
    src, dst = state_of_step[:-1][same_path], state_of_step[1:][same_path]
    moving = src != dst
    src, dst = src[moving], dst[moving]
    weight = journeys[path_of_step[1:][same_path][moving]]

    first_step = np.flatnonzero(np.r_[True, ~same_path])
    last_step = np.r_[first_step[1:] - 1, len(state_of_step) - 1]
    first_path = path_of_step[first_step]
    src = np.concatenate([src, np.full(len(first_step), start)])
    dst = np.concatenate([dst, state_of_step[first_step]])
    weight = np.concatenate([weight, journeys[first_path]])

    size = n_states + 1
    counts = sp.csr_matrix((weight, (src, dst)), shape=(size, size))
    last_state = state_of_step[last_step]
    last_path = path_of_step[last_step]
    conversions = np.bincount(last_state, weights=paths.conversions[last_path], minlength=size)
    nulls = np.bincount(last_state, weights=paths.nulls[last_path], minlength=size)
    value = np.bincount(last_state, weights=paths.value[last_path], minlength=size)

    leaving = np.asarray(counts.sum(axis=1)).ravel() + conversions + nulls
    inverse = np.divide(1.0, leaving, out=np.zeros(size), where=leaving > 0)
    return MarkovChain(
        transitions=sp.diags(inverse) @ counts,
        to_conversion=conversions * inverse,
        conversion_value=np.divide(value, conversions, out=np.zeros(size), where=conversions > 0),
        state_channels=state_channels,
        n_states=n_states,
    )


def absorption(chain: MarkovChain, keep: np.ndarray) -> tuple[float, float]:
    """P(conversion) and expected conversion value from (start) when only ``keep`` states remain.

    Walks into a removed state are lost, i.e. they end in (null).
    """
    kept = np.flatnonzero(keep)
    q = chain.transitions[kept][:, kept]
    system = (sp.identity(len(kept), format="csc") - q.T).tocsc()
    unit = np.zeros(len(kept))
    unit[-1] = 1.0  # (start) is the last state and is always kept
    visits = spsolve(system, unit) if len(kept) > 1 else unit
    step = chain.to_conversion[kept]
    return float(visits @ step), float(visits @ (step * chain.conversion_value[kept]))


def _states(paths: PathSet, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chain state at every step of every path, for a chain of ``order``.

    A step is a position from which a full window of ``order`` channels ends (position >= order - 1);
    a path shorter than the order has one step, its whole self. Returns per step its state index and
    its path, and per state its channel codes (oldest first, -1 padded for short states).
    """
    position, length, codes = paths.position, paths.lengths[paths.path_of_touch], paths.codes
    emitted = (position >= order - 1) | ((length < order) & (position == length - 1))
    touch = np.flatnonzero(emitted)
    base = paths.n_channels + 1
    key = np.zeros(len(touch), dtype=np.int64)
    window = np.full((len(touch), order), -1, dtype=np.int64)
    for back in range(order):  # digit `back` is the channel `back` steps before the current one
        present = position[touch] >= back
        channel = np.where(present, codes[touch - back * present], -1)
        key += (channel + 1) * base**back
        window[:, order - 1 - back] = channel
    _, first, state = np.unique(key, return_index=True, return_inverse=True)
    state_channels = window[first]
    # States are listed oldest channel first; short states (-1 padding) keep their padding in front.
    return state.astype(np.int64), paths.path_of_touch[touch], state_channels


def _relative_drop(base: float, removed: float) -> float:
    return 0.0 if base <= 0 else max(0.0, 1.0 - removed / base)


def _share(effect: np.ndarray) -> np.ndarray:
    total = effect.sum()
    return effect / total if total > 0 else np.zeros_like(effect)
