"""Transparent grid (mesh) battery: two line grids facing each other (seed refs. 31, 32; Yang et al. 2011).

The cathode grid is embedded flush in the lower transparent substrate: square grid lines of width w and
pitch p, centred on x = i p and y = j p, occupying -t_c < z < 0. The electrolyte slab fills
0 < z < t_e. The anode grid, shifted by ``offset`` (dx, dy), is embedded flush in the upper substrate
(t_e < z < t_e + t_a). Only the face of each line that faces the other grid touches the electrolyte;
the rest of the electrolyte faces (z = 0 and z = t_e between the lines) are insulating substrate.
The substrates are transparent insulators and are not meshed.

Where a line face meets the flush substrate the primary current density is singular (r^-1/2):
``singular_edges`` is always true. With an offset the current runs diagonally between the grids.

Domains:

* ``unit_cell``: the mirror cell [0, p/2] x [0, p/2] when the offset allows it: the planes x = 0 and
  x = p/2 are mirror planes of both grids only when dx is 0 or p/2 (the same for y). With any other
  offset (or ``cell: periodic``) the unit cell is the periodic cell [0, p] x [0, p]: its lateral faces
  are named ``periodic``, meshed as translates of each other (gmsh ``setPeriodic``) and joined by
  the solver (``solvers/periodic.py``); lines cut by the faces are clipped to the cell.
* ``array``: nx x ny grid cells, i.e. nx + 1 (ny + 1) lines of each grid across the chip, with a
  half-pitch margin; lines run to the chip edge and are clipped there.

Each line in the unit cell counts as 1/8 of a feature, so ``solution.current_per_feature_A`` is the
current of one p x p grid cell (two lines' worth). In arrays every line is a feature; a crossing belongs
to the line along y.

Offsets are taken in [0, p/2] per component: an offset d and p - d are mirror images of each other.

Boundaries: ``cathode_interface`` (z = 0 line faces), ``anode_interface`` (z = t_e line faces),
``substrate`` (the electrolyte faces on z = 0 and z = t_e between the lines, insulating),
``cathode_collector``/``anode_collector`` (the line faces buried in the substrates: the line metal),
``internal`` (between pieces of crossing lines), ``symmetry`` or ``outer``.
"""
from __future__ import annotations

from dataclasses import dataclass

import gmsh

from .model import Feature, Geometry, finish, outline_edge
from .params import Domain, MODEL_UNIT_M, ParameterError, Params, choice, length, length_pair, number

NAME = "transparent_mesh"
SUMMARY = "two facing grids of electrode lines embedded flush in transparent substrates"
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the mirror cell [0, p/2]^2 (offsets 0 or p/2) or the periodic cell [0, p]^2 (any offset; geometry.cell)"


@dataclass(frozen=True)
class TransparentMeshParams(Params):
    """Geometry of the transparent grid battery (lengths in metres)."""

    pitch: float = length(100.0, "grid pitch (line centre distance), both grids")
    line_width: float = length(10.0, "line width, both grids", rule="< pitch")
    cathode_thickness: float = length(2.0, "cathode line height (into the lower substrate)")
    anode_thickness: float = length(2.0, "anode line height (into the upper substrate)")
    electrolyte_thickness: float = length(5.0, "distance between the two grids")
    offset: tuple[float, float] = length_pair((0.0, 0.0), "[dx, dy] shift of the anode grid; [0, 0] aligned",
                                              rule="two lengths in [0, pitch/2]")
    substrate_transmittance: float = number(1.0, "optical transmittance of the substrates and electrolyte",
                                            0.0, 1.0)
    cell: str = choice("auto", ("auto", "mirror", "periodic"),
                       "unit cell: the mirror cell [0, p/2]^2 (offsets 0 or p/2 only), the periodic cell "
                       "[0, p]^2 (any offset), or auto (mirror where the offset allows it)")

    def check(self) -> None:
        p, w = self.pitch, self.line_width
        if w >= p * (1 - 1e-12):
            self.fail("line_width", f"a grid wider than its pitch is a solid plate: line_width must be "
                                    f"< pitch ({self.show('pitch'):g} um)")
        for v in self.offset:
            if v > p / 2 * (1 + 1e-12):
                self.fail("offset", f"each component must be in [0, pitch/2] = [0, {p / 2 / 1e-6:.6g}] um "
                                    "(an offset d and pitch - d are mirror images)")

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        """The unit cell takes offsets 0 or pitch/2; the interface mesh resolves the lines and the
        openings between them (``options["interface_size"]``, metres). The electrolyte slab and the
        line heights are layers, which gmsh meshes however thin."""
        if domain.kind == "unit_cell" and self.cell == "mirror":
            self.cell_offset()
        self.require_resolved("line_width", options, "the grid lines")
        self.require_gap(self.pitch - self.line_width, "pitch - line_width", options,
                         "the openings between the lines")

    def periodic(self, domain: Domain) -> bool:
        """Whether the modelled cell is the periodic cell [0, p]^2 (see the module docstring)."""
        if domain.kind != "unit_cell" or self.cell == "mirror":
            return False
        if self.cell == "periodic":
            return True
        try:
            self.cell_offset()
        except ParameterError:
            return True
        return False

    def extent(self, domain: Domain) -> tuple[float, float, float, float]:
        """Footprint box (x0, y0, x1, y1) of the modelled cell or array, metres."""
        p = self.pitch
        if self.periodic(domain):
            return 0.0, 0.0, p, p
        if domain.kind == "unit_cell":
            return 0.0, 0.0, p / 2, p / 2
        return -p / 2, -p / 2, domain.nx * p + p / 2, domain.ny * p + p / 2

    def grid_centres(self, domain: Domain, electrode: str) -> tuple[list[float], list[float]]:
        """Centre coordinates of one grid's lines: x of the lines along y, y of the lines along x,
        metres (the unit cell's lines at 0 or pitch/2)."""
        p = self.pitch
        if self.periodic(domain):            # the line and its neighbours that reach into [0, p]
            dx, dy = self.offset if electrode == "anode" else (0.0, 0.0)
            return [dx - p, dx, dx + p], [dy - p, dy, dy + p]
        if domain.kind == "unit_cell":
            ox, oy = self.cell_offset() if electrode == "anode" else (False, False)
            return [p / 2 if ox else 0.0], [p / 2 if oy else 0.0]
        dx, dy = self.offset if electrode == "anode" else (0.0, 0.0)
        return [i * p + dx for i in range(domain.nx + 1)], [j * p + dy for j in range(domain.ny + 1)]

    def grid_area(self, domain: Domain, electrode: str) -> float:
        """Area covered by one grid's lines (clipped to the footprint box), m^2."""
        x0, y0, x1, y1 = self.extent(domain)
        cx, cy = self.grid_centres(domain, electrode)
        w = self.line_width

        def covered(centres: list[float], lo: float, hi: float) -> float:
            return sum(max(0.0, min(c + w / 2, hi) - max(c - w / 2, lo)) for c in centres)

        wx, wy = covered(cx, x0, x1), covered(cy, y0, y1)
        return wx * (y1 - y0) + wy * (x1 - x0) - wx * wy

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2) and mean meshed height (m) of the modelled cell or array: the electrolyte
        slab plus the lines buried in the two substrates (the substrates are not meshed; see
        :meth:`Params.box`)."""
        x0, y0, x1, y1 = self.extent(domain)
        area = (x1 - x0) * (y1 - y0)
        lines = (self.cathode_thickness * self.grid_area(domain, "cathode")
                 + self.anode_thickness * self.grid_area(domain, "anode"))
        return area, self.electrolyte_thickness + lines / area

    def cell_offset(self) -> tuple[bool, bool]:
        """For the unit cell: whether the anode lines sit at p/2 (True) or at 0 (False), per axis."""
        p = self.pitch
        out = []
        for axis, v in zip("xy", self.offset):
            if abs(v) <= 1e-9 * p:
                out.append(False)
            elif abs(v - p / 2) <= 1e-9 * p:
                out.append(True)
            else:
                raise ParameterError("geometry.offset", self.show("offset"),
                                     f"the mirror cell (cell: mirror) needs each component 0 or pitch/2 "
                                     f"({axis} is {v / 1e-6:.6g} um): use cell: periodic (or auto) for "
                                     "another offset")
        return out[0], out[1]


def build(p: TransparentMeshParams, domain: Domain) -> Geometry:
    """Draw and tag the two grids and the electrolyte in the open gmsh session.

    Parameters
    ----------
    p : TransparentMeshParams
    domain : Domain
        ``unit_cell`` (mirror cell, offsets 0 or pitch/2) or ``array`` (nx x ny grid cells).
    """
    occ = gmsh.model.occ
    s = 1.0 / MODEL_UNIT_M
    pitch, w = p.pitch, p.line_width
    tc, te, ta = p.cathode_thickness * s, p.electrolyte_thickness * s, p.anode_thickness * s
    # lines: (electrode, axis the line runs along, centre coordinate across, z0, dz, fraction)
    lines: list[tuple[str, str, float, float, float, float]] = []
    x0, y0, x1, y1 = p.extent(domain)
    periodic = p.periodic(domain)
    frac = 0.5 / 4 if domain.kind == "unit_cell" else 1.0
    for electrode, z0, dz in (("cathode", -tc, tc), ("anode", te, ta)):
        along_y, along_x = p.grid_centres(domain, electrode)
        lines += [(electrode, "y", c, z0, dz, frac) for c in along_y]
        lines += [(electrode, "x", c, z0, dz, frac) for c in along_x]
    side, mirror = ("symmetry", True) if domain.kind == "unit_cell" else ("outer", False)
    if periodic:
        side, mirror = "periodic", False
        # a periodic cell holds one line of each direction per grid: a piece counts by its width
        pieces = [(ln, _clipped(ln, x0, y0, x1, y1, w)) for ln in lines]
        lines = [(e, a, c, z0, dz, 0.5 * (hi - lo) / w) for (e, a, c, z0, dz, _), span in pieces
                 if span is not None for lo, hi in [span]]
    tools = []
    for electrode, along, c, z0, dz, _ in lines:
        lo, hi = _clipped((electrode, along, c), x0, y0, x1, y1, w)
        if along == "y":
            tools.append(occ.addBox(lo * s, y0 * s, z0, (hi - lo) * s, (y1 - y0) * s, dz))
        else:
            tools.append(occ.addBox(x0 * s, lo * s, z0, (x1 - x0) * s, (hi - lo) * s, dz))
    body = occ.addBox(x0 * s, y0 * s, 0, (x1 - x0) * s, (y1 - y0) * s, te)
    _, children = occ.fragment([(3, body)], [(3, t) for t in tools])
    # a crossing piece belongs to two lines: give it to the first (lines along y come first)
    owner: dict[int, int] = {}
    for k, ch in enumerate(children[1:]):
        for _, t in ch:
            owner.setdefault(t, k)
    regions: dict[str, list[int]] = {"electrolyte": [t for _, t in children[0] if t not in owner],
                                     "anode": [], "cathode": []}
    features = []
    for k, (electrode, along, c, _, _, frac) in enumerate(lines):
        vols = tuple(sorted(t for t, o in owner.items() if o == k))
        regions[electrode].extend(vols)
        xy = (c, (y0 + y1) / 2) if along == "y" else ((x0 + x1) / 2, c)
        edge = domain.kind == "array" and (c - w / 2 < (x0 if along == "y" else y0) + pitch
                                           or c + w / 2 > (x1 if along == "y" else y1) - pitch)
        features.append(Feature(electrode, xy[0], xy[1], frac, vols, edge))
    tol = 1e-6 * max(te, pitch * s)

    box = [(x0 * s, y0 * s), (x1 * s, y0 * s), (x1 * s, y1 * s), (x0 * s, y1 * s)]

    def outer(region: str, bb: tuple[float, ...]) -> str:
        flat = bb[5] - bb[2] < tol
        if region == "electrolyte" and flat:
            return "substrate"
        if region != "electrolyte" and flat and (bb[5] < -tc + tol or bb[2] > te + ta - tol):
            return f"{region}_collector"
        if region != "electrolyte" and not flat and outline_edge(bb, box, tol) is None:
            return f"{region}_collector"   # line sides buried in the substrate
        return side

    outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return finish(NAME, domain, regions, outer, tuple(features), (x1 - x0) * (y1 - y0), True,
                  outline, mirror, translations_m=((x1 - x0, 0.0), (0.0, y1 - y0)) if periodic else ())


def _clipped(line: tuple, x0: float, y0: float, x1: float, y1: float, w: float) -> tuple[float, float] | None:
    """The across-extent (lo, hi) of a line clipped to the footprint box, None when it misses it
    (metres)."""
    _, along, c = line[:3]
    lo, hi = (x0, x1) if along == "y" else (y0, y1)
    a, b = max(c - w / 2, lo), min(c + w / 2, hi)
    return (a, b) if b > a + 1e-12 * w else None

