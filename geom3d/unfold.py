"""Unfold a mirror cell into a periodic cell (mesh level, no gmsh).

A mirror cell that is not a rectangle (the wedge of a square or hexagonal lattice) is first
reflected across its edges into a rectangle, the shortest such sequence (:func:`reflections_to_box`).
A rectangular mirror cell [x0, x1] x [y0, y1] whose four lateral faces are mirror planes is one
quarter of the periodic cell [x0, 2 x1 - x0] x [y0, 2 y1 - y0]: reflecting its mesh across x = x1 and
then across y = y1 gives a conforming mesh of that cell whose opposite lateral faces are translates of
each other (the face x = x0 and its mirror image x = 2 x1 - x0 carry the same nodes shifted by
2 (x1 - x0)). The symmetry triangles on the two reflection planes become interior and are dropped;
the remaining ones are renamed ``periodic``; the lattice translations are (2 (x1 - x0), 0, 0) and
(0, 2 (y1 - y0), 0). Nodes on a reflection plane are shared, not duplicated. Interface triangles keep
their feature index (a pillar quartered by the cell's corners stays one feature).

Used to check the periodic solver against the mirror cell on the same discretisation (they must
agree to the solver tolerance) and to show a unit cell as the structure it repeats.
"""
from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import Polygon

from .meshing import MeshData

__all__ = ["reflect_mesh", "reflections_to_box", "unfold_mirror_cell"]


def reflect_mesh(mesh: MeshData, point_m: tuple[float, float], normal: tuple[float, float],
                 drop: str = "symmetry") -> MeshData:
    """The mesh and its mirror image across the vertical plane through ``point_m`` (x, y, metres)
    with unit ``normal`` (nx, ny), joined.

    Nodes within 1e-9 of the mesh's extent of the plane are shared; triangles of boundary ``drop``
    that lie in the plane become interior and are removed. The image's tetrahedra are reoriented
    (two vertices swapped) so that all stay positively oriented.

    Raises
    ------
    ValueError
        If the mesh lies on both sides of the plane (it must be a face of the mesh).
    """
    p = mesh.points_m
    n = np.array([normal[0], normal[1], 0.0]) / np.hypot(*normal)
    tol = 1e-9 * float(np.ptp(p, axis=0).max())
    d = (p - np.array([point_m[0], point_m[1], 0.0])) @ n
    if d.max() > tol and d.min() < -tol:
        raise ValueError("the mesh lies on both sides of the reflection plane")
    on = np.abs(d) <= tol
    count = len(p)
    image = p[~on] - 2 * np.outer(d[~on], n)
    index = np.arange(count)
    index[~on] = count + np.arange(int((~on).sum()))
    points = np.vstack([p, image])
    tets = np.vstack([mesh.tets, index[mesh.tets][:, [1, 0, 2, 3]]])
    tris, feats = {}, {}
    for name, t in mesh.boundary_tris.items():
        keep = ~on[t].all(axis=1) if name == drop else np.ones(len(t), bool)
        tris[name] = np.vstack([t[keep], index[t[keep]]]).astype(t.dtype)
        f = mesh.boundary_feature.get(name)
        if f is not None and len(f) == len(t):
            feats[name] = np.concatenate([f[keep], f[keep]])
    return replace(mesh, points_m=points, tets=tets, tet_region=np.concatenate([mesh.tet_region] * 2),
                   boundary_tris=MappingProxyType(tris), boundary_feature=MappingProxyType(feats))


def _mirror(poly: Polygon, a, b) -> Polygon:
    """``poly`` reflected across the line through a and b."""
    (ax, ay), (bx, by) = a, b
    ux, uy = (bx - ax) / math.hypot(bx - ax, by - ay), (by - ay) / math.hypot(bx - ax, by - ay)
    m = [ux * ux - uy * uy, 2 * ux * uy, 2 * ux * uy, uy * uy - ux * ux]
    off = [ax - m[0] * ax - m[1] * ay, ay - m[2] * ax - m[3] * ay]
    return shapely.affinity.affine_transform(poly, m + off)


def _is_box(poly: Polygon) -> bool:
    """Whether ``poly`` is an axis-aligned rectangle (to round-off)."""
    x0, y0, x1, y1 = poly.bounds
    return abs(poly.area - (x1 - x0) * (y1 - y0)) <= 1e-9 * poly.area


def reflections_to_box(outline_m, depth: int = 4) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The shortest sequence of reflections (each across an edge (a, b) of the cell unfolded so far)
    that unfolds a mirror cell with outline ``outline_m`` (metres) into an axis-aligned rectangle.

    Raises
    ------
    ValueError
        If none of at most ``depth`` reflections does.
    """
    start = shapely.geometry.polygon.orient(Polygon(outline_m))
    frontier = [(start, [])]
    for _ in range(depth + 1):
        for poly, path in frontier:
            if _is_box(poly):
                return path
        grown = []
        for poly, path in frontier:
            ring = list(poly.exterior.coords)[:-1]
            for a, b in zip(ring, ring[1:] + ring[:1]):
                union = shapely.union(poly, _mirror(poly, a, b)).simplify(1e-9 * math.sqrt(poly.area))
                if isinstance(union, Polygon) and not union.interiors:
                    grown.append((union, [*path, (a, b)]))
        frontier = grown
    raise ValueError(f"the mirror cell does not unfold into a rectangle in {depth} reflections")


def unfold_mirror_cell(mesh: MeshData, outline_m) -> MeshData:
    """The periodic cell of a mirror cell with footprint ``outline_m`` (metres): unfolded by
    reflections into a rectangle (:func:`reflections_to_box`), then across its high x and high y
    faces; its remaining ``symmetry`` triangles renamed ``periodic``, with its lattice translations.

    Raises
    ------
    ValueError
        If the mesh has no ``symmetry`` boundary (not a mirror cell), or the cell does not unfold into
        a rectangle.
    """
    if "symmetry" not in mesh.boundary_tris:
        raise ValueError("the mesh has no symmetry faces: it is not a mirror cell")
    for (ax, ay), (bx, by) in reflections_to_box(outline_m):
        mesh = reflect_mesh(mesh, (ax, ay), (by - ay, ax - bx))
    lo, hi = mesh.points_m.min(axis=0), mesh.points_m.max(axis=0)
    out = reflect_mesh(reflect_mesh(mesh, (hi[0], 0.0), (1.0, 0.0)), (0.0, hi[1]), (0.0, 1.0))
    tris = {("periodic" if k == "symmetry" else k): v for k, v in out.boundary_tris.items()}
    feats = {("periodic" if k == "symmetry" else k): v for k, v in out.boundary_feature.items()}
    span = 2 * (hi - lo)
    return replace(out, boundary_tris=MappingProxyType(tris), boundary_feature=MappingProxyType(feats),
                   translations_m=((float(span[0]), 0.0, 0.0), (0.0, float(span[1]), 0.0)))
