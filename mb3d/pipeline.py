"""The mb3d pipeline: case -> parameters -> geometry -> mesh -> solve -> metrics -> outputs.

Each stage is a function with explicit inputs; :func:`run_case` chains them and returns an immutable
:class:`RunResult` whose ``record`` is the results.json mapping (``../shared/spec/results.md``).
The gmsh session covers only the geometry and mesh stages; the mesh reaches scikit-fem in memory.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from geom3d import GeometricMetrics, Geometry, GeometryError, MeshData, exact_metrics, gmsh_session, mesh_geometry
from geom3d.transparency import Transparency, mesh_transparency, transparency
from solvers.fem import find_facets, submesh
from solvers.fieldmetrics import A_M2_TO_MA_CM2, normal_current_density, weighted_stats
from solvers.materials import library
from solvers.primary import PrimarySolution, solve_primary

from . import __version__
from .case import Case

SCHEMA_VERSION = 1
#: geometry + mesh of recent runs, keyed by :meth:`mb3d.case.Case.mesh_key` (a DoE batch whose cases
#: differ only in materials or operating point meshes once per worker)
MESH_CACHE: dict[str, tuple] = {}
MESH_CACHE_SIZE = 4
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


def solve(case: Case, geo: Geometry, mesh: MeshData, sigma: float) -> tuple[PrimarySolution, Any, dict, np.ndarray]:
    """Solve stage: the primary problem on the electrolyte submesh.

    Returns the solution, the electrolyte mesh, the interface facets per electrode (with their
    feature ids) and the global node index of every electrolyte node.
    """
    emesh, nodes = submesh(mesh.points_m, mesh.tets, mesh.region_mask("electrolyte"))
    facets = {}
    for e in ELECTRODES:
        tris = mesh.boundary_tris.get(f"{e}_interface", np.zeros((0, 3), dtype=np.int64))
        local = np.searchsorted(nodes, tris)
        facets[e] = (find_facets(emesh, local), mesh.boundary_feature.get(f"{e}_interface", np.zeros(0, int)), tris)
        if len(facets[e][0]) == 0:
            raise GeometryError(f"the model has no {e}|electrolyte interface")
    groups = {}
    if case.domain.kind == "array":
        for k, f in enumerate(geo.features):
            fac, feat, _ = facets[f.electrode]
            groups[str(k)] = (f.electrode, fac[feat == k])
    sol = solve_primary(emesh, sigma, facets["anode"][0], facets["cathode"][0],
                        case.model.physics.voltage, order=case.model.mesh.order, groups=groups)
    return sol, emesh, facets, nodes


def solution_record(case: Case, geo: Geometry, gm: GeometricMetrics, sol: PrimarySolution,
                    facets: dict) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``solution`` block of results.json, and the per-facet current density of each electrode."""
    fp_cm2 = gm.footprint_area_m2 * M2_TO_CM2
    V, I = sol.voltage_V, sol.current_A
    asr = V * fp_cm2 / I
    t_planar = gm.volume_m3["electrolyte"] / gm.footprint_area_m2
    asr_planar = t_planar / sol.sigma * M2_TO_CM2
    stats, per_facet = {}, {}
    for e in ELECTRODES:
        j, w = normal_current_density(sol.basis, sol.phi, sol.sigma, facets[e][0], e)
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
        pillars = []
        for k, f in enumerate(geo.features):
            pillars.append({"electrode": f.electrode, "x_um": f.x_m * 1e6, "y_um": f.y_m * 1e6,
                            "edge": f.edge, "current_A": sol.group_current_A[str(k)]})
        rec["pillar_current_A"] = pillars
        ratio = {}
        for e in ELECTRODES:
            edge = [p["current_A"] for p in pillars if p["electrode"] == e and p["edge"]]
            inner = [p["current_A"] for p in pillars if p["electrode"] == e and not p["edge"]]
            if edge and inner:
                ratio[e] = float(np.mean(edge) / np.mean(inner))
        rec["edge_over_interior_current"] = ratio
    return rec, per_facet


def output_fields(mesh: MeshData, sol: PrimarySolution, nodes: np.ndarray, facets: dict,
                  per_facet: dict) -> Fields:
    """Potential on every node, current density on every tetrahedron, interface facet values."""
    n_nodes = len(mesh.points_m)
    pot = np.zeros(n_nodes)
    for e, value in (("anode", sol.voltage_V), ("cathode", 0.0)):
        if e in mesh.region_names:
            pot[np.unique(mesh.tets[mesh.region_mask(e)])] = value
    pot[nodes] = sol.phi[sol.basis.nodal_dofs[0]]
    cur = np.zeros((len(mesh.tets), 3))
    grad = sol.basis.interpolate(sol.phi).grad.mean(axis=-1)  # (3, n_el)
    cur[np.flatnonzero(mesh.region_mask("electrolyte"))] = -sol.sigma * grad.T
    tris = np.concatenate([facets[e][2] for e in ELECTRODES])
    electrode = np.concatenate([np.full(len(facets[e][2]), k + 1) for k, e in enumerate(ELECTRODES)])
    feature = np.concatenate([facets[e][1] for e in ELECTRODES])
    jn = np.concatenate([per_facet[e] for e in ELECTRODES])
    return Fields(pot, cur, tris, electrode, feature, jn)


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
            t1 = time.perf_counter()
            step("mesh")
            mesh = build_mesh(case, geo)
            t2 = time.perf_counter()
            step("transparency")
            tr = optical(case, geo)
    if cached is None:
        MESH_CACHE[key] = (geo, gm, mesh, tr, extra)
        while len(MESH_CACHE) > MESH_CACHE_SIZE:
            MESH_CACHE.pop(next(iter(MESH_CACHE)))
    timing["geometry"], timing["mesh"] = t1 - t0, t2 - t1
    timing["transparency"] = time.perf_counter() - t2
    step("solve")
    sigma = case.materials["electrolyte"].conductivity_at(case.model.physics.temperature + 273.15)
    sol, emesh, facets, nodes = solve(case, geo, mesh, sigma)
    timing.update(sol.timing_s)
    step("metrics")
    t3 = time.perf_counter()
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


def lookup(record: Any, dotted: str) -> Any:
    """Value at a dotted path of a results record (``solution.asr_ohm_cm2``); KeyError if absent."""
    node = record
    for part in dotted.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node
