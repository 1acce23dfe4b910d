"""Interdigitated plates: parallel anode and cathode walls (3D-printed design; Sun et al. 2013).

Walls of height h run along y and alternate along x: anode (thickness w_a), electrolyte gap g, cathode
(thickness w_c), gap g, anode ... The repeat period is P = w_a + w_c + 2 g; the electrolyte fills the
space between the walls up to ``electrolyte_height`` H >= h. Each wall's base is its collector.

* ``unit_cell``: the structure is invariant along y and mirror symmetric about every wall's mid-plane,
  so the cell is x in [0, P/2] (half an anode wall, a gap, half a cathode wall) and y in [0, P/2] (any
  depth would do; the faces y = 0 and y = P/2 are mirror planes, like x = 0 and x = P/2). With H = h
  the field between the walls is uniform and the primary ASR is exactly g / sigma per wall area, i.e.
  (g / sigma) (P / 2) / h per footprint.
* ``array``: ``n_pairs`` anode-cathode pairs of walls of ``length`` L, anode first at x = 0, and a
  margin of half the period P/2 of electrolyte beyond the outer wall faces and the wall ends; the wall
  ends and the outer walls show the edge effects.

Boundaries: ``anode_interface``/``cathode_interface`` (wall faces in contact with the electrolyte,
tops included when H > h), ``anode_collector``/``cathode_collector`` (wall bases), ``substrate``,
``top`` (insulating), ``symmetry`` (unit cell) or ``outer`` (array). Wall edges covered by the
electrolyte (H > h, or wall ends in an array) are sharp convex edges: ``singular_edges`` is true.
"""
from __future__ import annotations

from dataclasses import dataclass

import gmsh

from .model import Feature, Geometry, finish
from .params import Domain, MODEL_UNIT_M, Params, integer, length

NAME = "interdigitated_plates"
SUMMARY = "interdigitated anode and cathode walls in an electrolyte (3D-printed design)"
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the mirror cell between two wall mid-planes"


@dataclass(frozen=True)
class InterdigitatedPlatesParams(Params):
    """Geometry of interdigitated plates (lengths in metres)."""

    anode_width: float = length(10.0, "anode wall thickness")
    cathode_width: float = length(10.0, "cathode wall thickness")
    gap: float = length(10.0, "electrolyte gap between neighbouring walls",
                        why="walls must be thinner than their centre distance (anode_width + "
                            "cathode_width) / 2 + gap, or they touch")
    height: float = length(50.0, "wall height")
    electrolyte_height: float | None = length(None, "electrolyte fill height (default: height)",
                                              rule=">= height")
    length: float = length(100.0, "wall length (domain: array)")
    n_pairs: int = integer(2, "number of anode-cathode wall pairs (domain: array)")

    def __post_init__(self) -> None:
        if self.electrolyte_height is None:
            object.__setattr__(self, "electrolyte_height", self.height)
        super().__post_init__()

    @property
    def period(self) -> float:
        """Repeat period P = anode_width + cathode_width + 2 gap, metres."""
        return self.anode_width + self.cathode_width + 2 * self.gap

    def check(self) -> None:
        if self.electrolyte_height < self.height * (1 - 1e-12):
            self.fail("electrolyte_height", f"must be >= geometry.height ({self.show('height'):g} um): "
                                            "the electrolyte may not be lower than the walls")

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        """The interface mesh resolves every wall and every gap (``options["interface_size"]``,
        metres); the electrolyte over the walls is a flat layer, which gmsh meshes however thin. The
        array is set by ``n_pairs`` (>= 1 pair: both electrodes), not by ``array.nx``/``ny``."""
        self.require_resolved("anode_width", options, "the anode wall")
        self.require_resolved("cathode_width", options, "the cathode wall")
        self.require_resolved("gap", options, "the electrolyte gap")
        if domain.kind == "array":
            self.require_resolved("length", options, "the walls")

    def extent(self, domain: Domain) -> tuple[float, float, float, float]:
        """Footprint box (x0, y0, x1, y1) of the modelled cell or array, metres."""
        half = self.period / 2
        if domain.kind == "unit_cell":
            return 0.0, 0.0, half, half
        x_last = self.walls()[-1][1]
        return -self.anode_width / 2 - half, -half, x_last + self.cathode_width / 2 + half, self.length + half

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2) and height (m, the electrolyte height) of the modelled cell or array (see
        :meth:`Params.box`)."""
        x0, y0, x1, y1 = self.extent(domain)
        return (x1 - x0) * (y1 - y0), self.electrolyte_height

    def walls(self) -> list[tuple[str, float, float]]:
        """Array walls: (electrode, x of the mid-plane, thickness), metres, anode first at x = 0."""
        out = []
        for k in range(self.n_pairs):
            x = k * self.period
            out.append(("anode", x, self.anode_width))
            out.append(("cathode", x + (self.anode_width + self.cathode_width) / 2 + self.gap, self.cathode_width))
        return out


def build(p: InterdigitatedPlatesParams, domain: Domain) -> Geometry:
    """Draw and tag the wall cell or array in the open gmsh session.

    Parameters
    ----------
    p : InterdigitatedPlatesParams
    domain : Domain
        ``unit_cell`` (mirror cell of the infinite array) or ``array`` (``n_pairs`` walls pairs of
        ``length``; ``array.nx``/``ny`` are not used).
    """
    occ = gmsh.model.occ
    s = 1.0 / MODEL_UNIT_M
    h, H = p.height * s, p.electrolyte_height * s
    half = p.period / 2
    x0, y0, x1, y1 = p.extent(domain)
    if domain.kind == "unit_cell":
        walls = [("anode", 0.0, p.anode_width, 0.5), ("cathode", half, p.cathode_width, 0.5)]
        tools = [occ.addBox(0, 0, 0, p.anode_width / 2 * s, half * s, h),
                 occ.addBox((half - p.cathode_width / 2) * s, 0, 0, p.cathode_width / 2 * s, half * s, h)]
        side, mirror = "symmetry", True
    else:
        walls = [(e, x, w, 1.0) for e, x, w in p.walls()]
        tools = [occ.addBox((x - w / 2) * s, 0, 0, w * s, p.length * s, h) for _, x, w, _ in walls]
        side, mirror = "outer", False
    body = occ.addBox(x0 * s, y0 * s, 0, (x1 - x0) * s, (y1 - y0) * s, H)
    _, children = occ.fragment([(3, body)], [(3, t) for t in tools])
    wall_vols = [tuple(t for _, t in ch) for ch in children[1:]]
    used = {t for vols in wall_vols for t in vols}
    regions: dict[str, list[int]] = {"electrolyte": [t for _, t in children[0] if t not in used],
                                     "anode": [], "cathode": []}
    features = []
    yc = p.length / 2 if domain.kind == "array" else half / 2
    for k, ((electrode, x, _, frac), vols) in enumerate(zip(walls, wall_vols)):
        regions[electrode].extend(vols)
        edge = domain.kind == "array" and k in (0, len(walls) - 1)
        features.append(Feature(electrode, x, yc, frac, vols, edge))
    tol = 1e-6 * max(H, p.period * s)

    def outer(region: str, bb: tuple[float, ...]) -> str:
        if bb[5] < tol:
            return "substrate" if region == "electrolyte" else f"{region}_collector"
        if bb[2] > H - tol or (region != "electrolyte" and bb[2] > h - tol):
            return "top"
        return side

    singular = domain.kind == "array" or p.electrolyte_height > p.height * (1 + 1e-12)
    outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return finish(NAME, domain, regions, outer, tuple(features), (x1 - x0) * (y1 - y0), singular,
                  outline, mirror)
