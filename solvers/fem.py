"""scikit-fem plumbing: meshes from arrays, facet look-up, the Laplace form and a linear solver.

The geometry side hands over plain arrays (nodes in metres, tetrahedra, boundary triangles); this
module builds :class:`skfem.MeshTet` objects from them without files, finds the mesh facets of given
triangles with a vectorised key match, assembles the Laplace operator sigma grad u . grad v with
specialised P1 and P2 kernels (piecewise-constant sigma; exact element matrices from the barycentric
gradients, summed without a comparison sort, in threaded chunks), and solves symmetric positive
definite systems either directly (SuperLU, small systems) or by conjugate gradients preconditioned
with smoothed-aggregation algebraic multigrid (pyamg), checking convergence.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from skfem import BilinearForm, CellBasis, MeshTet
from skfem.helpers import dot, grad

#: Systems with at most this many unknowns are solved directly when ``method="auto"``.
DIRECT_LIMIT = 5_000


class SolverError(RuntimeError):
    """The linear or nonlinear solver did not converge; the message says how far it got."""


@BilinearForm
def laplace(u, v, w):
    """sigma grad u . grad v (sigma: scalar or per-element coefficient ``w.sigma``)."""
    return w.sigma * dot(grad(u), grad(v))


def _p1_cofactors(p: np.ndarray, t: np.ndarray):
    """Scaled gradients of the barycentric coordinates as component arrays, and the Jacobian
    determinants: with edge vectors e_k = x_k - x_0 and det = e_1 . (e_2 x e_3), the gradient of
    lambda_k is c_k / det with c_1 = e_2 x e_3, c_2 = e_3 x e_1, c_3 = e_1 x e_2 and c_0 = -(their
    sum). ``c[k][d]`` is component d of c_k over all elements (contiguous arrays, no inverses)."""
    e = [[p[d][t[k]] - p[d][t[0]] for d in range(3)] for k in (1, 2, 3)]

    def cross(a, b):
        return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])

    c = [None, cross(e[1], e[2]), cross(e[2], e[0]), cross(e[0], e[1])]
    c[0] = tuple(-(c[1][d] + c[2][d] + c[3][d]) for d in range(3))
    det = e[0][0] * c[1][0] + e[0][1] * c[1][1] + e[0][2] * c[1][2]
    return c, det


def p1_gradients(mesh: MeshTet) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of the barycentric coordinates (the P1 basis functions) of every tetrahedron, and
    the volumes (cross products of the edge vectors, no matrix inverses).

    Returns
    -------
    grads : ndarray (n_el, 4, 3)
        1/m.
    volumes : ndarray (n_el,)
        m^3.
    """
    c, det = _p1_cofactors(mesh.p, mesh.t)
    inv = 1.0 / det
    grads = np.empty((len(det), 4, 3))
    for k in range(4):
        for d in range(3):
            grads[:, k, d] = c[k][d] * inv
    return grads, np.abs(det) / 6.0


def assemble_symmetric(t: np.ndarray, local: np.ndarray, n: int) -> sp.csr_matrix:
    """Sum symmetric element matrices into a CSR matrix without a comparison sort.

    ``sp.csr_matrix((data, (rows, cols)))`` sorts the column indices of every row (std::sort over
    ~100 entries a row for P1 tetrahedra) before summing duplicates; that sort dominates P1
    assembly. Here two linear counting sorts do the work: COO -> CSR groups the entries by row
    (duplicates kept, in element order), CSR -> CSC regroups them by column with the row indices
    in ascending order, and since the matrix is symmetric that CSC matrix *is* the CSR matrix with
    sorted indices, so summing the (now adjacent) duplicates is one linear pass.

    Parameters
    ----------
    t : ndarray (k, n_el)
        Degrees of freedom of every element.
    local : ndarray (k, k, n_el)
        Element matrices, ``local[i, j, e]`` couples ``t[i, e]`` and ``t[j, e]``; symmetric in i, j.
    n : int
        Number of degrees of freedom.
    """
    k, n_el = t.shape
    idx = t.astype(np.int32 if n < 2 ** 31 else np.int64)
    rows = np.broadcast_to(idx[:, None, :], (k, k, n_el)).ravel()
    cols = np.broadcast_to(idx[None, :, :], (k, k, n_el)).ravel()
    coo = sp.coo_matrix((local.ravel(), (rows, cols)), shape=(n, n))
    coo.has_canonical_format = True    # skip the sorting sum_duplicates of tocsr: the duplicates are
    by_row = coo.tocsr()               # summed below, after the linear re-sort (scipy would also be
    by_col = by_row.tocsc()            # correct without this flag, only slower)
    K = sp.csr_matrix((by_col.data, by_col.indices, by_col.indptr), shape=(n, n))
    K.has_sorted_indices = True
    K.sum_duplicates()
    return K


#: The ten vertex pairs (a, b), a <= b, whose cofactor products c_a . c_b make every Laplace element
#: matrix below.
PAIRS = tuple((a, b) for a in range(4) for b in range(a, 4))


def _p1_reference() -> np.ndarray:
    """Constant tensor of the P1 stiffness matrix, ``R[i, j, k] = 1`` where pair k is (i, j): the
    element matrix is ``sigma |det| / 6 * grad lambda_i . grad lambda_j = sigma / (6 |det|) c_i . c_j``."""
    ref = np.zeros((4, 4, len(PAIRS)))
    for k, (a, b) in enumerate(PAIRS):
        ref[a, b, k] = ref[b, a, k] = 1.0
    return ref


def _p2_reference() -> np.ndarray:
    """Constant tensor of the P2 stiffness matrix: ``local[i, j] = sigma / (6 |det|) *
    sum_k R[i, j, k] (c_a . c_b)`` over the pairs k = (a, b) of :data:`PAIRS` (c_a: the cofactor
    vectors of :func:`_p1_cofactors`, so grad lambda_a = c_a / det).

    The gradients of the P2 shape functions are linear in the barycentric coordinates:
    grad(lambda_i (2 lambda_i - 1)) = (4 lambda_i - 1) grad lambda_i at vertex i and
    grad(4 lambda_a lambda_b) = 4 (lambda_a grad lambda_b + lambda_b grad lambda_a) on edge (a, b),
    in scikit-fem's order (vertices 0-3, then edges 01, 12, 02, 03, 13, 23). Each coefficient is an
    affine function of (1, lambda_0..3); their products integrate exactly over the element with
    int lambda_a / |T| = 1/4 and int lambda_a lambda_b / |T| = (1 + delta_ab) / 20.
    """
    edges = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))
    coef = np.zeros((10, 4, 5))            # dof, gradient direction a, affine coefficients
    for i in range(4):
        coef[i, i, 0], coef[i, i, 1 + i] = -1.0, 4.0
    for k, (a, b) in enumerate(edges):
        coef[4 + k, a, 1 + b] = 4.0
        coef[4 + k, b, 1 + a] = 4.0
    mass = np.full((5, 5), 1.0 / 20.0)
    mass[1:, 1:] += np.eye(4) / 20.0
    mass[0, :] = mass[:, 0] = 0.25
    mass[0, 0] = 1.0
    full = np.einsum("iap,pq,jbq->ijab", coef, mass, coef)   # int p_ia p_jb / |T|
    return np.stack([full[:, :, a, b] + (full[:, :, b, a] if a != b else 0.0) for a, b in PAIRS], axis=-1)


_REFERENCE = {1: _p1_reference(), 2: _p2_reference()}


def p2_element_dofs(mesh: MeshTet) -> np.ndarray:
    """Degrees of freedom of every element for P2, numbered as scikit-fem numbers them: the nodes,
    then ``n_nodes + edge index``; (10, n_el)."""
    init_edges(mesh)
    return np.vstack([mesh.t, mesh.p.shape[1] + mesh.t2e])


def _laplace(mesh: MeshTet, sigma: float | np.ndarray, order: int) -> sp.csr_matrix:
    """The Laplace kernel of both orders: per element the ten products c_a . c_b (:data:`PAIRS`)
    scaled by sigma / (6 |det|), times the order's constant reference tensor (one matrix product),
    summed by :func:`assemble_symmetric`; in chunks of about :data:`CHUNK` P1-sized elements on
    :func:`threads` threads (numpy and scipy's sparse kernels release the GIL), the partial matrices
    summed pairwise. The chunks also keep the temporary arrays small."""
    p, t = mesh.p, mesh.t
    n_el = t.shape[1]
    dofs = t if order == 1 else p2_element_dofs(mesh)
    n = p.shape[1] if order == 1 else p.shape[1] + mesh.edges.shape[1]
    k = dofs.shape[0]
    ref = _REFERENCE[order].reshape(k * k, len(PAIRS))
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n_el,))

    def chunk(lo: int, hi: int) -> sp.csr_matrix:
        c, det = _p1_cofactors(p, t[:, lo:hi])
        w = sigma[lo:hi] / (6.0 * np.abs(det))
        g = np.empty((len(PAIRS), hi - lo))
        for m, (a, b) in enumerate(PAIRS):
            g[m] = (c[a][0] * c[b][0] + c[a][1] * c[b][1] + c[a][2] * c[b][2]) * w
        return assemble_symmetric(dofs[:, lo:hi], (ref @ g).reshape(k, k, hi - lo), n)

    step = max(1, CHUNK * 16 // (k * k))        # the same entries per chunk for both orders
    bounds = np.linspace(0, n_el, max(1, -(-n_el // step)) + 1).astype(int)
    return parallel_sum(chunk, [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])])


def laplace_p1(mesh: MeshTet, sigma: float | np.ndarray) -> sp.csr_matrix:
    """Stiffness matrix of ``sigma grad u . grad v`` with P1 elements, from the specialised kernel
    :func:`_laplace` (the gradients are constant per element: no quadrature, no basis object). The
    same matrix as ``laplace.assemble(Basis(mesh, ElementTetP1()), sigma=sigma)``, up to round-off
    in the order of summation, at a fraction of its time and memory.

    Parameters
    ----------
    mesh : MeshTet
    sigma : float or ndarray (n_el,)
        Conductivity, S/m (per element for piecewise-constant coefficients).
    """
    return _laplace(mesh, sigma, 1)


def laplace_p2(mesh: MeshTet, sigma: float | np.ndarray) -> sp.csr_matrix:
    """Stiffness matrix of ``sigma grad u . grad v`` with P2 elements, from the specialised kernel
    :func:`_laplace` (exact integrals of the linear gradients, no quadrature). The same matrix as
    ``laplace.assemble(Basis(mesh, ElementTetP2()), sigma=sigma)``, degrees of freedom as in
    :func:`p2_element_dofs`.

    Parameters
    ----------
    mesh : MeshTet
    sigma : float or ndarray (n_el,)
        Conductivity, S/m (per element for piecewise-constant coefficients).
    """
    return _laplace(mesh, sigma, 2)


def dof_basis(mesh: MeshTet, elem) -> CellBasis:
    """A basis that numbers the degrees of freedom of ``elem`` on ``mesh`` (``N``, ``get_dofs``,
    ``nodal_dofs``) and evaluates fields at one quadrature point per element, the centroid, instead
    of the dozen points scikit-fem would set up for assembly (the matrices come from
    :func:`laplace_p1` and :func:`laplace_p2`, which need no basis). For P1 and P2 the gradient at
    the centroid is the exact mean gradient over the element (it is constant or linear), which is
    what the field outputs use. Not meant for assembling forms of higher degree."""
    if elem.maxdeg > 1:
        init_edges(mesh)
    return CellBasis(mesh, elem, intorder=1)


#: Elements per assembly chunk: large enough that the per-chunk overhead is negligible, small
#: enough that a chunk's temporary arrays (about 300 bytes an element) stay in the low hundreds of MB.
CHUNK = 500_000


def threads() -> int:
    """Threads for chunked work: the cores this process may use (``MB3D_THREADS`` overrides).

    Raises
    ------
    ValueError
        If ``MB3D_THREADS`` is set to anything but a positive integer.
    """
    env = os.environ.get("MB3D_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"MB3D_THREADS={env!r}: must be a positive integer")
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return max(1, os.cpu_count() or 1)


def parallel_sum(func, args: list) -> sp.csr_matrix:
    """``sum(func(*a) for a in args)`` with the calls and the pairwise sums on :func:`threads`
    threads (serial for a single call or a single thread)."""
    if len(args) == 1 or threads() == 1:
        total = func(*args[0])
        for a in args[1:]:
            total = total + func(*a)
        return total
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    with ThreadPoolExecutor(min(threads(), len(args))) as pool:
        mats = list(pool.map(lambda a: func(*a), args))
        while len(mats) > 1:
            pairs = [mats[i:i + 2] for i in range(0, len(mats), 2)]
            mats = list(pool.map(lambda ab: ab[0] + ab[1] if len(ab) == 2 else ab[0], pairs))
    return mats[0]


def dirichlet_system(K: sp.csr_matrix, x: np.ndarray, fixed: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Impose ``u = x`` on the ``fixed`` degrees of freedom of ``K u = 0`` without slicing columns:
    the off-diagonal entries of the fixed rows and columns are zeroed in a copy of the CSR data (the
    diagonal stays, so those rows scale like the others), and the fixed values move to the
    right-hand side. The matrix keeps its size and stays
    symmetric positive definite; its solution equals ``x`` on the fixed degrees of freedom. All
    operations are O(nnz) array passes (column slicing of a large CSR matrix is several times slower).

    Returns
    -------
    A : csr_matrix
    b : ndarray
    """
    K = K.tocsr()
    b = -(K @ np.where(fixed, x, 0.0))
    rows = np.repeat(np.arange(K.shape[0], dtype=K.indices.dtype), np.diff(K.indptr))
    data = K.data.copy()
    kill = fixed[rows] | fixed[K.indices]
    diag = kill & (rows == K.indices)
    data[kill & ~diag] = 0.0      # the diagonal keeps its value: the fixed rows scale like the others
    A = sp.csr_matrix((data, K.indices.copy(), K.indptr.copy()), shape=K.shape)
    A.eliminate_zeros()           # in place: on copies, K stays intact
    b[fixed] = A.diagonal()[fixed] * x[fixed]
    return A, b


def submesh(points: np.ndarray, tets: np.ndarray, mask: np.ndarray) -> tuple[MeshTet, np.ndarray]:
    """The mesh of the tetrahedra selected by ``mask``, with its nodes renumbered.

    Parameters
    ----------
    points : ndarray (n, 3)
        All node coordinates, metres.
    tets : ndarray (m, 4)
    mask : ndarray (m,) of bool

    Returns
    -------
    mesh : MeshTet
    nodes : ndarray
        Global index of every submesh node (``points[nodes] == mesh.p.T``).
    """
    sel = tets[mask]
    used = np.zeros(len(points), dtype=bool)
    used[sel] = True                       # a lookup table instead of np.unique's sort
    nodes = np.flatnonzero(used)
    number = np.empty(len(points), dtype=sel.dtype)
    number[nodes] = np.arange(len(nodes))
    mesh = MeshTet(np.ascontiguousarray(points[nodes].T), np.ascontiguousarray(number[sel].T))
    init_facets(mesh)
    return mesh, nodes


#: Largest int64 key: node lists packed beyond it are first compressed to ranks (see :func:`_pack`).
KEY_LIMIT = 2 ** 63 - 1


def _pack(ent: np.ndarray, n: int) -> np.ndarray:
    """One int64 key per column of ``ent`` (k, m) (node lists, entries < n) whose order is the
    lexicographic order of the columns. Digits are appended in base n; when the next digit would
    overflow int64 (n >= 2^21 for triangles), the partial keys are replaced by their dense ranks
    first (an extra sort), so any mesh size works."""
    keys = ent[0].astype(np.int64)
    for row in ent[1:]:
        if len(keys) and int(keys.max()) > (KEY_LIMIT - n) // n:
            keys = np.unique(keys, return_inverse=True)[1].astype(np.int64).ravel()
        keys = keys * n + row
    return keys


def _entities(mesh: MeshTet, index_sets) -> tuple[np.ndarray, np.ndarray]:
    """Sub-entities (edges or facets) of the elements, numbered in the lexicographic order of their
    sorted node lists (scikit-fem's order), and the element -> entity map, from one 1D sort of the
    node lists packed into int64 keys."""
    n = mesh.p.shape[1]
    t = mesh.t
    ent = np.hstack([t[list(ix)] for ix in index_sets]).astype(np.int64)
    ent.sort(axis=0)
    keys = _pack(ent, n)
    # np.unique(keys, return_index=True, return_inverse=True) spelled out: one unstable argsort
    # (any occurrence of a key is a valid representative) instead of its stable sort and extra passes
    order = np.argsort(keys)
    sorted_keys = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return (np.ascontiguousarray(ent[:, order[new]].astype(t.dtype)),
            inverse.reshape(len(index_sets), t.shape[1]))


def init_edges(mesh: MeshTet) -> None:
    """Build the edge topology (``mesh.edges``, ``mesh.t2e``) the way :func:`init_facets` builds the
    facets (P2 bases and uniform refinement need it)."""
    if not hasattr(mesh, "_edges"):
        mesh._edges, mesh._t2e = _entities(mesh, mesh.elem.refdom.edges)


def init_facets(mesh: MeshTet) -> None:
    """Build the facet topology of a tetrahedral mesh (``mesh.facets``, ``mesh.t2f``) with one 1D
    sort of packed int64 keys instead of scikit-fem's column-wise ``np.unique(axis=1)``, which is
    several times slower on big meshes. The result is identical (facets in the same lexicographic
    order), so every scikit-fem routine that uses the topology works unchanged."""
    if not hasattr(mesh, "_facets"):
        mesh._facets, mesh._t2f = _entities(mesh, mesh.elem.refdom.facets)


def find_facets(mesh: MeshTet, tris: np.ndarray) -> np.ndarray:
    """Indices of the mesh facets whose nodes are the rows of ``tris`` (submesh numbering).

    Raises
    ------
    ValueError
        If a triangle is not a facet of the mesh.
    """
    if len(tris) == 0:
        return np.zeros(0, dtype=np.int64)
    both = np.hstack([mesh.facets, np.asarray(tris).T]).astype(np.int64)
    both.sort(axis=0)
    keys = _pack(both, mesh.p.shape[1])
    fk, tk = keys[: mesh.facets.shape[1]], keys[mesh.facets.shape[1]:]
    order = np.argsort(fk)
    pos = np.searchsorted(fk, tk, sorter=order).clip(0, len(fk) - 1)
    idx = order[pos]
    if not np.array_equal(fk[idx], tk):
        raise ValueError(f"{int((fk[idx] != tk).sum())} boundary triangles are not facets of the mesh")
    return idx


@dataclass(frozen=True)
class SolveInfo:
    """How a linear system was solved."""

    method: str
    n: int
    iterations: int
    relative_residual: float


def spd_solver(A: sp.spmatrix, method: str = "auto", rtol: float = 1e-10, maxiter: int = 1000,
               scale: bool = False, reuse=None):
    """Prepare to solve ``A x = b`` for several right-hand sides (one factorisation or AMG setup).

    Parameters
    ----------
    A : sparse matrix (n, n)
        Symmetric positive definite.
    method : {"auto", "direct", "amg-cg"}
        ``auto``: direct up to :data:`DIRECT_LIMIT` unknowns, AMG-preconditioned CG above.
    rtol : float
        Relative residual ``||b - A x|| / ||b||`` required of the iterative solver.
    maxiter : int
    scale : bool
        Solve the symmetrically scaled system ``D^-1/2 A D^-1/2`` (D = diag A): coefficients that
        differ by orders of magnitude between subdomains (metal electrode and solid electrolyte)
        then no longer spoil the aggregation or the CG convergence.

    reuse : callable, optional
        A solver this function returned for a matrix of the same pattern that differs only a little
        (the Jacobians of successive Newton steps): its scaling and AMG hierarchy precondition CG on
        ``A`` instead of a new setup. Ignored for direct solves.

    Returns
    -------
    solve : callable
        ``solve(b) -> (x, SolveInfo)``; its ``setup`` attribute is what ``reuse`` takes.
    """
    n = A.shape[0]
    use_direct = method == "direct" or (method == "auto" and n <= DIRECT_LIMIT)
    if not use_direct and method not in ("auto", "amg-cg"):
        raise ValueError(f"unknown linear solver {method!r}")
    setup = getattr(reuse, "setup", None) if not use_direct else None
    if setup is not None and len(setup[0]) == n:
        d = setup[0]
    else:
        setup = None
        d = np.sqrt(A.diagonal()) if scale else np.ones(n)
        if scale and not np.all(d > 0):
            raise SolverError("the system matrix has a non-positive diagonal entry")
    if scale or setup is not None:
        Dinv = sp.diags(1.0 / d)
        A = (Dinv @ A @ Dinv).tocsr()
    if use_direct:
        try:
            lu = spla.splu(sp.csc_matrix(A), permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:     # SuperLU's "Factor is exactly singular"
            raise SolverError(f"the {n} x {n} system matrix is singular ({exc})") from None
    elif setup is not None:
        ml = setup[1]
    else:
        import pyamg  # noqa: PLC0415  (imported on demand: small cases never pay for it)

        # pyamg estimates spectral radii from random start vectors (numpy's global generator): seed
        # it for the setup, so that the same system always gives the same bits, and restore the
        # caller's state
        state = np.random.get_state()
        np.random.seed(0)
        try:
            ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(A), symmetry="symmetric", max_coarse=500)
        finally:
            np.random.set_state(state)

    def solve(b: np.ndarray) -> tuple[np.ndarray, SolveInfo]:
        bs = b / d
        nb = float(np.linalg.norm(bs))
        if nb == 0.0:
            return np.zeros(n), SolveInfo("trivial", n, 0, 0.0)
        if use_direct:
            y = lu.solve(bs)
            res = float(np.linalg.norm(bs - A @ y)) / nb
            return y / d, SolveInfo("direct", n, 1, res)
        residuals: list[float] = []
        if setup is None:
            y = ml.solve(bs, tol=rtol, accel="cg", maxiter=maxiter, residuals=residuals)
        else:   # the hierarchy of a neighbouring matrix as preconditioner for this one
            from pyamg.krylov import cg  # noqa: PLC0415

            y, _ = cg(A, bs, tol=rtol, maxiter=maxiter, M=ml.aspreconditioner(), residuals=residuals)
        res = float(np.linalg.norm(bs - A @ y)) / nb
        if not res <= 10 * rtol:
            raise SolverError(f"AMG-CG did not converge: relative residual {res:.2e} after "
                              f"{len(residuals) - 1} iterations (wanted {rtol:.0e})")
        return y / d, SolveInfo("amg-cg" if setup is None else "amg-cg (reused hierarchy)", n,
                                len(residuals) - 1, res)

    solve.setup = None if use_direct else (d, ml)
    return solve


def solve_spd(A: sp.spmatrix, b: np.ndarray, method: str = "auto", rtol: float = 1e-10,
              maxiter: int = 1000) -> tuple[np.ndarray, SolveInfo]:
    """Solve the symmetric positive definite system ``A x = b`` (see :func:`spd_solver`).

    Returns
    -------
    x : ndarray
    info : SolveInfo
    """
    if float(np.linalg.norm(b)) == 0.0:
        return np.zeros(A.shape[0]), SolveInfo("trivial", A.shape[0], 0, 0.0)
    return spd_solver(A, method, rtol, maxiter)(b)


def stiffness(mesh: MeshTet, sigma: float, order: int) -> sp.csr_matrix:
    """sigma grad u . grad v on ``mesh`` with Lagrange elements of ``order`` (1 or 2; specialised
    kernels :func:`laplace_p1`, :func:`laplace_p2`)."""
    return (laplace_p1 if order == 1 else laplace_p2)(mesh, float(sigma))
