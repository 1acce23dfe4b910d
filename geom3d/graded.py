"""A conforming tetrahedral lattice graded towards surfaces: Kuhn cubes refined by bisection.

The box is first split into coarse boxes (the tensor grid of the given axes), each into the six Kuhn
tetrahedra (x0, x0 + e_a, x0 + e_a + e_b, x0 + 1) of :func:`geom3d.levelset.lattice`. A tetrahedron
is refined by newest-vertex bisection in Maubach's form: a simplex (x0, x1, x2, x3) with tag k bisects
its edge (x0, xk) at z into

    (x0, .., x_{k-1}, z, x_{k+1}, .., x3)   and   (x1, .., xk, z, x_{k+1}, .., x3),   tag k - 1 (3 after 1),

and three generations of a Kuhn tetrahedron are the Kuhn tetrahedra of the boxes of half the size
(Maubach 1995, Traxler 1997: Kuhn meshes are compatibly divisible). A bisection is conforming when
every tetrahedron that holds the refinement edge bisects that same edge; the closure below bisects
an edge only then, and first bisects the tetrahedra that hold it with another refinement edge, so
the mesh stays conforming and the grading is gradual (neighbours differ by at most a few
generations).

Coordinates are integers: each coarse box is 2^L units along each axis (L refinement levels), and a
bisection midpoint is again an integer point; the physical point is the axis map of the integer
point (piecewise linear per coarse interval, so midpoints stay midpoints). With ``periodic`` the
nodes x = 0 and x = W (and y) are one node for the closure, so opposite lateral faces are refined
alike and their triangles are translates of each other.

Which boxes are refined: a tetrahedron of box side s (its generation's, the largest over the axes)
is bisected while s > h + grade * dist, dist the smallest ``distance(x)`` over its vertices (the
distance to the nearest surface to resolve, metres or model units alike) and h the finest side, and
always (to the finest) when one of the signed level sets ``distance`` may also return changes sign
over its vertices: a level-set cutter interpolates its surface only in such tetrahedra, so every
piece of it is cut at the finest size, however the distances fall.

Hand-written because the level-set cutter needs a conforming tetrahedral lattice and gmsh would need
the surfaces as CAD or a background size field (not measured against it here); this is vectorised
numpy and takes 2-3 s for the 0.6 M tetrahedra of the benchmark gyroid (bench/bench_sponge.py).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .levelset import EDGES, orient

__all__ = ["coarse_axis", "graded_lattice", "lattice_quality"]


def _coarse(n: Sequence[int], S: int) -> np.ndarray:
    """Kuhn tetrahedra of the n[0] x n[1] x n[2] coarse grid, integer vertices (m, 4, 3) in units
    of 1 / S of a coarse interval, in Kuhn path order (tag 3)."""
    i, j, k = (g.ravel() for g in np.meshgrid(*(np.arange(m) for m in n), indexing="ij"))
    base = np.column_stack([i, j, k]) * S
    unit = np.eye(3, dtype=np.int64) * S
    out = []
    for a, b in ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)):
        path = [np.zeros(3, np.int64), unit[a], unit[a] + unit[b], unit.sum(axis=0)]
        out.append(np.stack([base + p for p in path], axis=1))
    return np.concatenate(out).astype(np.int64)


class _Keys:
    """Node keys of integer points (wrapped in x and y when periodic)."""

    def __init__(self, n: Sequence[int], S: int, periodic: bool):
        self.N = [n[0] * S, n[1] * S, n[2] * S]
        self.periodic = periodic
        self.span = [self.N[0] + 1, self.N[1] + 1, self.N[2] + 1]

    def __call__(self, V: np.ndarray) -> np.ndarray:
        x, y, z = V[..., 0], V[..., 1], V[..., 2]
        if self.periodic:
            x, y = x % self.N[0], y % self.N[1]
        return (x * self.span[1] + y) * self.span[2] + z


def _physical(V: np.ndarray, axes: Sequence[np.ndarray], S: int) -> np.ndarray:
    """Physical coordinates of integer points (..., 3)."""
    out = np.empty(V.shape, dtype=float)
    for a in range(3):
        out[..., a] = np.interp(V[..., a] / S, np.arange(len(axes[a])), axes[a])
    return out


def _bisect(V: np.ndarray, tag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both children of every tetrahedron (Maubach), and their tag."""
    m = len(V)
    r = np.arange(m)
    z = (V[:, 0] + V[r, tag]) // 2
    c1, c2 = V.copy(), np.empty_like(V)
    c1[r, tag] = z
    for k in (1, 2, 3):
        sel = tag == k
        # (x1, .., xk, z, x_{k+1}, .., x3)
        c2[sel, :k] = V[sel, 1:k + 1]
        c2[sel, k] = z[sel]
        c2[sel, k + 1:] = V[sel, k + 1:]
    new = np.where(tag > 1, tag - 1, 3)
    return np.concatenate([c1, c2]), np.concatenate([new, new])


class _Distances:
    """``distance`` at the nodes, evaluated once per node key (dense tables over the keys): the
    distance (column 0), and the signs of any signed level sets (the other columns) as bit masks."""

    def __init__(self, distance: Callable[[np.ndarray], np.ndarray], n_keys: int):
        self.distance = distance
        self.values = np.full(n_keys, np.nan)
        self.negative = np.zeros(n_keys, np.uint8)      # bit k: level set k < 0 at the node
        self.positive = np.zeros(n_keys, np.uint8)

    def __call__(self, keys: np.ndarray, V: np.ndarray, axes, S: int) -> tuple[np.ndarray, np.ndarray]:
        """Per tetrahedron: the smallest distance at its vertices, and whether a level set changes
        sign over them."""
        flat = keys.ravel()
        fresh = np.isnan(self.values[flat])
        if fresh.any():
            new, first = np.unique(flat[fresh], return_index=True)
            got = np.asarray(self.distance(_physical(V.reshape(-1, 3)[np.flatnonzero(fresh)[first]], axes, S)))
            got = got.reshape(len(new), -1)
            self.values[new] = got[:, 0]
            bits = (1 << np.arange(got.shape[1] - 1)).astype(np.uint8)
            self.negative[new] = ((got[:, 1:] < 0) * bits).sum(axis=1)
            self.positive[new] = ((got[:, 1:] > 0) * bits).sum(axis=1)
        neg = np.bitwise_or.reduce(self.negative[keys], axis=1)
        pos = np.bitwise_or.reduce(self.positive[keys], axis=1)
        return self.values[keys].min(axis=1), (neg & pos) != 0


def graded_lattice(axes: Sequence[np.ndarray], levels: int, distance: Callable[[np.ndarray], np.ndarray],
                   grade: float = 0.5, periodic: bool = False, max_rounds: int = 200
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A conforming tetrahedral mesh of the box of the tensor grid ``axes``, refined by bisection up
    to ``levels`` halvings of the coarse boxes near the surfaces ``distance`` measures.

    Parameters
    ----------
    axes : three ndarrays
        Coarse grid lines along x, y, z (increasing; the box is their span).
    levels : int
        Refinement levels: the finest boxes are the coarse ones halved ``levels`` times.
    distance : callable ``(n, 3) -> (n,)`` or ``(n, 1 + k)``
        Distance from points to the nearest surface to resolve (same units as ``axes``; 0 inside a
        band to be kept at the finest size), and optionally k signed level sets of the surfaces
        whose crossings must be at the finest size.
    grade : float
        Allowed growth of the box side with the distance: a box of side s is kept where
        s <= h + grade * distance (h: the finest side).
    periodic : bool
        Refine the opposite x and y faces alike (a periodic block).

    Returns
    -------
    points : ndarray (n, 3)
    tets : ndarray (m, 4), positively oriented
    """
    n = [len(a) - 1 for a in axes]
    S = 2 ** levels
    keys_of = _Keys(n, S, periodic)
    side0 = max(float(np.max(np.diff(a))) for a in axes)
    h = side0 / S
    V = _coarse(n, S)
    tag = np.full(len(V), 3, dtype=np.int64)
    depth = np.zeros(len(V), dtype=np.int64)
    forced = np.zeros(len(V), bool)
    n_keys = int(np.prod(keys_of.span))
    dist = _Distances(distance, n_keys)
    done = []                      # finest tetrahedra (V, tag, keys), out of the loop (they never bisect)
    for _ in range(max_rounds):
        top = depth >= 3 * levels
        if top.any():              # set aside, and taken back while they touch the refinement front
            done.append((V[top], tag[top], keys_of(V[top])))
            V, tag, depth, forced = V[~top], tag[~top], depth[~top], forced[~top]
        keys = keys_of(V)
        side = side0 / 2.0 ** (depth // 3)
        near, crossed = dist(keys, V, axes, S) if len(V) else (np.zeros(0), np.zeros(0, bool))
        want = (side > h * (1 + 1e-9) + grade * near) | forced | crossed
        if not want.any():
            break
        # the closure only needs the tetrahedra that hold both ends of a wanted refinement edge
        ends = np.zeros(n_keys, bool)
        ends[keys[want, 0]] = True
        ends[keys[np.flatnonzero(want), tag[want]]] = True
        cand = want | (ends[keys].sum(axis=1) >= 2)
        bV, bt, bk = _take_back(done, ends)
        sub = np.flatnonzero(cand)
        nV, nt, nd, nf = _close_and_bisect(np.concatenate([V[sub], bV]), np.concatenate([tag[sub], bt]),
                                           np.concatenate([depth[sub], np.full(len(bV), 3 * levels)]),
                                           np.concatenate([keys[sub], bk]),
                                           np.concatenate([want[sub], np.zeros(len(bV), bool)]))
        rest = ~cand
        V, tag = np.concatenate([V[rest], nV]), np.concatenate([tag[rest], nt])
        depth, forced = np.concatenate([depth[rest], nd]), np.concatenate([forced[rest], nf])
    else:
        raise RuntimeError("graded lattice: the bisection closure did not finish")
    return _finish(np.concatenate([V] + [d[0] for d in done]), axes, S)


def _take_back(done: list, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove from ``done`` and return the finest tetrahedra that hold two nodes of ``ends`` (they may
    hold a wanted refinement edge, and the closure must see every tetrahedron around one)."""
    back = []
    for i, (Vd, td, kd) in enumerate(done):
        hit = ends[kd].sum(axis=1) >= 2
        if hit.any():
            back.append((Vd[hit], td[hit], kd[hit]))
            done[i] = (Vd[~hit], td[~hit], kd[~hit])
    if not back:
        return np.zeros((0, 4, 3), np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.int64)
    return tuple(np.concatenate(parts) for parts in zip(*back))


def _close_and_bisect(V, tag, depth, keys, want):
    """One round: bisect every conforming patch of a wanted refinement edge; mark the tetrahedra
    that hold such an edge with another refinement edge (they go first)."""
    a, b = keys[:, EDGES[:, 0]], keys[:, EDGES[:, 1]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    span = int(keys.max()) + 1
    ek = lo * span + hi                                          # (m, 6) edge keys
    ref = ek[np.arange(len(V)), tag - 1]
    M = np.unique(ref[want])
    holds = _member(ek, M)
    other = holds & (ek != ref[:, None])
    blocked = np.unique(ek[other])
    split = _member(ref, M) & ~_member(ref, blocked)
    forced = other.any(axis=1) & ~split
    children, ctag = _bisect(V[split], tag[split])
    keep = ~split
    return (np.concatenate([V[keep], children]), np.concatenate([tag[keep], ctag]),
            np.concatenate([depth[keep], np.tile(depth[split] + 1, 2)]),
            np.concatenate([forced[keep], np.zeros(len(children), bool)]))


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """values in sorted_set (a sorted unique array), elementwise."""
    if not len(sorted_set):
        return np.zeros(values.shape, bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values


def _finish(V: np.ndarray, axes, S: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (physical, unwrapped) and positively oriented tetrahedra."""
    flat = V.reshape(-1, 3)
    span = flat.max(axis=0) + 1
    key = (flat[:, 0] * span[1] + flat[:, 1]) * span[2] + flat[:, 2]
    used = np.zeros(int(np.prod(span)), bool)          # a dense table: cheaper than np.unique here
    used[key] = True
    number = np.cumsum(used) - 1
    first = np.empty(int(used.sum()), np.int64)
    first[number[key]] = np.arange(len(key))
    points = _physical(flat[first], axes, S)
    tets = number[key].reshape(-1, 4).astype(np.int64)
    return points, orient(points, tets)


def coarse_axis(lo: float, hi: float, size: float, planes: Sequence[float] = (), nearest: bool = False
                ) -> np.ndarray:
    """Grid lines from lo to hi through ``planes``: intervals of at most ``size``, or (``nearest``)
    as close to ``size`` as the spans allow."""
    cuts = [lo, *sorted(p for p in planes if lo < p < hi), hi]

    def count(span: float) -> int:
        return max(1, int(round(span / size)) if nearest else int(math.ceil(span / size - 1e-9)))
    parts = [np.linspace(a, b, count(b - a) + 1) for a, b in zip(cuts[:-1], cuts[1:])]
    return np.unique(np.concatenate(parts))


def lattice_quality(axes: Sequence[np.ndarray], quality: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """The smallest ``quality`` of any tetrahedron a graded (or uniform Kuhn) lattice on ``axes`` can
    hold: bisection generations repeat three shapes per box up to scale, so the Kuhn tetrahedra of each
    distinct coarse box and their first three generations are every shape (cheap, exact)."""
    shapes = np.unique(np.stack(np.meshgrid(*(np.unique(np.round(np.diff(a), 12)) for a in axes),
                                            indexing="ij"), axis=-1).reshape(-1, 3), axis=0)
    V = _coarse([1, 1, 1], 8)
    tag = np.full(len(V), 3, dtype=np.int64)
    gens = [V]
    for _ in range(3):
        V, tag = _bisect(V, tag)
        gens.append(V)
    every = np.concatenate(gens) / 8.0
    worst = 1.0
    for box in shapes:
        pts = (every * box).reshape(-1, 3)
        worst = min(worst, float(quality(pts, np.arange(len(pts)).reshape(-1, 4)).min()))
    return worst
