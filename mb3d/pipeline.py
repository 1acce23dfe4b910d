"""The mb3d pipeline: case -> parameters -> geometry -> mesh -> solve -> metrics -> outputs.

Each stage is a function with explicit inputs; :func:`run_case` chains them and returns an immutable
:class:`RunResult` whose ``record`` is the results.json mapping (``../shared/spec/results.md``).
The gmsh session covers only the geometry and mesh stages; the mesh reaches scikit-fem in memory.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from geom3d import GeometricMetrics, Geometry, GeometryError, MeshData, exact_metrics, gmsh_session, mesh_geometry
from geom3d.model import collector_boundaries
from geom3d.transparency import Transparency, mesh_transparency, transparency
from solvers.fem import find_facets, submesh
from solvers.fieldmetrics import A_M2_TO_MA_CM2, normal_current_density, weighted_stats
from solvers.materials import library
from solvers.kinetics import Kinetics
from solvers.primary import PrimarySolution, cell_gradient, solve_primary
from solvers.secondary import Electrode, InfeasibleError, SecondarySolution, solve_secondary

from . import __version__
from .case import Case, CaseError, check_work, estimated_elements

SCHEMA_VERSION = 1
#: geometry + mesh of recent runs, keyed by :meth:`mb3d.case.Case.mesh_key` (a DoE batch whose cases
#: differ only in materials or operating point meshes once: a case's process hands its mesh back to
#: the process that started it, see :func:`remember_mesh`)
MESH_CACHE: dict[str, tuple] = {}
MESH_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()
ELECTRODES = ("anode", "cathode")
M2_TO_CM2 = 1e4
C_TO_UAH = 1 / 3.6e-3


@dataclass(frozen=True)
class Fields:
    """Arrays for the VTU outputs (full mesh, SI).

    Attributes
    ----------
    potential_V : ndarray (n_nodes,)
        Electrolyte potential; electrode regions carry their electrode's potential.
    current_density_A_m2 : ndarray (n_tets, 3)
        Ionic current density -sigma grad phi, cell average (zero in the electrodes).
    interface_tris : ndarray (k, 3)
        Anode then cathode interface triangles (full-mesh node numbering).
    interface_electrode : ndarray (k,)
        1 for anode, 2 for cathode.
    interface_feature : ndarray (k,)
    interface_j_A_m2 : ndarray (k,)
        Normal current density, facet average (discharge sign: out of the anode, into the cathode).
    """

    potential_V: np.ndarray
    current_density_A_m2: np.ndarray
    interface_tris: np.ndarray
    interface_electrode: np.ndarray
    interface_feature: np.ndarray
    interface_j_A_m2: np.ndarray


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced: the results record, the mesh and the output fields."""

    record: MappingProxyType
    mesh: MeshData
    fields: Fields
    optical: Transparency | None = None


# --- stages --------------------------------------------------------------------------------------
def build_geometry(case: Case) -> Geometry:
    """Geometry stage (inside an open gmsh session)."""
    return case.architecture.build(case.params, case.domain, **case.build_options)


def preflight(case: Case, geo: Geometry, gm: GeometricMetrics) -> float:
    """Checks that need the exact geometry but not the mesh (cheap: OCC volumes and areas).

    * the element count, estimated from the exact volumes and interface areas
      (:func:`mb3d.case.estimated_elements`), must not exceed ``mesh.max_elements``;
    * galvanostatic secondary runs: the current must be one the cell can carry. Whatever the current
      distribution, the cell's loss times its current is the dissipation, at least the interface
      terms: (OCV - V) I >= sum over interfaces of integral i eta(i) dA >= I eta(I / A) by Jensen's
      inequality, since i eta(i) is convex for Butler-Volmer and linear kinetics (films included).
      So OCV - V >= eta_a(I / A_a) + |eta_c(I / A_c)|: a current for which that reaches the OCV
      cannot be delivered.

    Returns
    -------
    float
        The estimated number of tetrahedra.

    Raises
    ------
    CaseError
        Naming ``mesh.size`` (work too large) or ``physics.current_density`` (current too large).
    """
    n = check_work(case.model, _meshed_volume(geo, gm), sum(gm.interface_area_m2.values()))
    ph = case.model.physics
    if ph.model != "secondary" or ph.current_density is None:
        return n
    kin = kinetics(case, geo)
    ocv = case.materials["cathode"]["potential"] - case.materials["anode"]["potential"]

    def loss(j_fp: float) -> float:
        return sum(abs(float(kin[e].total_overpotential(np.array([j_fp * gm.footprint_area_m2 / a]))[0]))
                   for e, a in gm.interface_area_m2.items())

    j = ph.current_density * 10.0     # A/m2 of footprint
    if loss(j) >= ocv:
        lo, hi = 0.0, j
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if loss(mid) < ocv else (lo, mid)
        raise CaseError(f"physics.current_density = {ph.current_density:g}: more than the cell can deliver: "
                        f"the interface kinetics alone need {loss(j):.3g} V at that current, more than the "
                        f"open-circuit voltage {ocv:.3g} V; the cell carries less than {lo / 10:.3g} mA/cm2")
    return n


def check_geometry(case: Case, verbose: bool = False) -> float:
    """Build the geometry (not the mesh) and run :func:`preflight`: what ``mb3d validate`` checks
    beyond the case file. Returns the estimated number of tetrahedra. The sponge, which meshes
    itself, is not built (its box estimate was checked by :func:`mb3d.case.load_case`)."""
    if case.architecture.implicit:
        footprint, height = case.params.box(case.domain)
        return estimated_elements(case.model, footprint * height, lattice=True)
    with gmsh_session(verbose=verbose):
        geo = build_geometry(case)
        return preflight(case, geo, exact_metrics(geo))


def _meshed_volume(geo: Geometry, gm: GeometricMetrics) -> float:
    """Volume of the meshed regions (collapsed films of a stack are not meshed)."""
    return sum(v for k, v in gm.volume_m3.items() if k in geo.regions) or sum(gm.volume_m3.values())


def build_mesh(case: Case, geo: Geometry) -> MeshData:
    """Mesh stage (inside the same gmsh session)."""
    return mesh_geometry(geo, case.model.mesh.size * 1e-6, case.interface_size_um * 1e-6)


def optical(case: Case, geo: Geometry) -> Transparency:
    """Transparency stage (inside the gmsh session, after meshing): the shadow of the opaque solids."""
    return transparency(geo, getattr(case.params, "substrate_transmittance", 1.0))


def geometry_record(case: Case, geo: Geometry, gm: GeometricMetrics, tr: Transparency) -> dict[str, Any]:
    """The ``geometry`` block of results.json: areas, volumes, transparency, capacity and energy per
    footprint."""
    fp = gm.footprint_area_m2
    charge = {e: gm.volume_m3.get(e, 0.0) * case.materials[e]["density"] * case.materials[e]["specific_capacity"]
              for e in ELECTRODES}  # coulombs
    cap = {e: charge[e] * C_TO_UAH / (fp * M2_TO_CM2) for e in ELECTRODES}
    capacity = min(cap.values())
    emf = case.materials["cathode"]["potential"] - case.materials["anode"]["potential"]
    rec = {
        "footprint_area_um2": fp * 1e12,
        "volume_um3": {k: v * 1e18 for k, v in gm.volume_m3.items()},
        "interface_area_um2": {e: gm.interface_area_m2[e] * 1e12 for e in ELECTRODES},
        "area_gain": dict(gm.area_gain),
        "transparency_fraction": tr.fraction,
        "open_area_um2": tr.open_area_m2 * 1e12,
        "smallest_opaque_feature_um": None if tr.smallest_opaque_feature_m is None else tr.smallest_opaque_feature_m * 1e6,
        "largest_opaque_feature_um": None if tr.largest_opaque_feature_m is None else tr.largest_opaque_feature_m * 1e6,
        "invisible_at_distance_cm": None if tr.invisible_at_distance_m is None else tr.invisible_at_distance_m * 100,
        "capacity_uAh_cm2": capacity,
        "capacity_by_electrode_uAh_cm2": cap,
        "limiting_electrode": min(cap, key=cap.get),
        "energy_uWh_cm2": capacity * emf,
    }
    if geo.layers:
        rec["layers"] = layer_records(case, geo, fp)
        rec["collapsed_layers"] = [layer.role for layer in geo.layers if layer.collapsed]
    return rec


def _electronic_conductivity(case: Case, layer: Any) -> float | None:
    """Electronic conductivity of a film's material (S/m), if the library or the case gives one."""
    if layer.role in case.materials:
        return case.materials[layer.role].props.get("electronic_conductivity")
    mat = library().get(layer.material)
    return None if mat is None else mat.props.get("electronic_conductivity")


def layer_records(case: Case, geo: Geometry, footprint_m2: float) -> list[dict[str, Any]]:
    """Per film of a stack: thickness, exact volume, area gain (volume / (thickness x footprint): how
    much more of the film the footprint holds than a flat film), sheet conductance (electronic
    conductivity x thickness) and, for the electrodes, capacity per footprint against the same film on
    a flat substrate."""
    out = []
    for layer in geo.layers:
        gain = layer.volume_m3 / (layer.thickness_m * footprint_m2)
        item: dict[str, Any] = {"role": layer.role, "material": layer.material,
                                "thickness_um": layer.thickness_m * 1e6, "collapsed": layer.collapsed,
                                "volume_um3": layer.volume_m3 * 1e18, "area_gain": gain}
        sigma = _electronic_conductivity(case, layer)
        if sigma is not None:   # what a collapsed film keeps for electrode conduction, S per square
            item["sheet_conductance_S"] = sigma * layer.thickness_m
        if layer.role in ELECTRODES:
            m = case.materials[layer.role]
            per_m3 = m["density"] * m["specific_capacity"] * C_TO_UAH / M2_TO_CM2   # uAh/cm2 per metre
            item["capacity_uAh_cm2"] = layer.volume_m3 / footprint_m2 * per_m3
            item["flat_capacity_uAh_cm2"] = layer.thickness_m * per_m3
        out.append(item)
    return out


def electrolyte_problem(mesh: MeshData) -> tuple[Any, np.ndarray, dict]:
    """The electrolyte submesh, the global node number of its nodes, and per electrode its interface
    facets (submesh numbering), their feature ids and their triangles (full-mesh numbering)."""
    emesh, nodes = submesh(mesh.points_m, mesh.tets, mesh.region_mask("electrolyte"))
    facets = {}
    for e in ELECTRODES:
        tris = mesh.boundary_tris.get(f"{e}_interface", np.zeros((0, 3), dtype=np.int64))
        local = np.searchsorted(nodes, tris)
        facets[e] = (find_facets(emesh, local), mesh.boundary_feature.get(f"{e}_interface", np.zeros(0, int)), tris)
        if len(facets[e][0]) == 0:
            raise GeometryError(f"the model has no {e}|electrolyte interface")
    return emesh, nodes, facets


def solve(case: Case, geo: Geometry, emesh: Any, facets: dict, sigma: float) -> PrimarySolution:
    """Solve stage, primary model: the electrolyte alone between equipotential interfaces."""
    groups = {}
    if case.domain.kind == "array":
        for k, f in enumerate(geo.features):
            fac, feat, _ = facets[f.electrode]
            groups[str(k)] = (f.electrode, fac[feat == k])
    return solve_primary(emesh, sigma, facets["anode"][0], facets["cathode"][0],
                         case.model.physics.voltage, order=case.model.mesh.order, groups=groups)


def film_resistance(case: Case, geo: Geometry) -> dict[str, float]:
    """Series resistance (ohm m^2) of the collapsed films between each interface and its collector.

    A film thinner than ``mesh.thin_layer_limit`` is not meshed (trenched silicon); with electrode
    conduction its electrons still cross its thickness t with conductivity s: r = t / s, summed over
    the run of collapsed films next to the electrolyte on that side.
    """
    out = {e: 0.0 for e in ELECTRODES}
    roles = [layer.role for layer in geo.layers]
    if "electrolyte" not in roles or not case.model.physics.electrode_conduction:
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
            s = _electronic_conductivity(case, layer)
            if not s:
                raise CaseError(f"geometry.layers: the collapsed {layer.role} film ({layer.material}) has no "
                                "electronic_conductivity, required by electrode_conduction")
            out[electrode] += layer.thickness_m / s
    return out


def kinetics(case: Case, geo: Geometry) -> dict[str, Kinetics]:
    """Interface kinetics of each electrode at the case's temperature (SI)."""
    ph = case.model.physics
    films = film_resistance(case, geo)
    out = {}
    for e in ELECTRODES:
        m = case.materials[e]
        out[e] = Kinetics(i0_A_m2=m["exchange_current_density"], alpha_a=m["alpha_anodic"],
                          alpha_c=m["alpha_cathodic"], temperature_K=ph.temperature_K,
                          linear=ph.kinetics == "linear", film_resistance_ohm_m2=films[e])
    return out


def solve_secondary_stage(case: Case, geo: Geometry, gm: GeometricMetrics, mesh: MeshData, emesh: Any,
                          nodes: np.ndarray, facets: dict, sigma: float) -> SecondarySolution:
    """Solve stage, secondary model: Butler-Volmer (or linear) kinetics on both interfaces, electrode
    regions equipotential or conducting (``electrode_conduction``), galvanostatic or potentiostatic."""
    ph = case.model.physics
    kin = kinetics(case, geo)
    electrodes = {}
    for e in ELECTRODES:
        m = case.materials[e]
        spec: dict[str, Any] = {"facets": facets[e][0], "kinetics": kin[e], "potential_V": m["potential"]}
        if ph.electrode_conduction and e in mesh.region_names:
            smesh, snodes = submesh(mesh.points_m, mesh.tets, mesh.region_mask(e))
            names = collector_boundaries(list(mesh.boundary_tris), mesh.region_names, e)
            tris = [mesh.boundary_tris[n] for n in names]
            if not tris:
                raise GeometryError(f"the {e} region has no collector face to conduct to")
            tris = np.concatenate(tris)
            local = np.searchsorted(snodes, tris)
            if not np.array_equal(snodes[local.clip(0, len(snodes) - 1)], tris):
                raise GeometryError(f"a {e} collector face ({', '.join(names)}) is not on the {e} region")
            spec.update(mesh=smesh, sigma_S_m=m["electronic_conductivity"],
                        collector_facets=find_facets(smesh, local), nodes=snodes)
        electrodes[e] = Electrode(**spec)
    current = None if ph.current_density is None else ph.current_density * 10.0 * gm.footprint_area_m2
    try:
        return solve_secondary(emesh, nodes, sigma, electrodes["anode"], electrodes["cathode"],
                               order=case.model.mesh.order, current_A=current, cell_voltage_V=ph.cell_voltage)
    except InfeasibleError as exc:
        hint = ("; check the electrodes' electronic_conductivity" if ph.electrode_conduction else "")
        raise CaseError(f"physics.current_density = {ph.current_density}: more than the cell can deliver, "
                        f"{str(exc).split(': ', 1)[1]}{hint}") from None


def _feature_currents(geo: Geometry, per_feature: dict[str, float]) -> dict[str, Any]:
    """``pillar_current_A`` (one entry per feature) and the edge/interior ratio per electrode."""
    pillars = []
    for k, f in enumerate(geo.features):
        pillars.append({"electrode": f.electrode, "x_um": f.x_m * 1e6, "y_um": f.y_m * 1e6,
                        "edge": f.edge, "current_A": per_feature[str(k)]})
    ratio = {}
    for e in ELECTRODES:
        edge = [p["current_A"] for p in pillars if p["electrode"] == e and p["edge"]]
        inner = [p["current_A"] for p in pillars if p["electrode"] == e and not p["edge"]]
        if edge and inner:
            ratio[e] = float(np.mean(edge) / np.mean(inner))
    return {"pillar_current_A": pillars, "edge_over_interior_current": ratio}


def solution_record(case: Case, geo: Geometry, gm: GeometricMetrics, sol: PrimarySolution,
                    facets: dict) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``solution`` block of results.json (primary model), and the per-facet current density of
    each electrode."""
    fp_cm2 = gm.footprint_area_m2 * M2_TO_CM2
    V, I = sol.voltage_V, sol.current_A
    asr = V * fp_cm2 / I
    t_planar = gm.volume_m3["electrolyte"] / gm.footprint_area_m2
    asr_planar = t_planar / sol.sigma * M2_TO_CM2
    stats, per_facet = {}, {}
    for e in ELECTRODES:
        j, w = normal_current_density(sol.mesh, sol.elem, sol.phi, sol.sigma, facets[e][0], e)
        stats[e] = weighted_stats(j * A_M2_TO_MA_CM2, w)
        per_facet[e] = (j * w).sum(axis=1) / w.sum(axis=1)
    frac = {e: sum(f.fraction for f in geo.features if f.electrode == e) for e in ELECTRODES}
    rec: dict[str, Any] = {
        "model": "primary",
        "voltage_V": V,
        "current_A": I,
        "anode_current_A": sol.anode_current_A,
        "asr_ohm_cm2": asr,
        "electrolyte_conductivity_S_cm": sol.sigma / 100.0,
        "current_density_mA_cm2": stats,
        "singular_edges": geo.singular_edges,
        "current_per_feature_A": {e: I / frac[e] for e in ELECTRODES if frac[e] > 0},
        "planar_equivalent": {"electrolyte_thickness_um": t_planar * 1e6, "asr_ohm_cm2": asr_planar},
        "asr_gain_vs_planar": asr_planar / asr,
        "linear_solver": {"method": sol.solve_info.method, "iterations": sol.solve_info.iterations,
                          "relative_residual": sol.solve_info.relative_residual},
    }
    if sol.group_current_A:
        rec.update(_feature_currents(geo, sol.group_current_A))
    return rec, per_facet


def secondary_record(case: Case, geo: Geometry, gm: GeometricMetrics, sol: SecondarySolution,
                     facets: dict) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``solution`` block of results.json for the secondary model, and the per-facet current
    density of each electrode.

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
    electrolyte volume per area of that interface (the electrolyte thickness of a planar cell). The planar equivalent has the same footprint, the
    same material volumes (its layer thicknesses = volume / footprint) and the same kinetics, at the
    same current per footprint (closed form).
    """
    ph = case.model.physics
    fp = gm.footprint_area_m2
    I = sol.current_A
    j_fp = I / fp                                   # A/m2 of footprint
    loss = sol.ocv_V - sol.cell_voltage_V
    asr = loss / j_fp * M2_TO_CM2
    kin = {e: sol.electrodes[e].kinetics for e in ELECTRODES}
    stats, field, kinetic, per_facet, wagner, rp, lengths, choice = {}, {}, {}, {}, {}, {}, {}, {}
    for e in ELECTRODES:
        r = sol.electrodes[e]
        j_mean = r.current_A / r.dx_m2.sum()
        rp[e] = kin[e].resistance(j_mean if e == "anode" else -j_mean)
        lengths[e] = gm.volume_m3["electrolyte"] / gm.interface_area_m2[e]
        wagner[e] = sol.sigma * rp[e] / lengths[e]
        jf, wf = normal_current_density(sol.basis.mesh, sol.basis.elem, sol.phi, sol.sigma, facets[e][0], e)
        field[e] = weighted_stats(jf * A_M2_TO_MA_CM2, wf)
        kinetic[e] = weighted_stats(r.j_A_m2 * A_M2_TO_MA_CM2, r.dx_m2)
        # mesh Biot number: interface element size over the kinetic length sigma R_p
        h = math.sqrt(4 / math.sqrt(3) * float(r.dx_m2.sum()) / r.dx_m2.shape[0])
        biot = h / (sol.sigma * rp[e])
        use_kinetic = biot < 1.0
        j, w = (r.j_A_m2, r.dx_m2) if use_kinetic else (jf, wf)
        stats[e] = kinetic[e] if use_kinetic else field[e]
        per_facet[e] = (j * w).sum(axis=1) / w.sum(axis=1)
        choice[e] = {"estimate": "kinetic" if use_kinetic else "field", "mesh_biot_number": biot,
                     "interface_element_size_um": h * 1e6}
    t_planar = gm.volume_m3["electrolyte"] / fp
    planar_loss = j_fp * t_planar / sol.sigma
    planar_loss += float(kin["anode"].total_overpotential(np.array([j_fp]))[0])
    planar_loss -= float(kin["cathode"].total_overpotential(np.array([-j_fp]))[0])
    if ph.electrode_conduction:
        for e in ELECTRODES:
            if e in case.materials and gm.volume_m3.get(e, 0.0) > 0:
                planar_loss += j_fp * gm.volume_m3[e] / fp / case.materials[e]["electronic_conductivity"]
    asr_planar = planar_loss / j_fp * M2_TO_CM2
    op = sol.overpotential_V
    rec: dict[str, Any] = {
        "model": "secondary",
        "operation": "galvanostatic" if ph.current_density is not None else "potentiostatic",
        "kinetics": ph.kinetics,
        "electrode_conduction": ph.electrode_conduction,
        "temperature_degC": ph.temperature,
        "cell_voltage_V": sol.cell_voltage_V,
        "ocv_V": sol.ocv_V,
        "current_A": I,
        "anode_current_A": sol.electrodes["anode"].current_A,
        "footprint_current_density_mA_cm2": j_fp * A_M2_TO_MA_CM2,
        "asr_ohm_cm2": asr,
        "overpotential_V": op,
        "overpotential_balance_relative_error": abs(op["total"] - loss) / abs(loss),
        "wagner_number": wagner,
        "wagner_length_um": {e: lengths[e] * 1e6 for e in ELECTRODES},
        "interface_resistance_ohm_cm2": {e: rp[e] * M2_TO_CM2 for e in ELECTRODES},
        "charge_transfer_resistance_ohm_cm2": {e: kin[e].charge_transfer_resistance_ohm_m2 * M2_TO_CM2
                                               for e in ELECTRODES},
        "film_resistance_ohm_cm2": {e: kin[e].film_resistance_ohm_m2 * M2_TO_CM2 for e in ELECTRODES},
        "electrolyte_conductivity_S_cm": sol.sigma / 100.0,
        "current_density_mA_cm2": stats,
        "current_density_estimate": choice,
        "current_density_field_mA_cm2": field,
        "current_density_kinetic_mA_cm2": kinetic,
        "singular_edges": False,
        "planar_equivalent": {"electrolyte_thickness_um": t_planar * 1e6, "asr_ohm_cm2": asr_planar},
        "asr_gain_vs_planar": asr_planar / asr,
        "newton": {"iterations": sol.newton.iterations, "relative_residual": sol.newton.relative_residual},
        "linear_solver": {"method": sol.newton.linear.method, "iterations": sol.newton.linear.iterations,
                          "relative_residual": sol.newton.linear.relative_residual},
    }
    if case.domain.kind == "array":
        per_feature = {}
        for k, f in enumerate(geo.features):
            _, feat, _ = facets[f.electrode]
            r = sol.electrodes[f.electrode]
            per_feature[str(k)] = float((r.j_A_m2[feat == k] * r.dx_m2[feat == k]).sum())
        rec.update(_feature_currents(geo, per_feature))
    return rec, per_facet


def _interface_fields(facets: dict, per_facet: dict) -> tuple[np.ndarray, ...]:
    tris = np.concatenate([facets[e][2] for e in ELECTRODES])
    electrode = np.concatenate([np.full(len(facets[e][2]), k + 1) for k, e in enumerate(ELECTRODES)])
    feature = np.concatenate([facets[e][1] for e in ELECTRODES])
    jn = np.concatenate([per_facet[e] for e in ELECTRODES])
    return tris, electrode, feature, jn


def output_fields(mesh: MeshData, sol: PrimarySolution, nodes: np.ndarray, facets: dict,
                  per_facet: dict) -> Fields:
    """Potential on every node, current density on every tetrahedron, interface facet values
    (primary model)."""
    n_nodes = len(mesh.points_m)
    pot = np.zeros(n_nodes)
    for e, value in (("anode", sol.voltage_V), ("cathode", 0.0)):
        if e in mesh.region_names:
            pot[np.unique(mesh.tets[mesh.region_mask(e)])] = value
    pot[nodes] = sol.nodal_values()
    cur = np.zeros((len(mesh.tets), 3))
    cur[np.flatnonzero(mesh.region_mask("electrolyte"))] = -sol.sigma * sol.cell_gradient()
    return Fields(pot, cur, *_interface_fields(facets, per_facet))


def secondary_fields(case: Case, mesh: MeshData, sol: SecondarySolution, nodes: np.ndarray, facets: dict,
                     per_facet: dict) -> Fields:
    """Output fields of the secondary model: electrode potentials (their collector potential, or the
    electronic potential with electrode conduction) and the electrolyte potential on its nodes (Li/Li+
    scale; the electrolyte value wins on interface nodes); ionic and electronic current density."""
    pot = np.zeros(len(mesh.points_m))
    cur = np.zeros((len(mesh.tets), 3))
    for e in ELECTRODES:
        if e not in mesh.region_names:
            continue
        r = sol.electrodes[e]
        mask = mesh.region_mask(e)
        if r.basis is None:
            pot[np.unique(mesh.tets[mask])] = r.collector_potential_V
        else:
            pot[r.nodes] = r.phi_s[r.basis.nodal_dofs[0]]
            grad = cell_gradient(r.basis.mesh, r.basis, r.phi_s)
            cur[np.flatnonzero(mask)] = -case.materials[e]["electronic_conductivity"] * grad
    pot[nodes] = sol.phi[sol.basis.nodal_dofs[0]]
    cur[np.flatnonzero(mesh.region_mask("electrolyte"))] = -sol.sigma * cell_gradient(sol.basis.mesh, sol.basis,
                                                                                       sol.phi)
    return Fields(pot, cur, *_interface_fields(facets, per_facet))


def mesh_only(case: Case, verbose: bool = False) -> MeshData:
    """The geometry and mesh stages alone (to look at a design before solving it)."""
    if case.architecture.implicit:
        return case.architecture.build(case.params, case.domain, size=case.model.mesh.size * 1e-6,
                                       interface_size=case.interface_size_um * 1e-6).mesh
    with gmsh_session(verbose=verbose):
        return build_mesh(case, build_geometry(case))


# --- the whole run -------------------------------------------------------------------------------
def run_case(case: Case, verbose: bool = False,
             progress: Callable[[str], None] | None = None) -> RunResult:
    """Run one case end to end.

    Parameters
    ----------
    case : Case
        Validated case (:func:`mb3d.case.load_case`).
    verbose : bool
        Let gmsh print its log.
    progress : callable, optional
        Called with the name of each stage as it starts.

    Returns
    -------
    RunResult
    """
    step = progress or (lambda _s: None)
    timing = {}
    t0 = time.perf_counter()
    step("geometry")
    key = case.mesh_key()
    cached = MESH_CACHE.get(key)
    if cached is not None:   # same geometry and mesh: only materials or operating point differ
        geo, gm, mesh, tr, extra = cached
        t1 = t2 = time.perf_counter()
    elif case.architecture.implicit:   # the sponge meshes itself: geometry and mesh in one stage
        built = case.architecture.build(case.params, case.domain, size=case.model.mesh.size * 1e-6,
                                        interface_size=case.interface_size_um * 1e-6)
        geo, mesh, gm, extra = built.geometry, built.mesh, built.metrics, built.info
        t1 = t2 = time.perf_counter()
        step("transparency")
        tr = mesh_transparency(mesh.points_m, mesh.tets, mesh.tet_region != mesh.region_names.index("electrolyte"),
                               geo.outline_m, getattr(case.params, "substrate_transmittance", 1.0))
    else:
        extra = {}
        with gmsh_session(verbose=verbose):
            geo = build_geometry(case)
            gm = exact_metrics(geo)
            preflight(case, geo, gm)
            t1 = time.perf_counter()
            step("mesh")
            mesh = build_mesh(case, geo)
            t2 = time.perf_counter()
            step("transparency")
            tr = optical(case, geo)
    if cached is None:
        remember_mesh(key, (geo, gm, mesh, tr, extra))
    timing["geometry"], timing["mesh"] = t1 - t0, t2 - t1
    timing["transparency"] = time.perf_counter() - t2
    step("solve")
    sigma = case.materials["electrolyte"].conductivity_at(case.model.physics.temperature_K)
    emesh, nodes, facets = electrolyte_problem(mesh)
    secondary = case.model.physics.model == "secondary"
    if secondary:
        sol = solve_secondary_stage(case, geo, gm, mesh, emesh, nodes, facets, sigma)
    else:
        sol = solve(case, geo, emesh, facets, sigma)
    timing.update(sol.timing_s)
    step("metrics")
    t3 = time.perf_counter()
    if secondary:
        srec, per_facet = secondary_record(case, geo, gm, sol, facets)
        fields = secondary_fields(case, mesh, sol, nodes, facets, per_facet)
    else:
        srec, per_facet = solution_record(case, geo, gm, sol, facets)
        fields = output_fields(mesh, sol, nodes, facets, per_facet)
    timing["metrics"] = time.perf_counter() - t3
    timing["total"] = time.perf_counter() - t0
    record = {
        "schema_version": SCHEMA_VERSION,
        "mb3d_version": __version__,
        "case": case.normalized(),
        "case_hash": case.hash(),
        "architecture": case.architecture.name,
        "geometry": {**geometry_record(case, geo, gm, tr), **({"structure": extra} if extra else {})},
        "mesh": {"n_nodes": int(len(mesh.points_m)), "n_tetrahedra": int(len(mesh.tets)),
                 "n_tetrahedra_electrolyte": int(emesh.t.shape[1]),
                 "element_order": case.model.mesh.order, "n_dofs": sol.n_dofs,
                 "min_quality": mesh.min_quality, "from_cache": cached is not None,
                 "region_ids": {name: k for k, name in enumerate(mesh.region_names)}},
        "solution": srec,
        "timing_s": timing,
    }
    return RunResult(MappingProxyType(record), mesh, fields, tr)


def cached_mesh(key: str) -> tuple | None:
    """The cached geometry and mesh of :meth:`mb3d.case.Case.mesh_key` ``key``, or None."""
    with _CACHE_LOCK:
        return MESH_CACHE.get(key)


def remember_mesh(key: str, entry: tuple) -> None:
    """Keep a geometry and mesh built elsewhere (a case's own process) for the next cases."""
    with _CACHE_LOCK:
        MESH_CACHE[key] = entry
        while len(MESH_CACHE) > MESH_CACHE_SIZE:
            MESH_CACHE.pop(next(iter(MESH_CACHE)))


def lookup(record: Any, dotted: str) -> Any:
    """Value at a dotted path of a results record (``solution.asr_ohm_cm2``); KeyError if absent."""
    node = record
    for part in dotted.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node
