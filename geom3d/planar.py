"""Planar thin-film stack (seed Fig. 1): the reference every 3D design is compared with.

From the substrate (z = 0) up: cathode collector (face z = 0), cathode slab, electrolyte slab, anode
slab, anode collector (top face). The side faces are mirror planes (insulating). The electrode
interfaces are the planes z = t_c and z = t_c + t_e, so the area gain is exactly 1 and the primary
ASR is t_e / sigma.
"""
from __future__ import annotations

from dataclasses import dataclass

import gmsh

from .model import Feature, Geometry, finish
from .params import Domain, MODEL_UNIT_M, ParameterError, Params, length

NAME = "planar"
DOMAINS = ("unit_cell",)
SUMMARY = "planar thin-film stack (seed Fig. 1), the reference design"
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "a column of the stack (insulated mirror sides)"


@dataclass(frozen=True)
class PlanarParams(Params):
    """Geometry of the planar stack (lengths in metres)."""

    width: float = length(10.0, "side of the square footprint")
    cathode_thickness: float = length(1.0, "cathode film thickness")
    electrolyte_thickness: float = length(1.0, "electrolyte film thickness")
    anode_thickness: float = length(1.0, "anode film thickness")

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2) and height (m) of the stack (see :meth:`Params.box`)."""
        return self.width ** 2, self.cathode_thickness + self.electrolyte_thickness + self.anode_thickness


def build(p: PlanarParams, domain: Domain) -> Geometry:
    """Draw and tag the planar stack in the open gmsh session.

    Parameters
    ----------
    p : PlanarParams
    domain : Domain
        Only ``unit_cell``: a planar stack has no repeat unit.
    """
    if domain.kind != "unit_cell":
        raise ParameterError("domain", domain.kind,
                             "planar supports only unit_cell (the stack has no repeat unit; set width)")
    s = 1.0 / MODEL_UNIT_M
    w, tc, te, ta = p.width * s, p.cathode_thickness * s, p.electrolyte_thickness * s, p.anode_thickness * s
    occ = gmsh.model.occ
    cath = occ.addBox(0, 0, 0, w, w, tc)
    elec = occ.addBox(0, 0, tc, w, w, te)
    anod = occ.addBox(0, 0, tc + te, w, w, ta)
    _, children = occ.fragment([(3, cath)], [(3, elec), (3, anod)])
    regions = {"cathode": [t for _, t in children[0]],
               "electrolyte": [t for _, t in children[1]],
               "anode": [t for _, t in children[2]]}
    ztop = tc + te + ta
    tol = 1e-6 * max(w, ztop)

    def outer(region: str, bb: tuple[float, ...]) -> str:
        if bb[5] < tol:
            return "cathode_collector"
        if bb[2] > ztop - tol:
            return "anode_collector"
        return "symmetry"

    features = (Feature("cathode", w / 2 * MODEL_UNIT_M, w / 2 * MODEL_UNIT_M, 1.0, tuple(regions["cathode"])),
                Feature("anode", w / 2 * MODEL_UNIT_M, w / 2 * MODEL_UNIT_M, 1.0, tuple(regions["anode"])))
    return finish(NAME, domain, regions, outer, features,
                  footprint_area_m2=p.width ** 2, singular_edges=False,
                  outline_m=[(0, 0), (p.width, 0), (p.width, p.width), (0, p.width)], mirror_edges=True)
