"""The primary current distribution: the electrolyte alone between equipotential interfaces.

    -div(sigma grad phi) = 0 in the electrolyte,  phi = V on Gamma_a,  phi = 0 on Gamma_c,
    insulated elsewhere (:mod:`solvers.primary`).

Keys: ``physics.voltage`` (V, default 0.1 V) and ``physics.temperature``. Reports the consistent
current, the ASR V/j against a planar cell with the same electrolyte volume, and the interface
current-density statistics from -sigma grad phi . n.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from solvers.constants import A_M2_TO_MA_CM2, M2_TO_CM2, M_TO_UM, S_M_TO_S_CM
from solvers.fieldmetrics import normal_current_density, weighted_stats
from solvers.names import ELECTRODES
from solvers.primary import PrimarySolution, solve_primary

from ..case import PhysicsBase, Voltage
from .base import Fields, Model, Setup, interface_fields, p2_midpoints
from .common import facet_mean, feature_currents, planar_thickness_m


class PrimarySpec(PhysicsBase):
    """``physics:`` keys of the primary model."""

    model: Literal["primary"] = Field("primary", description="current distribution model")
    voltage: Voltage | None = Field(None, description="potential difference between the electrode surfaces "
                                                      "(default 0.1 V)")
    takes = "voltage"

    def complete(self) -> PrimarySpec:
        return self.model_copy(update={"voltage": 0.1 if self.voltage is None else self.voltage})


def solve(setup: Setup) -> PrimarySolution:
    """Potential in the electrolyte at ``physics.voltage``; one current group per feature of an array."""
    cell = setup.cell
    groups = {}
    if setup.case.domain.kind == "array":
        for k, f in enumerate(setup.geometry.features):
            ifc = cell.interfaces[f.electrode]
            groups[str(k)] = (f.electrode, ifc.facets[ifc.feature == k])
    return solve_primary(cell.electrolyte.mesh, setup.sigma_S_m, cell.interfaces["anode"].facets,
                         cell.interfaces["cathode"].facets, setup.physics.voltage, order=cell.order, groups=groups,
                         basis=cell.basis() if cell.order == 2 else None, periodic=cell.prolongation())


def record(setup: Setup, sol: PrimarySolution) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``solution`` block of results.json and the per-facet current density of each electrode."""
    fp_cm2 = setup.footprint_m2 * M2_TO_CM2
    V, I = sol.voltage_V, sol.current_A
    asr = V * fp_cm2 / I
    t_planar = planar_thickness_m(setup)
    asr_planar = t_planar / sol.sigma * M2_TO_CM2
    stats, per_facet = {}, {}
    for e in ELECTRODES:
        j, w = normal_current_density(sol.mesh, sol.elem, sol.phi, sol.sigma, setup.cell.interfaces[e].facets, e,
                                      setup.cell.facet_basis(e))
        stats[e] = weighted_stats(j * A_M2_TO_MA_CM2, w)
        per_facet[e] = facet_mean(j, w)
    frac = {e: sum(f.fraction for f in setup.geometry.features if f.electrode == e) for e in ELECTRODES}
    rec: dict[str, Any] = {
        "model": "primary",
        "voltage_V": V,
        "current_A": I,
        "anode_current_A": sol.anode_current_A,
        "asr_ohm_cm2": asr,
        "electrolyte_conductivity_S_cm": sol.sigma * S_M_TO_S_CM,
        "current_density_mA_cm2": stats,
        "singular_edges": setup.geometry.singular_edges,
        "current_per_feature_A": {e: I / frac[e] for e in ELECTRODES if frac[e] > 0},
        "planar_equivalent": {"electrolyte_thickness_um": t_planar * M_TO_UM, "asr_ohm_cm2": asr_planar},
        "asr_gain_vs_planar": asr_planar / asr,
        "linear_solver": {"method": sol.solve_info.method, "iterations": sol.solve_info.iterations,
                          "relative_residual": sol.solve_info.relative_residual},
    }
    if sol.group_current_A:
        rec.update(feature_currents(setup, sol.group_current_A))
    return rec, per_facet


def fields(setup: Setup, sol: PrimarySolution, per_facet: dict[str, np.ndarray]) -> Fields:
    """Potential on every node (electrodes at their interface potential), current density on every
    tetrahedron, interface facet values."""
    mesh, cell = setup.mesh, setup.cell
    pot = np.zeros(len(mesh.points_m))
    for e, value in (("anode", sol.voltage_V), ("cathode", 0.0)):
        if cell.has_region(e):
            pot[np.unique(mesh.tets[cell.region_mask(e)])] = value
    pot[cell.electrolyte.nodes] = sol.nodal_values()
    cur = np.zeros((len(mesh.tets), 3))
    cur[cell.electrolyte.cells] = -sol.sigma * sol.cell_gradient()
    mid = p2_midpoints("potential_V", sol.basis, cell.electrolyte.nodes, sol.phi)
    return Fields(pot, cur, *interface_fields(setup, per_facet), midpoint_data=mid)


MODEL = Model("primary", PrimarySpec, solve, record, fields, periodic=True,
              summary="electrolyte conduction between equipotential interfaces (fixed voltage)")
