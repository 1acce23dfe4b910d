"""Sponge: interpenetrating cathode web, conformal electrolyte film and anode fill (seed Fig. 3).

A cathode web stands on the cathode collector (z = 0) up to ``web_height``; a conformal electrolyte film
of thickness t_e coats the web and the exposed collector; the anode fills the rest up to ``height``,
where the anode collector lies. The footprint is a ``width`` x ``width`` square.

Web. ``kind: gyroid``: web = {F < tau, z < web_height} with the nodal gyroid
F = sin X cos Y + sin Y cos Z + sin Z cos X, X = 2 pi x / cell_size (origin at the cell corner), tau
set by ``solid_fraction`` (0.5 gives tau = 0). ``kind: random``: F is a Gaussian random field with the
covariance exp(-r^2 / correlation_length^2), made by filtering white noise (numpy generator seeded with
``seed``) in Fourier space on a grid periodic in x and y, and read between grid points by cubic
splines; tau is the ``solid_fraction`` quantile of F in the web zone. Web pieces that do not touch the
collector are removed (reported; more than 2 % of the web is an error).

Film. The film is the set of points within t_e of the web or of the collector: its outer surface is
the zero set of d(x) - t_e with d the Euclidean distance to web and collector, evaluated from a dense
sampling of the web surface (grid-edge crossings of F = tau at a spacing of t_e / 5 or finer, and the
web's top face) with a k-d tree, periodic images included, and from z for the collector.

Meshing (``geom3d.levelset``, ``geom3d.graded``). A lattice of tetrahedra fills the box: Kuhn boxes
of side ``mesh.interface_size`` within and next to the film, bisected from boxes of up to
``mesh.size`` that stay coarse in the bulk of web and fill (graded: the side grows by ``GRADE`` = 2
times the distance to the film, and every box a surface crosses is of the finest size;
``mesh.size`` = ``mesh.interface_size`` gives the uniform lattice). It is cut
conformally, first by the web level set, then by
the film level set, so every region and interface is a conforming union of tetrahedra and triangles
whose interfaces are the piecewise linear interpolants of the true surfaces: the interface areas
converge at second order in the element size (not a staircase of voxels). The mesh goes to the
solver in memory like every other architecture's.

Checks (one-line errors): height > web_height + t_e; the web touches the collector; every piece of the
anode fill reaches its collector (an isolated pocket is film that closed a pore: more than 2 % of the
fill is an error, "film closes the pores"; smaller pockets become film and are reported); no cathode
and anode tetrahedra touch; the film is nowhere thinner than 80 % of t_e (measured at every node of
its outer surface).

Lateral faces. The structures are periodic in x and y (the gyroid with whole cells, the random field
by construction), so the box is a periodic cell. ``lateral: periodic`` (default) names the lateral faces
``periodic``: their nodes match by construction (the lattice and both level sets are periodic, and the
nodes are numbered by their wrapped coordinates before each cut so that opposite faces are split
alike, :func:`periodic_order`), and the solver joins them, so the box is one cell of the infinite
sponge. ``lateral: insulating`` names them ``outer`` and insulates them: the block cut out of the
infinite sponge.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .graded import coarse_axis, graded_lattice, lattice_quality
from .levelset import cut, faces, lattice, quality, signed_volumes, triangle_areas
from .meshing import MeshData
from .metrics import GeometricMetrics
from .model import Feature, Geometry, GeometryError
from .params import Domain, MODEL_UNIT_M, ParameterError, Params, choice, integer, length, number


def _ndimage():
    """scipy.ndimage, imported on first use (every run imports this module through the registry)."""
    from scipy import ndimage  # noqa: PLC0415

    return ndimage


NAME = "sponge"
SUMMARY = "gyroid or random interpenetrating electrodes with a conformal electrolyte film (seed Fig. 3)"
DOMAINS = ("unit_cell",)
IMPLICIT = True
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the periodic block (lateral: periodic, default) or the insulated block (lateral: insulating)"

ISLAND_LIMIT = 0.02
#: growth of the lattice's box side with the distance to the film (side <= interface_size + GRADE * d)
GRADE = 2.0
#: the graded lattice's finest boxes are at most this times interface_size: of the coarse grids with
#: floor(log2(size / interface_size)) or one fewer levels, fitted to the box by rounding the count of
#: coarse boxes up or to the nearest, the one whose finest boxes come closest to interface_size
FINEST_TOLERANCE = 1.05


@dataclass(frozen=True)
class SpongeParams(Params):
    """Geometry of the sponge (lengths in metres)."""

    kind: str = choice("gyroid", ("gyroid", "random"), "gyroid: nodal gyroid level set; random: "
                                                       "smoothed Gaussian random field")
    solid_fraction: float = number(0.5, "web volume fraction below web_height", 0.05, 0.95)
    cell_size: float = length(10.0, "gyroid period (and the default width)")
    correlation_length: float = length(5.0, "random field correlation length")
    seed: int = integer(0, "random field seed (reproducible)", lo=0)
    electrolyte_thickness: float = length(1.0, "conformal electrolyte film thickness")
    web_height: float = length(20.0, "height of the cathode web")
    height: float = length(22.0, "top of the anode fill, where its collector lies",
                           rule="> web_height + electrolyte_thickness")
    width: float | None = length(None, "side of the square footprint (default: one cell_size)")
    lateral: str = choice("periodic", ("periodic", "insulating"),
                          "lateral faces: periodic (a cell of the infinite sponge; the faces are "
                          "joined by the solver) or insulating (the block cut out of it)")

    def __post_init__(self) -> None:
        if self.width is None and isinstance(self.cell_size, float):
            object.__setattr__(self, "width", self.cell_size)
        super().__post_init__()

    def check(self) -> None:
        te, wh = self.electrolyte_thickness, self.web_height
        if self.height <= (wh + te) * (1 + 1e-12):
            self.fail("height", f"the film would reach the anode collector: height must be > web_height + "
                                f"electrolyte_thickness = {(wh + te) / 1e-6:.6g} um")
        if self.kind == "gyroid":
            n = self.width / self.cell_size
            if abs(n - round(n)) > 1e-9 or round(n) < 1:
                self.fail("width", f"must be a whole number of gyroid cells (cell_size "
                                   f"{self.show('cell_size'):g} um) so that the block is a periodic cell")
            scale = self.cell_size
        else:
            scale = self.correlation_length
            if self.width < 2 * scale:
                self.fail("width", f"must be >= 2 x correlation_length ({2 * scale / 1e-6:.6g} um) for a "
                                   "representative random block")
        if te >= 0.25 * scale:
            which = "cell_size" if self.kind == "gyroid" else "correlation_length"
            self.fail("electrolyte_thickness", f"film closes the pores: electrolyte_thickness must be < "
                                               f"{which} / 4 = {scale / 4 / 1e-6:.6g} um")

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2, width^2) and height (m, the anode collector plane) of the periodic block
        (see :meth:`Params.box`)."""
        return self.width ** 2, self.height

    NOT_PERIODIC: ClassVar[str] = "geometry.lateral: insulating"

    def periodic(self, domain: Domain) -> bool:
        """Whether the lateral faces are joined (``lateral: periodic``)."""
        return self.lateral == "periodic"

    def default_interface_size(self, size: float) -> float:
        """``size / 4``, and at most half the film so that the default mesh resolves it (the rule
        of :meth:`check_build`)."""
        return min(size / 4, self.electrolyte_thickness / 2)

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        isize = options.get("interface_size")
        if isize is not None and isize > 0.5 * self.electrolyte_thickness * (1 + 1e-9):
            raise ParameterError("mesh.interface_size", isize / 1e-6,
                                 f"must be <= electrolyte_thickness / 2 = {self.electrolyte_thickness / 2e-6:.6g} "
                                 "um to resolve the film")


# --- the web field -------------------------------------------------------------------------------
class WebField:
    """The function F whose sublevel set {F < tau} below ``web_height`` is the web (model units, um)."""

    def __init__(self, p: SpongeParams):
        s = 1.0 / MODEL_UNIT_M
        self.p = p
        self.kind = p.kind
        self.W, self.wh = p.width * s, p.web_height * s
        self.cell_um = p.cell_size * s
        if p.kind == "gyroid":
            self.k = 2 * math.pi / (p.cell_size * s)
            self.scale = p.cell_size * s / (2 * math.pi)   # F -> a length near the surface
            self.tau = 0.0 if abs(p.solid_fraction - 0.5) < 1e-12 else self._gyroid_tau(p.solid_fraction)
        else:
            ell = p.correlation_length * s
            self.h = ell / 6
            self.n = [max(8, int(math.ceil(self.W / self.h)))] * 2 + [int(math.ceil((self.wh + 2 * ell) / self.h))]
            self.h_xyz = np.array([self.W / self.n[0], self.W / self.n[1], (self.wh + 2 * ell) / self.n[2]])
            rng = np.random.default_rng(p.seed)
            noise = rng.standard_normal(self.n)
            k = [2 * np.pi * np.fft.fftfreq(m, d) for m, d in zip(self.n, self.h_xyz)]
            kx, ky, kz = np.meshgrid(*k, indexing="ij")
            filt = np.exp(-(kx ** 2 + ky ** 2 + kz ** 2) * ell ** 2 / 8)   # covariance exp(-r^2/ell^2)
            g = np.real(np.fft.ifftn(np.fft.fftn(noise) * filt))
            self.grid = (g - g.mean()) / g.std()
            self.coef = _ndimage().spline_filter(self.grid, order=3, mode="grid-wrap")
            self.scale = ell / math.sqrt(2)
            # the solid fraction of the continuous field: the quantile over a grid twice as fine
            # as the noise grid, cell-centred in the web zone
            m = [int(math.ceil(self.W / (ell / 12)))] * 2 + [int(math.ceil(self.wh / (ell / 12)))]
            axes = [(np.arange(k) + 0.5) * (L / k) for k, L in zip(m, (self.W, self.W, self.wh))]
            X, Y, Z = np.meshgrid(*axes, indexing="ij")
            values = self(np.column_stack([X.ravel(), Y.ravel(), Z.ravel()]))
            self.tau = float(np.quantile(values, p.solid_fraction))

    def _gyroid_tau(self, fraction: float) -> float:
        x = (np.arange(64) + 0.5) / 64 * 2 * math.pi
        X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
        F = np.sin(X) * np.cos(Y) + np.sin(Y) * np.cos(Z) + np.sin(Z) * np.cos(X)
        return float(np.quantile(F, fraction))

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        if self.kind == "gyroid":
            X, Y, Z = (self.k * xyz[:, i] for i in range(3))
            return np.sin(X) * np.cos(Y) + np.sin(Y) * np.cos(Z) + np.sin(Z) * np.cos(X)
        idx = (xyz / self.h_xyz).T
        return _ndimage().map_coordinates(self.coef, idx, order=3, mode="grid-wrap", prefilter=False)

    def on_grid(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> np.ndarray:
        """F on the tensor grid xs x ys x zs (shape (nx, ny, nz)); the gyroid is a sum of products of
        functions of one coordinate each, evaluated on the axes (measured: 0.3 s less on the
        surface sampling grid of a 10 x 10 x 23 um block at 0.08 um)."""
        if self.kind != "gyroid":
            X, Y, Z = np.meshgrid(xs, ys, zs, indexing="ij")
            return self(np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])).reshape(X.shape)
        sx, cx = np.sin(self.k * xs)[:, None, None], np.cos(self.k * xs)[:, None, None]
        sy, cy = np.sin(self.k * ys)[None, :, None], np.cos(self.k * ys)[None, :, None]
        sz, cz = np.sin(self.k * zs)[None, None, :], np.cos(self.k * zs)[None, None, :]
        return sx * cy + sy * cz + sz * cx

    def level(self, xyz: np.ndarray) -> np.ndarray:
        """Web level set (approximately a length, negative inside the web)."""
        return np.maximum((self(xyz) - self.tau) * self.scale, xyz[:, 2] - self.wh)


def _surface_samples(web: WebField, spacing: float, keep) -> np.ndarray:
    """Points on the web surface: crossings of F = tau along the edges of a grid of ``spacing`` in
    the periodic block (below web_height), and the web's top face, model units."""
    W, wh = web.W, web.wh
    nx = int(math.ceil(W / spacing))
    nz = int(math.ceil(wh / spacing))
    xs = np.arange(nx) * (W / nx)
    zs = np.linspace(0.0, wh, nz + 1)
    X, Y, Z = np.meshgrid(xs, xs, zs, indexing="ij")
    P = np.stack([X, Y, Z], axis=-1)
    F = web.on_grid(xs, xs, zs) - web.tau
    out = []
    for axis in range(3):
        if axis < 2:
            F2, P2 = np.roll(F, -1, axis=axis), np.roll(P, -1, axis=axis).copy()
            P2[..., axis] = np.where(P2[..., axis] < P[..., axis], P2[..., axis] + W, P2[..., axis])
            F1, P1 = F, P
        else:
            F1, F2, P1, P2 = F[..., :-1], F[..., 1:], P[..., :-1, :], P[..., 1:, :]
        m = (F1 * F2) < 0
        t = F1[m] / (F1[m] - F2[m])
        out.append(P1[m] + t[:, None] * (P2[m] - P1[m]))
    top = P[:, :, -1][F[:, :, -1] < 0]      # the web's flat top face
    pts = np.concatenate(out + [top])
    pts[:, :2] %= W
    return pts[keep(pts)] if keep is not None else pts


@dataclass(frozen=True)
class ImplicitBuild:
    """What an implicit architecture hands to the pipeline instead of an OCC model."""

    geometry: Geometry
    mesh: MeshData
    metrics: GeometricMetrics
    info: dict[str, Any] = field(default_factory=dict)


def _periodic_pairs(points: np.ndarray, W: float) -> np.ndarray:
    """Pairs of nodes that are the same point of the periodic block (x = 0 and x = W, y = 0 and y = W)."""
    out = []
    tol = 1e-9 * W
    for axis in (0, 1):
        lo = np.flatnonzero(points[:, axis] < tol)
        hi = np.flatnonzero(points[:, axis] > W - tol)
        other = [a for a in range(3) if a != axis]
        def key(idx: np.ndarray) -> np.ndarray:
            q = np.round(points[idx][:, other] / (1e-7 * W)).astype(np.int64)   # 1e-7 W grid
            return q[:, 0] * (10 ** 9) + q[:, 1]

        _, ia, ib = np.intersect1d(key(lo), key(hi), return_indices=True)
        out.append(np.column_stack([lo[ia], hi[ib]]))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)


def mesh_lattice(box: tuple[float, float, float], h_in: float, size: float, z_planes: tuple[float, ...],
                 distance, periodic: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """The tetrahedral lattice the level sets cut (model units).

    With ``size`` >= 2 ``h_in`` it is graded (:func:`geom3d.graded.graded_lattice`): coarse Kuhn
    boxes of about h_in 2^L (L = floor(log2(size / h_in)) or one less, fitted to the box and the z
    planes so that the finest boxes come closest to ``h_in``, at most 5 % larger) bisected down to
    the finest within the film and next to the web, their side growing by ``GRADE`` times the
    distance beyond (``distance``: from a point to the film, 0 inside it). Otherwise the uniform
    lattice of side ``h_in`` (:func:`geom3d.levelset.lattice`). Returns the points, the tetrahedra
    and the smallest quality a tetrahedron of the lattice has (:func:`geom3d.graded.lattice_quality`).
    """
    levels = int(math.floor(math.log2(size / h_in) + 1e-9)) if size > h_in else 0
    if levels < 1:
        axes = [coarse_axis(0.0, box[0], h_in), coarse_axis(0.0, box[1], h_in), coarse_axis(0.0, box[2], h_in, z_planes)]
        return (*lattice(box, h_in, z_planes=z_planes), lattice_quality(axes, quality))
    options = [_coarse_axes(box, h_in, k, z_planes, nearest)
               for k in range(max(1, levels - 1), levels + 1) for nearest in (False, True)]
    allowed = [o for o in options if _finest(o) <= FINEST_TOLERANCE * h_in]
    levels, axes = max(allowed, key=lambda o: (_finest(o), o[0]))
    return (*graded_lattice(axes, levels, distance, grade=GRADE, periodic=periodic), lattice_quality(axes, quality))


def _coarse_axes(box, h_in: float, levels: int, z_planes, nearest: bool) -> tuple[int, list[np.ndarray]]:
    """Coarse grid lines of boxes of about h_in 2^levels fitted to the box and the z planes (at most
    that with ``nearest`` false, the nearest count otherwise)."""
    coarse = h_in * 2 ** levels
    return levels, [coarse_axis(0.0, box[0], coarse, nearest=nearest),
                    coarse_axis(0.0, box[1], coarse, nearest=nearest),
                    coarse_axis(0.0, box[2], coarse, z_planes, nearest=nearest)]


def _finest(levels_axes) -> float:
    """The largest side of the finest boxes of coarse grid lines refined ``levels`` times."""
    levels, axes = levels_axes
    return max(float(np.max(np.diff(a))) for a in axes) / 2 ** levels


def periodic_order(points: np.ndarray, tets: np.ndarray, W: float, with_order: bool = False):
    """Renumber the nodes in the order of their coordinates wrapped into the periodic block
    ((x, y) mod W, z), so that a node on the face x = 0 and its image on x = W get the same rank
    among their neighbours. The cutter splits a quadrilateral along the diagonal through its lowest
    node number (:func:`geom3d.levelset.cut`): with this numbering it splits a face and its periodic
    image alike, and the triangles of opposite lateral faces are translates of each other.

    Returns the renumbered points and tetrahedra, the label of each node's point of the periodic
    block (copies on opposite faces share it; for :func:`geom3d.levelset.cut`) and, with
    ``with_order``, the old number of each new node.
    """
    q = 1e-9 * W
    n = int(round(W / q))
    wrapped = [np.round(points[:, a] / q).astype(np.int64) % n for a in (0, 1)]
    z = np.round(points[:, 2] / q).astype(np.int64)
    order = np.lexsort((z, wrapped[1], wrapped[0]))
    new = np.empty(len(points), dtype=np.int64)
    new[order] = np.arange(len(points))
    key = np.column_stack([wrapped[0], wrapped[1], z])[order]
    same = np.concatenate([[0], np.cumsum((np.diff(key, axis=0) != 0).any(axis=1))])
    out = (points[order], new[tets].astype(tets.dtype), same)
    return (*out, order) if with_order else out


def _floating(tets: np.ndarray, mask: np.ndarray, anchor_nodes: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Tetrahedra of ``mask`` whose connected piece (through shared nodes, and across the periodic
    faces) holds no anchor node."""
    sel = np.flatnonzero(mask)
    n_nodes = int(tets.max()) + 1
    # bipartite graph tetrahedra -- nodes, plus the periodic node pairs
    rows = np.repeat(np.arange(len(sel)), 4)
    cols = len(sel) + tets[sel].ravel()
    pa, pb = len(sel) + pairs[:, 0], len(sel) + pairs[:, 1]
    size = len(sel) + n_nodes
    g = coo_matrix((np.ones(len(rows) + len(pa)), (np.concatenate([rows, pa]), np.concatenate([cols, pb]))),
                   shape=(size, size))
    _, labels = connected_components(g, directed=False)
    tet_lab = labels[:len(sel)]
    used = np.zeros(n_nodes, bool)
    used[tets[sel].ravel()] = True
    anchored = np.unique(labels[len(sel) + np.flatnonzero(anchor_nodes & used)])
    out = np.zeros(len(tets), bool)
    out[sel] = ~np.isin(tet_lab, anchored)
    return out


def build(p: SpongeParams, domain: Domain, size: float = 2e-6, interface_size: float = 0.5e-6) -> ImplicitBuild:
    """Build and mesh the sponge (no gmsh needed: the lattice and the cuts are numpy).

    Parameters
    ----------
    p : SpongeParams
    domain : Domain
        ``unit_cell`` only: the periodic block.
    size, interface_size : float
        Element size away from the interfaces and at them, metres (:func:`mesh_lattice`).

    Returns
    -------
    ImplicitBuild
    """
    if domain.kind != "unit_cell":
        raise ParameterError("domain", domain.kind, "sponge supports only unit_cell (a periodic block)")
    p.check_build(domain, {"interface_size": interface_size})
    s = 1.0 / MODEL_UNIT_M
    te, H = p.electrolyte_thickness * s, p.height * s
    h_in = interface_size * s
    web = WebField(p)
    W, wh = web.W, web.wh

    # web surface samples, periodic images, and the islands of a random web
    spacing = min(te / 5, h_in / 2)
    samples = _surface_samples(web, spacing, None)
    removed = 0.0
    if p.kind == "random":
        samples, removed, keep_fn = _drop_islands(web, samples, spacing)
    else:
        keep_fn = None
    images = np.concatenate([samples + [dx, dy, 0] for dx in (-W, 0, W) for dy in (-W, 0, W)])
    near = ((images[:, 0] > -te - h_in) & (images[:, 0] < W + te + h_in)
            & (images[:, 1] > -te - h_in) & (images[:, 1] < W + te + h_in))
    from scipy.spatial import cKDTree  # noqa: PLC0415  (scipy.spatial and ndimage load in 0.2 s: on demand)

    tree = cKDTree(images[near])

    def web_level(xyz: np.ndarray) -> np.ndarray:
        lv = web.level(xyz)
        if keep_fn is not None:
            lv = np.where(keep_fn(xyz), lv, np.maximum(lv, 1e-3 * te))   # removed islands are outside
        return lv

    def film_distance(xyz: np.ndarray, cap: float = np.inf) -> np.ndarray:
        """Distance to the web surface or the collector, model units (np.inf beyond ``cap``)."""
        d, _ = tree.query(xyz, workers=1, distance_upper_bound=cap)
        return np.minimum(d, xyz[:, 2])

    def film_level(xyz: np.ndarray, inside: np.ndarray) -> np.ndarray:
        return np.where(inside, -te, film_distance(xyz, 3 * te) - te)     # beyond 3 te only the sign counts

    planes = (wh,) if p.kind == "random" else tuple(np.arange(1, wh / web.cell_um) * web.cell_um) + (wh,)
    def from_film(xyz: np.ndarray) -> np.ndarray:
        """Distance to the film (0 in it: from the web surface inside the web, beyond t_e outside),
        and the two level sets the cutter will use (web; film's outer surface)."""
        d = film_distance(xyz, te + 2 * size * s)
        lv = web_level(xyz)
        inside = lv < 0
        return np.column_stack([np.where(inside, d, np.maximum(d - te, 0.0)), lv, np.where(inside, -te, d - te)])

    periodic = p.periodic(domain)
    P, T, lattice_q = mesh_lattice((W, W, H), h_in, size * s, planes, from_film, periodic)
    same = None
    if periodic:
        P, T, same = periodic_order(P, T, W)
    c1 = cut(P, T, web_level(P), same=same)
    in_web_node = np.zeros(len(c1.points), bool)
    in_web_node[c1.tets[c1.side < 0].ravel()] = True
    # nodes on the web surface (created by the cut or snapped) count as inside for the film distance
    phi1 = web_level(c1.points)
    phi1[len(P):] = 0.0
    on_web = in_web_node | (np.abs(phi1) <= 1e-12)
    P1, T1, order = c1.points, c1.tets, np.arange(len(c1.points))
    if periodic:
        P1, T1, same, order = periodic_order(P1, T1, W, with_order=True)
    c2 = cut(P1, T1, film_level(P1, on_web[order]), same=same)
    web_side = c1.side[c2.parent]
    region = np.where(web_side < 0, 0, np.where(c2.side < 0, 1, 2))      # cathode, electrolyte, anode
    points, tets = c2.points, c2.tets
    cut_made = np.ones(len(tets), bool)         # not a lattice tetrahedron left whole by both cuts
    cut_made[:c2.n_kept] = c2.parent[:c2.n_kept] >= c1.n_kept

    # checks: connectivity in the periodic block (pieces joined across opposite lateral faces count
    # as one, as they are in the infinite sponge)
    # the faces and the quality of the cut tetrahedra in other threads while the checks run (numpy
    # releases the GIL in its sorts and arithmetic; measured: about 1 s less on the 10 x 10 x 23 um
    # gyroid on two cores)
    with ThreadPoolExecutor(2) as pool:
        found = pool.submit(faces, tets)
        worst = pool.submit(lambda: float(quality(points, tets[cut_made]).min(initial=1.0)))
        vol = np.abs(signed_volumes(points, tets))
        pairs = _periodic_pairs(points, W)
        top_nodes = points[:, 2] > H - 1e-9 * H
        bottom_nodes = points[:, 2] < 1e-9 * H
        cut_off = _floating(tets, region == 2, top_nodes, pairs)
        pocket_fraction = float(vol[cut_off].sum() / vol[region == 2].sum())
        if pocket_fraction > ISLAND_LIMIT:
            raise ParameterError("geometry.electrolyte_thickness", p.show("electrolyte_thickness"),
                                 f"film closes the pores: {pocket_fraction:.1%} of the anode fill is cut off "
                                 "from its collector (electrolyte_thickness too large for the pore size)")
        floating = _floating(tets, region == 0, bottom_nodes, pairs)
        island_fraction = float(vol[floating].sum() / vol[region == 0].sum())
        if island_fraction > ISLAND_LIMIT:
            raise ParameterError("geometry.solid_fraction", p.solid_fraction,
                                 f"the web falls apart: {island_fraction:.1%} of it does not touch the cathode "
                                 "collector (raise solid_fraction)")
        region = np.where(cut_off | floating, 1, region)   # small cut-off pockets become film
        removed += island_fraction
        tris, owners, count = found.result()
        cut_quality = worst.result()
    r0, r1 = region[owners[:, 0]], np.where(owners[:, 1] >= 0, region[np.maximum(owners[:, 1], 0)], -1)
    in_cathode = np.zeros(len(points), bool)
    in_cathode[tets[region == 0].ravel()] = True
    if in_cathode[tets[region == 2].ravel()].any():   # a shared face, edge or node
        raise GeometryError("the anode and the cathode touch: refine mesh.interface_size")
    # film thickness at the nodes of its outer surface
    outer_tris = tris[((r0 == 1) & (r1 == 2)) | ((r0 == 2) & (r1 == 1))]
    on_outer = np.unique(outer_tris)
    d_outer, _ = tree.query(points[on_outer], workers=1)
    d_outer = np.minimum(d_outer, points[on_outer, 2])
    thinnest = float(d_outer.min()) if len(d_outer) else te
    if thinnest < 0.8 * te:
        raise ParameterError("mesh.interface_size", interface_size * 1e6,
                             f"the meshed film is {thinnest:.3g} um thin somewhere, < 80 % of "
                             f"electrolyte_thickness ({te:.3g} um): refine the mesh")

    # boundaries
    names = ("cathode", "electrolyte", "anode")
    btris: dict[str, list[np.ndarray]] = {}

    def add(name: str, sel: np.ndarray) -> None:
        btris.setdefault(name, []).append(tris[sel])

    add("cathode_interface", ((r0 == 0) & (r1 == 1)) | ((r0 == 1) & (r1 == 0)))
    add("anode_interface", ((r0 == 1) & (r1 == 2)) | ((r0 == 2) & (r1 == 1)))
    bd = count == 1
    c = points[tris].mean(axis=1)
    tol = 1e-9 * max(W, H)
    zlo, zhi = c[:, 2] < tol, c[:, 2] > H - tol
    add("cathode_collector", bd & zlo & (r0 == 0))
    add("substrate", bd & zlo & (r0 != 0))
    add("anode_collector", bd & zhi & (r0 == 2))
    add("top", bd & zhi & (r0 != 2))
    add("periodic" if periodic else "outer", bd & ~zlo & ~zhi)
    btris_a = {k: np.concatenate(v) for k, v in btris.items()}
    feats = {k: (np.zeros(len(v), np.int32) if k == "cathode_interface" else
                 np.ones(len(v), np.int32) if k == "anode_interface" else np.full(len(v), -1, np.int32))
             for k, v in btris_a.items()}
    m = MODEL_UNIT_M
    mesh = MeshData(points_m=points * m, tets=tets, tet_region=region.astype(np.int32), region_names=names,
                    boundary_tris=MappingProxyType(btris_a), boundary_feature=MappingProxyType(feats),
                    min_quality=min(lattice_q, cut_quality),
                    translations_m=((W * MODEL_UNIT_M, 0.0, 0.0), (0.0, W * MODEL_UNIT_M, 0.0)) if periodic else ())

    # metrics from the (converged) mesh
    fp = (W * m) ** 2
    volume = {nm: float(vol[region == k].sum()) * m ** 3 for k, nm in enumerate(names)}
    area = {e: float(triangle_areas(points, btris_a[f"{e}_interface"]).sum()) * m * m for e in ("anode", "cathode")}
    metrics = GeometricMetrics(fp, volume, area, {e: area[e] / fp for e in area}, (area["cathode"], area["anode"]))
    features = (Feature("cathode", W / 2 * m, W / 2 * m, 1.0, ()), Feature("anode", W / 2 * m, W / 2 * m, 1.0, ()))
    outline = ((0.0, 0.0), (W * m, 0.0), (W * m, W * m), (0.0, W * m))
    geo = Geometry(NAME, domain, MappingProxyType({}), MappingProxyType({}), features, fp, False,
                   outline, (False,) * 4, ((), ()),
                   translations_m=((W * m, 0.0), (0.0, W * m)) if periodic else ())
    info = {
        "level": web.tau,
        "web_volume_fraction": volume["cathode"] / (fp * wh * m),
        "web_area_per_cell_um2": _area_per_cell(points, btris_a["cathode_interface"], web, p.kind),
        "removed_web_islands_fraction": removed,
        "film_filled_pockets_fraction": pocket_fraction,
        "film_min_thickness_um": thinnest,
        "snapped_nodes": c1.n_snapped + c2.n_snapped,
    }
    return ImplicitBuild(geo, mesh, metrics, info)


def _area_per_cell(points: np.ndarray, tris: np.ndarray, web: "WebField", kind: str) -> float | None:
    """Gyroid: web surface area per cubic cell, over the whole cells below the top cell (whose top is
    the web's flat cap and its rim); None for a random web or a web one cell tall."""
    if kind != "gyroid":
        return None
    a = web.cell_um
    n_layers = int(round(web.wh / a)) - 1
    if n_layers < 1:
        return None
    zc = points[tris][:, :, 2].mean(axis=1)
    sel = zc < n_layers * a
    return float(triangle_areas(points, tris[sel]).sum()) / (n_layers * round(web.W / a) ** 2)


def _drop_islands(web: WebField, samples: np.ndarray, spacing: float):
    """Remove the parts of a random web that do not touch the collector (periodic in x and y).

    Returns the surface samples of the kept web, the removed volume fraction of the web, and a
    function telling whether points lie in a kept part (by the label of the nearest voxel).
    """
    h = spacing * 2
    n = int(math.ceil(web.W / h))
    nz = int(math.ceil(web.wh / h))
    xs = (np.arange(n) + 0.5) * (web.W / n)
    zs = (np.arange(nz) + 0.5) * (web.wh / nz)
    X, Y, Z = np.meshgrid(xs, xs, zs, indexing="ij")
    inside = (web(np.stack([X, Y, Z], -1).reshape(-1, 3)).reshape(X.shape) < web.tau)
    labels, count = _ndimage().label(inside)
    # periodic in x and y: merge labels across the faces
    parent = np.arange(count + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a_face, b_face in ((labels[0], labels[-1]), (labels[:, 0], labels[:, -1])):
        both = (a_face > 0) & (b_face > 0)
        for a, b in np.unique(np.stack([a_face[both], b_face[both]], 1), axis=0):
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(k) for k in range(count + 1)])
    lab = roots[labels]
    grounded = np.unique(lab[:, :, 0][lab[:, :, 0] > 0])
    keep_vox = np.isin(lab, grounded) & inside
    removed = 1.0 - keep_vox.sum() / max(inside.sum(), 1)
    if removed > ISLAND_LIMIT:
        raise ParameterError("geometry.solid_fraction", web.p.solid_fraction,
                             f"the web falls apart: {removed:.1%} of it lies in pieces that do not touch "
                             "the cathode collector (raise solid_fraction)")
    # a point belongs to the kept web if the voxels near it that are inside belong to kept pieces
    dilated = _ndimage().binary_dilation(keep_vox | ~inside, iterations=1) & ~(inside & ~keep_vox)

    def keep(xyz: np.ndarray) -> np.ndarray:
        i = np.clip((xyz[:, 0] % web.W / (web.W / n)).astype(int), 0, n - 1)
        j = np.clip((xyz[:, 1] % web.W / (web.W / n)).astype(int), 0, n - 1)
        k = np.clip((xyz[:, 2] / (web.wh / nz)).astype(int), 0, nz - 1)
        return dilated[i, j, k] | (xyz[:, 2] >= web.wh)

    return samples[keep(samples)], float(removed), keep
