"""What a physics model is to mb3d: a validated spec of its ``physics:`` keys, a solve function, its
results record and its output fields (:class:`Model`), and what the pipeline hands it
(:class:`Setup`: the case in SI, the exact geometry and the discretised cell problem).

A model's spec is a pydantic model derived from :class:`PhysicsBase` whose ``model`` field is a
``Literal`` of its name; :func:`mb3d.models.spec_for` picks the spec by ``physics.model`` (a
discriminated union over the registered models). Quantities are validated in the case units (the
:class:`~solvers.units.Range` of each field says which) and converted to SI once, into
:attr:`Setup.physics`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..case import SI, PhysicsBase

__all__ = ["SI", "Fields", "Model", "PhysicsBase", "Setup", "empty_fields", "interface_fields", "p2_midpoints"]

if TYPE_CHECKING:
    from geom3d import GeometricMetrics, Geometry, MeshData
    from solvers.cell import CellProblem

    from ..case import Case


@dataclass(frozen=True)
class Fields:
    """Arrays for the VTU outputs (full mesh, SI).

    Attributes
    ----------
    potential_V : ndarray (n_nodes,)
        Electrolyte potential; electrode regions carry their electrode's potential.
    current_density_A_m2 : ndarray (n_tets, 3)
        Current density (ionic in the electrolyte, electronic in conducting electrodes), cell average.
    interface_tris : ndarray (k, 3)
        Anode then cathode interface triangles (full-mesh node numbering).
    interface_electrode : ndarray (k,)
        1 for anode, 2 for cathode.
    interface_feature : ndarray (k,)
    interface_j_A_m2 : ndarray (k,)
        Normal current density, facet average (discharge sign: out of the anode, into the cathode).
    point_data : mapping
        More nodal fields, named with their unit (``lithiation_x``), written to solution.vtu.
    midpoint_data : tuple of (name, edges (k, 2), values (k,))
        A P2 solution's values at the midpoints of edges (full-mesh node pairs) of the nodal field
        ``name`` (:func:`p2_midpoints`); later entries win. With any, solution.vtu has quadratic
        tetrahedra (other edges get the mean of their ends).
    """

    potential_V: np.ndarray
    current_density_A_m2: np.ndarray
    interface_tris: np.ndarray
    interface_electrode: np.ndarray
    interface_feature: np.ndarray
    interface_j_A_m2: np.ndarray
    point_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    midpoint_data: tuple[tuple[str, np.ndarray, np.ndarray], ...] = ()


@dataclass(frozen=True)
class Setup:
    """What the pipeline hands a model's solve, record and fields functions.

    Attributes
    ----------
    case : mb3d.case.Case
        The validated case; ``case.physics`` is the ``physics:`` block in SI (:class:`SI`).
    geometry : geom3d.Geometry
        The geometry (features, layers, singular edges; its gmsh session is closed).
    metrics : geom3d.GeometricMetrics
        Exact volumes and areas (m^3, m^2) from the CAD model.
    mesh : geom3d.MeshData
        The labelled mesh (metres).
    cell : solvers.cell.CellProblem
        The discretised cell problem, shared by every model and metric.
    """

    case: Case
    geometry: Geometry
    metrics: GeometricMetrics
    mesh: MeshData
    cell: CellProblem

    @property
    def physics(self) -> SI:
        return self.case.physics

    @property
    def sigma_S_m(self) -> float:
        """Electrolyte conductivity at the case's temperature, S/m."""
        return self.case.materials["electrolyte"].conductivity_at(self.physics.temperature)

    @property
    def footprint_m2(self) -> float:
        return self.metrics.footprint_area_m2


@dataclass(frozen=True)
class Model:
    """A registered physics model.

    Attributes
    ----------
    name : str
        ``physics.model`` value.
    spec : type[PhysicsBase]
        Its ``physics:`` keys.
    solve : callable ``(Setup) -> solution``
        The solution object may carry ``n_dofs`` (int) and ``timing_s`` (dict) for the results.
    record : callable ``(Setup, solution) -> (dict, per_facet)``
        The ``solution`` block of results.json (keys with their units) and, per electrode, the
        facet-average normal current density (A/m^2) for the interface output, or None.
    fields : callable ``(Setup, solution, per_facet) -> Fields``, optional
        Output fields; without it the VTU files carry zeros.
    preflight : callable ``(Case, Geometry, GeometricMetrics) -> None``, optional
        Checks that need the exact geometry but not the mesh (raise CaseError before meshing).
    headline : callable ``(solution_record) -> list of (label, anode, cathode)``, optional
        Extra rows for the CLI's summary table (``cathode`` None for a cell-level value).
    files : callable ``(Setup, solution) -> dict``, optional
        More output files: relative path -> text or bytes (``timeseries.csv``, ``snapshots/...``),
        written atomically with the others.
    summary : str
        One line for ``mb3d list``.
    periodic : bool
        Whether the model solves periodic cells (joins the ``periodic`` faces of a cell whose
        geometry has lattice translations); a case pairing a periodic cell with a model that does not
        is refused before meshing.
    """

    name: str
    spec: type[PhysicsBase]
    solve: Callable[[Setup], Any]
    record: Callable[[Setup, Any], tuple[dict[str, Any], Mapping[str, np.ndarray] | None]]
    fields: Callable[[Setup, Any, Mapping[str, np.ndarray] | None], Fields] | None = None
    preflight: Callable[..., None] | None = None
    headline: Callable[[Mapping[str, Any]], list[tuple[str, Any, Any]]] | None = None
    summary: str = ""
    files: Callable[[Setup, Any], Mapping[str, str]] | None = None
    periodic: bool = False

    def __reduce__(self) -> tuple:
        """Pickled by name (a child process looks it up in its own registry)."""
        from . import get  # noqa: PLC0415

        return get, (self.name,)


def interface_fields(setup: Setup, per_facet: Mapping[str, np.ndarray] | None) -> tuple[np.ndarray, ...]:
    """Interface triangles, electrode id (1 anode, 2 cathode), feature id and facet value arrays."""
    from solvers.names import ELECTRODES  # noqa: PLC0415

    ifc = setup.cell.interfaces
    tris = np.concatenate([ifc[e].tris for e in ELECTRODES])
    electrode = np.concatenate([np.full(len(ifc[e].tris), k + 1) for k, e in enumerate(ELECTRODES)])
    feature = np.concatenate([ifc[e].feature for e in ELECTRODES])
    jn = (np.zeros(len(tris)) if per_facet is None else np.concatenate([per_facet[e] for e in ELECTRODES]))
    return tris, electrode, feature, jn


def p2_midpoints(name: str, basis: Any, nodes: np.ndarray, u: np.ndarray) -> tuple:
    """``((name, edges, values),)``: the P2 field ``u`` of ``basis`` at its mesh's edge midpoints, the
    edges as full-mesh node pairs (``nodes`` maps the basis mesh's nodes to the full mesh); ``()``
    for a basis without edge degrees of freedom (P1)."""
    if basis is None or basis.edge_dofs.shape[0] != 1:
        return ()
    return ((name, np.asarray(nodes)[basis.mesh.edges.T], np.asarray(u)[basis.edge_dofs[0]]),)


def empty_fields(setup: Setup, per_facet: Mapping[str, np.ndarray] | None = None) -> Fields:
    """Zero potential and current density (a model without output fields)."""
    return Fields(np.zeros(len(setup.mesh.points_m)), np.zeros((len(setup.mesh.tets), 3)),
                  *interface_fields(setup, per_facet))
