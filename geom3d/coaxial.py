"""Coaxial verification cell: one pillar inside a cylindrical counter electrode.

Not a battery design: the closed-form check of the solvers. An anode pillar of radius a stands in a
cylindrical cathode shell whose inner radius is b; the electrolyte fills a < r < b for 0 < z < h, the top
and bottom faces are insulating. The primary current is exactly

    I = 2 pi sigma h V / ln(b / a).

Only the quarter x >= 0, y >= 0 is modelled (the planes x = 0 and y = 0 are mirror planes), so the
modelled current is I / 4 and the footprint is pi (b + w)^2 / 4 with w = (b - a) / 2 the shell thickness.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import gmsh
import numpy as np

from .model import Feature, Geometry, finish
from .params import Domain, MODEL_UNIT_M, ParameterError, Params, length

NAME = "coaxial"
DOMAINS = ("unit_cell",)
SUMMARY = "verification cell: a pillar inside a cylindrical counter electrode (closed-form current)"
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the mirror quarter x >= 0, y >= 0"


@dataclass(frozen=True)
class CoaxialParams(Params):
    """Geometry of the coaxial verification cell (lengths in metres)."""

    inner_radius: float = length(10.0, "radius a of the anode pillar")
    outer_radius: float = length(20.0, "inner radius b of the cathode shell", rule="> inner_radius")
    height: float = length(5.0, "height of pillar, shell and electrolyte")

    def check(self) -> None:
        if self.outer_radius <= self.inner_radius:
            self.fail("outer_radius", f"must be > geometry.inner_radius ({self.show('inner_radius'):g} um)")

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        """The interface mesh resolves the pillar, the electrolyte gap and the cathode shell (of
        thickness (b - a) / 2), ``options["interface_size"]`` in metres."""
        self.require_resolved("inner_radius", options, "the anode pillar", per=2)
        gap = self.outer_radius - self.inner_radius
        self.require_gap(gap / 2, "(outer_radius - inner_radius) / 2", options,
                         "the cathode shell (and the electrolyte gap, twice as wide)")

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2, the quarter disk of the outer shell radius b + (b - a) / 2) and height (m)
        of the modelled quarter cell (see :meth:`Params.box`)."""
        c = self.outer_radius + (self.outer_radius - self.inner_radius) / 2
        return math.pi * c * c / 4, self.height


def build(p: CoaxialParams, domain: Domain) -> Geometry:
    """Draw and tag the quarter coaxial cell in the open gmsh session."""
    if domain.kind != "unit_cell":
        raise ParameterError("domain", domain.kind, "coaxial supports only unit_cell")
    s = 1.0 / MODEL_UNIT_M
    a, b, h = p.inner_radius * s, p.outer_radius * s, p.height * s
    c = b + (b - a) / 2
    occ = gmsh.model.occ
    quarter = math.pi / 2
    cyl_c = occ.addCylinder(0, 0, 0, 0, 0, h, c, angle=quarter)
    cyl_b = occ.addCylinder(0, 0, 0, 0, 0, h, b, angle=quarter)
    cyl_a = occ.addCylinder(0, 0, 0, 0, 0, h, a, angle=quarter)
    _, ch = occ.fragment([(3, cyl_c)], [(3, cyl_b), (3, cyl_a)])
    va = {t for _, t in ch[2]}
    vb = {t for _, t in ch[1]} - va
    vc = {t for _, t in ch[0]} - va - vb
    regions = {"anode": sorted(va), "electrolyte": sorted(vb), "cathode": sorted(vc)}
    tol = 1e-6 * c

    def outer(region: str, bb: tuple[float, ...]) -> str:
        if bb[5] < tol:
            return "substrate" if region == "electrolyte" else f"{region}_collector"
        if bb[2] > h - tol:
            return "top"
        return "symmetry" if min(bb[3] - bb[0], bb[4] - bb[1]) < tol else "outer"

    features = (Feature("anode", 0.0, 0.0, 0.25, tuple(regions["anode"])),
                Feature("cathode", 0.0, 0.0, 0.25, tuple(regions["cathode"])))
    footprint = math.pi * (c * MODEL_UNIT_M) ** 2 / 4
    cm = c * MODEL_UNIT_M
    arc = [(cm * math.cos(a), cm * math.sin(a)) for a in np.linspace(0, quarter, 1025)]
    outline = [(0.0, 0.0)] + arc
    mirror = [True] + [False] * (len(arc) - 1) + [True]
    return finish(NAME, domain, regions, outer, features, footprint, False, outline, mirror)
