"""Periodic boundary conditions by elimination (issue 20).

A periodic cell repeats under lattice translations t_k. A node on a periodic face whose translate
x + t_k is also a node (within a tolerance) is the same point of the infinite structure: its degrees
of freedom and its image's are one unknown. With the 0/1 prolongation Z (N x N_r, one 1 per row,
in the column of the unknown the degree of freedom belongs to), a symmetric positive definite
system A u = b on the cell becomes

    Z^T A Z u_r = Z^T b,    u = Z u_r,

still symmetric positive definite: the rows of the paired degrees of freedom are added (the fluxes
through the two faces cancel) and their values are equal. This is the weak form on the periodic
cell with no boundary term on the periodic faces; nothing is imposed there.

The pairs are found per translation (``match_periodic``): every node of the periodic faces must be
the image or the source of another under some translation, else the faces do not match and the cell
cannot be periodic (:class:`PeriodicError`, naming the node); ``check_face_meshes`` also asks that
every triangle of the faces have a translate among them (the face meshes are the same). Each
region's degrees of freedom are then grouped into classes: two are one unknown when a lattice vector
(t_k, -t_k, t_1 + t_2, t_1 - t_2: a node on a vertical edge of the cell has four copies) maps one onto
the other within the region; for P2 an edge degree of freedom follows its edge, (a, b) joined with
(a', b') when one lattice vector maps both ends. Lengths are metres.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["PeriodicError", "Periodicity", "check_face_meshes", "copies", "match_periodic", "prolongation",
           "reduced_dirichlet", "reduced_flags", "reduced_index"]


class PeriodicError(ValueError):
    """The faces of a cell declared periodic do not match; one line."""


@dataclass(frozen=True)
class Periodicity:
    """Pairs of nodes that are one point of the periodic structure.

    Attributes
    ----------
    translations_m : tuple of (float, float, float)
        The lattice translations, m.
    pairs : tuple of ndarray (k, 2) of int
        Per translation, rows (image, source) of full-mesh node numbers with
        ``x[image] = x[source] + t`` within the tolerance.
    """

    translations_m: tuple[tuple[float, float, float], ...]
    pairs: tuple[np.ndarray, ...]

    @property
    def n_pairs(self) -> int:
        return int(sum(len(p) for p in self.pairs))


def match_periodic(points_m: np.ndarray, face_nodes: np.ndarray, translations_m: Sequence[Sequence[float]],
                   tol_m: float) -> Periodicity:
    """Pair the nodes of the periodic faces under each translation.

    Parameters
    ----------
    points_m : ndarray (n, 3)
        Node coordinates, m.
    face_nodes : ndarray of int
        The nodes on the periodic faces.
    translations_m : sequence of 3-vectors
        Lattice translations, m (one per pair of opposite faces).
    tol_m : float
        Largest distance between a translated node and its image, m.

    Raises
    ------
    PeriodicError
        If a face node is neither the image nor the source of another (the faces do not match).
    """
    face_nodes = np.unique(np.asarray(face_nodes, dtype=np.int64))
    xyz = points_m[face_nodes]
    tree = cKDTree(xyz)
    pairs = []
    matched = np.zeros(len(face_nodes), bool)
    for t in translations_m:
        t = np.asarray(t, float)
        dist, idx = tree.query(xyz + t, k=1, distance_upper_bound=tol_m)
        hit = np.isfinite(dist)
        matched[hit] = True
        matched[idx[hit]] = True
        pairs.append(np.column_stack([face_nodes[idx[hit]], face_nodes[hit]]))
    if not matched.all():
        k = int(np.flatnonzero(~matched)[0])
        x, y, z = points_m[face_nodes[k]] * 1e6
        raise PeriodicError(f"the periodic faces do not match: the node at ({x:.6g}, {y:.6g}, {z:.6g}) um has "
                            f"no image within {tol_m * 1e6:.3g} um under the cell's translations "
                            f"({sum(~matched)} of {len(face_nodes)} face nodes unmatched)")
    return Periodicity(tuple(tuple(float(c) for c in t) for t in translations_m), tuple(pairs))


def check_face_meshes(periodicity: Periodicity, points_m: np.ndarray, face_tris: np.ndarray) -> None:
    """Every triangle of the periodic faces has a translate among them (same face meshes).

    Raises
    ------
    PeriodicError
        Naming the centre of a triangle without a translate.
    """
    n = len(points_m)
    tris = np.sort(np.asarray(face_tris, dtype=np.int64), axis=1)
    keys = set(map(tuple, tris))
    ok = np.zeros(len(tris), bool)
    for g in _maps(periodicity, n):
        img = g[tris]
        has = (img >= 0).all(axis=1)
        img = np.sort(img[has], axis=1)
        ok[np.flatnonzero(has)[[tuple(t) in keys for t in img]]] = True
    if not ok.all():
        x, y, z = points_m[tris[np.flatnonzero(~ok)[0]]].mean(axis=0) * 1e6
        raise PeriodicError(f"the periodic faces do not match: their meshes differ (the triangle at ({x:.6g}, "
                            f"{y:.6g}, {z:.6g}) um has no translate; {int((~ok).sum())} of {len(tris)} such)")


def _classes(n: int, pairs: np.ndarray) -> np.ndarray:
    """Class label (0 .. n_classes - 1, in order of first appearance) of each of n items joined by pairs."""
    if not len(pairs):
        return np.arange(n)
    g = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))          # classes numbered by their first item
    return order[inverse]


def _maps(periodicity: Periodicity, n_global: int) -> list[np.ndarray]:
    """Node maps (full-mesh numbering, -1 where undefined) for every lattice vector that joins two
    copies of a point of the cell: each translation t_k and its inverse, and with two translations
    t_1 + t_2 and t_1 - t_2 (the copies on the cell's vertical edges), composed from the pairs."""
    fwd, inv = [], []
    for p in periodicity.pairs:
        f, b = np.full(n_global, -1, dtype=np.int64), np.full(n_global, -1, dtype=np.int64)
        f[p[:, 1]], b[p[:, 0]] = p[:, 0], p[:, 1]
        fwd.append(f)
        inv.append(b)

    def compose(g: np.ndarray, h: np.ndarray) -> np.ndarray:       # h after g
        out = np.full(n_global, -1, dtype=np.int64)
        ok = g >= 0
        out[ok] = h[g[ok]]
        return out

    maps = fwd + inv
    if len(fwd) == 2:
        maps += [compose(fwd[0], fwd[1]), compose(fwd[0], inv[1])]
    return maps


def _region_maps(maps: list[np.ndarray], nodes: np.ndarray, n_global: int) -> list[np.ndarray]:
    """Each node map in the region's local numbering (``nodes``: its full-mesh node numbers): the
    local image of every local node, -1 where there is none or it is not in the region."""
    local = np.full(n_global, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    out = []
    for g in maps:
        img = np.full(len(nodes), -1, dtype=np.int64)
        has = g[nodes] >= 0
        img[has] = local[g[nodes][has]]
        out.append(img)
    return out


def prolongation(periodicity: Periodicity, nodes: np.ndarray, n_global: int, basis=None) -> sp.csr_matrix:
    """Z (N x N_r) of a region: row = degree of freedom, column = the unknown it belongs to.

    Two degrees of freedom of the region are one unknown when a lattice vector (a translation, its
    inverse or, with two translations, their sum or difference) maps one onto the other: a node
    onto a node, an edge onto an edge (P2). Copies are joined directly, not through a copy outside
    the region, so a region that meets a face of the cell at one copy of a point only (a web
    touching the face at an edge) keeps a single unknown there.

    Parameters
    ----------
    periodicity : Periodicity
    nodes : ndarray of int
        The region mesh's nodes in full-mesh numbering (P1: its degrees of freedom in this order).
    n_global : int
        Nodes of the full mesh.
    basis : skfem.CellBasis, optional
        For P2: the region's basis (nodal and edge degrees of freedom; its mesh has edges).
    """
    nodes = np.asarray(nodes)
    n = len(nodes)
    images = _region_maps(_maps(periodicity, n_global), nodes, n_global)
    node_pairs = [np.column_stack([np.flatnonzero(img >= 0), img[img >= 0]]) for img in images]
    node_class = _classes(n, np.concatenate(node_pairs) if node_pairs else np.zeros((0, 2), int))
    if basis is None:
        N, dof_class = n, node_class
    else:
        N = basis.N
        dof_class = np.empty(N, dtype=np.int64)
        dof_class[basis.nodal_dofs[0]] = node_class
        edges = np.sort(basis.mesh.edges, axis=0)
        key = edges[0].astype(np.int64) * n + edges[1]
        order = np.argsort(key)
        epairs = []
        for img in images:                 # edge (a, b) -> (img a, img b) when that is an edge
            a, b = img[edges[0]], img[edges[1]]
            both = np.flatnonzero((a >= 0) & (b >= 0))
            src = np.sort(np.vstack([a[both], b[both]]), axis=0)
            skey = src[0] * n + src[1]
            pos = np.minimum(np.searchsorted(key[order], skey), len(key) - 1)
            found = key[order][pos] == skey
            epairs.append(np.column_stack([both[found], order[pos][found]]))
        edge_class = _classes(edges.shape[1], np.concatenate(epairs) if epairs else np.zeros((0, 2), int))
        dof_class[basis.edge_dofs[0]] = node_class.max() + 1 + edge_class
    return sp.csr_matrix((np.ones(N), (np.arange(N), dof_class)), shape=(N, int(dof_class.max()) + 1))


def reduced_index(Z: sp.csr_matrix, dofs: np.ndarray) -> np.ndarray:
    """The reduced unknowns (sorted, unique) that the degrees of freedom ``dofs`` belong to (Z has one
    entry per row)."""
    return np.unique(Z.indices[np.asarray(dofs)])


def reduced_flags(Z: sp.csr_matrix, flags: np.ndarray) -> np.ndarray:
    """A reduced unknown is flagged when any of its copies is."""
    return (Z.T @ np.asarray(flags, dtype=float)) > 0


def copies(Z: sp.csr_matrix, dofs: np.ndarray) -> np.ndarray:
    """Every degree of freedom (sorted) that is a copy of one of ``dofs``: the same reduced unknown."""
    mark = np.zeros(Z.shape[1])
    mark[reduced_index(Z, dofs)] = 1.0
    return np.flatnonzero(Z @ mark)


def reduced_dirichlet(Z: sp.csr_matrix, x: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed values and flags of the reduced unknowns: an unknown is fixed when any of its copies
    is, and its copies' fixed values must agree (they are one point)."""
    fixed_r = reduced_flags(Z, fixed)
    count = Z.T @ fixed.astype(float)
    total = Z.T @ np.where(fixed, x, 0.0)
    x_r = np.divide(total, count, out=np.zeros(Z.shape[1]), where=count > 0)
    spread = np.abs(Z @ x_r - x)[fixed]
    if spread.size and spread.max() > 1e-12 * max(1.0, float(np.abs(x[fixed]).max())):
        raise PeriodicError("a periodic pair joins two boundaries held at different values")
    return x_r, fixed_r
