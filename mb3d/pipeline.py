"""The mb3d pipeline: case -> parameters -> geometry -> mesh -> solve -> metrics -> outputs.

Each stage is a function with explicit inputs; :func:`run_case` chains them and returns an immutable
:class:`RunResult` whose ``record`` is the results.json mapping (``docs/formats/results.md``).
The gmsh session covers only the geometry and mesh stages; the mesh reaches scikit-fem in memory.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from geom3d import GeometricMetrics, Geometry, GeometryError, MeshData, exact_metrics, gmsh_session, mesh_geometry
from geom3d.model import collector_boundaries
from geom3d.transparency import Transparency, mesh_transparency, transparency
from solvers.cell import CellError, CellProblem, build_cell_problem
from solvers.constants import C_TO_UAH, M2_TO_CM2, M2_TO_UM2, M3_TO_UM3, M_TO_UM
from solvers.materials import library
from solvers.names import ELECTRODES
from solvers.periodic import PeriodicError

from . import __version__, models
from .case import Case, check_work, estimated_elements
from .models import Fields, Setup, empty_fields

SCHEMA_VERSION = 1
#: geometry + mesh of recent runs, keyed by :meth:`mb3d.case.Case.mesh_key` (a DoE batch whose cases
#: differ only in materials or operating point meshes once: a case's process hands its mesh back to
#: the process that started it, see :func:`remember_mesh`)
MESH_CACHE: dict[str, Built] = {}
MESH_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Built:
    """What a case's geometry and mesh stages produce, cached by :meth:`mb3d.case.Case.mesh_key`
    (a study whose cases differ only in materials or operating point builds it once).

    Attributes
    ----------
    geometry : geom3d.Geometry
    metrics : geom3d.GeometricMetrics
    mesh : geom3d.MeshData
    optical : Transparency
    structure : dict
        What an implicit architecture reports about its structure (sponge), else empty.
    cell : solvers.cell.CellProblem
        The discretised cell problem; whatever a model built of it (bases, trace maps) is kept.
    """

    geometry: Geometry
    metrics: GeometricMetrics
    mesh: MeshData
    optical: Transparency
    structure: dict
    cell: CellProblem


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced: the results record, the mesh and the output fields."""

    record: MappingProxyType
    mesh: MeshData
    fields: Fields
    optical: Transparency | None = None
    files: Any = field(default_factory=dict)
    geometry: Geometry | None = None


# --- stages --------------------------------------------------------------------------------------
def build_geometry(case: Case) -> Geometry:
    """Geometry stage (inside an open gmsh session)."""
    return case.architecture.build(case.params, case.domain, **case.build_options)


def preflight(case: Case, geo: Geometry, gm: GeometricMetrics) -> float:
    """Checks that need the exact geometry but not the mesh (cheap: OCC volumes and areas): the
    element count, estimated from the exact volumes and interface areas
    (:func:`mb3d.case.estimated_elements`), must not exceed ``mesh.max_elements``; then the model's
    own preflight (the secondary model refuses a current the cell cannot carry).

    Returns
    -------
    float
        The estimated number of tetrahedra.

    Raises
    ------
    CaseError
        Naming ``mesh.size`` (work too large) or the physics key at fault.
    """
    n = check_work(case.model, _meshed_volume(geo, gm), sum(gm.interface_area_m2.values()))
    model = models.get(case.model.physics.model)
    if model.preflight is not None:
        model.preflight(case, geo, gm)
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
    return mesh_geometry(geo, case.mesh.size, case.mesh.interface_size)


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
        "footprint_area_um2": fp * M2_TO_UM2,
        "volume_um3": {k: v * M3_TO_UM3 for k, v in gm.volume_m3.items()},
        "interface_area_um2": {e: gm.interface_area_m2[e] * M2_TO_UM2 for e in ELECTRODES},
        "area_gain": dict(gm.area_gain),
        "transparency_fraction": tr.fraction,
        "open_area_um2": tr.open_area_m2 * 1e12,
        "smallest_opaque_feature_um": None if tr.smallest_opaque_feature_m is None else tr.smallest_opaque_feature_m * M_TO_UM,
        "largest_opaque_feature_um": None if tr.largest_opaque_feature_m is None else tr.largest_opaque_feature_m * M_TO_UM,
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


def layer_conductivity(case: Case, layer: Any) -> float | None:
    """Electronic conductivity (S/m) of a film's material as the case resolved it (overrides kept),
    or None if it has none."""
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
                                "thickness_um": layer.thickness_m * M_TO_UM, "collapsed": layer.collapsed,
                                "volume_um3": layer.volume_m3 * M3_TO_UM3, "area_gain": gain}
        sigma = layer_conductivity(case, layer)
        if sigma is not None:   # what a collapsed film keeps for electrode conduction, S per square
            item["sheet_conductance_S"] = sigma * layer.thickness_m
        if layer.role in ELECTRODES:
            m = case.materials[layer.role]
            per_m3 = m["density"] * m["specific_capacity"] * C_TO_UAH / M2_TO_CM2   # uAh/cm2 per metre
            item["capacity_uAh_cm2"] = layer.volume_m3 / footprint_m2 * per_m3
            item["flat_capacity_uAh_cm2"] = layer.thickness_m * per_m3
        out.append(item)
    return out


def cell_problem(case: Case, mesh: MeshData) -> CellProblem:
    """The discretised cell problem of a mesh (:mod:`solvers.cell`), with each electrode's collector
    faces named by :func:`geom3d.model.collector_boundaries`."""
    names = list(mesh.boundary_tris)
    collectors = {e: tuple(collector_boundaries(names, mesh.region_names, e)) for e in ELECTRODES}
    try:
        cell = build_cell_problem(mesh.points_m, mesh.tets, mesh.tet_region, tuple(mesh.region_names),
                                  mesh.boundary_tris, mesh.boundary_feature, case.mesh.order, collectors,
                                  getattr(mesh, "translations_m", ()))
        if cell.periodic:
            cell.periodicity()          # every node of the periodic faces has its image
    except (CellError, PeriodicError) as exc:
        raise GeometryError(str(exc)) from None
    return cell


def solve(case: Case, built: Built, step: Callable[[str], None] = lambda _s: None
          ) -> tuple[dict[str, Any], Fields, int, dict[str, float], dict[str, str]]:
    """Solve and metrics stages: the case's physics model (:mod:`mb3d.models`) on the cell problem.

    Returns
    -------
    record : dict
        The ``solution`` block of results.json.
    fields : Fields
    n_dofs : int
    timing_s : dict
        ``assemble``, ``solve`` (the model's) and ``metrics`` seconds.
    files : dict
        More output files the model writes (name -> text).
    """
    model = models.get(case.model.physics.model)
    setup = Setup(case, built.geometry, built.metrics, built.mesh, built.cell)
    sol = model.solve(setup)
    timing = dict(getattr(sol, "timing_s", {}))
    step("metrics")
    t0 = time.perf_counter()
    rec, per_facet = model.record(setup, sol)
    fields = model.fields(setup, sol, per_facet) if model.fields is not None else empty_fields(setup, per_facet)
    files = dict(model.files(setup, sol)) if model.files is not None else {}
    timing["metrics"] = time.perf_counter() - t0
    return rec, fields, int(getattr(sol, "n_dofs", 0)), timing, files


def mesh_only(case: Case, verbose: bool = False) -> MeshData:
    """The geometry and mesh stages alone (to look at a design before solving it)."""
    if case.architecture.implicit:
        return case.architecture.build(case.params, case.domain, size=case.mesh.size,
                                       interface_size=case.mesh.interface_size).mesh
    with gmsh_session(verbose=verbose):
        return build_mesh(case, build_geometry(case))


def build(case: Case, verbose: bool = False, step: Callable[[str], None] = lambda _s: None
          ) -> tuple[Built, dict[str, float]]:
    """Geometry, mesh, transparency and cell-problem stages (what :data:`MESH_CACHE` keeps), and
    their seconds."""
    t0 = time.perf_counter()
    if case.architecture.implicit:   # the sponge meshes itself: geometry and mesh in one stage
        made = case.architecture.build(case.params, case.domain, size=case.mesh.size,
                                       interface_size=case.mesh.interface_size)
        geo, mesh, gm, extra = made.geometry, made.mesh, made.metrics, made.info
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
    t3 = time.perf_counter()
    cell = cell_problem(case, mesh)
    timing = {"geometry": t1 - t0, "mesh": t2 - t1, "transparency": t3 - t2,
              "cell_problem": time.perf_counter() - t3}
    return Built(geo, gm, mesh, tr, extra, cell), timing


# --- the whole run -------------------------------------------------------------------------------
def run_case(case: Case, verbose: bool = False,
             progress: Callable[[str], None] | None = None) -> RunResult:
    """Run one case end to end: :func:`build` (or the cache), then the case's physics model
    (:func:`solve`).

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
    t0 = time.perf_counter()
    step("geometry")
    key = case.mesh_key()
    cached = cached_mesh(key)
    if cached is None:
        built, timing = build(case, verbose, step)
        remember_mesh(key, built)
    else:    # same geometry and mesh: only materials or operating point differ
        built = cached
        timing = {"geometry": 0.0, "mesh": 0.0, "transparency": 0.0, "cell_problem": 0.0}
    step("solve")
    srec, fields, n_dofs, solve_timing, files = solve(case, built, step)
    timing.update(solve_timing)
    timing["total"] = time.perf_counter() - t0
    geo, mesh = built.geometry, built.mesh
    record = {
        "schema_version": SCHEMA_VERSION,
        "mb3d_version": __version__,
        "case": case.normalized(),
        "case_hash": case.hash(),
        "architecture": case.architecture.name,
        "geometry": {**geometry_record(case, geo, built.metrics, built.optical),
                     **({"structure": built.structure} if built.structure else {})},
        "mesh": {"n_nodes": int(len(mesh.points_m)), "n_tetrahedra": int(len(mesh.tets)),
                 "n_tetrahedra_electrolyte": int(built.cell.electrolyte.mesh.t.shape[1]),
                 "element_order": case.mesh.order, "n_dofs": n_dofs,
                 "min_quality": mesh.min_quality, "from_cache": cached is not None,
                 "region_ids": {name: k for k, name in enumerate(mesh.region_names)}},
        "solution": srec,
        "timing_s": timing,
    }
    return RunResult(MappingProxyType(record), mesh, fields, built.optical, MappingProxyType(files), geo)


def cached_mesh(key: str) -> Built | None:
    """The cached geometry, mesh and cell problem of :meth:`mb3d.case.Case.mesh_key` ``key``, or None."""
    with _CACHE_LOCK:
        return MESH_CACHE.get(key)


def remember_mesh(key: str, entry: Built) -> None:
    """Keep a geometry, mesh and cell problem built elsewhere (a case's own process) for the next
    cases."""
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
