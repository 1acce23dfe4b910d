"""The secondary current distribution: electrolyte conduction with Butler-Volmer (or linear)
kinetics on both interfaces, the electrodes equipotential or conducting
(``electrode_conduction``), galvanostatic (``current_density``) or potentiostatic
(``cell_voltage``); the equations are in :mod:`solvers.secondary`.

Kinetics per electrode come from its material (exchange current density, transfer coefficients)
at ``physics.temperature``, with the series resistance r = t / s of the collapsed films between its
interface and its collector (:func:`film_resistance`). Before meshing, :func:`preflight` refuses a
current the interface kinetics alone cannot carry (a rigorous bound, see there).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from geom3d import GeometryError
from solvers.cell import CellError
from solvers.constants import A_M2_TO_MA_CM2, M2_TO_CM2, M_TO_UM, S_M_TO_S_CM
from solvers.fieldmetrics import normal_current_density, weighted_stats
from solvers.kinetics import Kinetics
from solvers.names import ELECTRODES
from solvers.primary import cell_gradient
from solvers.secondary import Electrode, InfeasibleError, SecondarySolution, solve_secondary

from ..case import CaseError, CurrentDensity, PhysicsBase, Voltage, _fmt_value, _round
from .base import Fields, Model, Setup, interface_fields, p2_midpoints
from .common import electronic_conductivity, facet_mean, feature_currents, planar_thickness_m


class SecondarySpec(PhysicsBase):
    """``physics:`` keys of the secondary model."""

    model: Literal["secondary"] = Field("secondary", description="current distribution model")
    current_density: CurrentDensity | None = Field(None, description="discharge current per footprint "
                                                                     "(default 0.1 mA/cm2)")
    cell_voltage: Voltage | None = Field(None, description="instead of current_density: potentiostatic, "
                                                           "between 0 and the OCV")
    kinetics: Literal["butler_volmer", "linear"] | None = Field(None, description="interface kinetics "
                                                                                  "(default butler_volmer)")
    electrode_conduction: bool | None = Field(None, description="solve the electronic potential in the "
                                                                "electrodes (default false)")
    takes = "current_density (galvanostatic) or cell_voltage (potentiostatic)"

    def complete(self) -> SecondarySpec:
        if self.current_density is not None and self.cell_voltage is not None:
            raise CaseError(f"physics.cell_voltage = {self.cell_voltage}: give either current_density "
                            "(galvanostatic) or cell_voltage (potentiostatic), not both")
        update: dict[str, Any] = {"kinetics": self.kinetics or "butler_volmer",
                                  "electrode_conduction": bool(self.electrode_conduction)}
        if self.cell_voltage is None and self.current_density is None:
            update["current_density"] = 0.1
        return self.model_copy(update=update)

    def check(self, materials: Mapping[str, Any]) -> None:
        """The properties the model needs, and a cell voltage below the open-circuit voltage."""
        need = ["exchange_current_density"] + (["electronic_conductivity"] if self.electrode_conduction else [])
        for role in ELECTRODES:
            for prop in need:
                if prop not in materials[role].props:
                    why = "the secondary model" if prop == "exchange_current_density" else "electrode_conduction"
                    raise CaseError(f"materials.{role}.{prop}: missing for {materials[role].name!r}, "
                                    f"required by {why}")
        if self.cell_voltage is not None:
            ocv = materials["cathode"]["potential"] - materials["anode"]["potential"]
            if not 0 < self.cell_voltage < ocv:
                raise CaseError(f"physics.cell_voltage = {_fmt_value(self.cell_voltage)}: must lie between 0 and "
                                f"the open-circuit voltage {_round(ocv)} V (discharge)")


# --- kinetics and films ------------------------------------------------------------------------------
def film_resistance(case: Any, geo: Any) -> dict[str, float]:
    """Series resistance (ohm m^2) of the collapsed films between each interface and its collector.

    A film thinner than ``mesh.thin_layer_limit`` is not meshed (trenched silicon); with electrode
    conduction its electrons still cross its thickness t with conductivity s: r = t / s, summed over
    the run of collapsed films next to the electrolyte on that side.
    """
    from ..pipeline import layer_conductivity  # noqa: PLC0415

    out = {e: 0.0 for e in ELECTRODES}
    roles = [layer.role for layer in geo.layers]
    if "electrolyte" not in roles or not case.physics.electrode_conduction:
        return out
    k = roles.index("electrolyte")
    for side in (geo.layers[:k][::-1], geo.layers[k + 1:]):
        run = []
        for layer in side:
            if not layer.collapsed:
                break
            run.append(layer)
        electrode = next((x.role for x in side if x.role in ELECTRODES), None)
        if electrode is None:
            continue
        for layer in run:
            s = layer_conductivity(case, layer)
            if not s:
                raise CaseError(f"geometry.layers: the collapsed {layer.role} film ({layer.material}) has no "
                                "electronic_conductivity, required by electrode_conduction")
            out[electrode] += layer.thickness_m / s
    return out


def kinetics(case: Any, geo: Any) -> dict[str, Kinetics]:
    """Interface kinetics of each electrode at the case's temperature (SI)."""
    ph = case.physics
    films = film_resistance(case, geo)
    out = {}
    for e in ELECTRODES:
        m = case.materials[e]
        out[e] = Kinetics(i0_A_m2=m["exchange_current_density"], alpha_a=m["alpha_anodic"],
                          alpha_c=m["alpha_cathodic"], temperature_K=ph.temperature,
                          linear=ph.kinetics == "linear", film_resistance_ohm_m2=films[e])
    return out


def preflight(case: Any, geo: Any, gm: Any) -> None:
    """Galvanostatic runs: the current must be one the cell can carry. Whatever the current
    distribution, the cell's loss times its current is the dissipation, at least the interface
    terms: (OCV - V) I >= sum over interfaces of integral i eta(i) dA >= I eta(I / A) by Jensen's
    inequality, since i eta(i) is convex for Butler-Volmer and linear kinetics (films included).
    So OCV - V >= eta_a(I / A_a) + |eta_c(I / A_c)|: a current for which that reaches the OCV
    cannot be delivered.

    Raises
    ------
    CaseError
        Naming ``physics.current_density`` and the largest current the bound allows.
    """
    ph = case.physics
    if ph.current_density is None:
        return
    kin = kinetics(case, geo)
    ocv = case.materials["cathode"]["potential"] - case.materials["anode"]["potential"]

    def loss(j_fp: float) -> float:
        return sum(abs(float(kin[e].total_overpotential(np.array([j_fp * gm.footprint_area_m2 / a]))[0]))
                   for e, a in gm.interface_area_m2.items())

    j = ph.current_density     # A/m2 of footprint
    if loss(j) >= ocv:
        lo, hi = 0.0, j
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if loss(mid) < ocv else (lo, mid)
        raise CaseError(f"physics.current_density = {case.model.physics.current_density:g}: more than the cell can "
                        f"deliver: the interface kinetics alone need {loss(j):.3g} V at that current, more than the "
                        f"open-circuit voltage {ocv:.3g} V; the cell carries less than "
                        f"{lo * A_M2_TO_MA_CM2:.3g} mA/cm2")


# --- solve, record, fields ---------------------------------------------------------------------------
def solve(setup: Setup) -> SecondarySolution:
    """Newton solve of the two-field problem on the cell (galvanostatic or potentiostatic)."""
    case, ph = setup.case, setup.physics
    kin = kinetics(case, setup.geometry)
    electrodes = {}
    for e in ELECTRODES:
        electrodes[e] = Electrode(kin[e], case.materials[e]["potential"], electronic_conductivity(setup, e))
    current = None if ph.current_density is None else ph.current_density * setup.footprint_m2
    try:
        return solve_secondary(setup.cell, setup.sigma_S_m, electrodes["anode"], electrodes["cathode"],
                               current_A=current, cell_voltage_V=ph.cell_voltage)
    except CellError as exc:
        raise GeometryError(str(exc)) from None
    except InfeasibleError as exc:
        hint = "; check the electrodes' electronic_conductivity" if ph.electrode_conduction else ""
        raise CaseError(f"physics.current_density = {case.model.physics.current_density}: more than the cell can "
                        f"deliver, {str(exc).split(': ', 1)[1]}{hint}") from None


def _interface_estimates(setup: Setup, sol: SecondarySolution, e: str) -> dict[str, Any]:
    """Field and kinetic estimates of one interface's current density and which one to report:
    the kinetic one where the mesh Biot number h / (sigma R_p) < 1 (see :func:`record`)."""
    r = sol.electrodes[e]
    j_mean = r.current_A / r.dx_m2.sum()
    rp = r.kinetics.resistance(j_mean if e == "anode" else -j_mean)
    jf, wf = normal_current_density(sol.basis.mesh, sol.basis.elem, sol.phi, sol.sigma,
                                    setup.cell.interfaces[e].facets, e, setup.cell.facet_basis(e))
    field = weighted_stats(jf * A_M2_TO_MA_CM2, wf)
    kinetic = weighted_stats(r.j_A_m2 * A_M2_TO_MA_CM2, r.dx_m2)
    # mesh Biot number: interface element size over the kinetic length sigma R_p
    h = math.sqrt(4 / math.sqrt(3) * float(r.dx_m2.sum()) / r.dx_m2.shape[0])
    biot = h / (sol.sigma * rp)
    use_kinetic = biot < 1.0
    j, w = (r.j_A_m2, r.dx_m2) if use_kinetic else (jf, wf)
    return {"rp": rp, "field": field, "kinetic": kinetic, "stats": kinetic if use_kinetic else field,
            "per_facet": facet_mean(j, w),
            "choice": {"estimate": "kinetic" if use_kinetic else "field", "mesh_biot_number": biot,
                       "interface_element_size_um": h * M_TO_UM}}


def planar_loss_V(setup: Setup, kin: Mapping[str, Kinetics], j_fp: float) -> float:
    """Loss of the planar equivalent at ``j_fp`` (A/m^2 of footprint): the same footprint, material
    volumes (layer thickness = volume / footprint) and kinetics; closed form."""
    t_planar = planar_thickness_m(setup)
    loss = j_fp * t_planar / setup.sigma_S_m
    loss += float(kin["anode"].total_overpotential(np.array([j_fp]))[0])
    loss -= float(kin["cathode"].total_overpotential(np.array([-j_fp]))[0])
    if setup.physics.electrode_conduction:
        gm, fp = setup.metrics, setup.footprint_m2
        for e in ELECTRODES:
            if e in setup.case.materials and gm.volume_m3.get(e, 0.0) > 0:
                loss += j_fp * gm.volume_m3[e] / fp / setup.case.materials[e]["electronic_conductivity"]
    return loss


def record(setup: Setup, sol: SecondarySolution) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``solution`` block of results.json and the per-facet current density of each electrode.

    ASR = (OCV - V) / j with j the current per footprint.

    The interface current density has two estimates at the facet quadrature points: the field
    estimate -sigma grad phi_e . n (as for the primary model) and the kinetic law i(eta) itself. Both
    converge to the same values under refinement, but their leading errors scale as
    sigma O(h^k) and g O(h^(k+1)) (g = 1/R_p), a ratio of the mesh Biot number Bi = h / (sigma R_p)
    (h: interface element size): ``current_density_mA_cm2`` takes the kinetic estimate where Bi < 1
    (kinetics spread the current over more than an element) and the field estimate otherwise, so
    fast kinetics tend to the primary statistics on the same mesh. Both estimates are reported
    (``current_density_field_mA_cm2``, ``current_density_kinetic_mA_cm2``); their difference is a
    built-in indicator of the discretisation error.

    The Wagner number of an electrode is sigma R_p / L: R_p the differential interface resistance
    d(eta)/di at the mean interface current density (ohm m^2, collapsed film included), L the
    electrolyte volume per area of that interface (the electrolyte thickness of a planar cell). The
    planar equivalent has the same footprint, the same material volumes and the same kinetics, at the
    same current per footprint (:func:`planar_loss_V`).
    """
    ph, gm, fp = setup.physics, setup.metrics, setup.footprint_m2
    I = sol.current_A
    j_fp = I / fp                                   # A/m2 of footprint
    loss = sol.ocv_V - sol.cell_voltage_V
    asr = loss / j_fp * M2_TO_CM2
    kin = {e: sol.electrodes[e].kinetics for e in ELECTRODES}
    est = {e: _interface_estimates(setup, sol, e) for e in ELECTRODES}
    lengths = {e: gm.volume_m3["electrolyte"] / gm.interface_area_m2[e] for e in ELECTRODES}
    asr_planar = planar_loss_V(setup, kin, j_fp) / j_fp * M2_TO_CM2
    op = sol.overpotential_V
    rec: dict[str, Any] = {
        "model": "secondary",
        "operation": "galvanostatic" if ph.current_density is not None else "potentiostatic",
        "kinetics": ph.kinetics,
        "electrode_conduction": ph.electrode_conduction,
        "temperature_degC": setup.case.model.physics.temperature,
        "cell_voltage_V": sol.cell_voltage_V,
        "ocv_V": sol.ocv_V,
        "current_A": I,
        "anode_current_A": sol.electrodes["anode"].current_A,
        "footprint_current_density_mA_cm2": j_fp * A_M2_TO_MA_CM2,
        "asr_ohm_cm2": asr,
        "overpotential_V": op,
        "overpotential_balance_relative_error": abs(op["total"] - loss) / abs(loss),
        "wagner_number": {e: sol.sigma * est[e]["rp"] / lengths[e] for e in ELECTRODES},
        "wagner_length_um": {e: lengths[e] * M_TO_UM for e in ELECTRODES},
        "interface_resistance_ohm_cm2": {e: est[e]["rp"] * M2_TO_CM2 for e in ELECTRODES},
        "charge_transfer_resistance_ohm_cm2": {e: kin[e].charge_transfer_resistance_ohm_m2 * M2_TO_CM2
                                               for e in ELECTRODES},
        "film_resistance_ohm_cm2": {e: kin[e].film_resistance_ohm_m2 * M2_TO_CM2 for e in ELECTRODES},
        "electrolyte_conductivity_S_cm": sol.sigma * S_M_TO_S_CM,
        "current_density_mA_cm2": {e: est[e]["stats"] for e in ELECTRODES},
        "current_density_estimate": {e: est[e]["choice"] for e in ELECTRODES},
        "current_density_field_mA_cm2": {e: est[e]["field"] for e in ELECTRODES},
        "current_density_kinetic_mA_cm2": {e: est[e]["kinetic"] for e in ELECTRODES},
        "singular_edges": False,
        "planar_equivalent": {"electrolyte_thickness_um": planar_thickness_m(setup) * M_TO_UM,
                              "asr_ohm_cm2": asr_planar},
        "asr_gain_vs_planar": asr_planar / asr,
        "newton": {"iterations": sol.newton.iterations, "relative_residual": sol.newton.relative_residual},
        "linear_solver": {"method": sol.newton.linear.method, "iterations": sol.newton.linear.iterations,
                          "relative_residual": sol.newton.linear.relative_residual},
    }
    if setup.case.domain.kind == "array":
        per_feature = {}
        for k, f in enumerate(setup.geometry.features):
            feat = setup.cell.interfaces[f.electrode].feature
            r = sol.electrodes[f.electrode]
            per_feature[str(k)] = float((r.j_A_m2[feat == k] * r.dx_m2[feat == k]).sum())
        rec.update(feature_currents(setup, per_feature))
    return rec, {e: est[e]["per_facet"] for e in ELECTRODES}


def fields(setup: Setup, sol: SecondarySolution, per_facet: dict[str, np.ndarray]) -> Fields:
    """Electrode potentials (their collector potential, or the electronic potential with electrode
    conduction) and the electrolyte potential on its nodes (Li/Li+ scale; the electrolyte value wins
    on interface nodes); ionic and electronic current density."""
    mesh, cell = setup.mesh, setup.cell
    pot = np.zeros(len(mesh.points_m))
    cur = np.zeros((len(mesh.tets), 3))
    mid: tuple = ()
    for e in ELECTRODES:
        if not cell.has_region(e):
            continue
        r = sol.electrodes[e]
        mask = cell.region_mask(e)
        if r.basis is None:
            pot[np.unique(mesh.tets[mask])] = r.collector_potential_V
        else:
            pot[r.nodes] = r.phi_s[r.basis.nodal_dofs[0]]
            mid += p2_midpoints("potential_V", r.basis, r.nodes, r.phi_s)
            grad = cell_gradient(r.basis.mesh, r.basis, r.phi_s)
            cur[np.flatnonzero(mask)] = -setup.case.materials[e]["electronic_conductivity"] * grad
    pot[cell.electrolyte.nodes] = sol.phi[sol.basis.nodal_dofs[0]]
    cur[cell.electrolyte.cells] = -sol.sigma * cell_gradient(sol.basis.mesh, sol.basis, sol.phi)
    mid += p2_midpoints("potential_V", sol.basis, cell.electrolyte.nodes, sol.phi)
    return Fields(pot, cur, *interface_fields(setup, per_facet), midpoint_data=mid)


def headline(s: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Rows of the CLI summary: per-electrode losses and Wagner numbers, then cell-level values."""
    op = s["overpotential_V"]
    return [("ohmic loss in electrode (V)", op["anode_ohmic"], op["cathode_ohmic"]),
            ("kinetic overpotential (V)", op["anode_kinetic"], op["cathode_kinetic"]),
            ("Wagner number", s["wagner_number"]["anode"], s["wagner_number"]["cathode"]),
            ("open-circuit / cell voltage (V)", f"{s['ocv_V']:.4g} / {s['cell_voltage_V']:.4g}", None),
            ("electrolyte ohmic loss (V)", op["electrolyte_ohmic"], None),
            ("Newton iterations", s["newton"]["iterations"], None)]


MODEL = Model("secondary", SecondarySpec, solve, record, fields, preflight=preflight, headline=headline, periodic=True,
              summary="Butler-Volmer or linear kinetics, optional electrode conduction, galvanostatic or "
                      "potentiostatic")
