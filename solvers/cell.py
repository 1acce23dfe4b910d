"""The discretised cell problem: the one place that turns a labelled tetrahedral mesh into what the
physics models and the field metrics read.

A cell is an electrolyte region between an anode and a cathode region, with named interfaces
``anode_interface`` and ``cathode_interface`` (Gamma_a, Gamma_c) and collector faces on the
electrode regions. :class:`CellProblem` holds, for one mesh and one Lagrange order:

* the electrolyte submesh and the global node number of its nodes (:class:`RegionMesh`);
* per electrode an :class:`Interface`: its facets in the electrolyte submesh, the feature (pillar,
  plate) each facet belongs to and its triangles in full-mesh node numbering;
* on demand, and then kept: the electrolyte basis, the facet basis on each interface and its
  trace operator P (values of the basis functions at the facet quadrature points), and for an
  electrode that conducts (:meth:`CellProblem.electrode`) its submesh, basis, collector facets
  and degrees of freedom, and the 0/1 trace map T from the electrolyte's interface degrees of
  freedom to the electrode's.

The pipeline builds it once per mesh and caches it with the mesh, so a study whose cases share a
mesh builds it once; whatever a model asked for is kept in the cache (and travels with it to the
process that runs the next case). Lengths are metres.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from skfem import ElementTetP1, ElementTetP2, FacetBasis, MeshTet

from .fem import dof_basis, find_facets, submesh
from .names import ELECTRODES, ELECTROLYTE, interface_name
from .periodic import Periodicity, check_face_meshes, match_periodic, prolongation

#: Lagrange elements by order
ELEMENTS = {1: ElementTetP1, 2: ElementTetP2}


class CellError(ValueError):
    """The mesh is not a cell the models can solve (a missing interface or collector); one line."""


@dataclass(frozen=True)
class RegionMesh:
    """One region as a mesh of its own.

    Attributes
    ----------
    name : str
    mesh : skfem.MeshTet
        Metres.
    nodes : ndarray of int
        Global (full-mesh) node number of every node of ``mesh``.
    cells : ndarray of int
        The full mesh's tetrahedra in this region, in the order of ``mesh.t``.
    """

    name: str
    mesh: MeshTet
    nodes: np.ndarray
    cells: np.ndarray


@dataclass(frozen=True)
class Interface:
    """An electrode|electrolyte interface.

    Attributes
    ----------
    electrode : {"anode", "cathode"}
    facets : ndarray of int
        Its facets in the electrolyte submesh.
    feature : ndarray of int
        Per facet, the index of the feature (pillar, plate) it belongs to; -1 where none.
    tris : ndarray (k, 3) of int
        Its triangles in full-mesh node numbering, in the order of ``facets``.
    """

    electrode: str
    facets: np.ndarray
    feature: np.ndarray
    tris: np.ndarray


@dataclass(frozen=True)
class ElectrodeRegion:
    """A meshed electrode region with the cell's basis on it and its trace map.

    Attributes
    ----------
    region : RegionMesh
    basis : skfem.CellBasis
        Lagrange basis of the cell's order on ``region.mesh`` (degrees of freedom only).
    trace_map : scipy.sparse.csr_matrix (basis.N, N_electrolyte)
        0/1 matrix taking the electrolyte's interface degrees of freedom to this electrode's.
    """

    region: RegionMesh
    basis: Any
    trace_map: sp.csr_matrix


@dataclass(frozen=True)
class ElectrodeMesh:
    """A conducting electrode: its region, basis, collector and trace map.

    Attributes
    ----------
    region : RegionMesh
    basis : skfem.CellBasis
        Lagrange basis of the cell's order on ``region.mesh`` (degrees of freedom only).
    collector_names : tuple of str
        The boundaries wired to the collector.
    collector_facets : ndarray of int
        Their facets in ``region.mesh``.
    collector_dofs : ndarray of int
        Degrees of freedom of ``basis`` on the collector.
    trace_map : scipy.sparse.csr_matrix (basis.N, N_electrolyte)
        0/1 matrix taking the electrolyte's interface degrees of freedom to this electrode's.
    """

    region: RegionMesh
    basis: Any
    collector_names: tuple[str, ...]
    collector_facets: np.ndarray
    collector_dofs: np.ndarray
    trace_map: sp.csr_matrix


@dataclass(frozen=True)
class CellProblem:
    """The discretised cell (see the module docstring). Build it with :func:`build_cell_problem`.

    Attributes
    ----------
    points : ndarray (n, 3)
        Node coordinates, m.
    tets : ndarray (m, 4)
    tet_region : ndarray (m,)
        Index into ``region_names`` per tetrahedron.
    region_names : tuple of str
    order : {1, 2}
        Lagrange order of every basis.
    electrolyte : RegionMesh
    interfaces : mapping
        ``anode``/``cathode`` -> :class:`Interface`.
    boundary_tris : mapping
        Every named boundary's triangles (full-mesh numbering).
    collectors : mapping
        Electrode -> names of its collector boundaries (may be empty).
    translations_m : tuple of 3-vectors
        A periodic cell's lattice translations, m; empty for mirror cells and arrays.
    """

    points: np.ndarray
    tets: np.ndarray
    tet_region: np.ndarray
    region_names: tuple[str, ...]
    order: int
    electrolyte: RegionMesh
    interfaces: Mapping[str, Interface]
    boundary_tris: Mapping[str, np.ndarray]
    collectors: Mapping[str, tuple[str, ...]]
    translations_m: tuple[tuple[float, float, float], ...] = ()
    _built: dict = field(default_factory=dict, compare=False, repr=False)

    # --- cached discretisation -------------------------------------------------------------------
    def _keep(self, key: Any, make) -> Any:
        if key not in self._built:
            self._built[key] = make()
        return self._built[key]

    @property
    def elem(self):
        """The Lagrange element of the cell's order (a new instance; skfem elements are stateless)."""
        return ELEMENTS[self.order]()

    def region_mask(self, name: str) -> np.ndarray:
        """Boolean mask of the tetrahedra in region ``name`` (all False if there is none)."""
        if name not in self.region_names:
            return np.zeros(len(self.tets), dtype=bool)
        return self.tet_region == self.region_names.index(name)

    @property
    def periodic(self) -> bool:
        """Whether the cell's ``periodic`` faces are joined (a periodic cell)."""
        return bool(self.translations_m)

    def periodicity(self) -> Periodicity:
        """The node pairs of the ``periodic`` faces (:func:`solvers.periodic.match_periodic`, within
        1e-6 of the cell's extent); raises :class:`solvers.periodic.PeriodicError` if their nodes or
        their triangles do not match (:func:`solvers.periodic.check_face_meshes`)."""
        def make() -> Periodicity:
            tris = self.boundary_tris.get("periodic", np.zeros((0, 3), int))
            extent = float(np.ptp(self.points, axis=0).max())
            per = match_periodic(self.points, np.unique(tris), self.translations_m, 1e-6 * extent)
            check_face_meshes(per, self.points, tris)
            return per
        return self._keep("periodicity", make)

    def prolongation(self) -> sp.csr_matrix | None:
        """Z of the electrolyte's degrees of freedom (:func:`solvers.periodic.prolongation`): None
        for a cell that is not periodic."""
        if not self.periodic:
            return None
        return self._keep("prolongation", lambda: prolongation(
            self.periodicity(), self.electrolyte.nodes, len(self.points), self.basis() if self.order == 2 else None))

    def region_prolongation(self, electrode: str) -> sp.csr_matrix | None:
        """Z of a meshed electrode region's degrees of freedom (as :meth:`prolongation`); None for
        a cell that is not periodic."""
        if not self.periodic:
            return None
        def make() -> sp.csr_matrix:
            er = self.electrode_region(electrode)
            return prolongation(self.periodicity(), er.region.nodes, len(self.points),
                                er.basis if self.order == 2 else None)
        return self._keep(("region_prolongation", electrode), make)

    def block_prolongation(self, blocks: Sequence[str | int]) -> sp.csr_matrix | None:
        """Z of an unknown vector made of blocks, block-diagonal: ``"electrolyte"`` (its degrees of
        freedom, :meth:`prolongation`), an electrode name (its meshed region's,
        :meth:`region_prolongation`) or an int k (k scalars: an equipotential electrode, a collector);
        None for a cell that is not periodic. The one place a model's Z is built."""
        if not self.periodic:
            return None
        parts = [self.prolongation() if b == ELECTROLYTE else sp.identity(b, format="csr") if isinstance(b, int)
                 else self.region_prolongation(b) for b in blocks]
        return sp.block_diag(parts, format="csr")

    def basis(self):
        """The electrolyte's Lagrange basis (degrees of freedom; one quadrature point)."""
        return self._keep("basis", lambda: dof_basis(self.electrolyte.mesh, self.elem))

    def facet_basis(self, electrode: str) -> FacetBasis:
        """Facet basis of the electrolyte on ``electrode``'s interface (default quadrature)."""
        return self._keep(("facet_basis", electrode),
                          lambda: FacetBasis(self.electrolyte.mesh, self.elem,
                                             facets=self.interfaces[electrode].facets))

    def trace(self, electrode: str) -> sp.csr_matrix:
        """Trace operator P of the interface (:func:`trace_operator`)."""
        return self._keep(("trace", electrode), lambda: trace_operator(self.facet_basis(electrode)))

    def interface_dofs(self, electrode: str) -> np.ndarray:
        """Electrolyte degrees of freedom on ``electrode``'s interface."""
        return self._keep(("interface_dofs", electrode),
                          lambda: self.basis().get_dofs(facets=self.interfaces[electrode].facets).all())

    def equipotential_map(self, electrode: str) -> sp.csr_matrix:
        """The trace map of an equipotential electrode (one unknown): a row of ones over the
        electrolyte's interface degrees of freedom (1 x N_electrolyte)."""
        def make() -> sp.csr_matrix:
            dofs = self.interface_dofs(electrode)
            return sp.csr_matrix((np.ones(len(dofs)), (np.zeros(len(dofs), int), dofs)), shape=(1, self.basis().N))
        return self._keep(("equipotential_map", electrode), make)

    def has_region(self, name: str) -> bool:
        return name in self.region_names

    def electrode(self, electrode: str) -> ElectrodeMesh:
        """The conducting electrode ``electrode`` (built on first use).

        Raises
        ------
        CellError
            If the electrode is not meshed, has no collector face, or its mesh does not conform
            to the electrolyte's at the interface.
        """
        return self._keep(("electrode", electrode), lambda: self._electrode(electrode))

    def electrode_region(self, electrode: str) -> ElectrodeRegion:
        """The meshed region of ``electrode`` with its basis and trace map (built on first use).

        Raises
        ------
        CellError
            If the electrode is not meshed or its mesh does not conform to the electrolyte's.
        """
        return self._keep(("electrode_region", electrode), lambda: self._electrode_region(electrode))

    def _electrode_region(self, e: str) -> ElectrodeRegion:
        if e not in self.region_names:
            raise CellError(f"the {e} region is not meshed")
        region = region_mesh(self.points, self.tets, self.region_mask(e), e)
        basis = dof_basis(region.mesh, self.elem)
        try:
            T = trace_map(self.basis(), self.electrolyte.nodes, basis, region.nodes, self.interface_dofs(e))
        except ValueError as exc:
            raise CellError(f"the {e} region: {exc}") from None
        return ElectrodeRegion(region, basis, T)

    def _electrode(self, e: str) -> ElectrodeMesh:
        if e not in self.region_names:
            raise CellError(f"the {e} region is not meshed")
        names = tuple(self.collectors.get(e, ()))
        if not names:
            raise CellError(f"the {e} region has no collector face to conduct to")
        er = self.electrode_region(e)
        region = er.region
        tris = np.concatenate([self.boundary_tris[n] for n in names])
        local = np.searchsorted(region.nodes, tris)
        if not np.array_equal(region.nodes[local.clip(0, len(region.nodes) - 1)], tris):
            raise CellError(f"a {e} collector face ({', '.join(names)}) is not on the {e} region")
        facets = find_facets(region.mesh, local)
        dofs = er.basis.get_dofs(facets=facets).all()
        if len(dofs) == 0:
            raise CellError(f"the {e} region has no collector face")
        return ElectrodeMesh(region, er.basis, names, facets, dofs, er.trace_map)


def region_mesh(points: np.ndarray, tets: np.ndarray, mask: np.ndarray, name: str) -> RegionMesh:
    """The tetrahedra ``mask`` of a mesh as a :class:`RegionMesh`."""
    mesh, nodes = submesh(points, tets, mask)
    return RegionMesh(name, mesh, nodes, np.flatnonzero(mask))


def build_cell_problem(points: np.ndarray, tets: np.ndarray, tet_region: np.ndarray,
                       region_names: tuple[str, ...], boundary_tris: Mapping[str, np.ndarray],
                       boundary_feature: Mapping[str, np.ndarray], order: int,
                       collectors: Mapping[str, tuple[str, ...]] | None = None,
                       translations_m: tuple[tuple[float, float, float], ...] = ()) -> CellProblem:
    """Build the cell problem of a labelled mesh (the order-independent part; bases on demand).

    Parameters
    ----------
    points : ndarray (n, 3)
        Node coordinates, m.
    tets : ndarray (m, 4)
    tet_region : ndarray (m,)
        Region index per tetrahedron, into ``region_names``.
    region_names : tuple of str
        Must include ``electrolyte``.
    boundary_tris, boundary_feature : mapping
        Named boundary triangles (full-mesh numbering) and, for the interfaces, their feature ids.
    order : {1, 2}
    collectors : mapping, optional
        Electrode -> the boundary names wired to its collector (needed for electrode conduction).
    translations_m : tuple of 3-vectors, optional
        A periodic cell's lattice translations (m): its ``periodic`` faces are joined by elimination
        (:meth:`CellProblem.prolongation`).

    Raises
    ------
    CellError
        If there is no electrolyte or an electrode has no interface with it.
    """
    if order not in ELEMENTS:
        raise CellError(f"element order must be 1 or 2, got {order}")
    region_names = tuple(region_names)
    if ELECTROLYTE not in region_names:
        raise CellError("the model has no electrolyte region")
    electrolyte = region_mesh(points, tets, tet_region == region_names.index(ELECTROLYTE), ELECTROLYTE)
    interfaces = {}
    for e in ELECTRODES:
        tris = boundary_tris.get(interface_name(e), np.zeros((0, 3), dtype=np.int64))
        local = np.searchsorted(electrolyte.nodes, tris)
        facets = find_facets(electrolyte.mesh, local)
        if len(facets) == 0:
            raise CellError(f"the model has no {e}|electrolyte interface")
        interfaces[e] = Interface(e, facets, boundary_feature.get(interface_name(e), np.zeros(0, int)), tris)
    return CellProblem(points, tets, tet_region, region_names, int(order), electrolyte,
                       MappingProxyType(interfaces), MappingProxyType(dict(boundary_tris)),
                       MappingProxyType({k: tuple(v) for k, v in (collectors or {}).items()}),
                       tuple(tuple(float(c) for c in t) for t in translations_m))


def trace_operator(fb: FacetBasis) -> sp.csr_matrix:
    """Sparse matrix P (n_facets * n_qp x N) with ``(P @ w).reshape(n_facets, n_qp)`` the values of
    the finite element function ``w`` at the facet quadrature points. Interface forms are then
    ``b = P^T (i dx)`` (= the form ``i v``) and ``G = P^T diag(g dx) P`` (= ``g u v``): two sparse
    products per Newton step instead of a form assembly."""
    nf, nq = fb.dx.shape
    rows = np.arange(nf * nq).reshape(nf, nq)
    r, c, v = [], [], []
    for i in range(fb.Nbfun):
        r.append(rows.ravel())
        c.append(np.repeat(fb.element_dofs[i], nq))
        v.append(np.asarray(fb.basis[i][0]).ravel())
    P = sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(nf * nq, fb.N))
    P.eliminate_zeros()
    return P


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 key per unordered pair of node numbers (< 2^31)."""
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    return lo * 2 ** 31 + hi


def trace_map(be, nodes_e: np.ndarray, bs, nodes_s: np.ndarray, dofs_e: np.ndarray) -> sp.csr_matrix:
    """0/1 matrix (bs.N x be.N) taking the electrolyte interface degrees of freedom ``dofs_e`` to
    the electrode degrees of freedom at the same place (vertices, and edges for P2).

    Raises
    ------
    ValueError
        If an interface degree of freedom has no partner (the meshes do not conform).
    """
    rows, cols = [], []
    _, ie, is_ = np.intersect1d(nodes_e, nodes_s, assume_unique=True, return_indices=True)
    rows.append(bs.nodal_dofs[0][is_])
    cols.append(be.nodal_dofs[0][ie])
    if be.edge_dofs.size:
        ke = _pair_keys(nodes_e[be.mesh.edges[0]], nodes_e[be.mesh.edges[1]])
        ks = _pair_keys(nodes_s[bs.mesh.edges[0]], nodes_s[bs.mesh.edges[1]])
        _, ie, is_ = np.intersect1d(ke, ks, assume_unique=True, return_indices=True)
        rows.append(bs.edge_dofs[0][is_])
        cols.append(be.edge_dofs[0][ie])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    keep = np.isin(cols, dofs_e)
    rows, cols = rows[keep], cols[keep]
    if len(np.unique(cols)) != len(np.unique(dofs_e)):
        raise ValueError(f"{len(np.unique(dofs_e)) - len(np.unique(cols))} interface degrees of freedom "
                         "have no partner in the electrode mesh (non-conforming meshes)")
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(bs.N, be.N))
