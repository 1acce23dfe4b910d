"""Newton machinery for interface laws: reusable by every model with nonlinear interface kinetics.

The unknowns x of a cell model are potentials (electrolyte, electrodes); the bulk operator K is
linear and assembled once. An interface k adds a nonlinear term through its driving force

    Delta_k = D_k x         (phi_s - phi_e - U at the interface quadrature points)

and a law ``i, di/dDelta, eta = law(Delta)``:

    R(x) = K x + sum_k D_k^T (i_k dx_k),        J(x) = K + sum_k D_k^T diag(di_k/dDelta dx_k) D_k

(:class:`InterfaceTerm`). :class:`LinearStep` solves J dx = -R on the free unknowns, by a sparse
direct solver or AMG-preconditioned CG whose hierarchy is reused while the Jacobian (which changes
only on the interfaces) keeps CG within twice its first iteration count; galvanostatic operation
borders the system with one scalar unknown (a set of collector unknowns moving together) and its
equation ``sum of R over that set + I = 0``, solved with two solves of the same SPD matrix (a Schur
complement on one scalar). :func:`newton` is the damped, inexact Newton loop: the linear residual a
hundredth of the nonlinear one, and no driving force changing by more than ``cap`` volts at once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .fem import SolveInfo, SolverError, spd_solver

#: an interface law: driving force (V) -> (current density A/m^2, its derivative S/m^2, overpotential V)
Law = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class InterfaceState:
    """One interface at one iterate: current density, overpotential, the current it puts into
    each electrolyte degree of freedom (``load``, A) and di/dDelta at the quadrature points."""

    i: np.ndarray
    eta: np.ndarray
    load: np.ndarray
    di: np.ndarray


@dataclass(frozen=True)
class InterfaceTerm:
    """An interface law as an operator on the whole unknown vector.

    Attributes
    ----------
    D : scipy.sparse.csr_matrix (n_facets * n_qp, N)
        Driving force at the quadrature points from the unknowns.
    P : scipy.sparse.csr_matrix (n_facets * n_qp, N_electrolyte)
        Electrolyte trace operator (the current into the electrolyte per degree of freedom).
    dx : ndarray (n_facets, n_qp)
        Quadrature weights, m^2.
    """

    D: sp.csr_matrix
    P: sp.csr_matrix
    dx: np.ndarray

    def evaluate(self, x: np.ndarray, law: Law) -> InterfaceState:
        """The law at the driving force of ``x``."""
        i, di, eta = law((self.D @ x).reshape(self.dx.shape))
        return InterfaceState(i, eta, self.P.T @ (i * self.dx).ravel(), di)

    def residual(self, state: InterfaceState) -> np.ndarray:
        """This interface's part of R: D^T (i dx)."""
        return self.D.T @ (state.i * self.dx).ravel()

    def jacobian(self, state: InterfaceState) -> sp.csr_matrix:
        """This interface's part of J: D^T diag(di/dDelta dx) D."""
        return self.D.T @ sp.diags((state.di * self.dx).ravel()) @ self.D

    def largest_change(self, dx: np.ndarray) -> float:
        """Largest change of the driving force a step ``dx`` makes, V."""
        return float(np.max(np.abs(self.D @ dx)))


def residual(K: sp.csr_matrix, terms: Mapping[str, InterfaceTerm], x: np.ndarray,
             laws: Mapping[str, Law]) -> tuple[np.ndarray, dict[str, InterfaceState]]:
    """R(x) and the state of every interface."""
    R = K @ x
    states = {}
    for n, term in terms.items():
        states[n] = st = term.evaluate(x, laws[n])
        R += term.residual(st)
    return R, states


def jacobian(K: sp.csr_matrix, terms: Mapping[str, InterfaceTerm],
             states: Mapping[str, InterfaceState]) -> sp.csr_matrix:
    """J at the states :func:`residual` returned (built only when a step is taken)."""
    J = K
    for n, term in terms.items():
        J = J + term.jacobian(states[n])
    return J.tocsr()


@dataclass
class LinearStep:
    """Newton updates on the free unknowns, optionally bordered by a galvanostatic constraint.

    Parameters
    ----------
    free : ndarray of int
        Unknowns solved for (the others are fixed or, with ``bordered``, move together).
    bordered : ndarray of int, optional
        Galvanostatic: unknowns sharing one scalar update (a collector), whose residuals sum to
        ``-current_A``.
    current_A : float
        The imposed current (with ``bordered``).
    method : str
        Linear solver (:func:`solvers.fem.spd_solver`).
    Z : scipy.sparse.csr_matrix, optional
        A periodic cell's prolongation (:mod:`solvers.periodic`): the step solves the reduced
        system Z^T J Z dx_r = -Z^T R and returns dx = Z dx_r; ``free`` and ``bordered`` then number
        the reduced unknowns.
    """

    free: np.ndarray
    bordered: np.ndarray | None = None
    current_A: float = 0.0
    method: str = "auto"
    Z: sp.csr_matrix | None = None
    last: SolveInfo = field(default_factory=lambda: SolveInfo("none", 0, 0, 0.0))
    _amg: object = None
    _amg_iterations: int = 0

    def __call__(self, R: np.ndarray, J: sp.csr_matrix, rtol: float) -> np.ndarray:
        """The update dx of J dx = -R (relative residual ``rtol`` asked of the linear solves)."""
        if self.Z is not None:
            return self.Z @ self._step(self.Z.T @ R, (self.Z.T @ J @ self.Z).tocsr(), rtol)
        return self._step(R, J, rtol)

    def _step(self, R: np.ndarray, J: sp.csr_matrix, rtol: float) -> np.ndarray:
        Jf = J[self.free]
        A = Jf[:, self.free]
        solve = spd_solver(A, self.method, rtol=rtol, scale=True, reuse=self._amg)
        dx = np.zeros(len(R))
        if self.bordered is not None:
            s = self.bordered
            bvec = np.asarray(Jf[:, s].sum(axis=1)).ravel()
            c = float(J[s][:, s].sum())
            RV = float(R[s].sum()) + self.current_A
            z1, info = solve(-R[self.free])
            z2, _ = solve(bvec)
            dV = (-RV - bvec @ z1) / (c - bvec @ z2)
            dx[self.free] = z1 - z2 * dV
            dx[s] = dV
        else:
            dx[self.free], info = solve(-R[self.free])
        self._keep(solve, info)
        return dx

    def _keep(self, solve, info: SolveInfo) -> None:
        """Keep a fresh AMG hierarchy and its count; drop one CG has drifted away from."""
        self.last = info
        if info.method == "amg-cg":
            self._amg, self._amg_iterations = solve, info.iterations
        elif info.method.startswith("amg-cg") and info.iterations > 2 * self._amg_iterations + 10:
            self._amg = None

    def norm(self, R: np.ndarray) -> float:
        """Norm of the reduced residual (free rows, and the bordering equation)."""
        if self.Z is not None:
            R = self.Z.T @ R
        r = R[self.free]
        if self.bordered is not None:
            r = np.append(r, R[self.bordered].sum() + self.current_A)
        return float(np.linalg.norm(r))


@dataclass(frozen=True)
class NewtonInfo:
    """How the nonlinear solve went."""

    iterations: int
    relative_residual: float
    history: tuple[float, ...]
    linear: SolveInfo


def newton(K: sp.csr_matrix, terms: Mapping[str, InterfaceTerm], laws: Mapping[str, Law], x: np.ndarray,
           step: LinearStep, cap_V: float, rtol: float = 1e-9, max_iterations: int = 60
           ) -> tuple[np.ndarray, dict[str, InterfaceState], NewtonInfo]:
    """Damped inexact Newton from ``x`` until ``||R|| <= rtol * sum_k ||load_k||``.

    Returns
    -------
    x : ndarray
    states : dict
        The interface states at the solution.
    info : NewtonInfo

    Raises
    ------
    SolverError
        If the residual is not finite or the iteration does not converge.
    """
    history = []
    it = 0
    while True:
        R, states = residual(K, terms, x, laws)
        scale = sum(float(np.linalg.norm(st.load)) for st in states.values())
        rel = step.norm(R) / scale if scale > 0 else float("inf")
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
        dx = step(R, jacobian(K, terms, states), min(1e-3, max(1e-12, 1e-2 * rel)))
        deta = max(term.largest_change(dx) for term in terms.values())
        x = x + dx * min(1.0, cap_V / deta if deta > 0 else 1.0)
        it += 1
    return x, states, NewtonInfo(it, history[-1], tuple(history), step.last)


def linear_laws(g: Mapping[str, float]) -> dict[str, Law]:
    """Straight-line laws i = g Delta (S/m^2) per interface."""
    def make(gk: float) -> Law:
        return lambda d: (gk * d, np.full_like(d, gk), d)
    return {n: make(gk) for n, gk in g.items()}
