"""Find the most vulnerable path (lowest P(I)) through layered and graph adversary models.

Two exact searches per model, both backward label-setting dynamic programmes from the
target, differing in what a label summarises about the path *suffix* (the part of the
path between a node and the target):

* **Deterministic** (all σ = 0, reference §3.4(a)): a label is (D, W) with D the suffix
  mean delay capped at the response time and W = Σ −ln(1 − P(D)) over timely elements.
* **Stochastic** (EASI with σ > 0): a label is (M, V, S): suffix mean delay, suffix
  variance and S, the suffix's own interruption sum. Prepending element *e* gives
  ``S' = p_e Φ_e + (1 − p_e) S``, ``M' = M + μ_e``, ``V' = V + σ_e²`` — exactly the EASI sum
  evaluated from the back, so the value at the start node is the exact EASI P(I).

Why prefix P(I) is *not* a valid bound (the reference's §3.4(b) claim, checked): the
terms of prefix elements depend on the delay that follows them. Appending an element
with small mean and large σ pulls a prefix element's Φ((E[T] − μ_R)/σ_T) from near 1
towards 0.5, so P(I) of a longer path can be *lower* than P(I) of its prefix (a test
pins a counter-example). We therefore prune only by dominance, which is proved below,
and by an incumbent bound that is proved in :func:`_label_lower_bound`.

Dominance proof. Fix a boundary. Any prefix contributes ``S_0 = Σ_i q_i Φ_i + B·S``
where ``q_i, B ≥ 0`` depend on the prefix only, and ``Φ_i = Φ((c_i + M)/sqrt(d_i + V))``
with ``c_i = θ_i μ_i + (prefix delay after i) − μ_R ≥ −μ_R`` and ``d_i ≥ σ_R²``. Label
*a* is at least as good for the adversary as *b* for **every** prefix when
``S_a ≤ S_b``, ``M_a ≤ M_b``, ``V_a ≥ V_b`` and, for every (c, d), ``z_a ≤ z_b``:

1. ``c + M_a ≥ 0``: ``z_a ≤ (c+M_a)/sqrt(d+V_b) ≤ (c+M_b)/sqrt(d+V_b) = z_b``.
2. ``c + M_a < 0 ≤ c + M_b``: ``z_a < 0 ≤ z_b``.
3. both negative (only possible when ``M_b < μ_R``): with ``x = −(c + M_b) ≤ μ_R − M_b``
   and ``Δ = M_b − M_a`` we need ``(x + Δ)²(d + V_b) ≥ x²(d + V_a)``; the left/right
   ratio is smallest at the largest x and the smallest d, so it suffices that
   ``(μ_R − M_a)²(σ_R² + V_b) ≥ (μ_R − M_b)²(σ_R² + V_a)``.

Per-layer Pareto pruning of *elements* on (P(D), delay) alone is **not** valid for EASI
with σ > 0 (a more-detected element can lower P(I) when its Φ is below the suffix's S,
and variance moves Φ either way), so it is only used in deterministic mode, where
"t ≤, θt ≤, w ≤" does dominate (fewer timely elements upstream, and no more weight).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from bastion.analysis.easi import (
    EasiOptions,
    EasiResult,
    Element,
    critical_detection_point,
    easi_with,
    normal_cdf,
)
from bastion.core.errors import InvalidInput

__all__ = [
    "Mode",
    "PathEdge",
    "PathResult",
    "TimelineStep",
    "brute_force_graph",
    "brute_force_layered",
    "count_layered_paths",
    "evaluate_path",
    "graph_mvp",
    "layered_mvp",
    "timeline",
]

Mode = Literal["deterministic", "stochastic"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One element on the adversary timeline, with mean times in seconds from the start."""

    name: str
    start_s: float
    end_s: float
    detection_s: float
    remaining_s: float
    p_detection: float
    timely: bool


@dataclass(frozen=True, slots=True)
class PathResult:
    """A scored adversary path: elements, P(I), critical detection point and timeline."""

    elements: tuple[Element, ...]
    easi: EasiResult
    mode: Mode
    critical_detection_point: int | None
    timeline: tuple[TimelineStep, ...]
    choice: tuple[int, ...] = ()
    edge_ids: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    labels_explored: int = 0

    @property
    def p_interruption(self) -> float:
        """Return the path's probability of interruption."""
        return self.easi.p_interruption

    @property
    def total_delay_s(self) -> float:
        """Return the sum of mean delays along the path."""
        return sum(element.delay_mean for element in self.elements)


@dataclass(frozen=True, slots=True)
class PathEdge:
    """A directed edge of the area graph: crossing it means defeating ``element``."""

    id: str
    source: str
    target: str
    element: Element


def timeline(elements: Sequence[Element], response_time: float) -> tuple[TimelineStep, ...]:
    """Return the cumulative mean-delay timeline of a path against the response time."""
    total = sum(element.delay_mean for element in elements)
    steps: list[TimelineStep] = []
    clock = 0.0
    for element in elements:
        start = clock
        clock += element.delay_mean
        detection = start + (1.0 - element.theta) * element.delay_mean
        remaining = total - detection
        steps.append(
            TimelineStep(
                name=element.name,
                start_s=start,
                end_s=clock,
                detection_s=detection,
                remaining_s=remaining,
                p_detection=element.p_detection,
                timely=remaining >= response_time,
            )
        )
    return tuple(steps)


def _scoring_options(options: EasiOptions, mode: Mode) -> EasiOptions:
    return options.deterministic() if mode == "deterministic" else options


def evaluate_path(
    elements: Sequence[Element],
    options: EasiOptions,
    *,
    mode: Mode = "stochastic",
    choice: Sequence[int] = (),
    edge_ids: Sequence[str] = (),
    nodes: Sequence[str] = (),
    labels_explored: int = 0,
) -> PathResult:
    """Score one path exactly with EASI and attach its CDP and timeline."""
    path = [e.deterministic() for e in elements] if mode == "deterministic" else list(elements)
    result = easi_with(path, _scoring_options(options, mode))
    response = options.response.mean
    return PathResult(
        elements=tuple(path),
        easi=result,
        mode=mode,
        critical_detection_point=critical_detection_point(path, response),
        timeline=timeline(path, response),
        choice=tuple(choice),
        edge_ids=tuple(edge_ids),
        nodes=tuple(nodes),
        labels_explored=labels_explored,
    )


# --- layered model ----------------------------------------------------------------------


def _check_layers(layers: Sequence[Sequence[Element]]) -> None:
    if len(layers) == 0:
        raise InvalidInput("layers: the model needs at least one layer")
    for index, layer in enumerate(layers):
        if len(layer) == 0:
            raise InvalidInput(f"layers[{index}]: a layer needs at least one alternative")
        for element in layer:
            if not isinstance(element, Element):
                raise InvalidInput(f"layers[{index}]: {element!r} is not an Element")


def count_layered_paths(layers: Sequence[Sequence[Element]]) -> int:
    """Return the number of distinct paths (one alternative per layer)."""
    return math.prod(len(layer) for layer in layers)


@dataclass(slots=True)
class _LayerArrays:
    mean: FloatArray
    var: FloatArray
    theta: FloatArray
    var_factor: FloatArray
    p: FloatArray

    @classmethod
    def build(cls, layer: Sequence[Element], options: EasiOptions, mode: Mode) -> _LayerArrays:
        mean = np.fromiter((e.delay_mean for e in layer), float, len(layer))
        sd = np.fromiter((e.delay_sd for e in layer), float, len(layer))
        if mode == "deterministic":
            sd = np.zeros_like(sd)
        theta = np.fromiter((e.theta for e in layer), float, len(layer))
        factor = theta * theta if options.variance == "theta_squared" else theta.copy()
        p = np.fromiter((options.p_effective(e.p_detection) for e in layer), float, len(layer))
        return cls(mean, sd * sd, theta, factor, p)


def _pareto_2d(first: FloatArray, second: FloatArray) -> IntArray:
    """Return indices of points not weakly dominated (both ≤) by an earlier point."""
    order = np.lexsort((second, first))
    ordered = second[order]
    best_before = np.minimum.accumulate(np.concatenate(([np.inf], ordered[:-1])))
    keep = ordered < best_before
    keep[0] = True
    return order[keep]


def _deterministic_element_prune(arrays: _LayerArrays, response: float) -> IntArray:
    """Drop alternatives dominated on (t, θt, w) — valid only for fixed times."""
    n = arrays.mean.shape[0]
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    t = arrays.mean
    window = np.minimum(arrays.theta * t, response)
    with np.errstate(divide="ignore"):
        w = -np.log1p(-arrays.p)
    t = np.minimum(t, response)
    order = np.lexsort((np.arange(n), w, window, t))
    kept: list[int] = []
    kept_window = np.empty(0)
    kept_w = np.empty(0)
    for index in order:
        if kept and bool(np.any((kept_window <= window[index]) & (kept_w <= w[index]))):
            continue
        kept.append(int(index))
        kept_window = np.append(kept_window, window[index])
        kept_w = np.append(kept_w, w[index])
    return np.asarray(sorted(kept), dtype=np.int64)


def _distinct(layer: Sequence[Element]) -> list[int]:
    """Return the index of the first alternative of each distinct parameter set.

    Alternatives with identical (P(D), location, μ, σ) are interchangeable in every path,
    so searching one of them is an exact reduction (a façade of identical windows).
    """
    first: dict[tuple[float, str, float, float], int] = {}
    for index, e in enumerate(layer):
        first.setdefault((e.p_detection, e.location, e.delay_mean, e.delay_sd), index)
    return sorted(first.values())


def _reduced(
    layers: Sequence[Sequence[Element]],
) -> tuple[list[list[Element]], list[list[int]]]:
    maps = [_distinct(layer) for layer in layers]
    return [[layer[i] for i in m] for layer, m in zip(layers, maps, strict=True)], maps


def _layered_deterministic(
    layers: Sequence[Sequence[Element]], options: EasiOptions
) -> tuple[list[int], int]:
    response = options.response.mean
    delay = np.zeros(1)
    weight = np.zeros(1)
    back: list[tuple[IntArray, IntArray]] = []
    explored = 0
    for layer in reversed(layers):
        arrays = _LayerArrays.build(layer, options, "deterministic")
        alive = _deterministic_element_prune(arrays, response)
        t = arrays.mean[alive]
        window = arrays.theta[alive] * t
        with np.errstate(divide="ignore"):
            w = -np.log1p(-arrays.p[alive])
        new_delay = np.minimum(delay[:, None] + t[None, :], response).ravel()
        timely = (window[None, :] + delay[:, None]) >= response
        new_weight = (weight[:, None] + np.where(timely, w[None, :], 0.0)).ravel()
        explored += new_delay.shape[0]
        keep = _pareto_2d(new_delay, new_weight)
        parent, local = np.divmod(keep, alive.shape[0])
        back.append((alive[local], parent))
        delay, weight = new_delay[keep], new_weight[keep]
    best = int(np.lexsort((delay, weight))[0])
    return _walk_back(back, best), explored


def _walk_back(back: list[tuple[IntArray, IntArray]], best: int) -> list[int]:
    choice: list[int] = []
    label = best
    for element_index, parent in reversed(back):
        choice.append(int(element_index[label]))
        label = int(parent[label])
    return choice


def _phi_array(numerator: FloatArray, variance: FloatArray) -> FloatArray:
    positive = variance > 0.0
    safe = np.where(positive, variance, 1.0)
    return np.where(positive, ndtr(numerator / np.sqrt(safe)), (numerator >= 0.0) * 1.0)


def _dominated_by(
    dom_m: FloatArray,
    dom_v: FloatArray,
    m: FloatArray,
    v: FloatArray,
    mu_r: float,
    var_r: float,
) -> npt.NDArray[np.bool_]:
    """Return a (len(m), len(dom_m)) matrix: does dominator j dominate point i (S ordered)."""
    mask = (dom_m[None, :] <= m[:, None]) & (dom_v[None, :] >= v[:, None])
    short = m < mu_r
    if bool(np.any(short)):
        gap_a = mu_r - dom_m[None, :]
        gap_b = mu_r - m[:, None]
        extra = gap_a * gap_a * (var_r + v[:, None]) >= gap_b * gap_b * (var_r + dom_v[None, :])
        mask &= extra | ~short[:, None]
    return mask


def _skyline_3d(m: FloatArray, v: FloatArray, s: FloatArray, mu_r: float, var_r: float) -> IntArray:
    """Return indices of labels not dominated under the proved (S, M, V) rule."""
    order = np.lexsort((-v, m, s))
    m_sorted, v_sorted = m[order], v[order]
    n = order.shape[0]
    front_m = np.empty(0)
    front_v = np.empty(0)
    kept: list[IntArray] = []
    block = 1024
    for start in range(0, n, block):
        stop = min(n, start + block)
        bm, bv = m_sorted[start:stop], v_sorted[start:stop]
        alive = np.ones(stop - start, dtype=bool)
        if front_m.shape[0]:
            for fstart in range(0, front_m.shape[0], 4096):
                idx = np.flatnonzero(alive)
                if idx.shape[0] == 0:
                    break
                fm = front_m[fstart : fstart + 4096]
                fv = front_v[fstart : fstart + 4096]
                hit = _dominated_by(fm, fv, bm[idx], bv[idx], mu_r, var_r).any(axis=1)
                alive[idx[hit]] = False
        idx = np.flatnonzero(alive)
        if idx.shape[0] > 1:
            pm, pv = bm[idx], bv[idx]
            within = _dominated_by(pm, pv, pm, pv, mu_r, var_r)
            within &= np.tri(idx.shape[0], k=-1, dtype=bool)
            idx = idx[~within.any(axis=1)]
        front_m = np.concatenate((front_m, bm[idx]))
        front_v = np.concatenate((front_v, bv[idx]))
        kept.append(order[start + idx])
    return np.concatenate(kept) if kept else np.empty(0, dtype=np.int64)


@dataclass(slots=True)
class _PrefixBounds:
    """Per-boundary bounds on what any prefix can add, for the incumbent bound."""

    c_min: list[float] = field(default_factory=list)
    d_max: list[float] = field(default_factory=list)


def _prefix_bounds(arrays: Sequence[_LayerArrays], mu_r: float, var_r: float) -> _PrefixBounds:
    """Bound c_i (from below) and d_i (from above) for prefix elements at each boundary k."""
    bounds = _PrefixBounds()
    for k in range(len(arrays) + 1):
        c_min = math.inf
        d_max = var_r
        for j in range(k):
            later_mean = sum(float(a.mean.min()) for a in arrays[j + 1 : k])
            later_var = sum(float(a.var.max()) for a in arrays[j + 1 : k])
            own_c = float((arrays[j].theta * arrays[j].mean).min())
            own_d = float((arrays[j].var_factor * arrays[j].var).max())
            c_min = min(c_min, own_c + later_mean)
            d_max = max(d_max, own_d + later_var + var_r)
        bounds.c_min.append(c_min - mu_r if k else math.inf)
        bounds.d_max.append(d_max)
    return bounds


def _label_lower_bound(
    m: FloatArray, v: FloatArray, s: FloatArray, c_min: float, d_max: float, var_r: float
) -> FloatArray:
    """Return a lower bound on the final sum for labels at a boundary.

    Proof: ``S_0 = Σ_i q_i Φ_i + B·S`` with ``q_i, B ≥ 0`` and ``Σ q_i + B = 1`` (the
    probabilities of first detection at each prefix element or none), so S_0 is a convex
    combination and ``S_0 ≥ min(S, min_i Φ_i)``. Each ``Φ_i = Φ((c_i + M)/sqrt(d_i + V))``
    with ``c_i ≥ c_min`` and ``σ_R² ≤ d_i ≤ d_max``; the smallest z over that box is at
    ``c_min`` and at ``d_max`` when the numerator is positive, ``σ_R²`` when negative.
    With no prefix (the start boundary) the bound is S itself.
    """
    if not math.isfinite(c_min):
        return s
    numerator = c_min + m
    denom = np.where(numerator >= 0.0, d_max + v, var_r + v)
    return np.minimum(s, _phi_array(numerator, denom))


def _layered_stochastic(
    layers: Sequence[Sequence[Element]],
    options: EasiOptions,
    incumbent: float,
) -> tuple[list[int], int]:
    mu_r = options.response.mean
    var_r = options.response.sd**2
    arrays = [_LayerArrays.build(layer, options, "stochastic") for layer in layers]
    bounds = _prefix_bounds(arrays, mu_r, var_r)
    mean = np.zeros(1)
    var = np.zeros(1)
    score = np.zeros(1)
    back: list[tuple[IntArray, IntArray]] = []
    explored = 0
    for k in range(len(layers) - 1, -1, -1):
        a = arrays[k]
        numerator = a.theta[None, :] * a.mean[None, :] + mean[:, None] - mu_r
        variance = a.var_factor[None, :] * a.var[None, :] + var[:, None] + var_r
        phi = _phi_array(numerator, variance)
        new_score = (a.p[None, :] * phi + (1.0 - a.p[None, :]) * score[:, None]).ravel()
        new_mean = (mean[:, None] + a.mean[None, :]).ravel()
        new_var = (var[:, None] + a.var[None, :]).ravel()
        explored += new_score.shape[0]
        # Incumbent bound: labels that cannot beat a known full path are dropped.
        lower = _label_lower_bound(
            new_mean, new_var, new_score, bounds.c_min[k], bounds.d_max[k], var_r
        )
        candidates = np.flatnonzero(lower <= incumbent + _EPS)
        sky = _skyline_3d(
            new_mean[candidates], new_var[candidates], new_score[candidates], mu_r, var_r
        )
        keep = candidates[sky]
        parent, local = np.divmod(keep, a.mean.shape[0])
        back.append((local.astype(np.int64), parent.astype(np.int64)))
        mean, var, score = new_mean[keep], new_var[keep], new_score[keep]
    best = int(np.argmin(score))
    return _walk_back(back, best), explored


def _beam_incumbent(
    layers: Sequence[Sequence[Element]], options: EasiOptions, width: int = 64
) -> list[int]:
    """Return a good (not necessarily optimal) path by a backward beam on S."""
    mu_r = options.response.mean
    var_r = options.response.sd**2
    mean = np.zeros(1)
    var = np.zeros(1)
    score = np.zeros(1)
    back: list[tuple[IntArray, IntArray]] = []
    for layer in reversed(layers):
        a = _LayerArrays.build(layer, options, "stochastic")
        numerator = a.theta[None, :] * a.mean[None, :] + mean[:, None] - mu_r
        variance = a.var_factor[None, :] * a.var[None, :] + var[:, None] + var_r
        phi = _phi_array(numerator, variance)
        new_score = (a.p[None, :] * phi + (1.0 - a.p[None, :]) * score[:, None]).ravel()
        new_mean = (mean[:, None] + a.mean[None, :]).ravel()
        new_var = (var[:, None] + a.var[None, :]).ravel()
        # Keep the best by S and the shortest by M so the beam does not starve on delay.
        by_score = np.argsort(new_score, kind="stable")[:width]
        by_mean = np.argsort(new_mean, kind="stable")[: width // 4]
        keep = np.unique(np.concatenate((by_score, by_mean)))
        parent, local = np.divmod(keep, a.mean.shape[0])
        back.append((local.astype(np.int64), parent.astype(np.int64)))
        mean, var, score = new_mean[keep], new_var[keep], new_score[keep]
    return _walk_back(back, int(np.argmin(score)))


def layered_mvp(
    layers: Sequence[Sequence[Element]],
    options: EasiOptions,
    *,
    mode: Mode = "stochastic",
) -> PathResult:
    """Return the exact most vulnerable path through layers (one alternative per layer)."""
    _check_layers(layers)
    reduced, maps = _reduced(layers)
    if mode == "deterministic":
        local, explored = _layered_deterministic(reduced, options)
    else:
        # Candidate paths give the incumbent: the deterministic MVP and a beam on EASI.
        candidates = [
            _layered_deterministic(reduced, options)[0],
            _beam_incumbent(reduced, options),
        ]
        incumbent = min(
            easi_with([reduced[k][i] for k, i in enumerate(c)], options).p_timely_detection
            for c in candidates
        )
        local, explored = _layered_stochastic(reduced, options, incumbent)
    choice = [maps[k][i] for k, i in enumerate(local)]
    path = [layers[k][i] for k, i in enumerate(choice)]
    return evaluate_path(path, options, mode=mode, choice=choice, labels_explored=explored)


def brute_force_layered(
    layers: Sequence[Sequence[Element]],
    options: EasiOptions,
    *,
    mode: Mode = "stochastic",
) -> PathResult:
    """Return the most vulnerable path by scoring every combination (small models only)."""
    _check_layers(layers)
    scoring = _scoring_options(options, mode)
    best: tuple[float, tuple[int, ...]] | None = None
    for choice in itertools.product(*(range(len(layer)) for layer in layers)):
        path = [layers[k][i] for k, i in enumerate(choice)]
        if mode == "deterministic":
            path = [e.deterministic() for e in path]
        value = easi_with(path, scoring).p_interruption
        if best is None or value < best[0]:
            best = (value, choice)
    assert best is not None
    path = [layers[k][i] for k, i in enumerate(best[1])]
    return evaluate_path(path, options, mode=mode, choice=best[1])


# --- graph model ------------------------------------------------------------------------


def _incoming(edges: Iterable[PathEdge]) -> dict[str, list[PathEdge]]:
    table: dict[str, list[PathEdge]] = defaultdict(list)
    for edge in edges:
        table[edge.target].append(edge)
    return table


def _check_graph(edges: Sequence[PathEdge], start: str, target: str) -> None:
    seen: set[str] = set()
    for edge in edges:
        if not isinstance(edge, PathEdge):
            raise InvalidInput(f"edges: {edge!r} is not a PathEdge")
        if edge.id in seen:
            raise InvalidInput(f"edge {edge.id!r}: duplicate edge id")
        seen.add(edge.id)
    if start == target:
        raise InvalidInput(f"target {target!r}: the target is the start node")
    reach = {target}
    incoming = _incoming(edges)
    stack = [target]
    while stack:
        node = stack.pop()
        for edge in incoming.get(node, ()):
            if edge.source not in reach:
                reach.add(edge.source)
                stack.append(edge.source)
    if start not in reach:
        raise InvalidInput(f"target {target!r}: no path from {start!r} reaches it")


def _is_dag(edges: Sequence[PathEdge]) -> bool:
    indegree: dict[str, int] = defaultdict(int)
    outgoing: dict[str, list[str]] = defaultdict(list)
    nodes: set[str] = set()
    for edge in edges:
        nodes.update((edge.source, edge.target))
        indegree[edge.target] += 1
        outgoing[edge.source].append(edge.target)
    ready = [node for node in nodes if indegree[node] == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for nxt in outgoing[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return seen == len(nodes)


def _simplify_walk(path: list[PathEdge]) -> list[PathEdge]:
    """Cut cycles out of a walk (keeps the first arrival at each node)."""
    out: list[PathEdge] = []
    position: dict[str, int] = {}
    if path:
        position[path[0].source] = 0
    for edge in path:
        if edge.target in position:
            cut = position[edge.target]
            for removed in out[cut:]:
                position.pop(removed.target, None)
            del out[cut:]
        else:
            out.append(edge)
            position[edge.target] = len(out)
            continue
        position[edge.target] = len(out)
    return out


@dataclass(slots=True)
class _DetLabel:
    delay: float
    weight: float
    path: tuple[PathEdge, ...]
    alive: bool = True


def _graph_deterministic(
    edges: Sequence[PathEdge], options: EasiOptions, start: str, target: str
) -> tuple[list[PathEdge], int]:
    """Run the (D, W) label-correcting DP; its optimum over walks is attained by a simple path.

    Removing a cycle from a walk removes elements: upstream elements lose delay after
    them (never gaining timeliness) and the removed weights vanish, so W cannot grow.
    """
    response = options.response.mean
    incoming = _incoming(edges)
    labels: dict[str, list[_DetLabel]] = defaultdict(list)
    first = _DetLabel(0.0, 0.0, ())
    labels[target].append(first)
    queue: list[tuple[float, int, str, _DetLabel]] = [(0.0, 0, target, first)]
    counter = itertools.count(1)
    explored = 0
    while queue:
        _, _, node, label = heapq.heappop(queue)
        if not label.alive or node == start:
            continue
        for edge in incoming.get(node, ()):
            element = edge.element
            p = options.p_effective(element.p_detection)
            w = math.inf if p >= 1.0 else -math.log1p(-p)
            timely = element.theta * element.delay_mean + label.delay >= response
            new = _DetLabel(
                min(label.delay + element.delay_mean, response),
                label.weight + (w if timely else 0.0),
                (edge, *label.path),
            )
            explored += 1
            bucket = labels[edge.source]
            if any(o.delay <= new.delay and o.weight <= new.weight for o in bucket):
                continue
            for other in bucket:
                if new.delay <= other.delay and new.weight <= other.weight:
                    other.alive = False
            bucket[:] = [o for o in bucket if o.alive]
            bucket.append(new)
            heapq.heappush(queue, (new.weight, next(counter), edge.source, new))
    best = min(labels[start], key=lambda lab: (lab.weight, lab.delay))
    return _simplify_walk(list(best.path)), explored


@dataclass(slots=True)
class _StochLabel:
    mean: float
    var: float
    score: float
    visited: frozenset[str]
    path: tuple[PathEdge, ...]
    alive: bool = True


def _dominates(a: _StochLabel, b: _StochLabel, mu_r: float, var_r: float, dag: bool) -> bool:
    if not (a.score <= b.score and a.mean <= b.mean and a.var >= b.var):
        return False
    if not dag and not a.visited <= b.visited:
        return False
    if b.mean >= mu_r:
        return True
    gap_a = mu_r - a.mean
    gap_b = mu_r - b.mean
    return gap_a * gap_a * (var_r + b.var) >= gap_b * gap_b * (var_r + a.var)


def _graph_stochastic(
    edges: Sequence[PathEdge], options: EasiOptions, start: str, target: str
) -> tuple[list[PathEdge], int]:
    """Run the (M, V, S) label DP over simple paths (visited sets unless the graph is a DAG)."""
    mu_r = options.response.mean
    var_r = options.response.sd**2
    dag = _is_dag(edges)
    incoming = _incoming(edges)
    labels: dict[str, list[_StochLabel]] = defaultdict(list)
    first = _StochLabel(0.0, 0.0, 0.0, frozenset((target,)), ())
    labels[target].append(first)
    stack: list[tuple[str, _StochLabel]] = [(target, first)]
    explored = 0
    while stack:
        node, label = stack.pop()
        if not label.alive or node == start:
            continue
        for edge in incoming.get(node, ()):
            if not dag and edge.source in label.visited:
                continue
            element = edge.element
            theta = element.theta
            sd2 = element.delay_sd * element.delay_sd
            numerator = theta * element.delay_mean + label.mean - mu_r
            variance = options.variance_factor(theta) * sd2 + label.var + var_r
            if variance > 0.0:
                phi = normal_cdf(numerator / math.sqrt(variance))
            else:
                phi = 1.0 if numerator >= 0.0 else 0.0
            p = options.p_effective(element.p_detection)
            new = _StochLabel(
                label.mean + element.delay_mean,
                label.var + sd2,
                p * phi + (1.0 - p) * label.score,
                label.visited | {edge.source},
                (edge, *label.path),
            )
            explored += 1
            bucket = labels[edge.source]
            if any(_dominates(o, new, mu_r, var_r, dag) for o in bucket):
                continue
            for other in bucket:
                if _dominates(new, other, mu_r, var_r, dag):
                    other.alive = False
            bucket[:] = [o for o in bucket if o.alive]
            bucket.append(new)
            stack.append((edge.source, new))
    best = min(labels[start], key=lambda lab: lab.score)
    return list(best.path), explored


def _nodes_of(path: Sequence[PathEdge]) -> tuple[str, ...]:
    if not path:
        return ()
    return (path[0].source, *(edge.target for edge in path))


def graph_mvp(
    edges: Sequence[PathEdge],
    options: EasiOptions,
    *,
    target: str,
    start: str = "outside",
    mode: Mode = "stochastic",
) -> PathResult:
    """Return the exact most vulnerable simple path from ``start`` to ``target``."""
    _check_graph(edges, start, target)
    if mode == "deterministic":
        path, explored = _graph_deterministic(edges, options, start, target)
    else:
        path, explored = _graph_stochastic(edges, options, start, target)
    return evaluate_path(
        [edge.element for edge in path],
        options,
        mode=mode,
        edge_ids=[edge.id for edge in path],
        nodes=_nodes_of(path),
        labels_explored=explored,
    )


def _simple_paths(edges: Sequence[PathEdge], start: str, target: str) -> Iterable[list[PathEdge]]:
    outgoing: dict[str, list[PathEdge]] = defaultdict(list)
    for edge in edges:
        outgoing[edge.source].append(edge)

    def walk(node: str, visited: set[str], path: list[PathEdge]) -> Iterable[list[PathEdge]]:
        if node == target:
            yield list(path)
            return
        for edge in outgoing.get(node, ()):
            if edge.target in visited:
                continue
            visited.add(edge.target)
            path.append(edge)
            yield from walk(edge.target, visited, path)
            path.pop()
            visited.discard(edge.target)

    yield from walk(start, {start}, [])


def brute_force_graph(
    edges: Sequence[PathEdge],
    options: EasiOptions,
    *,
    target: str,
    start: str = "outside",
    mode: Mode = "stochastic",
) -> PathResult:
    """Return the most vulnerable simple path by enumerating all of them (small graphs)."""
    _check_graph(edges, start, target)
    scoring = _scoring_options(options, mode)
    best: tuple[float, list[PathEdge]] | None = None
    for path in _simple_paths(edges, start, target):
        elements = [edge.element for edge in path]
        if mode == "deterministic":
            elements = [e.deterministic() for e in elements]
        value = easi_with(elements, scoring).p_interruption
        if best is None or value < best[0]:
            best = (value, path)
    assert best is not None
    return evaluate_path(
        [edge.element for edge in best[1]],
        options,
        mode=mode,
        edge_ids=[edge.id for edge in best[1]],
        nodes=_nodes_of(best[1]),
    )
