"""Interdigitated pillar arrays (seed Fig. 2; Hart et al. 2003).

Pillars of both electrodes stand on the substrate (z = 0), each wired at its base to its electrode's
collector; the electrolyte fills the space between them up to ``electrolyte_height``.

Lattices (``pitch`` = nearest-neighbour centre distance p):

* ``square``: a checkerboard, site (i p, j p) is an anode when i + j is even. Its mirror planes
  x = k p, y = k p, x = y and x + y = p cut the plane into triangles; the unit cell is the triangle
  (0, 0), (p, 0), (p/2, p/2) holding 1/8 of an anode pillar and 1/8 of a cathode pillar
  (footprint p^2 / 4).
* ``triangular``: cathodes on one of the three sublattices of the triangular lattice, anodes on the
  other two (a honeycomb of anodes around every cathode; symmetry p6m). The unit cell is the
  30-60-90 triangle with the cathode C = (0, 0) (30 degrees, 1/12 pillar), the anode A = (p, 0)
  (60 degrees, 1/6 pillar) and M = (3p/4, sqrt(3) p/4), the midpoint of an anode-anode bond
  (footprint sqrt(3) p^2 / 8).

Boundaries: ``anode_interface`` and ``cathode_interface`` (pillar sides, and tops when the electrolyte
covers them), ``anode_collector``/``cathode_collector`` (pillar bases), ``substrate`` (electrolyte on
z = 0, insulating), ``top`` (insulating), ``symmetry`` (mirror planes of the unit cell) or ``outer``
(side walls of a finite array, insulating).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import gmsh

from .model import Feature, Geometry, finish, polygon_area
from .params import Domain, MODEL_UNIT_M, ParameterError, Params, choice, length

NAME = "interdigitated_pillars"
SUMMARY = "interdigitated anode and cathode pillars in an electrolyte (seed Fig. 2)"
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the mirror triangle of the lattice (square or triangular)"


@dataclass(frozen=True)
class InterdigitatedPillarsParams(Params):
    """Geometry of interdigitated pillars (lengths in metres)."""

    lattice: str = choice("square", ("square", "triangular"),
                          "square: checkerboard; triangular: cathodes on one of three sublattices")
    shape: str = choice("circle", ("circle", "square"), "pillar cross-section (square side = 2 x radius)")
    pitch: float = length(40.0, "centre distance between nearest-neighbour pillars")
    anode_radius: float = length(10.0, "anode pillar radius (half side for square pillars)")
    cathode_radius: float = length(10.0, "cathode pillar radius (half side for square pillars)")
    height: float = length(50.0, "pillar height")
    electrolyte_height: float | None = length(None, "electrolyte fill height (default: height)",
                                              rule=">= height")

    def __post_init__(self) -> None:
        if self.electrolyte_height is None:
            object.__setattr__(self, "electrolyte_height", self.height)
        super().__post_init__()

    def check(self) -> None:
        p, ra, rc = self.pitch, self.anode_radius, self.cathode_radius
        if self.electrolyte_height < self.height * (1 - 1e-12):
            self.fail("electrolyte_height", f"must be >= geometry.height ({self.show('height'):g} um): "
                                            "the electrolyte may not be lower than the pillars")
        if self.shape == "square" and self.lattice != "square":
            self.fail("shape", "square pillars need lattice: square (they break the six-fold "
                               "symmetry of the triangular lattice)")
        if ra + rc >= p:
            self.fail("anode_radius", f"anode and cathode pillars overlap or touch: anode_radius + "
                                      f"cathode_radius must be < pitch ({self.show('pitch'):g} um)")
        # same-electrode neighbours
        if self.lattice == "square":
            same = p if self.shape == "square" else p * math.sqrt(2)
            pairs = (("anode_radius", ra, same), ("cathode_radius", rc, same))
        else:
            pairs = (("anode_radius", ra, p), ("cathode_radius", rc, p * math.sqrt(3)))
        for name, r, dist in pairs:
            if 2 * r >= dist:
                self.fail(name, f"neighbouring pillars of the same electrode overlap or touch: "
                                f"2 x {name} must be < {dist / 1e-6:.6g} um on this lattice")

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        """A finite array holds pillars of both electrodes inside the chip; the interface mesh resolves
        every pillar and every gap between pillars (``options["interface_size"]``, metres). The
        electrolyte over the tops is a flat layer, which gmsh meshes however thin (see
        :data:`geom3d.params.MIN_ELEMENTS_ACROSS`)."""
        if domain.kind == "array":
            self.check_array(domain)
        self.require_resolved("anode_radius", options, "the anode pillar", per=2)
        self.require_resolved("cathode_radius", options, "the cathode pillar", per=2)
        for width, formula, what in self.gaps(domain):
            self.require_gap(width, formula, options, what)

    def check_array(self, domain: Domain) -> None:
        """A finite array needs a pillar of each electrode (on both lattices: two sites or more), and
        its pillars inside the chip (the margin is half a pitch)."""
        for name in ("anode_radius", "cathode_radius"):
            if getattr(self, name) >= self.pitch / 2 * (1 - 1e-12):
                self.fail(name, f"must be < pitch / 2 ({self.pitch / 2e-6:.6g} um) in an array: the outer "
                                "pillars would cross the chip edge, half a pitch from their axes")
        electrodes = {e for e, *_ in self.array_sites(domain.nx, domain.ny)[1]}
        if electrodes != {"anode", "cathode"}:
            (only,) = electrodes
            raise ParameterError("array.nx", domain.nx,
                                 f"an array of nx x ny = {domain.nx} x {domain.ny} {self.lattice}-lattice sites "
                                 f"holds only one {only} pillar and no counter electrode: use at least 2 sites "
                                 "(nx: 2 or ny: 2)")

    def gaps(self, domain: Domain) -> list[tuple[float, str, str]]:
        """Electrolyte gaps between neighbouring pillars, and in an array between the outer pillars and
        the chip edge: (width in metres, formula, description)."""
        p, ra, rc = self.pitch, self.anode_radius, self.cathode_radius
        margin = []
        if domain.kind == "array":
            name, r = max((("anode_radius", ra), ("cathode_radius", rc)), key=lambda t: t[1])
            margin = [(p / 2 - r, f"pitch / 2 - {name}", "the electrolyte between the outer pillars and the "
                                                         "chip edge")]
        out = [(p - ra - rc, "pitch - anode_radius - cathode_radius",
                "the electrolyte between anode and cathode pillars")]
        if self.lattice == "square":
            same, text = (p, "pitch") if self.shape == "square" else (p * math.sqrt(2), "sqrt(2) x pitch")
            out += [(same - 2 * ra, f"{text} - 2 x anode_radius", "the electrolyte between anode pillars"),
                    (same - 2 * rc, f"{text} - 2 x cathode_radius", "the electrolyte between cathode pillars")]
        else:
            out += [(p - 2 * ra, "pitch - 2 x anode_radius", "the electrolyte between anode pillars"),
                    (p * math.sqrt(3) - 2 * rc, "sqrt(3) x pitch - 2 x cathode_radius",
                     "the electrolyte between cathode pillars")]
        return out + margin

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2) and height (m) of the modelled cell or array: the electrolyte prism, which
        holds the pillars (see :meth:`Params.box`)."""
        if domain.kind == "unit_cell":
            return polygon_area(self.unit_cell()[0]), self.electrolyte_height
        x0, y0, x1, y1 = self.array_sites(domain.nx, domain.ny)[0]
        return (x1 - x0) * (y1 - y0), self.electrolyte_height

    # --- lattice -----------------------------------------------------------------------------
    def unit_cell(self) -> tuple[list[tuple[float, float]], list[tuple[str, float, float, float]]]:
        """Mirror cell polygon and its pillars (electrode, x, y, fraction), metres."""
        p = self.pitch
        if self.lattice == "square":
            poly = [(0.0, 0.0), (p, 0.0), (p / 2, p / 2)]
            return poly, [("anode", 0.0, 0.0, 1 / 8), ("cathode", p, 0.0, 1 / 8)]
        poly = [(0.0, 0.0), (p, 0.0), (0.75 * p, math.sqrt(3) / 4 * p)]
        return poly, [("cathode", 0.0, 0.0, 1 / 12), ("anode", p, 0.0, 1 / 6)]

    def array_sites(self, nx: int, ny: int) -> tuple[tuple[float, float, float, float],
                                                      list[tuple[str, float, float, float]]]:
        """Finite array: box (x0, y0, x1, y1) with a half-pitch margin, and its pillars
        (electrode, x, y, fraction = 1), metres, row by row."""
        p = self.pitch
        sites = []
        for j in range(ny):
            for i in range(nx):
                if self.lattice == "square":
                    x, y = i * p, j * p
                    electrode = "anode" if (i + j) % 2 == 0 else "cathode"
                else:
                    x, y = i * p + (j % 2) * p / 2, j * p * math.sqrt(3) / 2
                    m = i - j // 2
                    electrode = "cathode" if (m - j) % 3 == 0 else "anode"
                sites.append((electrode, x, y, 1.0))
        xs = [s[1] for s in sites]
        ys = [s[2] for s in sites]
        return (min(xs) - p / 2, min(ys) - p / 2, max(xs) + p / 2, max(ys) + p / 2), sites


def _pillar(p: InterdigitatedPillarsParams, electrode: str, x: float, y: float, s: float) -> int:
    r = (p.anode_radius if electrode == "anode" else p.cathode_radius) * s
    h = p.height * s
    occ = gmsh.model.occ
    if p.shape == "square":
        return occ.addBox(x * s - r, y * s - r, 0, 2 * r, 2 * r, h)
    return occ.addCylinder(x * s, y * s, 0, 0, 0, h, r)


def build(p: InterdigitatedPillarsParams, domain: Domain) -> Geometry:
    """Draw and tag the pillar cell or array in the open gmsh session.

    Parameters
    ----------
    p : InterdigitatedPillarsParams
    domain : Domain
        ``unit_cell`` (mirror cell of the infinite array) or ``array`` (nx x ny pillars).
    """
    occ = gmsh.model.occ
    s = 1.0 / MODEL_UNIT_M
    he = p.electrolyte_height * s
    if domain.kind == "unit_cell":
        poly, sites = p.unit_cell()
        pts = [occ.addPoint(x * s, y * s, 0) for x, y in poly]
        lines = [occ.addLine(pts[k], pts[(k + 1) % len(pts)]) for k in range(len(pts))]
        face = occ.addPlaneSurface([occ.addCurveLoop(lines)])
        body = [t for d, t in occ.extrude([(2, face)], 0, 0, he) if d == 3][0]
        footprint = polygon_area(poly)
        side, outline, mirror = "symmetry", poly, True
    else:
        (x0, y0, x1, y1), sites = p.array_sites(domain.nx, domain.ny)
        body = occ.addBox(x0 * s, y0 * s, 0, (x1 - x0) * s, (y1 - y0) * s, he)
        footprint = (x1 - x0) * (y1 - y0)
        side, outline, mirror = "outer", [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], False
    pillars = []
    for electrode, x, y, _ in sites:
        tool = _pillar(p, electrode, x, y, s)
        if domain.kind == "unit_cell":  # clip the full pillar to the cell
            clip = occ.copy([(3, body)])
            out, _ = occ.intersect([(3, tool)], clip)
            if len(out) != 1:
                raise ParameterError("geometry", p.display(), "a pillar does not meet its unit cell")
            tool = out[0][1]
        pillars.append(tool)
    _, children = occ.fragment([(3, body)], [(3, t) for t in pillars])
    pillar_vols = [tuple(t for _, t in ch) for ch in children[1:]]
    used = {t for vols in pillar_vols for t in vols}
    regions: dict[str, list[int]] = {"electrolyte": [t for _, t in children[0] if t not in used],
                                     "anode": [], "cathode": []}
    features = []
    nx, ny = domain.nx, domain.ny
    for k, ((electrode, x, y, frac), vols) in enumerate(zip(sites, pillar_vols)):
        regions[electrode].extend(vols)
        i, j = k % nx, k // nx
        edge = domain.kind == "array" and (i in (0, nx - 1) or j in (0, ny - 1))
        features.append(Feature(electrode, x, y, frac, vols, edge))
    h = p.height * s
    tol = 1e-6 * max(he, p.pitch * s)

    def outer(region: str, bb: tuple[float, ...]) -> str:
        if bb[5] < tol:
            return "substrate" if region == "electrolyte" else f"{region}_collector"
        if bb[2] > he - tol or (region != "electrolyte" and bb[2] > h - tol):
            return "top"
        return side

    singular = p.electrolyte_height > p.height * (1 + 1e-12) or p.shape == "square"
    return finish(NAME, domain, regions, outer, tuple(features), footprint, singular, outline, mirror)

