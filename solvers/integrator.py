"""Time integration of the transient cell (:mod:`solvers.transient`) through a list of operations.

An operation is galvanostatic (a current, zero for a rest) or potentiostatic (a cell voltage), and
ends at its duration, at a cut-off voltage (galvanostatic) or at a cut-off current (potentiostatic),
whichever comes first. Each operation starts with an implicit Euler step (the operating point jumps)
and continues with variable-step BDF2:

    (1/h) M (a0 y_{n+1} + a1 y_n + a2 y_{n-1}) + F(y_{n+1}) = 0,
    a0 = (1 + 2w) / (1 + w),  a1 = -(1 + w),  a2 = w^2 / (1 + w),  w = h_n / h_{n-1}.

The local error of the lithiation is estimated from the quadratic predictor through the last three
states (Milne's device: y - y_P = C_P y''' and y - y_C = C_C y''' with the constants of the actual
step sizes, so LTE ~ C_C (y_C - y_P) / (C_P - C_C)) and kept below ``x_tolerance``; a step is
rejected above it, and the next step is h (0.9 / err)^(1/3) within [h/5, 2h]. An event (a cut-off)
inside a step is located by Illinois (regula falsi) iteration on the step size to
``event_tolerance``, bracketed by converged steps only.

Newton's method uses the consistent Jacobian at every iterate, applied without assembly
(:meth:`TransientSystem.jacobian_action`); the linear system is solved by GMRES preconditioned with
a kept sparse LU factorisation (:mod:`solvers.linsolve`) of an earlier Jacobian, and refactorised
only when GMRES needs more than ``KRYLOV_MAX`` iterations for ``KRYLOV_RTOL``. Measured on the
planar cell at 1C (2 k unknowns): 71 factorisations and 556 Newton iterations with a kept LU used
as a chord (refactorised when the mass factor a0/h moved by 2x), 10 and 136 with this scheme; the
discharge takes 1.6 s instead of 3.7 s. A step whose Newton iteration stops contracting is retried
shorter rather than refactorised again (near the cut-off, 20 factorisations were spent per failed
step before). A Newton matrix that is singular to working precision (a zero pivot, at an iterate
far from the solution) fails the iteration the same way.

Charge and energy are accumulated with the same BDF weights as the stored Li, so that the Li balance
closes to the Newton tolerance.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .constants import FARADAY
from .fem import SolverError
from .linsolve import SingularMatrix, factorize
from .periodic import copies, reduced_flags, reduced_index

#: GMRES preconditioned by the kept factorisation: relative tolerance, and the most iterations before
#: a new factorisation is made instead (see _krylov_limit)
KRYLOV_RTOL = 1e-3
KRYLOV_MAX = 30
#: the most trial steps spent locating a cut-off
LOCATE_MAX = 30
#: a step grows only by this factor or more (else it is kept)
STEP_HOLD = 1.5
#: a Newton update that moves no potential (V) and no lithiation by more than this is at the
#: round-off floor: a residual that then stops contracting is converged, not stalled
ROUNDOFF_UPDATE = 1e-8
from .names import ELECTRODES
from .transient import TransientSystem

__all__ = ["IntegrationError", "Operation", "Options", "Sample", "StepEnd", "Trajectory", "integrate",
           "lithium_balance"]


class IntegrationError(SolverError):
    """The time integration stopped: step or wall-clock limit, or Newton failed at the smallest step."""


@dataclass(frozen=True)
class Operation:
    """One operation in solver terms (SI).

    Attributes
    ----------
    label : str
        As the protocol wrote it.
    current_A : float or None
        Galvanostatic current (discharge positive, charge negative, 0 for a rest).
    voltage_V : float or None
        Potentiostatic cell voltage.
    duration_s : float or None
    cutoff_V : float or None
        Galvanostatic: ends when the voltage falls to it (discharge) or rises to it (charge).
    cutoff_A : float or None
        Potentiostatic: ends when |current| falls to it.
    """

    label: str
    current_A: float | None = None
    voltage_V: float | None = None
    duration_s: float | None = None
    cutoff_V: float | None = None
    cutoff_A: float | None = None

    @property
    def galvanostatic(self) -> bool:
        return self.current_A is not None


@dataclass(frozen=True)
class Options:
    """Integration settings.

    Attributes
    ----------
    x_tolerance : float
        Local error allowed in the lithiation per step (absolute, Li fraction).
    event_tolerance_V : float
        A cut-off voltage is located within this, V.
    event_tolerance_rel : float
        A cut-off current is located within this fraction of it.
    first_step_s : float
        First step of every operation, s.
    max_steps : int
        Accepted and rejected steps over the whole run.
    max_wall_s : float
        Wall-clock limit of the whole run, s.
    newton_rtol : float
        Newton stops when the reduced residual is below this times the current scale.
    max_newton : int
        Newton iterations per step before the step is retried with a quarter of its size.
    fixed_step_s : float, optional
        Constant steps without error control (after the first step; for convergence studies).
    cutoff_at_start : {"error", "end"}
        An operation whose cut-off is met at its start raises :class:`IntegrationError` ("error") or
        ends at once with nothing passed ("end": a rate sweep records that rate as delivering 0).
    """

    x_tolerance: float = 1e-3
    event_tolerance_V: float = 1e-4
    event_tolerance_rel: float = 1e-3
    first_step_s: float = 1e-3
    max_steps: int = 20000
    max_wall_s: float = 3600.0
    newton_rtol: float = 1e-10
    max_newton: int = 30
    fixed_step_s: float | None = None
    cutoff_at_start: str = "error"


@dataclass(frozen=True)
class Sample:
    """The cell at one accepted time (SI; x statistics per electrode with storage)."""

    t_s: float
    step: int
    voltage_V: float
    current_A: float
    charge_C: float
    energy_J: float
    x_mean: dict
    x_surface: dict


@dataclass(frozen=True)
class StepEnd:
    """How one operation ended."""

    label: str
    ended_by: str
    duration_s: float
    charge_C: float
    energy_J: float
    end_voltage_V: float
    end_current_A: float


@dataclass
class Trajectory:
    """Everything an integration produced."""

    samples: list[Sample] = field(default_factory=list)
    steps: list[StepEnd] = field(default_factory=list)
    states: list[tuple[float, np.ndarray]] = field(default_factory=list)
    y: np.ndarray | None = None
    accepted: int = 0
    rejected: int = 0
    newton_iterations: int = 0
    factorisations: int = 0
    linear_solve_s: float = 0.0
    krylov_iterations: int = 0
    initial_lithium: dict = field(default_factory=dict)
    op_end_states: list[np.ndarray] = field(default_factory=list)
    op_start_x: list[dict] = field(default_factory=list)
    charge_total_C: float = 0.0
    throughput_C: float = 0.0


class _NoConvergence(Exception):
    pass


@dataclass
class _Linear:
    """The reduced system of one operation and its kept factorisation."""

    Z: sp.csr_matrix
    set_dofs: np.ndarray
    set_values: np.ndarray
    bordered: bool
    lu: object = None
    mass_factor: float = math.nan
    scale: np.ndarray | None = None
    factor_s: float = math.nan       # measured: the last factorisation, one preconditioned GMRES iteration
    solve_s: float = math.nan


def _reduction(system: TransientSystem, op: Operation, x_free: bool) -> _Linear:
    """Z (N x n) with y = Z z + fixed: the anode collector is the reference, the cathode collector is
    one unknown (galvanostatic, last column) or fixed (potentiostatic); ``x_free`` False also fixes
    the lithiation (the consistent initial state)."""
    N = system.N
    b = system.blocks
    fixed = np.zeros(N, dtype=bool)
    fixed[b["anode"].collector] = True
    fixed[b["cathode"].collector] = True
    if not x_free:
        for e in ELECTRODES:
            fixed[b[e].x] = True
    P = system.Z                         # a periodic cell: columns over its reduced unknowns
    if P is not None:
        fixed = reduced_flags(P, fixed)
    n = len(fixed)
    free = np.flatnonzero(~fixed)
    cols = [sp.csr_matrix((np.ones(len(free)), (free, np.arange(len(free)))), shape=(n, len(free)))]

    def held(dofs: np.ndarray) -> np.ndarray:
        return dofs if P is None else copies(P, dofs)

    set_dofs = [held(b["anode"].collector)]
    values = [np.zeros(len(set_dofs[0]))]
    if op.galvanostatic:
        c = b["cathode"].collector if P is None else reduced_index(P, b["cathode"].collector)
        cols.append(sp.csr_matrix((np.ones(len(c)), (c, np.zeros(len(c), int))), shape=(n, 1)))
    else:
        set_dofs.append(held(b["cathode"].collector))
        values.append(np.full(len(set_dofs[-1]), op.voltage_V - system.electrodes["cathode"].reference_V
                              + system.electrodes["anode"].reference_V))
    Z = sp.hstack(cols, format="csr")
    return _Linear(Z if P is None else (P @ Z).tocsr(), np.concatenate(set_dofs), np.concatenate(values),
                   op.galvanostatic)


def _bdf(hs: list[float]) -> np.ndarray:
    """Coefficients a_j of (1/h) sum_j a_j y_{n+1-j} for the last steps ``hs`` (newest first):
    implicit Euler for one step of history, variable-step BDF2 for two."""
    if len(hs) < 2:
        return np.array([1.0, -1.0])
    w = hs[0] / hs[1]
    return np.array([(1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w)])


def _error_constants(hs: list[float]) -> tuple[float, float]:
    """C_C and C_P (see the module docstring) for steps ``hs`` (newest first, three of them): the
    errors y - y_C and y - y_P per unit y''' of BDF2 and of the quadratic predictor."""
    h0, h1, h2 = hs[:3]
    t = np.array([h0, 0.0, -h1])                   # t_{n+1}, t_n, t_{n-1} relative to t_n
    a = _bdf(hs[:2])
    # BDF2 applied to y = t^3/6 leaves the residual tau = (a . y)/h - y'(t_{n+1}); y_C - y = -tau h / a0
    tau = float(a @ (t ** 3 / 6)) / h0 - h0 ** 2 / 2
    c_corr = tau * h0 / a[0]
    c_pred = h0 * (h0 + h1) * (h0 + h1 + h2) / 6     # y - P for the quadratic through the last three
    return c_corr, c_pred


def _predict(states: list[tuple[float, np.ndarray]], t_new: float) -> np.ndarray:
    """Polynomial extrapolation through the last (up to three) states."""
    pts = states[-3:]
    if len(pts) == 1:
        return pts[0][1].copy()
    ts = [p[0] for p in pts]
    out = np.zeros_like(pts[0][1])
    for j, (tj, yj) in enumerate(pts):
        w = 1.0
        for k, tk in enumerate(ts):
            if k != j:
                w *= (t_new - tk) / (tj - tk)
        out += w * yj
    return out


def _x_change(system: TransientSystem, dy: np.ndarray) -> float:
    """Largest change of a lithiation in an update."""
    return max([float(np.max(np.abs(dy[b.x]))) for b in system.blocks.values() if b.x.stop > b.x.start] or [0.0])


def _factorise(system: TransientSystem, lin: _Linear, J: sp.csr_matrix, mass_factor: float,
               traj: Trajectory) -> None:
    """Factorise the reduced, symmetrically scaled Newton matrix S Z^T J Z S and keep it in ``lin``.

    A Jacobian with non-finite entries or singular to working precision (at a Newton iterate far from
    the solution) fails the iteration like a diverging residual: the step is retried shorter."""
    t0 = time.perf_counter()
    A = (lin.Z.T @ J @ lin.Z).tocsc()
    if not np.all(np.isfinite(A.data)):
        raise _NoConvergence("the Jacobian is not finite")
    # symmetric diagonal scaling: the potential rows (S) and the lithiation rows (F c_max / h, m^3)
    # differ by orders of magnitude, and SuperLU's partial pivoting then leaves the diagonal and
    # fills in (measured: 4 s instead of 0.1 s a factorisation on a 5.6 k unknown planar cell)
    diag = np.abs(A.diagonal())
    lin.scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    S = sp.diags(lin.scale)
    try:
        lin.lu = factorize((S @ A @ S).tocsc())
    except SingularMatrix as exc:
        lin.lu = None
        raise _NoConvergence(f"singular Jacobian ({exc})") from None
    lin.mass_factor = mass_factor
    lin.factor_s = time.perf_counter() - t0
    traj.linear_solve_s += lin.factor_s
    traj.factorisations += 1


class _TooMany(Exception):
    pass


def _krylov_limit(lin: _Linear) -> int:
    """GMRES iterations worth spending before a new factorisation: a third of the measured
    factorisation-to-solve cost ratio, within [3, KRYLOV_MAX] (that ratio is ~25 on a 2 k unknown
    planar cell and ~50 on the 30 k unknown pillar cell)."""
    if not lin.solve_s > 0:
        return KRYLOV_MAX
    return int(min(KRYLOV_MAX, max(3, lin.factor_s / (3 * lin.solve_s))))


def _krylov(lin: _Linear, J: Callable[[np.ndarray], np.ndarray], r: np.ndarray, traj: Trajectory
            ) -> np.ndarray | None:
    """Solve Z^T J Z dz = -r by GMRES preconditioned with the kept (stale) factorisation; None when it
    needs more than :func:`_krylov_limit` iterations (then a new factorisation is cheaper)."""
    t0 = time.perf_counter()
    s = lin.scale
    n = len(s)
    limit = _krylov_limit(lin)
    A = spla.LinearOperator((n, n), matvec=lambda v: s * (lin.Z.T @ J(lin.Z @ (s * v))), dtype=float)
    P = spla.LinearOperator((n, n), matvec=lin.lu.solve, dtype=float)
    count = [0]

    def tally(_res):
        count[0] += 1
        if count[0] > limit:
            raise _TooMany

    try:
        # restarts allowed: scipy stops a cycle on the preconditioned residual and checks the true one
        w, info = spla.gmres(A, -r * s, M=P, rtol=KRYLOV_RTOL, atol=0.0, restart=limit, maxiter=3,
                             callback=tally, callback_type="pr_norm")
    except _TooMany:
        w, info = None, 1
    dt = time.perf_counter() - t0
    traj.linear_solve_s += dt
    traj.krylov_iterations += count[0]
    lin.solve_s = dt / max(count[0], 1)
    return s * w if info == 0 else None


def _newton(system: TransientSystem, lin: _Linear, op: Operation, y0: np.ndarray, hist: np.ndarray,
            mass_factor: float, scale_A: float, options: Options, traj: Trajectory, cap_V: float) -> tuple:
    """Newton's method for one implicit step (or the consistent initial state, mass_factor 0).

    Every iteration uses the Jacobian at the iterate; the linear system is solved by GMRES with the
    kept factorisation as preconditioner, and refactorised when GMRES needs more than
    ``KRYLOV_MAX`` iterations or the step is the consistent initial state."""
    y = y0.copy()                  # held unknowns keep their values (the lithiation at the start)
    y[lin.set_dofs] = lin.set_values
    if lin.bordered:               # the cathode collector moves as one
        c = system.blocks["cathode"].collector
        y[c] = y0[c[0]]
    tol = options.newton_rtol * scale_A
    last = math.inf
    small = False                  # the last full update moved nothing by more than ROUNDOFF_UPDATE
    for it in range(options.max_newton):
        st = system.states(y)
        R = system.residual(y, st, hist, mass_factor)
        r = lin.Z.T @ R
        if lin.bordered:
            r[-1] += op.current_A
        norm = float(np.max(np.abs(r)))
        if not np.isfinite(norm):
            raise _NoConvergence("not finite")
        if norm <= tol:
            traj.newton_iterations += it
            return y, st
        if it >= 3 and norm > 0.5 * last:
            if small:
                # stalled at the round-off floor of the residual (a tiny footprint makes tol tiny)
                traj.newton_iterations += it
                return y, st
            # Newton with the consistent Jacobian stalls: the step is too long for the nonlinearity
            raise _NoConvergence("Newton does not contract")
        last = norm
        dz = None
        if lin.lu is not None and (mass_factor == 0) == (lin.mass_factor == 0):
            dz = _krylov(lin, system.jacobian_action(st, mass_factor), r, traj)
        if dz is None:
            _factorise(system, lin, system.jacobian(st, mass_factor), mass_factor, traj)
            t0 = time.perf_counter()
            dz = lin.scale * lin.lu.solve(-r * lin.scale)
            traj.linear_solve_s += time.perf_counter() - t0
        dy = lin.Z @ dz
        change = max(float(np.max(np.abs(system.D[e] @ dy))) for e in ELECTRODES)
        damp = min(1.0, cap_V / change if change > 0 else 1.0)
        y = y + dy * damp
        small = damp == 1.0 and change <= ROUNDOFF_UPDATE and _x_change(system, dy) <= ROUNDOFF_UPDATE
        # converged when a full step changes no potential by more than 1e-10 V and no lithiation by
        # more than 1e-10 (the residual, a sum of large mass terms at small steps, may not reach tol)
        if damp == 1.0 and change <= 1e-10 and _x_change(system, dy) <= 1e-10 and norm <= 1e-6 * scale_A:
            traj.newton_iterations += it + 1
            return y, system.states(y)
    raise _NoConvergence(f"no convergence in {options.max_newton} iterations")


def _sample(system: TransientSystem, t: float, step: int, y: np.ndarray, states: dict, charge: float,
            energy: float) -> Sample:
    x_mean, x_surf = {}, {}
    for e, w in system.lithium_weights.items():
        x_mean[e] = float(w @ y[system.blocks[e].x] / w.sum())
        xs, dx = states[e][4], system.dx[e]
        x_surf[e] = {"mean": float((xs * dx).sum() / dx.sum()), "min": float(xs.min()), "max": float(xs.max())}
    return Sample(t, step, system.cell_voltage(y), system.current_A(states), charge, energy, x_mean, x_surf)


@dataclass
class _Run:
    """State carried from step to step within one operation."""

    t: float
    hist: list                       # [(t, y)] accepted states of this operation, oldest first
    hs: list                         # accepted step sizes, newest first
    charge: list                     # charge passed at the accepted states (BDF-consistent), C
    energy: float
    h: float
    VI: tuple = (0.0, 0.0)           # voltage and current of the last accepted state
    ended: str | None = None

    def accept(self, h: float, y: np.ndarray, V: float, I: float, charge: float) -> None:
        """Take the step: time, history (three states), charge and energy (trapezoid of V I)."""
        self.energy += 0.5 * h * (self.VI[0] * self.VI[1] + V * I)
        self.t += h
        self.hist = [*self.hist, (self.t, y)][-3:]
        self.hs = [h, *self.hs][:3]
        self.charge = [*self.charge, charge][-3:]
        self.VI = (V, I)

    def next_step(self, h: float, err: float, options: Options) -> None:
        """The next step size: h (0.9 / err)^(1/3) within [h/5, 2h], kept at h when that would grow
        it by less than STEP_HOLD (as CVODE does: a constant step keeps the mass factor of the kept
        factorisation exact), or the fixed step."""
        if options.fixed_step_s is not None:
            self.h = options.fixed_step_s
            return
        eta = min(2.0, max(0.2, 0.9 * err ** (-1 / 3))) if err > 0 else 2.0
        self.h = h if 1.0 <= eta < STEP_HOLD else h * eta


def _attempt(system: TransientSystem, lin: _Linear, op: Operation, run: _Run, h: float, scale_A: float,
             options: Options, traj: Trajectory, cap_V: float) -> tuple:
    """One implicit step of size h from the operation's last state: (y, states, err, charge)."""
    hs = [h, *run.hs[:2]]
    order = 1 if len(run.hist) < 2 else 2
    a = _bdf(hs[:order])
    past = [y for _, y in run.hist[::-1][:order]]
    hist_vec = system.M @ sum(a[j + 1] * past[j] for j in range(order)) / h
    t_new = run.t + h
    guess = _predict(run.hist, t_new)
    y, st = _newton(system, lin, op, guess, hist_vec, a[0] / h, scale_A, options, traj, cap_V)
    I = system.current_A(st)
    q_past = run.charge[::-1][:order]
    charge = (h * I - sum(a[j + 1] * q_past[j] for j in range(order))) / a[0]
    err = 0.0
    if len(run.hist) >= 3 and system.lithium_weights:
        c_corr, c_pred = _error_constants(hs)
        idx = np.concatenate([np.arange(system.N)[system.blocks[e].x] for e in system.lithium_weights])
        diff = float(np.max(np.abs(y[idx] - guess[idx])))
        err = abs(c_corr / (c_pred - c_corr)) * diff / options.x_tolerance
    return y, st, err, charge


def _event(op: Operation, V: float, I: float) -> float | None:
    """Signed distance to the operation's cut-off (<= 0: reached), or None without one."""
    if op.galvanostatic and op.cutoff_V is not None:
        return V - op.cutoff_V if op.current_A > 0 else op.cutoff_V - V
    if not op.galvanostatic and op.cutoff_A is not None:
        return abs(I) - op.cutoff_A
    return None


def _locate(system, lin, op, run, h, scale_A, options, traj, cap_V, g0: float, g1: float, result):
    """Illinois (modified regula falsi) iteration on the step size until the cut-off is met within the
    tolerance. The bracket [lo, hi] holds only steps that converged (g > 0 before the cut-off, g <= 0
    past it); a step whose Newton iteration fails is retried halfway back to ``lo``, and never taken
    for one past the cut-off (the cut-off need not lie before it)."""
    tol = options.event_tolerance_V if op.galvanostatic else options.event_tolerance_rel * op.cutoff_A
    lo, glo, hi, ghi = 0.0, g0, h, g1
    best = (h, result)
    side = 0                       # which end moved last: +1 lo, -1 hi (Illinois halves the other's g)
    h_try = _secant(lo, glo, hi, ghi)
    for _ in range(LOCATE_MAX):
        try:
            res = _attempt(system, lin, op, run, h_try, scale_A, options, traj, cap_V)
        except _NoConvergence:
            h_try = lo + 0.5 * (h_try - lo)
            continue
        g = _event(op, system.cell_voltage(res[0]), system.current_A(res[1]))
        if abs(g) <= tol:
            return h_try, res
        if g > 0:
            lo, glo = h_try, g
            ghi = ghi / 2 if side == 1 else ghi
            side = 1
        else:
            hi, ghi, best = h_try, g, (h_try, res)
            glo = glo / 2 if side == -1 else glo
            side = -1
        h_try = _secant(lo, glo, hi, ghi)
    return best


def _secant(lo: float, glo: float, hi: float, ghi: float) -> float:
    """The zero of the line through (lo, glo) and (hi, ghi), kept 1 % of the bracket from its ends."""
    h = lo + (hi - lo) * glo / (glo - ghi) if glo != ghi else 0.5 * (lo + hi)
    return min(max(h, lo + 0.01 * (hi - lo)), hi - 0.01 * (hi - lo))


def integrate(system: TransientSystem, y0: np.ndarray, operations: list[Operation], options: Options = Options(),
              scale_A: float = 1.0, on_step: Callable[[Sample], None] | None = None,
              keep: Callable[[Sample], bool] | None = None) -> Trajectory:
    """Run ``operations`` in order from the state ``y0`` (lithiation set; potentials a guess).

    Parameters
    ----------
    system : TransientSystem
    y0 : ndarray
        Initial state; its x blocks are the initial lithiation.
    operations : list of Operation
    options : Options
    scale_A : float
        Current scale of the Newton tolerance (e.g. the 1C current), A.
    on_step : callable, optional
        Called with every accepted :class:`Sample` (a progress bar).
    keep : callable, optional
        Whether to keep the full state of a sample (``Trajectory.states``, for snapshots).

    Returns
    -------
    Trajectory

    Raises
    ------
    IntegrationError
        Step or wall-clock limit exceeded, or Newton failed at the smallest step.
    """
    traj = Trajectory()
    ctx = _Context(system, options, scale_A, time.perf_counter(), on_step, keep,
                   min(5.0 / (el.kinetics.f * max(el.kinetics.alpha_a, el.kinetics.alpha_c))
                       for el in system.electrodes.values()))
    y = y0.copy()
    traj.initial_lithium = {e: float(w @ y[system.blocks[e].x]) for e, w in system.lithium_weights.items()}
    t_total, q_total, e_total = 0.0, 0.0, 0.0
    for k, op in enumerate(operations):
        y, run = _operation(ctx, traj, op, k, y, t_total, q_total, e_total)
        q_op = run.charge[-1]
        traj.op_end_states.append(y.copy())
        traj.steps.append(StepEnd(op.label, run.ended, run.t, q_op, run.energy, *run.VI))
        t_total += run.t
        q_total += q_op
        traj.throughput_C += abs(q_op)
        e_total += run.energy
    traj.y = y
    traj.charge_total_C = q_total
    return traj


@dataclass(frozen=True)
class _Context:
    """What every step of a run needs besides its state."""

    system: TransientSystem
    options: Options
    scale_A: float
    wall0: float
    on_step: Callable[[Sample], None] | None
    keep: Callable[[Sample], bool] | None
    cap_V: float

    def record(self, traj: Trajectory, sample: Sample, y: np.ndarray) -> None:
        traj.samples.append(sample)
        if self.keep is not None and self.keep(sample):
            traj.states.append((sample.t_s, y.copy()))
        if self.on_step is not None:
            self.on_step(sample)


def _start(ctx: _Context, traj: Trajectory, op: Operation, k: int, y: np.ndarray, t0: float, q0: float,
           e0: float) -> tuple[np.ndarray, _Run]:
    """The consistent potentials at the start of an operation (lithiation held), checked against its
    cut-off, recorded as a sample."""
    system = ctx.system
    try:
        y, st = _newton(system, _reduction(system, op, x_free=False), op, y, np.zeros(system.N), 0.0, ctx.scale_A,
                        ctx.options, traj, ctx.cap_V)
    except _NoConvergence as exc:
        raise IntegrationError(f"{op.label}: no consistent state at its start ({exc}): the cell cannot "
                               "carry this operation") from None
    V0, I0 = system.cell_voltage(y), system.current_A(st)
    g = _event(op, V0, I0)
    at_cutoff = g is not None and g <= 0
    if at_cutoff and ctx.options.cutoff_at_start != "end":
        raise IntegrationError(f"{op.label}: the cut-off is reached at its start (cell voltage "
                               f"{V0:.4g} V, current {I0:.4g} A)")
    sample = _sample(system, t0, k, y, st, q0, e0)
    traj.op_start_x.append(dict(sample.x_mean))
    ctx.record(traj, sample, y)
    run = _Run(0.0, [(0.0, y)], [], [0.0], 0.0, ctx.options.first_step_s, (V0, I0))
    if at_cutoff:
        run.ended = "voltage" if op.galvanostatic else "current"
    return y, run


def _check_limits(ctx: _Context, traj: Trajectory, op: Operation, t: float) -> None:
    if traj.accepted + traj.rejected >= ctx.options.max_steps:
        raise IntegrationError(f"{op.label}: more than {ctx.options.max_steps} time steps (raise the limit, "
                               "or loosen the lithiation tolerance)")
    if time.perf_counter() - ctx.wall0 > ctx.options.max_wall_s:
        raise IntegrationError(f"{op.label}: wall-clock limit of {ctx.options.max_wall_s:g} s reached at "
                               f"t = {t:.4g} s")


def _operation(ctx: _Context, traj: Trajectory, op: Operation, k: int, y: np.ndarray, t0: float, q0: float,
               e0: float) -> tuple[np.ndarray, _Run]:
    """Integrate one operation to its end (a cut-off, its duration, or exhaustion)."""
    system, options = ctx.system, ctx.options
    y, run = _start(ctx, traj, op, k, y, t0, q0, e0)
    lin = _reduction(system, op, x_free=True)
    while run.ended is None:
        _check_limits(ctx, traj, op, t0 + run.t)
        h = run.h if op.duration_s is None else min(run.h, op.duration_s - run.t)
        try:
            res = _attempt(system, lin, op, run, h, ctx.scale_A, options, traj, ctx.cap_V)
        except _NoConvergence as exc:
            traj.rejected += 1
            run.h = h / 4
            if run.h < 1e-9 * max(1.0, run.t):
                if run.t == 0.0:
                    raise IntegrationError(f"{op.label}: Newton fails at the smallest step ({exc})") from None
                run.ended = "exhausted"        # the cell cannot go on (e.g. a fully lithiated surface)
            continue
        err = 0.0 if options.fixed_step_s is not None else res[2]
        if err > 1.0:
            traj.rejected += 1
            run.h = h * max(0.2, 0.9 * err ** (-1 / 3))
            continue
        V, I = system.cell_voltage(res[0]), system.current_A(res[1])
        g = _event(op, V, I)
        if g is not None and g <= 0:
            h, res = _locate(system, lin, op, run, h, ctx.scale_A, options, traj, ctx.cap_V, _event(op, *run.VI), g,
                             res)
            V, I = system.cell_voltage(res[0]), system.current_A(res[1])
            run.ended = "voltage" if op.galvanostatic else "current"
        elif op.duration_s is not None and run.t + h >= op.duration_s * (1 - 1e-12):
            run.ended = "time"
        traj.accepted += 1
        y, charge = res[0], res[3]
        run.accept(h, y, V, I, charge)
        run.next_step(h, err, options)
        ctx.record(traj, _sample(system, t0 + run.t, k, y, res[1], q0 + charge, e0 + run.energy), y)
    return y, run


def lithium_balance(system: TransientSystem, traj: Trajectory) -> float:
    """|Li gained by the cathode (lost by an intercalation anode) - net charge passed / F|, relative
    to the charge throughput / F (the sum of every operation's |charge|), the worst electrode; 0 when
    no charge passed."""
    q = traj.charge_total_C / FARADAY
    scale = traj.throughput_C / FARADAY
    if scale == 0 or traj.y is None:
        return 0.0
    worst = 0.0
    for e, w in system.lithium_weights.items():
        sign = 1.0 if e == "cathode" else -1.0
        gained = float(w @ traj.y[system.blocks[e].x]) - traj.initial_lithium[e]
        worst = max(worst, abs(gained - sign * q) / scale)
    return worst
