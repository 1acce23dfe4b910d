"""Transient discharge and charge: Li diffusion in the intercalation electrodes coupled to the
secondary current distribution.

Equations (SI). Electrolyte Omega_e (single-ion conductor, transference number one):

    -div(sigma grad phi_e) = 0                                 in Omega_e

Electrode k (anode, cathode) with Li fraction x = c / c_max (an intercalation electrode):

    c_max dx/dt = div(D c_max grad x)                          in Omega_k
    -D c_max grad x . n = i_k / F                              on Gamma_k  (Li leaves with the current)
    no flux elsewhere;  phi_s equipotential, or -div(sigma_s grad phi_s) = 0 (electrode conduction)

Interface Gamma_k, with i_k the current density leaving electrode k (positive at the anode and
negative at the cathode during discharge):

    i_k = i0(x_s) [exp(alpha_a f eta) - exp(-alpha_c f eta)],   eta = phi_s - phi_e - U_k(x_s) - r i_k
    i0(x_s) = i0_ref 2 sqrt(x_s (1 - x_s))   ("lithiation"; i0_ref is the value at x = 1/2) or i0_ref

(:meth:`solvers.kinetics.Kinetics.current_at`; ``r`` the series resistance of collapsed films). A Li
metal electrode is a reservoir: no diffusion, U = its potential, constant i0.

Collapsed film (an electrode film thinner than ``mesh.thin_layer_limit``, not meshed: the 50 nm Si
anode of a trench). Its Li diffuses in the prism Gamma_k x [0, t] over the interface, depth s:

    c_max dx/dt = D c_max (d2x/ds2 + lap_Gamma x),   -D c_max dx/ds = i_k / F at s = 0,   dx/ds = 0 at s = t

discretised as the product of the interface's elements and linear elements through t
(:func:`collapsed_film`); the film is equipotential (its through-film resistance is ``r``), and the
curvature of the interface over the film thickness (t/R) is neglected.

Discretisation. Lagrange elements of the cell's order for every field (:mod:`solvers.cell`); the
unknown vector is ``[phi_e | psi_a | psi_c | x_a | x_c]`` with psi_k = phi_s - U_ref,k (U_ref,k: the
OCP at the initial lithiation, so that no volt-sized constant cancels in the driving force) and x_k
present for intercalation electrodes only. The diffusion rows are multiplied by F: their residual is
a current (A), like the potential rows:

    R = K y + (1/h) M (sum_j a_j y_{n+1-j}) + sum_k (D_k + X_k)^T (i_k dx)

with K the block-diagonal stiffness (sigma, sigma_s, F c_max D), M the mass of the x blocks times
F c_max, D_k the driving force phi_s - phi_e at the interface quadrature points (as in the secondary
model, :class:`solvers.newton.InterfaceTerm`) and X_k the electrode lithiation there. The consistent
Jacobian is K + (a_0 / h) M + sum_k (D_k + X_k)^T diag(dx (di/dDelta D_k + di/dx X_k)), with
di/dx = -di/dDelta U'(x) + di/di0 i0'(x). Li is conserved exactly by the discrete scheme: the
interface term of the x rows is the same quadrature as the current, and the time scheme is exact for
a linear-in-time store (a check reported as ``lithium_balance_relative_error``).

Operation: the anode collector is the reference (psi = 0); galvanostatic steps tie the cathode
collector to one unknown whose equation is the current balance (the secondary model's bordering,
here assembled into the sparse matrix through a reduction Z: J_red = Z^T J Z); potentiostatic steps
fix it.

Time integration: variable-step BDF2 (an implicit Euler first step after every change of operation),
Newton with the consistent Jacobian, solved by GMRES preconditioned with a kept sparse LU
factorisation (:mod:`solvers.integrator`), the local error of the lithiation estimated from the difference to a quadratic predictor
(Milne's device) and kept below ``x_tolerance``; cut-off voltages and currents located by secant
iteration on the last step to within ``event_tolerance``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from skfem import BilinearForm, CellBasis

from .cell import CellError, CellProblem
from .constants import FARADAY
from .fem import init_edges, stiffness
from .kinetics import Kinetics
from .names import ELECTRODES

__all__ = ["Storage", "TransientElectrode", "TransientSystem", "Film", "assemble_transient", "collapsed_film",
           "interface_law"]

#: lithiation kept inside (X_EPS, 1 - X_EPS) where i0(x) and the OCP are evaluated
X_EPS = 1e-9


@dataclass(frozen=True)
class Storage:
    """Li storage of an intercalation electrode (SI).

    Attributes
    ----------
    c_max : float
        Maximum Li concentration, mol/m^3.
    diffusivity : float
        Li diffusivity at the operating temperature, m^2/s.
    ocp : callable
        U(x) in V vs Li/Li+ (vectorised), with a ``derivative(x)`` method (dU/dx, V).
    x0 : float
        Initial Li fraction.
    i0_law : {"lithiation", "constant"}
        Exchange current density law (see the module docstring).
    film_m : float, optional
        Thickness (m) of a film collapsed onto the interface (not meshed): Li diffuses through it
        on the through-thickness lines of :func:`collapsed_film`.
    """

    c_max: float
    diffusivity: float
    ocp: Callable
    x0: float
    i0_law: str = "lithiation"
    film_m: float | None = None


@dataclass(frozen=True)
class TransientElectrode:
    """One electrode of the transient model.

    Attributes
    ----------
    kinetics : Kinetics
        Interface law with ``i0_A_m2`` the reference exchange current density (at x = 1/2 with the
        lithiation law), transfer coefficients, temperature and collapsed-film resistance.
    potential_V : float
        A reservoir's equilibrium potential (Li metal: 0); ignored with ``storage``.
    sigma_S_m : float or None
        Electronic conductivity: the region conducts; None: equipotential.
    storage : Storage or None
        Li storage; None for a reservoir (Li metal).
    """

    kinetics: Kinetics
    potential_V: float = 0.0
    sigma_S_m: float | None = None
    storage: Storage | None = None

    @property
    def reference_V(self) -> float:
        """U_ref: the OCP at the initial lithiation (a reservoir's potential)."""
        if self.storage is None:
            return self.potential_V
        return float(self.storage.ocp(np.array([self.storage.x0]))[0])


def exchange_current(x: np.ndarray, i0_ref: float, law: str) -> tuple[np.ndarray, np.ndarray]:
    """i0(x) and di0/dx (A/m^2) for the ``lithiation`` or ``constant`` law."""
    if law == "constant":
        return np.full_like(x, i0_ref), np.zeros_like(x)
    xc = np.clip(x, X_EPS, 1 - X_EPS)
    s = np.sqrt(xc * (1 - xc))
    return 2 * i0_ref * s, i0_ref * (1 - 2 * xc) / s


def interface_law(el: TransientElectrode, drive: np.ndarray, x_s: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Current density and its derivatives at the interface quadrature points.

    Parameters
    ----------
    drive : ndarray
        psi_s - phi_e (V): the driving force before the OCP, relative to ``reference_V``.
    x_s : ndarray or None
        Surface lithiation (None for a reservoir).

    Returns
    -------
    i, di_ddrive, di_dx, eta : ndarray
        A/m^2, S/m^2, A/m^2 per unit x, V.
    """
    kin = el.kinetics
    if el.storage is None:
        i, d, _, eta = kin.current_at(drive, np.full_like(drive, kin.i0_A_m2))
        return i, d, np.zeros_like(drive), eta
    st = el.storage
    xc = np.clip(x_s, X_EPS, 1 - X_EPS)
    delta = drive - (st.ocp(xc) - el.reference_V)
    i0, di0 = exchange_current(x_s, kin.i0_A_m2, st.i0_law)
    i, d, di_di0, eta = kin.current_at(delta, i0)
    return i, d, -d * st.ocp.derivative(xc) + di_di0 * di0, eta


@dataclass(frozen=True)
class Block:
    """Where an electrode's unknowns live in the full vector (empty slices when absent)."""

    psi: slice
    x: slice
    collector: np.ndarray


@dataclass
class TransientSystem:
    """The assembled transient problem (operators built once; see the module docstring).

    Attributes
    ----------
    cell : CellProblem
    electrodes : dict
        ``anode``/``cathode`` -> :class:`TransientElectrode`.
    N : int
        Unknowns.
    n_e : int
        Electrolyte unknowns (first in the vector).
    blocks : dict
        Per electrode, its :class:`Block`.
    K, M : scipy.sparse.csr_matrix
        Stiffness (potentials and F c_max D on the x blocks) and F c_max x mass.
    D, X : dict
        Per electrode, the driving-force and lithiation operators at the interface quadrature
        points (rows: points, columns: the full vector; X is None for a reservoir).
    dx : dict
        Per electrode, quadrature weights (n_facets, n_qp), m^2.
    lithium_weights : dict
        Per intercalation electrode, w with w . x_k = stored Li (mol).
    films : dict
        Per collapsed intercalation film, its :class:`Film`.
    Z : scipy.sparse.csr_matrix or None
        A periodic cell's prolongation of the whole vector (:meth:`CellProblem.block_prolongation`); the
        integrator solves for its reduced unknowns. None otherwise.
    """

    cell: CellProblem
    electrodes: Mapping[str, TransientElectrode]
    N: int
    n_e: int
    blocks: Mapping[str, Block]
    K: sp.csr_matrix
    M: sp.csr_matrix
    D: Mapping[str, sp.csr_matrix]
    X: Mapping[str, sp.csr_matrix | None]
    dx: Mapping[str, np.ndarray]
    lithium_weights: Mapping[str, np.ndarray] = field(default_factory=dict)
    films: Mapping[str, Film] = field(default_factory=dict)
    Z: sp.csr_matrix | None = None

    def states(self, y: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
        """Interface law at ``y`` per electrode: (i, di/ddrive, di/dx, eta, x_s)."""
        out = {}
        for e in ELECTRODES:
            shape = self.dx[e].shape
            drive = (self.D[e] @ y).reshape(shape)
            xs = None if self.X[e] is None else (self.X[e] @ y).reshape(shape)
            out[e] = (*interface_law(self.electrodes[e], drive, xs), xs)
        return out

    def residual(self, y: np.ndarray, states: Mapping, history: np.ndarray, mass_factor: float = 0.0) -> np.ndarray:
        """R(y) = K y + mass_factor M y + history + interface terms: ``mass_factor`` is a0 / h and
        ``history`` (1/h) M sum_{j>=1} a_j y_{n+1-j} (both zero for a steady solve)."""
        R = self.K @ y + history
        if mass_factor:
            R += mass_factor * (self.M @ y)
        for e in ELECTRODES:
            w = (states[e][0] * self.dx[e]).ravel()
            R += self.D[e].T @ w
            if self.X[e] is not None:
                R += self.X[e].T @ w
        return R

    def jacobian(self, states: Mapping, mass_factor: float) -> sp.csr_matrix:
        """K + mass_factor M + the interface terms (consistent)."""
        J = self.K + mass_factor * self.M if mass_factor else self.K
        for e in ELECTRODES:
            i, d, dx_, _, _ = states[e]
            B = self.D[e] if self.X[e] is None else self.D[e] + self.X[e]
            G = sp.diags((d * self.dx[e]).ravel()) @ self.D[e]
            if self.X[e] is not None:
                G = G + sp.diags((dx_ * self.dx[e]).ravel()) @ self.X[e]
            J = J + B.T @ G
        return J.tocsr()

    def jacobian_action(self, states: Mapping, mass_factor: float) -> Callable[[np.ndarray], np.ndarray]:
        """v -> J v without assembling J (the products of :meth:`jacobian` applied right to left)."""
        terms = []
        for e in ELECTRODES:
            _, d, dx_, _, _ = states[e]
            terms.append((e, (d * self.dx[e]).ravel(),
                          None if self.X[e] is None else (dx_ * self.dx[e]).ravel()))

        def action(v: np.ndarray) -> np.ndarray:
            out = self.K @ v
            if mass_factor:
                out += mass_factor * (self.M @ v)
            for e, gd, gx in terms:
                w = gd * (self.D[e] @ v)
                if gx is not None:
                    w += gx * (self.X[e] @ v)
                out += self.D[e].T @ w
                if gx is not None:
                    out += self.X[e].T @ w
            return out
        return action

    def losses_W(self, y: np.ndarray, states: Mapping) -> dict[str, float]:
        """Where the power between the open-circuit voltage at the mean lithiation and the cell
        voltage goes, at a state with the potentials solved (W, each >= 0 in discharge):

            I (U_c(xbar_c) - U_a(xbar_a) - V) = electrolyte_ohmic + sum_k (k_ohmic + k_kinetic + k_diffusion)

        electrolyte_ohmic = phi_e^T K_e phi_e; k_ohmic = the electrode's psi^T K_k psi relative to its
        collector plus its collapsed film r i^2; k_kinetic = int i eta; k_diffusion =
        int i_k (U_k(x_s) - U_k(xbar_k)) (the surface away from the mean lithiation; a reservoir: 0),
        each with the solve's quadrature. The balance closes to Newton's tolerance (a check the model
        reports)."""
        ne = self.n_e
        pe = y[:ne]
        out = {"electrolyte_ohmic": float(pe @ (self.K[:ne, :ne] @ pe))}
        for e in ELECTRODES:
            el, b = self.electrodes[e], self.blocks[e]
            i, _, _, eta, xs = states[e]
            dx = self.dx[e]
            psi = y[b.psi] - y[b.collector[0]]
            ohm = float(psi @ (self.K[b.psi, b.psi] @ psi)) + float(np.sum(el.kinetics.film_resistance_ohm_m2 * i * i * dx))
            out[f"{e}_ohmic"] = ohm
            out[f"{e}_kinetic"] = float(np.sum(i * eta * dx))
            if el.storage is None:
                out[f"{e}_diffusion"] = 0.0
                continue
            w = self.lithium_weights[e]
            xbar = float(w @ y[b.x]) / float(w.sum())
            u = el.storage.ocp
            out[f"{e}_diffusion"] = float(np.sum(i * (u(np.clip(xs, X_EPS, 1 - X_EPS)) - u(np.array([xbar]))[0]) * dx))
        return out

    def open_circuit_voltage(self, y: np.ndarray) -> float:
        """U_c(xbar_c) - U_a(xbar_a): the cell's open-circuit voltage at the mean lithiations, V."""
        u = {}
        for e in ELECTRODES:
            el = self.electrodes[e]
            if el.storage is None:
                u[e] = el.potential_V
                continue
            w = self.lithium_weights[e]
            u[e] = float(el.storage.ocp(np.array([float(w @ y[self.blocks[e].x]) / float(w.sum())]))[0])
        return u["cathode"] - u["anode"]

    def current_A(self, states: Mapping) -> float:
        """Discharge current through the cathode interface (A): minus its integral of i."""
        return -float(np.sum(states["cathode"][0] * self.dx["cathode"]))

    def cell_voltage(self, y: np.ndarray) -> float:
        """phi_s(cathode collector) - phi_s(anode collector), V."""
        b = self.blocks
        return (float(y[b["cathode"].collector[0]]) + self.electrodes["cathode"].reference_V
                - float(y[b["anode"].collector[0]]) - self.electrodes["anode"].reference_V)


#: linear elements through the thickness of a collapsed film
FILM_ELEMENTS = 8


@dataclass(frozen=True)
class Film:
    """The discretisation of a collapsed intercalation film (:func:`collapsed_film`).

    Attributes
    ----------
    dofs : ndarray
        The electrolyte's interface degrees of freedom; line k starts at ``dofs[k]``.
    depth_m : ndarray
        Node depths below the interface, 0 .. thickness, m; x of line k, node j is entry
        ``k * len(depth_m) + j`` of the film's block.
    mass, stiffness : scipy.sparse.csr_matrix
        u v and grad u . grad v over the film (m^3 and m).
    trace_map : scipy.sparse.csr_matrix
        (film nodes x electrolyte dofs): the surface node of each line to its interface dof.
    """

    dofs: np.ndarray
    depth_m: np.ndarray
    mass: sp.csr_matrix
    stiffness: sp.csr_matrix
    trace_map: sp.csr_matrix


def _surface_operators(cell: CellProblem, e: str, dofs: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Mass u v and surface-gradient stiffness of the interface, on its degrees of freedom."""
    fb = cell.facet_basis(e)
    P = cell.trace(e)[:, dofs]
    w = sp.diags(np.asarray(fb.dx).ravel())
    mass = (P.T @ w @ P).tocsr()
    nf, nq = fb.dx.shape
    rows = np.repeat(np.arange(nf * nq).reshape(nf, nq)[None], fb.Nbfun, axis=0).ravel()
    cols = np.repeat(np.asarray(fb.element_dofs)[:, :, None], nq, axis=2).ravel()
    n = np.asarray(fb.normals)
    stiff = sp.csr_matrix(mass.shape)
    grads = np.stack([np.asarray(fb.basis[i][0].grad) for i in range(fb.Nbfun)])   # (nb, 3, nf, nq)
    tangential = grads - np.einsum("bcfq,cfq->bfq", grads, n)[:, None] * n[None]
    local = np.full(fb.N, -1)
    local[dofs] = np.arange(len(dofs))
    on = local[cols] >= 0          # the element's dofs off the facet vanish on it (no tangential gradient)
    for c in range(3):
        G = sp.csr_matrix((tangential[:, c].ravel()[on], (rows[on], local[cols][on])), shape=(nf * nq, len(dofs)))
        stiff = stiff + G.T @ w @ G
    return mass, stiff.tocsr()


def collapsed_film(cell: CellProblem, e: str, thickness_m: float, elements: int = FILM_ELEMENTS) -> Film:
    """A film of ``thickness_m`` collapsed onto electrode ``e``'s interface, discretised as the
    product of the interface's elements and ``elements`` linear elements through the thickness:

        mass = M_G (x) M_1,   stiffness = M_G (x) K_1 + K_G (x) M_1

    (M_G, K_G: interface mass and surface-gradient stiffness; M_1, K_1: the 1D ones). This is the
    Galerkin discretisation of the film as a prism over the interface, with its curvature (t/R)
    neglected; Li enters at depth 0 and none leaves at the collector side."""
    if not thickness_m > 0:
        raise ValueError(f"collapsed film thickness must be > 0 m, got {thickness_m}")
    dofs = cell.interface_dofs(e)
    mg, kg = _surface_operators(cell, e, dofs)
    h = thickness_m / elements
    n = elements + 1
    main = np.full(n, 2.0)
    main[[0, -1]] = 1.0
    m1 = sp.diags([np.full(n - 1, h / 6), main * h / 3, np.full(n - 1, h / 6)], [-1, 0, 1])
    k1 = sp.diags([np.full(n - 1, -1 / h), main / h, np.full(n - 1, -1 / h)], [-1, 0, 1])
    mass = sp.kron(mg, m1, format="csr")
    stiffness = (sp.kron(mg, k1) + sp.kron(kg, m1)).tocsr()
    T = sp.csr_matrix((np.ones(len(dofs)), (np.arange(len(dofs)) * n, dofs)), shape=(len(dofs) * n, cell.basis().N))
    return Film(dofs, np.linspace(0.0, thickness_m, n), mass, stiffness, T)


def _mass(region_basis_mesh, elem) -> sp.csr_matrix:
    """Consistent mass matrix u v of the element on a mesh (exact quadrature)."""
    if elem.maxdeg > 1:
        init_edges(region_basis_mesh)
    basis = CellBasis(region_basis_mesh, elem, intorder=2 * elem.maxdeg)
    return BilinearForm(lambda u, v, w: u * v).assemble(basis).tocsr()


def _storage_operators(cell: CellProblem, e: str, st: Storage
                       ) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, Film | None]:
    """Mass, unit-diffusivity stiffness and trace map of electrode ``e``'s lithiation: on its meshed
    region, or on the lines of its collapsed film (then also the :class:`Film`)."""
    if cell.has_region(e):
        er = cell.electrode_region(e)
        return _mass(er.region.mesh, cell.elem), stiffness(er.region.mesh, 1.0, cell.order), er.trace_map, None
    if st.film_m is None:
        raise CellError(f"the {e} region is not meshed and no collapsed-film thickness is given")
    film = collapsed_film(cell, e, st.film_m)
    return film.mass, film.stiffness, film.trace_map, film


def assemble_transient(cell: CellProblem, sigma_S_m: float, electrodes: Mapping[str, TransientElectrode]
                       ) -> TransientSystem:
    """Assemble the operators of the transient problem on a cell.

    Parameters
    ----------
    cell : CellProblem
    sigma_S_m : float
        Electrolyte conductivity, S/m.
    electrodes : mapping
        ``anode``/``cathode`` -> :class:`TransientElectrode`.
    """
    order = cell.order
    n_e = cell.basis().N
    Kb, Mb = [stiffness(cell.electrolyte.mesh, sigma_S_m, order)], [sp.csr_matrix((n_e, n_e))]
    T_pot, psi_size, collectors, T_x, x_size, weights, films = {}, {}, {}, {}, {}, {}, {}
    for e in ELECTRODES:
        el = electrodes[e]
        if el.sigma_S_m is None:
            T_pot[e], psi_size[e], collectors[e] = cell.equipotential_map(e), 1, np.array([0])
            Kb.append(sp.csr_matrix((1, 1)))
        else:
            em = cell.electrode(e)
            T_pot[e], psi_size[e], collectors[e] = em.trace_map, em.basis.N, em.collector_dofs
            Kb.append(stiffness(em.region.mesh, el.sigma_S_m, order))
        Mb.append(sp.csr_matrix(Kb[-1].shape))
    for e in ELECTRODES:
        st = electrodes[e].storage
        if st is None:
            T_x[e], x_size[e] = None, 0
            continue
        mass, unit_stiffness, T_x[e], film = _storage_operators(cell, e, st)
        if film is not None:
            films[e] = film
        scale = FARADAY * st.c_max
        Kb.append(scale * st.diffusivity * unit_stiffness)
        Mb.append(scale * mass)
        x_size[e] = mass.shape[0]
        weights[e] = st.c_max * np.asarray(mass.sum(axis=0)).ravel()
    K = sp.block_diag(Kb, format="csr")
    M = sp.block_diag(Mb, format="csr")
    N = K.shape[0]
    start = n_e
    psi = {}
    for e in ELECTRODES:
        psi[e] = slice(start, start + psi_size[e])
        start += psi_size[e]
    xs = {}
    for e in ELECTRODES:
        xs[e] = slice(start, start + x_size[e])
        start += x_size[e]
    blocks = {e: Block(psi[e], xs[e], psi[e].start + collectors[e]) for e in ELECTRODES}
    D, X, dxs = {}, {}, {}
    for e in ELECTRODES:
        P = cell.trace(e)
        D[e] = _place(P, [(0, -P), (psi[e].start, P @ T_pot[e].T)], N)
        X[e] = None if T_x[e] is None else _place(P, [(xs[e].start, P @ T_x[e].T)], N)
        dxs[e] = np.asarray(cell.facet_basis(e).dx)
    if cell.periodic and films:
        raise CellError(f"a periodic cell with a collapsed {next(iter(films))} film is not supported")
    Z = cell.block_prolongation(["electrolyte", *(e if electrodes[e].sigma_S_m is not None else 1 for e in ELECTRODES),
                                 *(e for e in ELECTRODES if electrodes[e].storage is not None)])
    return TransientSystem(cell, dict(electrodes), N, n_e, blocks, K, M, D, X, dxs, weights, films, Z)


def _place(P: sp.csr_matrix, parts: list[tuple[int, sp.spmatrix]], N: int) -> sp.csr_matrix:
    """Rows of P's shape with each block placed at its column offset in a vector of length N."""
    mats = []
    col = 0
    for offset, A in parts:
        if offset > col:
            mats.append(sp.csr_matrix((P.shape[0], offset - col)))
        mats.append(A)
        col = offset + A.shape[1]
    if col < N:
        mats.append(sp.csr_matrix((P.shape[0], N - col)))
    return sp.hstack(mats, format="csr")
