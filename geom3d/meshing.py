"""Tetrahedral meshing of a tagged model and its hand-over as plain arrays.

Element sizes: ``size`` in the bulk and ``interface_size`` on the electrode|electrolyte interfaces,
graded in between over a distance of ``2 * size``: a ``Constant`` field pins the interface surfaces
(and their edges) to ``interface_size``, a ``Distance`` -> ``Threshold`` field grades the volume, and
their ``Min`` is the background field. Mesh sizes from points, curvature and boundary extension are off
so the field alone decides. gmsh's HXT algorithm (10) meshes the volume on one thread (reproducible).

The mesh is handed over in memory (no file): nodes, tetrahedra with their region index, and the
triangles of every named boundary with, for interfaces, the index of the feature (pillar) they belong
to. Every tetrahedron belongs to one region by construction (each volume entity is in exactly one
physical group, checked by :func:`geom3d.model.assert_all_tagged`), and the count is asserted again here.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import gmsh
import numpy as np

from .model import ELECTRODES, Geometry, GeometryError, gmsh_errors
from .params import MODEL_UNIT_M

TET, TRI = 4, 2  # gmsh element type codes
#: what to change when gmsh fails to mesh without saying why
MESH_ADVICE = ("try a smaller mesh.interface_size or mesh.size (a feature narrower than about two "
               "interface elements is the usual cause)")


@dataclass(frozen=True)
class MeshData:
    """A conforming tetrahedral mesh of all regions, SI units.

    Attributes
    ----------
    points_m : ndarray (n_nodes, 3)
        Node coordinates, metres.
    tets : ndarray (n_tets, 4)
        Node indices of every tetrahedron.
    tet_region : ndarray (n_tets,)
        Index into ``region_names`` for every tetrahedron.
    region_names : tuple of str
    boundary_tris : mapping str -> ndarray (k, 3)
        Triangles (node indices) of every named boundary.
    boundary_feature : mapping str -> ndarray (k,)
        For interface boundaries, the feature index of each triangle (-1 elsewhere).
    min_quality : float
        Smallest minSICN quality of the tetrahedra (1 = regular, <= 0 = inverted).
    translations_m : tuple of (float, float, float)
        A periodic cell's lattice translations, metres: the nodes of its ``periodic`` faces match
        under them (gmsh ``setPeriodic``); empty otherwise.
    """

    points_m: np.ndarray
    tets: np.ndarray
    tet_region: np.ndarray
    region_names: tuple[str, ...]
    boundary_tris: Mapping[str, np.ndarray]
    boundary_feature: Mapping[str, np.ndarray]
    min_quality: float
    translations_m: tuple[tuple[float, float, float], ...] = ()

    def region_mask(self, name: str) -> np.ndarray:
        """Boolean mask of the tetrahedra of region ``name``."""
        return self.tet_region == self.region_names.index(name)


def _set_size_fields(geo: Geometry, size: float, isize: float) -> None:
    iface = sorted(t for e in ELECTRODES for t in geo.interfaces[e])
    fld = gmsh.model.mesh.field
    if not iface or isize >= size:
        return
    xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(-1, -1)
    extent = max(xmax - xmin, ymax - ymin, zmax - zmin)
    const = fld.add("Constant")
    fld.setNumbers(const, "SurfacesList", iface)
    fld.setNumber(const, "IncludeBoundary", 1)
    fld.setNumber(const, "VIn", isize)
    fld.setNumber(const, "VOut", size)
    dist = fld.add("Distance")
    fld.setNumbers(dist, "SurfacesList", iface)
    fld.setNumber(dist, "Sampling", int(min(200, max(20, math.ceil(extent / size) + 1))))
    thr = fld.add("Threshold")
    fld.setNumber(thr, "InField", dist)
    fld.setNumber(thr, "SizeMin", isize)
    fld.setNumber(thr, "SizeMax", size)
    fld.setNumber(thr, "DistMin", 0.0)
    fld.setNumber(thr, "DistMax", 2.0 * size)
    both = fld.add("Min")
    fld.setNumbers(both, "FieldsList", [const, thr])
    fld.setAsBackgroundMesh(both)


def mesh_geometry(geo: Geometry, size_m: float, interface_size_m: float,
                  algorithm3d: int = 10) -> MeshData:
    """Mesh the tagged model of the open gmsh session and return it as arrays.

    Parameters
    ----------
    geo : Geometry
        Record returned by an architecture's ``build``.
    size_m : float
        Target element size in the bulk, metres.
    interface_size_m : float
        Element size on the electrode|electrolyte interfaces, metres.
    algorithm3d : int
        gmsh 3D algorithm (10 = HXT, 1 = Delaunay).
    """
    s = 1.0 / MODEL_UNIT_M
    size, isize = size_m * s, interface_size_m * s
    opt = gmsh.option.setNumber
    opt("Mesh.MeshSizeExtendFromBoundary", 0)
    opt("Mesh.MeshSizeFromPoints", 0)
    opt("Mesh.MeshSizeFromCurvature", 0)
    opt("Mesh.MeshSizeMax", size)
    opt("Mesh.Algorithm", 6)
    opt("Mesh.Algorithm3D", algorithm3d)
    _set_size_fields(geo, size, isize)
    if geo.translations_m:
        set_periodic(geo)
    with gmsh_errors("gmsh could not mesh the geometry", MESH_ADVICE):
        gmsh.model.mesh.generate(3)
    return read_mesh(geo)


def set_periodic(geo: Geometry) -> None:
    """Make the mesh of every ``periodic`` face the translate of its opposite face's (gmsh
    ``setPeriodic``), for each lattice translation of the cell: a face whose bounding box moved by
    the translation is another periodic face's becomes that face's image.

    Raises
    ------
    GeometryError
        If a periodic face has no partner under any translation.
    """
    s = 1.0 / MODEL_UNIT_M
    faces = list(geo.boundaries.get("periodic", ()))
    boxes = {f: np.array(gmsh.model.getBoundingBox(2, f)) for f in faces}
    scale = max(float(np.ptp(np.concatenate([b[:3], b[3:]]))) for b in boxes.values()) if boxes else 1.0
    tol = 1e-6 * scale
    paired = set()
    for tx, ty in geo.translations_m:
        shift = np.array([tx * s, ty * s, 0.0] * 2)
        for f in faces:
            for g in faces:
                if g != f and np.abs(boxes[f] + shift - boxes[g]).max() < tol:
                    affine = [1, 0, 0, tx * s, 0, 1, 0, ty * s, 0, 0, 1, 0, 0, 0, 0, 1]
                    gmsh.model.mesh.setPeriodic(2, [g], [f], affine)
                    paired.update((f, g))
    lone = sorted(set(faces) - paired)
    if lone:
        lo = boxes[lone[0]][:3] * MODEL_UNIT_M * 1e6
        raise GeometryError(f"the periodic faces do not match: the face at ({lo[0]:.6g}, {lo[1]:.6g}, {lo[2]:.6g}) "
                            "um has no translate among the opposite faces")


def spatial_order(points: np.ndarray) -> np.ndarray:
    """Permutation that sorts points along a Morton (Z-order) curve.

    Nodes that are close in space then get close numbers, so the rows of a finite element matrix
    touch nearby memory, and Gauss-Seidel sweeps (the multigrid smoother) follow the geometry: on
    the coaxial benchmark this saves 15 % of the CG iterations and of the AMG setup time against
    gmsh's own numbering. Coordinates are quantised to 21 bits per axis on the bounding cube.

    Parameters
    ----------
    points : ndarray (n, 3)

    Returns
    -------
    perm : ndarray (n,)
        ``points[perm]`` is in Z-order.
    """
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = points.min(axis=0)
    span = float((points.max(axis=0) - lo).max()) or 1.0
    q = ((points - lo) * ((2 ** 21 - 1) / span)).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:   # bit i of v -> bit 3 i
        for shift, mask in ((32, 0x1F00000000FFFF), (16, 0x1F0000FF0000FF), (8, 0x100F00F00F00F00F),
                            (4, 0x10C30C30C30C30C3), (2, 0x1249249249249249)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    key = spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1)) | (spread(q[:, 2]) << np.uint64(2))
    return np.argsort(key, kind="stable")


def read_mesh(geo: Geometry) -> MeshData:
    """Hand the mesh of the open gmsh session over as arrays (vectorised: one gmsh call per entity and
    element type, node tags mapped to indices by one lookup table). Nodes are numbered along a
    space-filling curve (:func:`spatial_order`)."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    points = coords.reshape(-1, 3) * MODEL_UNIT_M
    perm = spatial_order(points)
    points = np.ascontiguousarray(points[perm])
    index = np.full(int(node_tags.max()) + 1, -1, dtype=np.int64)
    index[node_tags[perm].astype(np.int64)] = np.arange(len(node_tags))

    region_names = tuple(geo.regions)
    tets, regs, etags = [], [], []
    for r, name in enumerate(region_names):
        for vol in geo.regions[name]:
            et, en = gmsh.model.mesh.getElementsByType(TET, vol)
            tets.append(index[en.astype(np.int64)].reshape(-1, 4))
            regs.append(np.full(len(et), r, dtype=np.int32))
            etags.append(et)
    tets_a = np.concatenate(tets)
    n_all = len(gmsh.model.mesh.getElementsByType(TET)[0])
    if n_all != len(tets_a) or (tets_a < 0).any():
        raise GeometryError(f"{n_all - len(tets_a)} tetrahedra are not in any region")
    if len(tets_a) == 0:
        raise GeometryError("the mesh has no tetrahedra")
    quality = gmsh.model.mesh.getElementQualities(np.concatenate(etags), "minSICN")

    surf_feature = {t: k for k, surfs in enumerate(geo.feature_surfaces) for t in surfs}
    tris, feats = {}, {}
    for name, surfs in geo.boundaries.items():
        tt, ff = [], []
        for sf in surfs:
            _, en = gmsh.model.mesh.getElementsByType(TRI, sf)
            t = index[en.astype(np.int64)].reshape(-1, 3)
            tt.append(t)
            ff.append(np.full(len(t), surf_feature.get(sf, -1), dtype=np.int32))
        tris[name] = np.concatenate(tt) if tt else np.zeros((0, 3), dtype=np.int64)
        feats[name] = np.concatenate(ff) if ff else np.zeros(0, dtype=np.int32)
    return MeshData(points_m=points, tets=tets_a, tet_region=np.concatenate(regs),
                    region_names=region_names, boundary_tris=MappingProxyType(tris),
                    boundary_feature=MappingProxyType(feats), min_quality=float(quality.min()),
                    translations_m=tuple((x, y, 0.0) for x, y in geo.translations_m))
