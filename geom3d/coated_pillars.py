"""Coated pillars with a counter-electrode fill (seed Sec. 3D designs; Long et al. 2004, concentric).

Pillars of one electrode (``core``) of radius r and height h stand on their collector (z = 0). A
conformal electrolyte film of thickness t covers their sides and tops and the substrate between them:
the film is the exact offset by t of pillars and substrate, so its outer surface is the cylinder of
radius r + t, the disk z = h + t of radius r, the quarter-torus rim (tube radius t about the circle
rho = r, z = h) joining them, and the plane z = t between the pillars. The counter electrode fills
everything above the film up to ``fill_height`` H, where its collector lies.

Closed forms, per pillar (checked by tests/test_coated_pillars.py):

* core volume pi r^2 h; core|electrolyte area 2 pi r h + pi r^2 (side and top);
* coated pillar (core + film, without the substrate film) C = pi (r+t)^2 h + pi r^2 t
  + pi^2 r t^2 / 2 + 2 pi t^3 / 3 (cylinder, top disk and the rim by Pappus);
* film volume C - pi (r+t)^2 t + A t - pi r^2 h with A the footprint per pillar;
* fill|electrolyte area A - pi (r+t)^2 + 2 pi (r+t)(h - t) + pi^2 r t + 2 pi t^2 + pi r^2.

Lattices (``pitch`` p = nearest-neighbour centre distance): ``square`` (footprint p^2 per pillar) and
``hexagonal`` (pillars on a triangular lattice, every pillar has six neighbours; footprint
sqrt(3) p^2 / 2 per pillar). Unit cells are the mirror triangles (0, 0), (p/2, 0), (p/2, p/2) with 1/8
of a pillar (square) and (0, 0), (p/2, 0), (p/2, p / (2 sqrt 3)) with 1/12 (hexagonal); the coated
pillar fits inside because 2 (r + t) < p.

Boundaries: ``<core>_interface`` and ``<fill>_interface`` (the two faces of the film), ``<core>_collector``
(pillar bases), ``<fill>_collector`` (the plane z = H), ``substrate`` (film on z = 0, insulating),
``symmetry`` (mirror planes) or ``outer`` (side walls of a finite array, insulating). The domain is
convex-edge free: the primary current density is bounded (``singular_edges`` false), except where the
film meets a mirror plane or the outer wall, which are smooth.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import gmsh

from .model import Feature, Geometry, finish
from .params import Domain, MODEL_UNIT_M, ParameterError, Params, choice, length

NAME = "coated_pillars"
SUMMARY = "pillars coated by a conformal electrolyte film, counter electrode filling the rest"
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the mirror triangle of the lattice (1/8 of a square cell, 1/12 of a hexagonal one)"


@dataclass(frozen=True)
class CoatedPillarsParams(Params):
    """Geometry of coated pillars (lengths in metres)."""

    lattice: str = choice("square", ("square", "hexagonal"),
                          "square: four nearest neighbours; hexagonal: six (triangular lattice)")
    core: str = choice("cathode", ("cathode", "anode"), "electrode of the pillars (the other one fills)")
    pitch: float = length(20.0, "centre distance between nearest-neighbour pillars")
    radius: float = length(5.0, "pillar radius")
    height: float = length(50.0, "pillar height")
    electrolyte_thickness: float = length(1.0, "conformal electrolyte film thickness")
    fill_height: float | None = length(None, "top of the counter-electrode fill, where its collector lies "
                                             "(default: height + 2 x electrolyte_thickness)",
                                       rule="> height + electrolyte_thickness")

    def __post_init__(self) -> None:
        if self.fill_height is None and isinstance(self.height, float) and isinstance(
                self.electrolyte_thickness, float):
            object.__setattr__(self, "fill_height", self.height + 2 * self.electrolyte_thickness)
        super().__post_init__()

    @property
    def fill(self) -> str:
        """The counter electrode (the fill)."""
        return "anode" if self.core == "cathode" else "cathode"

    def check(self) -> None:
        r, t, h = self.radius, self.electrolyte_thickness, self.height
        if 2 * (r + t) >= self.pitch * (1 - 1e-12):
            self.fail("pitch", f"coated pillars touch or overlap: pitch must be > 2 x (radius + "
                               f"electrolyte_thickness) = {2 * (r + t) / 1e-6:.6g} um")
        if t >= h:
            self.fail("electrolyte_thickness", f"must be < geometry.height ({self.show('height'):g} um): "
                                               "a film thicker than the pillar is a planar cell")
        if self.fill_height <= (h + t) * (1 + 1e-12):
            self.fail("fill_height", f"the fill must cover the coated pillar tops: fill_height must be "
                                     f"> height + electrolyte_thickness = {(h + t) / 1e-6:.6g} um")

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        """The interface mesh resolves the pillar and the fill between the coated pillars
        (``options["interface_size"]``, metres). The conformal film and the fill over the pillars are
        layers, which gmsh meshes however thin (a 0.2 um film under 2 um elements meshes); any array
        holds both electrodes (the fill surrounds even a single pillar)."""
        r, t = self.radius, self.electrolyte_thickness
        self.require_resolved("radius", options, "the pillar", per=2)
        self.require_gap(self.pitch - 2 * (r + t), "pitch - 2 x (radius + electrolyte_thickness)", options,
                         "the fill between the coated pillars")

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2) and height (m, the fill height) of the modelled cell or array (see
        :meth:`Params.box`)."""
        if domain.kind == "unit_cell":
            return self.cell_area() * self.unit_cell()[2], self.fill_height
        x0, y0, x1, y1 = self.array_sites(domain.nx, domain.ny)[0]
        return (x1 - x0) * (y1 - y0), self.fill_height

    # --- lattice -----------------------------------------------------------------------------
    def cell_area(self) -> float:
        """Footprint per pillar, m^2."""
        p = self.pitch
        return p * p if self.lattice == "square" else math.sqrt(3) / 2 * p * p

    def unit_cell(self) -> tuple[list[tuple[float, float]], float, float]:
        """Mirror cell polygon (metres), its angle at the pillar axis (rad) and the pillar fraction."""
        p = self.pitch
        if self.lattice == "square":
            return [(0.0, 0.0), (p / 2, 0.0), (p / 2, p / 2)], math.pi / 4, 1 / 8
        return [(0.0, 0.0), (p / 2, 0.0), (p / 2, p / (2 * math.sqrt(3)))], math.pi / 6, 1 / 12

    def array_sites(self, nx: int, ny: int) -> tuple[tuple[float, float, float, float], list[tuple[float, float]]]:
        """Finite array: box (x0, y0, x1, y1) with a half-pitch margin and the pillar centres, metres."""
        p = self.pitch
        sites = []
        for j in range(ny):
            for i in range(nx):
                if self.lattice == "square":
                    sites.append((i * p, j * p))
                else:
                    sites.append((i * p + (j % 2) * p / 2, j * p * math.sqrt(3) / 2))
        xs = [x for x, _ in sites]
        ys = [y for _, y in sites]
        return (min(xs) - p / 2, min(ys) - p / 2, max(xs) + p / 2, max(ys) + p / 2), sites


def _coated_pillar(x: float, y: float, r: float, t: float, h: float, angle: float) -> int:
    """Core + film of one pillar (model units): the profile revolved about the pillar axis."""
    occ = gmsh.model.occ
    p = [occ.addPoint(x, y, 0), occ.addPoint(x + r + t, y, 0), occ.addPoint(x + r + t, y, h),
         occ.addPoint(x + r, y, h + t), occ.addPoint(x, y, h + t)]
    centre = occ.addPoint(x + r, y, h)
    curves = [occ.addLine(p[0], p[1]), occ.addLine(p[1], p[2]), occ.addCircleArc(p[2], centre, p[3]),
              occ.addLine(p[3], p[4]), occ.addLine(p[4], p[0])]
    face = occ.addPlaneSurface([occ.addCurveLoop(curves)])
    out = occ.revolve([(2, face)], x, y, 0, 0, 0, 1, angle)
    occ.remove([(0, centre)])
    vol = [tag for dim, tag in out if dim == 3][0]
    if angle >= 2 * math.pi:  # the profile face is left inside the solid of revolution
        occ.remove([(2, face)], recursive=True)
    return vol


def build(p: CoatedPillarsParams, domain: Domain) -> Geometry:
    """Draw and tag the coated-pillar cell or array in the open gmsh session.

    Parameters
    ----------
    p : CoatedPillarsParams
    domain : Domain
        ``unit_cell`` (mirror cell of the infinite array) or ``array`` (nx x ny pillars).
    """
    occ = gmsh.model.occ
    s = 1.0 / MODEL_UNIT_M
    r, t, h, H = p.radius * s, p.electrolyte_thickness * s, p.height * s, p.fill_height * s
    if domain.kind == "unit_cell":
        poly, angle, frac = p.unit_cell()
        pts = [occ.addPoint(x * s, y * s, 0) for x, y in poly]
        lines = [occ.addLine(pts[k], pts[(k + 1) % 3]) for k in range(3)]
        face = occ.addPlaneSurface([occ.addCurveLoop(lines)])
        body = [tg for d, tg in occ.extrude([(2, face)], 0, 0, H) if d == 3][0]
        slab = [tg for d, tg in occ.extrude([(2, face)], 0, 0, t) if d == 3][0]
        centres = [(0.0, 0.0)]
        outline, mirror, side = poly, True, "symmetry"
        footprint = p.cell_area() * frac
        fracs = [frac]
    else:
        (x0, y0, x1, y1), centres = p.array_sites(domain.nx, domain.ny)
        body = occ.addBox(x0 * s, y0 * s, 0, (x1 - x0) * s, (y1 - y0) * s, H)
        slab = occ.addBox(x0 * s, y0 * s, 0, (x1 - x0) * s, (y1 - y0) * s, t)
        angle = 2 * math.pi
        outline, mirror, side = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], False, "outer"
        footprint = (x1 - x0) * (y1 - y0)
        fracs = [1.0] * len(centres)
    coated = [_coated_pillar(x * s, y * s, r, t, h, angle) for x, y in centres]
    film, _ = occ.fuse([(3, slab)], [(3, c) for c in coated])
    if len(film) != 1:
        raise ParameterError("geometry", p.display(), "the electrolyte film is not one connected solid")
    cores = [occ.addCylinder(x * s, y * s, 0, 0, 0, h, r, angle=angle) for x, y in centres]
    _, children = occ.fragment([(3, body)], [(3, c) for c in cores] + film)
    core_vols = [tuple(tg for _, tg in ch) for ch in children[1:1 + len(cores)]]
    in_core = {tg for vols in core_vols for tg in vols}
    in_film = {tg for _, tg in children[-1]} - in_core
    rest = [tg for _, tg in children[0] if tg not in in_core and tg not in in_film]
    regions: dict[str, list[int]] = {p.core: sorted(in_core), "electrolyte": sorted(in_film), p.fill: rest}
    features = []
    for k, ((x, y), vols, f) in enumerate(zip(centres, core_vols, fracs)):
        i, j = k % domain.nx, k // domain.nx
        edge = domain.kind == "array" and (i in (0, domain.nx - 1) or j in (0, domain.ny - 1))
        features.append(Feature(p.core, x, y, f, vols, edge))
    cx = sum(x for x, _ in outline) / len(outline)
    cy = sum(y for _, y in outline) / len(outline)
    features.append(Feature(p.fill, cx, cy, fracs[0] if domain.kind == "unit_cell" else 1.0, tuple(rest)))
    tol = 1e-6 * max(H, p.pitch * s)

    def outer(region: str, bb: tuple[float, ...]) -> str:
        if bb[5] < tol:
            return "substrate" if region == "electrolyte" else f"{region}_collector"
        if bb[2] > H - tol:
            return f"{region}_collector"
        return side

    return finish(NAME, domain, regions, outer, tuple(features), footprint, False, outline, mirror)
