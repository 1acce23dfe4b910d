"""Primary current distribution in the electrolyte.

Equations (electrolyte region Omega, conductivity sigma, potential phi):

    -div(sigma grad phi) = 0                      in Omega
    phi = V                                       on the anode|electrolyte interface
    phi = 0                                       on the cathode|electrolyte interface
    sigma grad phi . n = 0                        on every other boundary (substrate, top, mirror planes)

so that ionic current i = -sigma grad phi flows from the anode to the cathode, as in discharge.
Lagrange elements of order 1 or 2 on the tetrahedral mesh; the Dirichlet unknowns are eliminated and
the rest is solved by :func:`solvers.fem.solve_spd`.

Currents are the variationally consistent fluxes: with K the stiffness matrix and phi the solution,
the residual r = K phi at the Dirichlet degrees of freedom is the current leaving through them, so the
current into the cathode is ``I = -sum(r[cathode dofs])`` and the current out of the anode
``sum(r[anode dofs])``. This is far more accurate than integrating the gradient over the facets.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from skfem import MeshTet

from .cell import ELEMENTS
from .fem import SolveInfo, dirichlet_system, dof_basis, laplace_p1, laplace_p2, p1_gradients, solve_spd
from .periodic import reduced_dirichlet



@dataclass(frozen=True)
class PrimarySolution:
    """Solution of the primary problem, SI units.

    Attributes
    ----------
    mesh : MeshTet
        Electrolyte mesh.
    order : int
        Element order.
    basis : skfem.CellBasis or None
        The basis ``phi`` lives in for P2 (one quadrature point, the centroid: see
        :func:`solvers.fem.dof_basis`); None for P1, which needs none (specialised kernel, the
        degrees of freedom are the nodes).
    phi : ndarray
        Electrolyte potential at the degrees of freedom, volts.
    sigma : float
        Electrolyte conductivity used, S/m.
    voltage_V : float
    current_A : float
        Current into the cathode interface (consistent flux).
    anode_current_A : float
        Current out of the anode interface; equals ``current_A`` up to the solver tolerance.
    group_current_A : dict
        Consistent current through each named facet group (``name -> A``; positive into the cathode,
        out of the anode).
    n_dofs : int
    solve_info : SolveInfo
    timing_s : dict
        ``assemble`` and ``solve`` seconds.
    """

    mesh: MeshTet
    order: int
    basis: object
    phi: np.ndarray
    sigma: float
    voltage_V: float
    current_A: float
    anode_current_A: float
    group_current_A: Mapping[str, float]
    n_dofs: int
    solve_info: SolveInfo
    timing_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def elem(self):
        """The skfem element of ``phi``."""
        return ELEMENTS[self.order]()

    def nodal_values(self) -> np.ndarray:
        """``phi`` at the mesh nodes, V."""
        return self.phi[: self.mesh.p.shape[1]] if self.basis is None else self.phi[self.basis.nodal_dofs[0]]

    def cell_gradient(self) -> np.ndarray:
        """Mean gradient of ``phi`` over every element (n_el, 3), V/m."""
        return cell_gradient(self.mesh, self.basis, self.phi)


def cell_gradient(mesh: MeshTet, basis, phi: np.ndarray) -> np.ndarray:
    """Mean gradient over every element (n_el, 3) of a P1 (``basis`` None) or basis function."""
    if basis is None:
        grads, _ = p1_gradients(mesh)
        return np.einsum("eid,ei->ed", grads, phi[mesh.t.T])
    return np.asarray(basis.interpolate(phi).grad.mean(axis=-1)).T


def solve_primary(mesh: MeshTet, sigma_S_m: float, anode_facets: np.ndarray,
                  cathode_facets: np.ndarray, voltage_V: float, order: int = 1,
                  method: str = "auto", groups: Mapping[str, tuple[str, np.ndarray]] | None = None,
                  rtol: float = 1e-10, basis=None, periodic=None) -> PrimarySolution:
    """Solve the primary current distribution.

    Parameters
    ----------
    mesh : MeshTet
        Electrolyte mesh, metres.
    sigma_S_m : float
        Electrolyte ionic conductivity, S/m.
    anode_facets, cathode_facets : ndarray of int
        Mesh facets of the anode and cathode interfaces.
    voltage_V : float
        Potential difference between the electrode surfaces, volts.
    order : {1, 2}
        Lagrange element order.
    method : {"auto", "direct", "amg-cg"}
        Linear solver (see :func:`solvers.fem.solve_spd`).
    groups : mapping, optional
        ``name -> (electrode, facets)``: subsets of an interface (one pillar each) whose consistent
        current is reported in ``group_current_A``.
    rtol : float
        Relative residual of the iterative solver.
    basis : skfem.CellBasis, optional
        For P2, the degree-of-freedom basis of ``mesh`` if already built (the cell problem keeps
        one).
    periodic : scipy.sparse.csr_matrix, optional
        The prolongation Z of a periodic cell (:func:`solvers.periodic.prolongation`): the system
        is solved as Z^T K Z u_r = 0 with the interfaces held, u = Z u_r.

    Returns
    -------
    PrimarySolution
    """
    if order not in ELEMENTS:
        raise ValueError(f"element order must be 1 or 2, got {order}")
    t0 = time.perf_counter()
    if order == 1:   # specialised kernel; the degrees of freedom are the nodes
        basis = None
        K = laplace_p1(mesh, float(sigma_S_m))
        n_dofs = mesh.p.shape[1]

        def dofs_of(facets: np.ndarray) -> np.ndarray:
            return np.unique(mesh.facets[:, facets])
    else:            # specialised kernel; the basis only numbers the degrees of freedom
        K = laplace_p2(mesh, float(sigma_S_m))
        basis = dof_basis(mesh, ELEMENTS[order]()) if basis is None else basis
        n_dofs = basis.N

        def dofs_of(facets: np.ndarray) -> np.ndarray:
            return basis.get_dofs(facets=facets).all()
    da = dofs_of(anode_facets)
    dc = dofs_of(cathode_facets)
    if len(np.intersect1d(da, dc)):
        raise ValueError("the anode and cathode interfaces touch: no electrolyte between them")
    x = np.zeros(n_dofs)
    x[da] = voltage_V
    fixed = np.zeros(n_dofs, dtype=bool)
    fixed[da] = fixed[dc] = True
    K = K.tocsr()
    if periodic is None:
        A, b = dirichlet_system(K, x, fixed)
    else:
        x_r, fixed_r = reduced_dirichlet(periodic, x, fixed)
        A, b = dirichlet_system((periodic.T @ K @ periodic).tocsr(), x_r, fixed_r)
    t1 = time.perf_counter()
    x, info = solve_spd(A, b, method=method, rtol=rtol)
    if periodic is not None:
        x = periodic @ x
    x[da], x[dc] = voltage_V, 0.0          # exact, not to rtol
    t2 = time.perf_counter()
    r = K @ x
    group_current = {}
    for name, (electrode, facets) in (groups or {}).items():
        dofs = dofs_of(facets)
        sign = -1.0 if electrode == "cathode" else 1.0
        group_current[name] = float(sign * r[dofs].sum())
    return PrimarySolution(mesh=mesh, order=order, basis=basis, phi=x, sigma=float(sigma_S_m), voltage_V=float(voltage_V),
                           current_A=float(-r[dc].sum()), anode_current_A=float(r[da].sum()),
                           group_current_A=group_current, n_dofs=int(n_dofs), solve_info=info,
                           timing_s={"assemble": t1 - t0, "solve": t2 - t1})
