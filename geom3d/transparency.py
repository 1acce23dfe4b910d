"""Optical transparency of a design, from the geometry itself.

A ray normal to the substrate passes the device if it meets no opaque solid. Every region but the
electrolyte is opaque (electrodes, collectors, silicon); the substrates are transparent and carry the
``transmittance`` factor. The shadow of the device is the union of the projections of its opaque
solids onto the substrate plane, computed face by face from the OpenCASCADE model:

* a face whose normal is horizontal everywhere (walls, cylinder sides) projects onto a curve: no area;
* a horizontal planar face projects onto itself: its boundary curves are sampled (lines exactly,
  circles at 4096 points per turn, a relative area error below 1e-6) and the face polygon is
  rebuilt with shapely;
* any other face (sloped planes, tori, gyroid surfaces) is taken from its surface mesh: each triangle
  is projected and united with the rest. This is exact for planar faces; for curved ones the error is
  the chordal deviation of the mesh (at most perimeter x s^2 / (8 R) for edge length s and radius of
  curvature R). Faces whose bounding box already lies in the shadow are skipped.

The open area is the footprint outline minus the shadow; ``transparency_fraction`` = open area /
footprint area x transmittance.

Robustness. The polygon overlays run in floating point (exact to round-off). One that GEOS cannot
node (mirror images or neighbouring faces whose shared vertices differ by round-off: a
TopologyException) is redone on operands made valid and snap-rounded to a grid of 1e-9 of their
extent, which moves the area by ~1e-9 relative. A failure left is a one-line :class:`GeometryError`
``transparency: ...``.

Feature size. An opaque feature is a connected component of the shadow; its width is the largest
diameter of a disk inside it that is tangent to its outline, found by testing points of the outline
(a grid of lines of width w gives w, a round pillar its diameter, a square pillar its side, a wall its
thickness; at a crossing of lines the tangent disks are still of diameter w). The unit cell is first unfolded by reflecting it (and its shadow) across its mirror
edges six times (a periodic cell: translated by its lattice vectors), so that a line or pillar cut by
the cell's faces shows its full width. The smallest and
largest such widths are ``smallest_opaque_feature_um`` and ``largest_opaque_feature_um`` (the line width
of a grid, the diameter of a pillar, the wall thickness). An eye resolving 1 arcminute sees a feature
of width w only up to the distance w / tan(1'); beyond ``invisible_at_distance_cm`` = largest width /
tan(1') no opaque feature of the design is resolved any more.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gmsh
import numpy as np
import shapely
import shapely.affinity
from shapely.errors import ShapelyError
from shapely.geometry import LineString, MultiLineString, Polygon, box
from shapely.ops import polygonize

from .meshing import TRI
from .model import Geometry, GeometryError, surfaces_of
from .params import MODEL_UNIT_M

TRANSPARENT_REGIONS = ("electrolyte",)
ARCMINUTE_RAD = math.pi / (180 * 60)
CURVE_SAMPLES = 4096
#: Grid of the snap-rounding retry of a failed polygon overlay, relative to the extent of its operands.
SNAP_GRID_REL = 1e-9


@dataclass(frozen=True)
class Transparency:
    """Transparency of a design.

    Attributes
    ----------
    fraction : float
        Open area / footprint area x transmittance.
    open_area_m2, footprint_area_m2 : float
    smallest_opaque_feature_m, largest_opaque_feature_m : float or None
        Narrowest and widest width of the shadow (None if there is no shadow outline inside the
        footprint: nothing opaque, or everything opaque).
    invisible_at_distance_m : float or None
        Viewing distance beyond which no opaque feature is resolved at 1 arcminute (0 if nothing is
        opaque, None if the footprint is fully opaque).
    outline, shadow : shapely geometry
        The footprint and the shadow in it, micrometres (for maps).
    """

    fraction: float
    open_area_m2: float
    footprint_area_m2: float
    smallest_opaque_feature_m: float | None
    largest_opaque_feature_m: float | None
    invisible_at_distance_m: float | None
    outline: Any = None
    shadow: Any = None


def _grid(*geoms) -> float:
    """Snap-rounding grid for an overlay of ``geoms``: ``SNAP_GRID_REL`` x their largest extent
    (model units, um), never below 1e-12."""
    x0, y0, x1, y1 = shapely.total_bounds(np.array(geoms, dtype=object).ravel())
    extent = max(x1 - x0, y1 - y0) if np.isfinite(x0) else 0.0
    return max(SNAP_GRID_REL * extent, 1e-12)


def _union(geoms):
    """Union of a shapely geometry or a sequence of them, robust to nearly coincident vertices.

    The floating-point overlay runs first (exact to round-off). Polygons reflected across mirror
    edges or projected from neighbouring faces can share vertices that differ by round-off, and GEOS
    then raises a TopologyException ("found non-noded intersection"); the union is redone with snap
    rounding on a grid of ``SNAP_GRID_REL`` x the extent (1e-8 um on a 10 um cell: vertices move by
    less than that, the area by less than perimeter x grid, i.e. ~1e-9 relative).
    """
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        grid = _grid(geoms)
        return shapely.union_all(_snap(geoms, grid), grid_size=grid)


def _snap(geoms, grid: float):
    """Geometries made valid and rounded to ``grid`` (a reflected polygon whose boundary passes
    within round-off of itself comes out self-intersecting; its polygonal structure is kept)."""
    valid = shapely.make_valid(np.array(geoms, dtype=object), method="structure", keep_collapsed=False)
    return shapely.set_precision(valid, grid)


def _intersection(a, b):
    """``a`` intersected with ``b``, with the snap-rounding retry of :func:`_union`."""
    try:
        return shapely.intersection(a, b)
    except shapely.errors.GEOSException:
        grid = _grid(a, b)
        return shapely.intersection(_snap(a, grid), _snap(b, grid), grid_size=grid)


def _face_kind(face: int) -> str:
    """``vertical``, ``horizontal`` (planar, normal +-z) or ``other``."""
    (umin, vmin), (umax, vmax) = np.reshape(gmsh.model.getParametrizationBounds(2, face), (2, 2))
    uu, vv = np.meshgrid(np.linspace(umin, umax, 5), np.linspace(vmin, vmax, 5))
    n = np.reshape(gmsh.model.getNormal(face, np.column_stack([uu.ravel(), vv.ravel()]).ravel()), (-1, 3))
    nz = np.abs(n[:, 2])
    if nz.max() < 1e-9:
        return "vertical"
    if gmsh.model.getType(2, face) == "Plane" and nz.min() > 1 - 1e-12:
        return "horizontal"
    return "other"


def _curve_points(curve: int) -> np.ndarray:
    lo, hi = gmsh.model.getParametrizationBounds(1, curve)
    kind = gmsh.model.getType(1, curve)
    if kind == "Line":
        n = 2
    elif kind == "Circle":  # parameter = angle: CURVE_SAMPLES points per full turn
        n = max(9, math.ceil(abs(hi[0] - lo[0]) / (2 * math.pi) * CURVE_SAMPLES) + 1)
    else:
        n = CURVE_SAMPLES
    xyz = np.reshape(gmsh.model.getValue(1, curve, np.linspace(lo[0], hi[0], n)), (-1, 3))
    # end points exactly on the model's vertices, so that neighbouring curves join without a gap
    ends = [t for _, t in gmsh.model.getBoundary([(1, curve)], combined=False, oriented=True)]
    if len(ends) == 2:
        a, b = (np.asarray(gmsh.model.getValue(0, abs(t), [])) for t in ends)
        if np.linalg.norm(xyz[0] - a) + np.linalg.norm(xyz[-1] - b) > np.linalg.norm(xyz[0] - b) + np.linalg.norm(xyz[-1] - a):
            a, b = b, a
        xyz[0], xyz[-1] = a, b
    return xyz


def _horizontal_face_polygon(face: int):
    """The exact outline of a planar horizontal face, as a shapely (multi)polygon in model units."""
    curves = [abs(t) for _, t in gmsh.model.getBoundary([(2, face)], combined=False, oriented=False)]
    segs, z = [], None
    for c in curves:
        xyz = _curve_points(c)
        z = xyz[0, 2]
        segs.append(LineString(xyz[:, :2]))
    pieces = []
    for poly in polygonize(_union(MultiLineString(segs))):
        q = poly.representative_point()
        if gmsh.model.isInside(2, face, [q.x, q.y, z]):
            pieces.append(poly)
    return _union(pieces)


def _mesh_face_polygon(face: int, index: dict[int, int] | None = None):
    """Union of the projected surface-mesh triangles of a face (model units)."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes(2, face, includeBoundary=True)
    if len(node_tags) == 0:
        raise RuntimeError(f"face {face} has no surface mesh: mesh the model before the transparency")
    pos = {int(t): k for k, t in enumerate(node_tags)}
    xyz = np.reshape(coords, (-1, 3))
    _, en = gmsh.model.mesh.getElementsByType(TRI, face)
    tri = np.vectorize(pos.get)(en.astype(np.int64)).reshape(-1, 3)
    p = xyz[tri][:, :, :2]
    area = 0.5 * np.abs((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
                        - (p[:, 2, 0] - p[:, 0, 0]) * (p[:, 1, 1] - p[:, 0, 1]))
    p = p[area > 1e-14 * max(area.max(), 1e-300)]
    edge = float(np.median(np.hypot(*(p[:, 1] - p[:, 0]).T))) if len(p) else 0.0
    # close the pinholes round-off leaves between projected triangles
    return _close(_union(shapely.polygons(p)), 1e-6 * edge), edge


def shadow(geo: Geometry):
    """The projection of every opaque solid of the model onto the substrate plane (model units).

    Must run in the gmsh session of ``geo``, after meshing if the model has non-planar faces that
    are neither vertical nor covered by a horizontal face.

    Returns
    -------
    cover : shapely geometry
    roughness : float
        0 if every part of the outline is exact; else a tenth of the median edge of the projected
        surface triangles (the scale of the zigzag their union leaves on a curved silhouette).
    """
    faces = set()
    for name, vols in geo.regions.items():
        if name in TRANSPARENT_REGIONS:
            continue
        for v in vols:
            faces |= surfaces_of(v)
    kinds = {f: _face_kind(f) for f in sorted(faces)}
    parts = [_horizontal_face_polygon(f) for f, k in kinds.items() if k == "horizontal"]
    cover = _union(parts)
    rough = 0.0
    for f, k in kinds.items():
        if k != "other":
            continue
        x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(2, f)
        if cover.buffer(1e-9 * max(x1 - x0, y1 - y0, 1.0)).contains(box(x0, y0, x1, y1)):
            continue
        poly, edge = _mesh_face_polygon(f)
        cover = _union([cover, poly])
        rough = max(rough, 0.1 * edge)
    return cover, rough


def _reflect(geom, a: tuple[float, float], b: tuple[float, float]):
    """Mirror image of a shapely geometry across the line through a and b."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    L2 = dx * dx + dy * dy
    c, s2 = (dx * dx - dy * dy) / L2, 2 * dx * dy / L2
    # x' = A x + t with A the reflection matrix about a line through a
    tx = ax - (c * ax + s2 * ay)
    ty = ay - (s2 * ax - c * ay)
    return shapely.affinity.affine_transform(geom, [c, s2, s2, -c, tx, ty])


def _unfold(outline: Polygon, mirror: tuple[bool, ...], shade, depth: int = 6):
    """The shadow on the outline and its mirror images across mirror edges, ``depth`` generations."""
    coords = list(outline.exterior.coords)[:-1]
    cells = [(outline, shade)]
    frontier = [(outline, shade, coords)]
    for _ in range(depth):
        nxt = []
        for cell, sh, pts in frontier:
            for k, m in enumerate(mirror):
                if not m:
                    continue
                a, b = pts[k], pts[(k + 1) % len(pts)]
                img_cell, img_sh = _reflect(cell, a, b), _reflect(sh, a, b)
                img_pts = [tuple(q) for q in np.asarray(_reflect(LineString(pts + [pts[0]]), a, b).coords)[:-1]]
                if any(img_cell.centroid.distance(c.centroid) < 1e-9 * math.sqrt(outline.area) for c, _ in cells):
                    continue
                cells.append((img_cell, img_sh))
                nxt.append((img_cell, img_sh, img_pts))
        frontier = nxt
    # close the seams the round-off of the reflections leaves between neighbouring images
    return _close(_union([_polygons(sh) for _, sh in cells]), 1e-6 * math.sqrt(outline.area))


def _translate(outline: Polygon, translations_m, shade, reach: int = 2):
    """The shadow of a periodic cell and its translates by i t1 + j t2, |i|, |j| <= ``reach``, so that
    a line cut by the cell's faces shows its full width."""
    s = 1.0 / MODEL_UNIT_M
    (ax, ay), (bx, by) = [(x * s, y * s) for x, y in translations_m]
    images = [shapely.affinity.translate(shade, i * ax + j * bx, i * ay + j * by)
              for i in range(-reach, reach + 1) for j in range(-reach, reach + 1)]
    return _close(_union([_polygons(g) for g in images]), 1e-6 * math.sqrt(outline.area))


def _close(geom, delta: float):
    """Morphological closing by ``delta`` with mitre joins: seals seams and pinholes narrower than
    2 delta and keeps corners sharp. Falls back to the input if GEOS returns something else."""
    try:
        with np.errstate(invalid="ignore"):  # GEOS flags near-collinear mitre joins; the result is checked
            closed = geom.buffer(delta, join_style="mitre").buffer(-delta, join_style="mitre")
    except shapely.errors.GEOSException:
        return _polygons(geom)
    if not closed.is_valid or abs(closed.area - geom.area) > 1e-6 * geom.area:
        return _polygons(geom)
    return _polygons(closed)


def _polygons(geom):
    """Only the polygons of a shapely geometry (drop the points and lines boolean ops may leave)."""
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and g.area > 0]
    return _union(polys) if polys else Polygon()


def _segments(geom) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end points of every boundary segment of a (multi)polygon, and the index of the
    polygon (connected component) each belongs to."""
    starts, ends, owner = [], [], []
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon)]
    for k, g in enumerate(polys):
        for ring in [g.exterior, *g.interiors]:
            c = np.asarray(ring.coords)
            starts.append(c[:-1])
            ends.append(c[1:])
            owner.append(np.full(len(c) - 1, k))
    if not starts:
        return np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, dtype=int)
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(owner)


def _tangent_disk_radius(q: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """Radii of the largest disks tangent to the boundary at the points q (Q x 2), centred at
    q + rho n, that meet no boundary segment [a, b] (closed form per segment: first contact at an end
    point or tangency). Vectorised over points and segments."""
    q, n = np.atleast_2d(q)[:, None, :], np.atleast_2d(n)[:, None, :]          # (Q, 1, 2)
    d = a[None] - q
    den = 2 * np.einsum("qsk,qsk->qs", d, np.broadcast_to(n, d.shape))
    far = np.einsum("qsk,qsk->qs", d, d)
    ok = (den > 2 * tol) & (far > tol * tol)
    with np.errstate(divide="ignore", invalid="ignore"):
        best = np.where(ok, far / np.where(ok, den, 1.0), np.inf).min(axis=1)
    u = b - a
    L = np.hypot(u[:, 0], u[:, 1])
    keep = L > 0
    u, L, a2 = u[keep] / L[keep, None], L[keep], a[keep]
    m = np.column_stack([-u[:, 1], u[:, 0]])
    g0 = np.einsum("qsk,sk->qs", q - a2[None], m)
    mn = np.einsum("qk,sk->qs", n[:, 0, :], m)
    # segments on a line through q (q's own segment and its collinear neighbours) never limit the disk
    off_line = np.abs(g0) > tol
    for sign in (1.0, -1.0):
        den = 1 - sign * mn
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(np.abs(den) > 1e-6, sign * g0 / np.where(den == 0, 1.0, den), np.inf)
        good = off_line & np.isfinite(rho) & (rho > tol)
        rho = np.where(good, rho, 0.0)
        # contact point: centre - sign rho m, its position along the segment
        t = (np.einsum("qsk,sk->qs", q - a2[None], u) + rho * np.einsum("qk,sk->qs", n[:, 0, :], u)
             - sign * rho * np.einsum("sk,sk->s", m, u)[None])
        good &= (t >= -tol) & (t <= L[None] + tol)
        best = np.minimum(best, np.where(good, rho, np.inf).min(axis=1))
    return best


def _widths(outline: Polygon, unfolded, rough: float = 0.0, max_queries: int = 200) -> list[float]:
    """Width of every opaque feature (connected component of the shadow) that reaches into the cell.

    The width of a feature is the largest diameter of a disk inside it that is tangent to its
    outline, over query points on the outline inside the cell: a line of width w gives w, a round
    pillar its diameter, a square pillar its side, a wall its thickness.
    """
    scale = math.sqrt(outline.area)
    # contacts closer to the tangent line than this are round-off of the unfolding, not features
    tol = max(1e-6 * scale, rough)
    if rough > 0:  # smooth the zigzag of projected triangles before measuring
        unfolded = _polygons(unfolded.simplify(rough))
    ua, ub, owner = _segments(unfolded)
    if len(ua) == 0:
        return []
    cell = outline.buffer(1e-9 * scale)
    lens = np.hypot(*(ub - ua).T)
    queries = []          # (segment, point)
    for frac in (0.5, 0.1, 0.3, 0.7, 0.9):
        pts = ua + frac * (ub - ua)
        inside = shapely.contains_xy(cell, *pts.T) & (lens > 1e-7 * scale)
        if frac != 0.5:   # extra points only on long segments (straight sides)
            inside &= lens > 0.05 * scale
        queries += [(k, pts[k]) for k in np.flatnonzero(inside)]
    # segments that cross the cell with both their midpoint and ends outside: the clipped midpoint
    if not queries:
        clipped = shapely.intersection(shapely.linestrings(np.stack([ua, ub], axis=1)), outline)
        for k, c in enumerate(clipped):
            if isinstance(c, LineString) and c.length > 1e-7 * scale:
                m = c.interpolate(0.5, normalized=True)
                queries.append((k, np.array([m.x, m.y])))
    if len(queries) > max_queries:
        queries = [queries[k] for k in np.linspace(0, len(queries) - 1, max_queries).astype(int)]
    ks = np.array([k for k, _ in queries])
    qs = np.array([q for _, q in queries])
    d = ub[ks] - ua[ks]
    ns = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
    inward = shapely.contains_xy(unfolded, *(qs + 1e-7 * scale * ns).T)
    ns[~inward] *= -1
    best: dict[int, float] = {}
    for f in np.unique(owner[ks]):
        sel = owner[ks] == f
        own = owner == f   # a disk inside a feature only meets that feature's outline
        rho = _tangent_disk_radius(qs[sel], ns[sel], ua[own], ub[own], tol)
        rho = rho[np.isfinite(rho)]
        if len(rho):
            best[int(f)] = 2 * float(rho.max())
    return list(best.values())


def transparency(geo: Geometry, transmittance: float = 1.0) -> Transparency:
    """Transparency fraction and opaque feature sizes of the model in the open gmsh session.

    A failure of the polygon kernel becomes a one-line :class:`GeometryError` (``transparency: ...``).

    Parameters
    ----------
    geo : Geometry
        A meshed model (faces that are neither vertical nor planar horizontal are read from their
        surface mesh).
    transmittance : float
        Transmittance of the transparent parts (substrates, electrolyte), 0..1.

    Returns
    -------
    Transparency
        Areas and lengths in SI units.
    """
    s = MODEL_UNIT_M
    outline = Polygon([(x / s, y / s) for x, y in geo.outline_m])
    if not outline.is_valid or outline.area <= 0:
        raise GeometryError("transparency: the footprint outline is not a valid polygon")
    with _stage("transparency"):
        return _transparency(geo, outline, transmittance)


@contextlib.contextmanager
def _stage(name: str) -> Iterator[None]:
    """Turn an exception of shapely/GEOS into a one-line :class:`GeometryError` naming the stage."""
    try:
        yield
    except ShapelyError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise GeometryError(f"{name}: the polygon kernel (GEOS) failed on the projected shadow: "
                            f"{reason}") from None


def _transparency(geo: Geometry, outline: Polygon, transmittance: float) -> Transparency:
    """Body of :func:`transparency`; ``outline`` is the footprint polygon in model units (um)."""
    s = MODEL_UNIT_M
    cover, rough = shadow(geo)
    shade = _polygons(_intersection(cover, outline))
    open_area = outline.area - shade.area
    if open_area < 1e-12 * outline.area:  # round-off of the polygon union
        open_area = 0.0
    fraction = open_area / outline.area * transmittance
    if geo.translations_m:
        unfolded = _translate(outline, geo.translations_m, shade)
    elif any(geo.mirror_edges):
        unfolded = _unfold(outline, geo.mirror_edges, shade)
    else:
        unfolded = shade
    widths = _widths(outline, unfolded, rough) if shade.area > 0 and open_area > 1e-12 * outline.area else []
    lo = min(widths) * s if widths else None
    hi = max(widths) * s if widths else None
    if shade.area <= 1e-12 * outline.area:
        invisible = 0.0
    elif hi is None:
        invisible = None
    else:
        invisible = hi / math.tan(ARCMINUTE_RAD)
    return Transparency(fraction, open_area * s * s, outline.area * s * s, lo, hi, invisible, outline, shade)


def mesh_transparency(points_m: np.ndarray, tets: np.ndarray, opaque: np.ndarray,
                      outline_m, transmittance: float = 1.0) -> Transparency:
    """Transparency of a meshed implicit geometry (no OCC model): the shadow is the union of the
    projected boundary triangles of the opaque tetrahedra, the horizontal ones first (exact for the
    collector planes), the sloped ones only where those do not already cover the footprint.

    Parameters
    ----------
    points_m : ndarray (n, 3)
    tets : ndarray (m, 4)
    opaque : ndarray (m,) of bool
    outline_m : sequence of (x, y)
        Footprint polygon, metres.
    transmittance : float

    Returns
    -------
    Transparency
        Areas in SI units; a failure of the polygon kernel is a one-line :class:`GeometryError`.
    """
    with _stage("transparency"):
        return _mesh_transparency(points_m, tets, opaque, outline_m, transmittance)


def _mesh_transparency(points_m: np.ndarray, tets: np.ndarray, opaque: np.ndarray,
                       outline_m, transmittance: float) -> Transparency:
    """Body of :func:`mesh_transparency`."""
    from .levelset import faces  # noqa: PLC0415

    s = MODEL_UNIT_M
    pts = points_m / s
    outline = Polygon([(x / s, y / s) for x, y in outline_m])
    tris, owners, _ = faces(tets)
    o0 = opaque[owners[:, 0]]
    o1 = np.where(owners[:, 1] >= 0, opaque[np.maximum(owners[:, 1], 0)], False)
    skin = tris[o0 != o1]
    p = pts[skin]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    nz = np.abs(n[:, 2]) / np.maximum(np.linalg.norm(n, axis=1), 1e-300)
    flat = nz > 1 - 1e-9
    cover = _close(_union(shapely.polygons(p[flat][:, :, :2])), 1e-9 * math.sqrt(outline.area))
    if not cover.buffer(1e-9 * math.sqrt(outline.area)).contains(outline):
        sloped = (nz > 1e-9) & ~flat
        if sloped.any():
            cover = _union([cover, _union(shapely.polygons(p[sloped][:, :, :2]))])
    shade = _polygons(_intersection(cover, outline))
    open_area = outline.area - shade.area
    if open_area < 1e-9 * outline.area:
        open_area = 0.0
    fraction = open_area / outline.area * transmittance
    invisible = None if open_area == 0 else (0.0 if shade.area == 0 else None)
    return Transparency(fraction, open_area * s * s, outline.area * s * s, None, None, invisible, outline, shade)
