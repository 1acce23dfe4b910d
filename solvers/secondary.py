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
how far it got. The Newton parts (interface terms, bordering, the loop) are :mod:`solvers.newton`;
the meshes, bases and trace maps come from the cell problem (:mod:`solvers.cell`).

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

from .cell import ELEMENTS, CellProblem
from .fem import stiffness
from .kinetics import Kinetics
from .names import ELECTRODES, electrode_sign
from .periodic import reduced_flags, reduced_index
from .newton import (InterfaceState, InterfaceTerm, LinearStep, NewtonInfo, SolverError, jacobian, linear_laws,
                     newton, residual)

__all__ = ["Electrode", "ElectrodeResult", "InfeasibleError", "NewtonInfo", "SecondarySolution", "TwoFieldSystem",
           "assemble_two_field", "solve_secondary"]


@dataclass(frozen=True)
class Electrode:
    """One electrode as the secondary solver sees it (SI units).

    Attributes
    ----------
    kinetics : Kinetics
    potential_V : float
        Equilibrium potential U vs Li/Li+.
    sigma_S_m : float or None
        Electronic conductivity: the electrode region conducts (its mesh, collector and trace map
        come from the cell problem); None for an equipotential electrode.
    """

    kinetics: Kinetics
    potential_V: float
    sigma_S_m: float | None = None

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


@dataclass(frozen=True)
class TwoFieldSystem:
    """The unknowns and linear operators of the secondary problem, assembled once.

    The unknown vector is ``[phi_e | psi_anode | psi_cathode]``: electrolyte potential, then each
    electrode's potential relative to its equilibrium potential (psi_s = phi_s - U; one unknown
    for an equipotential electrode). Interface laws act through :attr:`terms`.

    Attributes
    ----------
    K : scipy.sparse.csr_matrix (N, N)
        Block-diagonal stiffness of the electrolyte and the conducting electrodes.
    blocks : dict
        ``electrolyte``/``anode``/``cathode`` -> its diagonal block.
    offsets, sizes : dict
        Per electrode, where its unknowns start and how many there are.
    collectors : dict
        Per electrode, its collector unknowns (global numbering).
    terms : dict
        Per electrode, its :class:`solvers.newton.InterfaceTerm`.
    n_electrolyte : int
    Z : scipy.sparse.csr_matrix or None
        A periodic cell's prolongation of the whole unknown vector (block-diagonal: the
        electrolyte's, each conducting electrode's, one for an equipotential electrode); None
        otherwise.
    """

    K: sp.csr_matrix
    blocks: Mapping[str, sp.csr_matrix]
    offsets: Mapping[str, int]
    sizes: Mapping[str, int]
    collectors: Mapping[str, np.ndarray]
    terms: Mapping[str, InterfaceTerm]
    n_electrolyte: int
    Z: sp.csr_matrix | None = None

    @property
    def N(self) -> int:
        return self.K.shape[0]

    def electrode_unknowns(self, x: np.ndarray, electrode: str) -> np.ndarray:
        return x[self.offsets[electrode]:self.offsets[electrode] + self.sizes[electrode]]


def _trace_rows(cell: CellProblem, e: str, el: Electrode) -> tuple[sp.csr_matrix, sp.csr_matrix, int, np.ndarray]:
    """Electrode block, trace map (electrode x electrolyte), size and collector dofs of one electrode."""
    if el.sigma_S_m is None:
        return sp.csr_matrix((1, 1)), cell.equipotential_map(e), 1, np.array([0])
    em = cell.electrode(e)
    return stiffness(em.region.mesh, el.sigma_S_m, cell.order), em.trace_map, em.basis.N, em.collector_dofs


def assemble_two_field(cell: CellProblem, sigma_S_m: float, electrodes: Mapping[str, Electrode]) -> TwoFieldSystem:
    """Assemble the bulk operators and interface terms of the secondary problem (see
    :class:`TwoFieldSystem`).

    Parameters
    ----------
    cell : CellProblem
    sigma_S_m : float
        Electrolyte conductivity, S/m.
    electrodes : mapping
        ``anode``/``cathode`` -> :class:`Electrode`.
    """
    Ke = stiffness(cell.electrolyte.mesh, sigma_S_m, cell.order)
    Ne = cell.basis().N
    blocks, Ts, sizes, local = {"electrolyte": Ke}, {}, {}, {}
    for e in ELECTRODES:
        blocks[e], Ts[e], sizes[e], local[e] = _trace_rows(cell, e, electrodes[e])
    off = {"anode": Ne, "cathode": Ne + sizes["anode"]}
    N = Ne + sizes["anode"] + sizes["cathode"]
    # D_e: the driving force phi_s - phi_e - U (= psi_s - phi_e) at the quadrature points of interface
    # e as one sparse operator on the whole unknown vector: -P on the electrolyte, P T^T on the
    # electrode (P: basis values at the points, the trace operator; T: the trace map). The interface
    # enters the residual as D^T (i dx) and the Jacobian as D^T diag(di/dDelta dx) D: the electrolyte,
    # electrode and coupling blocks of the two-field problem in one product.
    terms = {}
    for e in ELECTRODES:
        P = cell.trace(e)
        D = sp.hstack([-P, sp.csr_matrix((P.shape[0], off[e] - Ne)), P @ Ts[e].T,
                       sp.csr_matrix((P.shape[0], N - off[e] - sizes[e]))], format="csr")
        terms[e] = InterfaceTerm(D, P, np.asarray(cell.facet_basis(e).dx))
    K = sp.block_diag([Ke, blocks["anode"], blocks["cathode"]], format="csr")
    return TwoFieldSystem(K, blocks, off, sizes, {e: off[e] + local[e] for e in ELECTRODES}, terms, Ne,
                          cell.block_prolongation(["electrolyte", *(e if electrodes[e].sigma_S_m is not None else 1
                                                                     for e in ELECTRODES)]))


def solve_secondary(cell: CellProblem, sigma_S_m: float, anode: Electrode, cathode: Electrode,
                    current_A: float | None = None, cell_voltage_V: float | None = None, method: str = "auto",
                    rtol: float = 1e-9, max_iterations: int = 60) -> SecondarySolution:
    """Solve the secondary current distribution (see the module docstring).

    Parameters
    ----------
    cell : CellProblem
        The discretised cell (meshes in metres; its order is the element order).
    sigma_S_m : float
        Electrolyte conductivity, S/m.
    anode, cathode : Electrode
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
        If Newton's method does not converge (:class:`InfeasibleError` if the current is more than
        the cell can deliver).
    """
    if (current_A is None) == (cell_voltage_V is None):
        raise ValueError("give exactly one of current_A (galvanostatic) and cell_voltage_V (potentiostatic)")
    if cell.order not in ELEMENTS:
        raise ValueError(f"element order must be 1 or 2, got {cell.order}")
    t0 = time.perf_counter()
    electrodes = {"anode": anode, "cathode": cathode}
    system = assemble_two_field(cell, sigma_S_m, electrodes)
    t1 = time.perf_counter()
    x, states, info = _newton_solve(system, electrodes, current_A, cell_voltage_V, method, rtol, max_iterations)
    t2 = time.perf_counter()
    sol = _solution(cell, system, electrodes, x, states, info, float(sigma_S_m))
    if current_A is not None:
        _check_feasible(sol.cell_voltage_V, sol.ocv_V, current_A, "")
    return SecondarySolution(**{**sol.__dict__, "timing_s": {"assemble": t1 - t0, "solve": t2 - t1}})


def _newton_solve(system: TwoFieldSystem, electrodes: Mapping[str, Electrode], current_A: float | None,
                  cell_voltage_V: float | None, method: str, rtol: float, max_iterations: int
                  ) -> tuple[np.ndarray, dict[str, InterfaceState], NewtonInfo]:
    """Start (secant laws) and Newton iteration of the two-field system."""
    N = system.N
    Ua, Uc = electrodes["anode"].potential_V, electrodes["cathode"].potential_V
    cathode_set = system.collectors["cathode"]
    fixed = np.zeros(N, dtype=bool)
    fixed[system.collectors["anode"]] = True
    fixed[cathode_set] = True
    galvanostatic = current_A is not None
    free, bordered = ~fixed, cathode_set
    if system.Z is not None:              # the reduced unknowns of a periodic cell
        free = ~reduced_flags(system.Z, fixed)
        bordered = reduced_index(system.Z, cathode_set)
    step = LinearStep(np.flatnonzero(free), bordered if galvanostatic else None,
                      current_A if galvanostatic else 0.0, method, Z=system.Z)
    # Electrode unknowns are relative to their equilibrium potential, so phi_s - phi_e - U = psi_s - phi_e
    # carries no cancellation of the volt-sized U: open circuit is x = 0 and the residual keeps full
    # precision at large exchange currents.
    x = np.zeros(N)
    if not galvanostatic:
        x[cathode_set] = Ua + cell_voltage_V - Uc
    kin = {n: electrodes[n].kinetics for n in ELECTRODES}
    I0 = current_A if galvanostatic else _start_current(system, kin, x, step, Uc - Ua - cell_voltage_V)
    x = x + _secant_step(system, kin, x, step, I0)
    if galvanostatic:
        _check_feasible(float(x[cathode_set[0]]) + Uc - Ua, Uc - Ua, current_A, "estimated ")
    laws = {n: kin[n].current for n in ELECTRODES}
    cap = min(5.0 / (kin[n].f * max(kin[n].alpha_a, kin[n].alpha_c)) for n in ELECTRODES)
    return newton(system.K, system.terms, laws, x, step, cap, rtol, max_iterations)


def _areas(system: TwoFieldSystem) -> dict[str, float]:
    return {n: float(system.terms[n].dx.sum()) for n in ELECTRODES}


def _start_current(system: TwoFieldSystem, kin: Mapping[str, Kinetics], x: np.ndarray, step: LinearStep,
                   drop: float) -> float:
    """Potentiostatic start: estimate the current with linear kinetics, then a lumped cell with the
    true laws at the same electrolyte resistance."""
    area = _areas(system)
    glin = {n: 1.0 / kin[n].resistance(0.0) for n in ELECTRODES}    # R_ct + film
    laws = linear_laws(glin)
    R, st = residual(system.K, system.terms, x, laws)
    xl = x + step(R, jacobian(system.K, system.terms, st), 1e-6)
    _, st = residual(system.K, system.terms, xl, laws)
    I_lin = float(np.sum(st["anode"].load))
    r_lin = {n: 1.0 / (glin[n] * area[n]) for n in ELECTRODES}
    r_e = max(drop, 0.0) / I_lin - r_lin["anode"] - r_lin["cathode"] if I_lin > 0 else 0.0
    return _lumped_current(drop, max(r_e, 0.0), kin, area)


def _secant_step(system: TwoFieldSystem, kin: Mapping[str, Kinetics], x: np.ndarray, step: LinearStep,
                 I0: float) -> np.ndarray:
    """The step to the solution with each law replaced by its secant through the origin and the point
    of uniform current density at current ``I0`` (exact for a planar cell)."""
    area = _areas(system)
    g0 = {}
    for n in ELECTRODES:
        j = I0 / area[n]
        eta = float(kin[n].total_overpotential(np.array([j]))[0])
        g0[n] = j / eta if eta != 0 else 1.0 / kin[n].resistance(0.0)
    R, st = residual(system.K, system.terms, x, linear_laws(g0))
    return step(R, jacobian(system.K, system.terms, st), 1e-8)


def loss_breakdown(system: TwoFieldSystem, electrode: str, x: np.ndarray, state: InterfaceState,
                   kinetics: Kinetics) -> tuple[float, float]:
    """Dissipation (W) of one electrode: ohmic (its region, relative to its collector, plus its
    collapsed film r i^2) and kinetic (i eta), each an integral with the quadrature of the solve."""
    xs = system.electrode_unknowns(x, electrode)
    vc = float(xs[system.collectors[electrode][0] - system.offsets[electrode]])
    dx = system.terms[electrode].dx
    ohm = float((xs - vc) @ (system.blocks[electrode] @ (xs - vc)))
    ohm += float(np.sum(kinetics.film_resistance_ohm_m2 * state.i * state.i * dx))
    return ohm, float(np.sum(state.i * state.eta * dx))


def electrolyte_dissipation(system: TwoFieldSystem, x: np.ndarray) -> float:
    """phi_e^T K_e phi_e (W), with the mean removed (K_e is singular on constants)."""
    pe = x[:system.n_electrolyte]
    m = float(pe.mean())
    return float((pe - m) @ (system.blocks["electrolyte"] @ (pe - m)))


def _solution(cell: CellProblem, system: TwoFieldSystem, electrodes: Mapping[str, Electrode], x: np.ndarray,
              states: Mapping[str, InterfaceState], info: NewtonInfo, sigma: float) -> SecondarySolution:
    """Currents, potentials and the loss breakdown at the converged ``x``."""
    res = {}
    for n in ELECTRODES:
        st, el = states[n], electrodes[n]
        sign = electrode_sign(n)
        xs = system.electrode_unknowns(x, n)
        vc = float(xs[system.collectors[n][0] - system.offsets[n]])
        ohm, kinetic = loss_breakdown(system, n, x, st, el.kinetics)
        dx = system.terms[n].dx
        em = cell.electrode(n) if el.sigma_S_m is not None else None
        res[n] = ElectrodeResult(basis=None if em is None else em.basis, phi_s=xs + el.potential_V,
                                 collector_potential_V=vc + el.potential_V, j_A_m2=sign * st.i, dx_m2=dx,
                                 eta_V=st.eta, current_A=float(sign * np.sum(st.i * dx)), ohmic_W=ohm,
                                 kinetic_W=kinetic, kinetics=el.kinetics,
                                 nodes=None if em is None else em.region.nodes)
    V = res["cathode"].collector_potential_V - res["anode"].collector_potential_V
    return SecondarySolution(basis=cell.basis(), phi=x[:system.n_electrolyte].copy(), sigma=sigma, electrodes=res,
                             cell_voltage_V=V, ocv_V=electrodes["cathode"].potential_V - electrodes["anode"].potential_V,
                             current_A=res["cathode"].current_A, electrolyte_ohmic_W=electrolyte_dissipation(system, x),
                             n_dofs=int(system.N), newton=info)


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
