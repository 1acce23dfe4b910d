"""Pieces of the results record that several models share."""
from __future__ import annotations

from typing import Any

import numpy as np

from solvers.constants import M_TO_UM
from solvers.names import ELECTRODES

from .base import Setup


def feature_currents(setup: Setup, per_feature: dict[str, float]) -> dict[str, Any]:
    """``pillar_current_A`` (one entry per feature, A) and the edge/interior ratio per electrode."""
    pillars = []
    for k, f in enumerate(setup.geometry.features):
        pillars.append({"electrode": f.electrode, "x_um": f.x_m * M_TO_UM, "y_um": f.y_m * M_TO_UM,
                        "edge": f.edge, "current_A": per_feature[str(k)]})
    ratio = {}
    for e in ELECTRODES:
        edge = [p["current_A"] for p in pillars if p["electrode"] == e and p["edge"]]
        inner = [p["current_A"] for p in pillars if p["electrode"] == e and not p["edge"]]
        if edge and inner:
            ratio[e] = float(np.mean(edge) / np.mean(inner))
    return {"pillar_current_A": pillars, "edge_over_interior_current": ratio}


def facet_mean(j: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Facet average of a quadrature-point field (``j``, ``w``: n_facets x n_qp)."""
    return (j * w).sum(axis=1) / w.sum(axis=1)


def planar_thickness_m(setup: Setup, region: str = "electrolyte") -> float:
    """Thickness of a planar film with the same volume over the same footprint, m."""
    return setup.metrics.volume_m3[region] / setup.metrics.footprint_area_m2


def electronic_conductivity(setup: Setup, electrode: str) -> float | None:
    """The electrode's electronic conductivity (S/m) when it conducts: ``electrode_conduction`` is on
    and its region is meshed; None for an equipotential electrode."""
    if setup.physics.electrode_conduction and setup.cell.has_region(electrode):
        return setup.case.materials[electrode]["electronic_conductivity"]
    return None
