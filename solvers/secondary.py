"""Secondary current distribution: electrolyte conduction with Butler-Volmer kinetics at the
interfaces, optionally with electronic conduction inside the electrodes.

Equations (electrolyte Omega_e with conductivity sigma; electrode k = anode, cathode with interface
Gamma_k, equilibrium potential U_k, kinetics i_k of :mod:`solvers.kinetics`):

    -div(sigma grad phi_e) = 0                         in Omega_e
    sigma grad phi_e . n = i_k(phi_s - phi_e - U_k)    on Gamma_k   (n out of the electrolyte)
    sigma grad phi_e . n = 0                           on every other boundary

A solid electrolyte conducts only Li+ (transference number one), so it has no concentration
gradients: this is the complete steady model. ``i_k`` is the current density leaving electrode k
(positive at the anode, negative at the cathode during discharge).

Electrodes are equipotential (one unknown potential each) unless ``electrode_conduction``: then the
electronic potential phi_s of every meshed electrode region solves

    -div(sigma_s grad phi_s) = 0 in Omega_k,    -sigma_s grad phi_s . n = i_k  on Gamma_k,
    phi_s = collector potential on the collector faces,   insulated elsewhere,

a two-field problem with a potential jump phi_s - phi_e across the interface. The electrolyte and
electrode meshes are conforming, so the electrode trace is a Lagrange function on the interface with
the same degrees of freedom: the coupling is assembled once on the electrolyte side and mapped to the
electrode degrees of freedom by a 0/1 matrix T (for an equipotential electrode T is a row of ones).

Operation. The anode collector is held at the anode's equilibrium potential U_a, so potentials are on
the Li/Li+ scale and the electrolyte potential is the one a Li reference electrode would read (zero at
open circuit). Potentiostatic: the cathode collector is at U_a + V. Galvanostatic: the cathode
collector potential is one more unknown, and its equation is the current balance
``integral over Gamma_c of i_c + I = 0``; the Newton system is bordered by that row and column and
solved with two solves of the same sparse SPD matrix (a Schur complement on one scalar). The cell
voltage is V = phi(cathode collector) - phi(anode collector).

Newton's method. Residual R(x) = K x + interface terms; Jacobian J = K + the interface matrices
G_k = integral of (di_k/dDelta) u v on Gamma_k, coupled through T: symmetric positive definite once
the anode collector is fixed. The start is the solution with the kinetics replaced by straight lines
through the origin and the point of uniform current density (the secant law; exact for a planar
cell); Newton steps are damped so that no overpotential changes by more than 5 / (alpha f) at once.
Linear solves are inexact (relative residual a hundredth of the nonlinear one) and reuse the AMG
hierarchy of the first Jacobian as long as CG stays within twice its first iteration count; the
interface terms are sparse products with the fixed matrix of basis values at the facet quadrature
points (:func:`trace_operator`).
Convergence: ``||R|| <= rtol * ||interface current vector||``; otherwise :class:`SolverError` says
how far it got.

Loss breakdown from the dissipation, each divided by the current I (volts):
electrolyte ohmic ``phi_e^T K_e phi_e``, electrode ohmic ``phi_s^T K_s phi_s`` plus the collapsed
films ``integral of r i^2``, kinetic ``integral of i eta``. Testing the weak forms with the solution
shows that they sum to ``I (OCV - V)`` exactly at the discrete level (the same quadrature is used).
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from skfem import FacetBasis, MeshTet

from .fem import SolveInfo, SolverError, dof_basis, laplace_p1, laplace_p2, spd_solver
from .kinetics import Kinetics
from .primary import ELEMENTS


@dataclass(frozen=True)
class Electrode:
    """One electrode as the secondary solver sees it (SI units).

    Attributes
    ----------
    facets : ndarray of int
        Its interface facets in the electrolyte mesh.
    kinetics : Kinetics
    potential_V : float
        Equilibrium potential U vs Li/Li+.
    mesh : MeshTet or None
        The electrode region's mesh for electronic conduction; None for an equipotential electrode.
    sigma_S_m : float
        Electronic conductivity (with ``mesh``).
    collector_facets : ndarray of int
        Facets of ``mesh`` on the collector (equipotential, with ``mesh``).
    nodes : ndarray of int
        Global node number of every node of ``mesh`` (to match interface degrees of freedom).
    """

    facets: np.ndarray
    kinetics: Kinetics
    potential_V: float
    mesh: MeshTet | None = None
    sigma_S_m: float = 0.0
    collector_facets: np.ndarray | None = None
    nodes: np.ndarray | None = None


@dataclass(frozen=True)
class NewtonInfo:
    """How the nonlinear solve went."""

    iterations: int
    relative_residual: float
    history: tuple[float, ...]
    linear: SolveInfo


@dataclass(frozen=True)
class ElectrodeResult:
    """Per-electrode fields and integrals of a secondary solution.

    Attributes
    ----------
    basis : skfem.CellBasis or None
        Basis of ``phi_s`` (electrode conduction) or None (equipotential).
    phi_s : ndarray
        Electrode potential at its degrees of freedom (one value if equipotential), V.
    collector_potential_V : float
    j_A_m2 : ndarray (n_facets, n_qp)
        Discharge current density at the interface quadrature points (out of the anode, into the
        cathode), A/m^2.
    dx_m2 : ndarray (n_facets, n_qp)
        Quadrature weights, m^2.
    eta_V : ndarray (n_facets, n_qp)
        Kinetic overpotential.
    current_A : float
        Discharge current through the interface (out of the anode, into the cathode).
    ohmic_W, kinetic_W : float
        Dissipation in the electrode (and its collapsed film) and in its interface kinetics.
    kinetics : Kinetics
        The interface law used.
    nodes : ndarray or None
        Global node number of every node of the electrode mesh (electrode conduction).
    """

    basis: object
    phi_s: np.ndarray
    collector_potential_V: float
    j_A_m2: np.ndarray
    dx_m2: np.ndarray
    eta_V: np.ndarray
    current_A: float
    ohmic_W: float
    kinetic_W: float
    kinetics: Kinetics
    nodes: np.ndarray | None = None


@dataclass(frozen=True)
class SecondarySolution:
    """Solution of the secondary problem, SI units.

    Attributes
    ----------
    basis : skfem.CellBasis
        Electrolyte basis.
    phi : ndarray
        Electrolyte potential (Li/Li+ reference scale), V.
    sigma : float
        Electrolyte conductivity, S/m.
    electrodes : dict
        ``anode``/``cathode`` -> :class:`ElectrodeResult`.
    cell_voltage_V, ocv_V, current_A : float
    electrolyte_ohmic_W : float
        Dissipation in the electrolyte.
    n_dofs : int
    newton : NewtonInfo
    timing_s : dict
    """

    basis: object
    phi: np.ndarray
    sigma: float
    electrodes: Mapping[str, ElectrodeResult]
    cell_voltage_V: float
    ocv_V: float
    current_A: float
    electrolyte_ohmic_W: float
    n_dofs: int
    newton: NewtonInfo
    timing_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def overpotential_V(self) -> dict[str, float]:
        """Loss breakdown (each dissipation / current) and its total, volts."""
        I = self.current_A
        out = {"electrolyte_ohmic": self.electrolyte_ohmic_W / I,
               "anode_ohmic": self.electrodes["anode"].ohmic_W / I,
               "cathode_ohmic": self.electrodes["cathode"].ohmic_W / I,
               "anode_kinetic": self.electrodes["anode"].kinetic_W / I,
               "cathode_kinetic": self.electrodes["cathode"].kinetic_W / I}
        out["total"] = sum(out.values())
        return out


def trace_operator(fb: FacetBasis) -> sp.csr_matrix:
    """Sparse matrix P (n_facets * n_qp x N) with ``(P @ w).reshape(n_facets, n_qp)`` the values of
    the finite element function ``w`` at the facet quadrature points. The interface forms are then
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


def solve_secondary(mesh: MeshTet, nodes: np.ndarray | None, sigma_S_m: float, anode: Electrode,
                    cathode: Electrode, order: int = 1, current_A: float | None = None,
                    cell_voltage_V: float | None = None, method: str = "auto", rtol: float = 1e-9,
                    max_iterations: int = 60) -> SecondarySolution:
    """Solve the secondary current distribution (see the module docstring).

    Parameters
    ----------
    mesh : MeshTet
        Electrolyte mesh, metres.
    nodes : ndarray of int or None
        Global node number of every electrolyte node (needed with electrode conduction).
    sigma_S_m : float
        Electrolyte conductivity, S/m.
    anode, cathode : Electrode
    order : {1, 2}
        Lagrange element order (electrolyte and electrodes).
    current_A : float, optional
        Galvanostatic: the discharge current, A (> 0).
    cell_voltage_V : float, optional
        Potentiostatic: the cell voltage, V (exactly one of the two).
    method : {"auto", "direct", "amg-cg"}
        Linear solver.
    rtol : float
        Newton tolerance on the relative residual.
    max_iterations : int

    Returns
    -------
    SecondarySolution

    Raises
    ------
    SolverError
        If Newton's method does not converge.
    """
    if (current_A is None) == (cell_voltage_V is None):
        raise ValueError("give exactly one of current_A (galvanostatic) and cell_voltage_V (potentiostatic)")
    if order not in ELEMENTS:
        raise ValueError(f"element order must be 1 or 2, got {order}")
    t0 = time.perf_counter()
    elem = ELEMENTS[order]()
    be = dof_basis(mesh, elem)

    def stiffness(basis, sigma: float) -> sp.csr_matrix:
        """sigma grad u . grad v (specialised kernels)."""
        return (laplace_p1 if order == 1 else laplace_p2)(basis.mesh, sigma)

    Ke = stiffness(be, float(sigma_S_m))
    Ne = be.N
    names = ("anode", "cathode")
    electrodes = {"anode": anode, "cathode": cathode}
    fbs, bases, Ks, Ts, sizes, collectors = {}, {}, {}, {}, {}, {}
    for name, el in electrodes.items():
        if len(el.facets) == 0:
            raise ValueError(f"the {name} has no interface facets")
        fbs[name] = FacetBasis(mesh, elem, facets=el.facets)
        dofs_e = be.get_dofs(facets=el.facets).all()
        if el.mesh is None:
            bases[name] = None
            Ks[name] = sp.csr_matrix((1, 1))
            Ts[name] = sp.csr_matrix((np.ones(len(dofs_e)), (np.zeros(len(dofs_e), int), dofs_e)), shape=(1, Ne))
            sizes[name] = 1
            collectors[name] = np.array([0])
        else:
            bs = dof_basis(el.mesh, elem)
            bases[name] = bs
            Ks[name] = stiffness(bs, float(el.sigma_S_m))
            Ts[name] = trace_map(be, nodes, bs, el.nodes, dofs_e)
            sizes[name] = bs.N
            collectors[name] = bs.get_dofs(facets=el.collector_facets).all()
            if len(collectors[name]) == 0:
                raise ValueError(f"the {name} region has no collector face")
    off = {"anode": Ne, "cathode": Ne + sizes["anode"]}
    N = Ne + sizes["anode"] + sizes["cathode"]
    Ua, Uc = anode.potential_V, cathode.potential_V
    ocv = Uc - Ua
    anode_fixed = off["anode"] + collectors["anode"]
    cathode_set = off["cathode"] + collectors["cathode"]
    galvanostatic = current_A is not None
    fixed = np.zeros(N, dtype=bool)
    fixed[anode_fixed] = True
    fixed[cathode_set] = True
    free = np.flatnonzero(~fixed)
    # Electrode unknowns are stored relative to their equilibrium potential (psi_s = phi_s - U), so
    # that phi_s - phi_e - U = psi_s - phi_e carries no cancellation of the volt-sized U: the
    # open-circuit state is x = 0 and the residual keeps full precision at large exchange currents.
    x = np.zeros(N)
    if not galvanostatic:
        x[cathode_set] = Ua + cell_voltage_V - Uc
    dxs = {n: np.asarray(fbs[n].dx) for n in names}
    area = {n: float(dxs[n].sum()) for n in names}
    # D_n: the driving force phi_s - phi_e - U (= psi_s - phi_e) at the quadrature points of interface n
    # as one sparse operator on the whole unknown vector: -P on the electrolyte, P T^T on the electrode
    # (P: basis values at the points, trace_operator; T: the trace map). The interface enters the
    # residual as D^T (i dx) and the Jacobian as D^T diag(di/dDelta dx) D: the electrolyte, electrode
    # and coupling blocks of the two-field problem in one product.
    D, Pe = {}, {}
    for n in names:
        Pe[n] = P = trace_operator(fbs[n])
        D[n] = sp.hstack([-P, sp.csr_matrix((P.shape[0], off[n] - Ne)), P @ Ts[n].T,
                          sp.csr_matrix((P.shape[0], N - off[n] - sizes[n]))], format="csr")
    Kfull = sp.block_diag([Ke, Ks["anode"], Ks["cathode"]], format="csr")
    t1 = time.perf_counter()

    def interface(x: np.ndarray, laws: Mapping) -> tuple[np.ndarray, dict]:
        """Residual and the interface state (i, eta, electrolyte load, di/ddelta) at ``x``."""
        R = Kfull @ x
        state = {}
        for n in names:
            i, di, eta = laws[n]((D[n] @ x).reshape(dxs[n].shape))
            R += D[n].T @ (i * dxs[n]).ravel()
            # the current the interface puts into the electrolyte, per electrolyte degree of freedom
            state[n] = (i, eta, Pe[n].T @ (i * dxs[n]).ravel(), di)
        return R, state

    def jacobian(state: dict) -> sp.csr_matrix:
        """Jacobian at the state :func:`interface` returned (built only when a step is taken)."""
        J = Kfull
        for n in names:
            J = J + D[n].T @ sp.diags((state[n][3] * dxs[n]).ravel()) @ D[n]
        return J.tocsr()

    last_info = SolveInfo("none", 0, 0, 0.0)
    amg = {"solver": None, "iterations": None}

    def newton_step(x: np.ndarray, R: np.ndarray, J: sp.csr_matrix, lin_rtol: float) -> np.ndarray:
        """One Newton update. AMG hierarchies are set up once and reused as preconditioners while
        the Jacobian (which changes only on the interfaces) keeps CG within twice its first count.
        ``lin_rtol`` is the relative residual asked of the linear solves (inexact Newton)."""
        nonlocal last_info
        Jf = J[free]
        A = Jf[:, free]
        solve = spd_solver(A, method, rtol=lin_rtol, scale=True, reuse=amg["solver"])
        dx = np.zeros(N)
        if galvanostatic:
            bvec = np.asarray(Jf[:, cathode_set].sum(axis=1)).ravel()
            c = float(J[cathode_set][:, cathode_set].sum())
            RV = float(R[cathode_set].sum()) + current_A
            z1, info = solve(-R[free])
            z2, _ = solve(bvec)
            dV = (-RV - bvec @ z1) / (c - bvec @ z2)
            dx[free] = z1 - z2 * dV
            dx[cathode_set] = dV
        else:
            dx[free], info = solve(-R[free])
        last_info = info
        if info.method == "amg-cg":        # a fresh hierarchy: keep it and its iteration count
            amg.update(solver=solve, iterations=info.iterations)
        elif info.method.startswith("amg-cg") and info.iterations > 2 * amg["iterations"] + 10:
            amg["solver"] = None           # drifted too far from the matrix it was built for
        return dx

    def reduced_norm(R: np.ndarray) -> float:
        r = R[free]
        if galvanostatic:
            r = np.append(r, R[cathode_set].sum() + current_A)
        return float(np.linalg.norm(r))

    def linear_laws(g: Mapping[str, float]):
        def make(gk):
            return lambda d: (gk * d, np.full_like(d, gk), d)
        return {n: make(g[n]) for n in names}

    # start: the secant law through the point of uniform current density
    kin = {n: electrodes[n].kinetics for n in names}
    if galvanostatic:
        I0 = current_A
    else:   # estimate the current: linear kinetics first, then a lumped model with the true laws
        glin = {n: 1.0 / kin[n].resistance(0.0) for n in names}    # R_ct + film
        R, st = interface(x, linear_laws(glin))
        xl = x + newton_step(x, R, jacobian(st), 1e-6)
        _, st = interface(xl, linear_laws(glin))
        I_lin = float(np.sum(st["anode"][2]))
        r_lin = {n: 1.0 / (glin[n] * area[n]) for n in names}
        r_e = max(ocv - cell_voltage_V, 0.0) / I_lin - r_lin["anode"] - r_lin["cathode"] if I_lin > 0 else 0.0
        r_e = max(r_e, 0.0)
        I0 = _lumped_current(ocv - cell_voltage_V, r_e, kin, area)
    g0 = {}
    for n in names:
        j = I0 / area[n]
        eta = float(kin[n].total_overpotential(np.array([j]))[0])
        g0[n] = j / eta if eta != 0 else 1.0 / kin[n].resistance(0.0)
    R, st = interface(x, linear_laws(g0))
    x = x + newton_step(x, R, jacobian(st), 1e-8)
    if galvanostatic:
        _check_feasible(float(x[cathode_set[0]]) + Uc - Ua, ocv, current_A, "estimated ")

    laws = {n: kin[n].current for n in names}
    cap = min(5.0 / (kin[n].f * max(kin[n].alpha_a, kin[n].alpha_c)) for n in names)
    history = []
    it = 0
    while True:
        R, state = interface(x, laws)
        scale = sum(float(np.linalg.norm(state[n][2])) for n in names)
        rel = reduced_norm(R) / scale if scale > 0 else float("inf")
        history.append(rel)
        if not np.isfinite(rel):
            raise SolverError("Newton (interface kinetics) broke down: the residual is not finite "
                              "(overpotentials beyond the range of the exponentials)")
        if rel <= rtol:
            break
        if it >= max_iterations:
            raise SolverError(f"Newton (interface kinetics) did not converge in {max_iterations} iterations: "
                              f"relative residual {rel:.2e} (wanted {rtol:.0e}); try kinetics: linear, a "
                              "smaller current density or a finer interface mesh")
        # inexact Newton: the linear residual a hundredth of the nonlinear one, within [1e-12, 1e-3]
        dx = newton_step(x, R, jacobian(state), min(1e-3, max(1e-12, 1e-2 * rel)))
        deta = max(float(np.max(np.abs(D[n] @ dx))) for n in names)
        x = x + dx * min(1.0, cap / deta if deta > 0 else 1.0)
        it += 1
    t2 = time.perf_counter()

    # post-processing: currents, dissipation
    pe = x[:Ne]
    res = {}
    for n in names:
        i, eta, _, _ = state[n]
        sign = 1.0 if n == "anode" else -1.0
        xs = x[off[n]:off[n] + sizes[n]]
        vc = float(xs[collectors[n][0]])
        ohm = float((xs - vc) @ (Ks[n] @ (xs - vc)))
        ohm += float(np.sum(kin[n].film_resistance_ohm_m2 * i * i * dxs[n]))
        U = electrodes[n].potential_V
        res[n] = ElectrodeResult(basis=bases[n], phi_s=xs + U, collector_potential_V=vc + U,
                                 j_A_m2=sign * i, dx_m2=dxs[n], eta_V=eta,
                                 current_A=float(sign * np.sum(i * dxs[n])), ohmic_W=ohm,
                                 kinetic_W=float(np.sum(i * eta * dxs[n])), kinetics=kin[n],
                                 nodes=electrodes[n].nodes)
    current = res["cathode"].current_A
    m = float(pe.mean())
    p_e = float((pe - m) @ (Ke @ (pe - m)))
    V = res["cathode"].collector_potential_V - res["anode"].collector_potential_V
    if galvanostatic:
        _check_feasible(V, ocv, current_A, "")
    info = NewtonInfo(iterations=it, relative_residual=history[-1], history=tuple(history), linear=last_info)
    return SecondarySolution(basis=be, phi=pe.copy(), sigma=float(sigma_S_m), electrodes=res,
                             cell_voltage_V=V, ocv_V=ocv, current_A=current, electrolyte_ohmic_W=p_e,
                             n_dofs=int(N), newton=info,
                             timing_s={"assemble": t1 - t0, "solve": t2 - t1})


class InfeasibleError(SolverError):
    """The cell cannot deliver the requested current: its losses exceed the open-circuit voltage."""


def _check_feasible(V: float, ocv: float, current_A: float, what: str) -> None:
    if not V > 0:
        raise InfeasibleError(f"the cell cannot deliver {current_A:.4g} A: the {what}losses at that current "
                              f"({ocv - V:.4g} V) exceed the open-circuit voltage ({ocv:.4g} V)")


def _lumped_current(drop: float, r_e: float, kin: Mapping[str, Kinetics], area: Mapping[str, float]) -> float:
    """Current of a lumped cell (electrolyte resistance ``r_e`` in ohm, uniform interfaces) at a
    total loss ``drop`` (V): the start of a potentiostatic solve."""
    def loss(I: float) -> float:
        return I * r_e + sum(float(kin[n].total_overpotential(np.array([I / area[n]]))[0]) for n in area)

    lo, hi = 0.0, 1e-30
    while loss(hi) < drop:
        hi *= 10.0
        if hi > 1e30:
            return hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if loss(mid) < drop:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
