"""The fast plumbing against scikit-fem's own routines: same matrices, same topology, same solutions."""
import numpy as np
import pytest
import scipy.sparse as sp
from skfem import Basis, ElementTetP1, ElementTetP2, MeshTet

from solvers.fem import (dirichlet_system, init_edges, init_facets, laplace, laplace_p1, solve_spd,
                         spd_solver)


def shuffled_mesh(n=9, seed=0):
    """A tensor mesh with jittered nodes and shuffled numbering (like a gmsh mesh, not a grid)."""
    rng = np.random.default_rng(seed)
    m = MeshTet.init_tensor(*(np.linspace(0, 1, n),) * 3)
    p = m.p + rng.uniform(-0.02, 0.02, m.p.shape) * (np.abs(m.p - 0.5) < 0.49)
    perm = rng.permutation(p.shape[1])
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    t = inv[m.t][:, rng.permutation(m.t.shape[1])]
    return MeshTet(p[:, perm] * 1e-5, t)


def test_p1_kernel_equals_scikit_fem_assembly():
    m = shuffled_mesh()
    sigma = np.random.default_rng(1).uniform(1e-4, 1.0, m.t.shape[1])
    ref = laplace.assemble(Basis(m, ElementTetP1()), sigma=sigma[:, None])
    K = laplace_p1(m, sigma)
    assert abs(K - ref).max() <= 1e-12 * abs(ref).max()
    assert abs(K - K.T).max() <= 1e-14 * abs(K).max()       # symmetric up to the summation order
    # canonical CSR (what the two counting sorts promise): ascending, unique columns in every row,
    # the same pattern as scipy's own COO -> CSR conversion
    starts = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
    step = np.diff(K.indices)[np.diff(starts) == 0]
    assert (step > 0).all()
    ref = ref.tocsr()
    ref.sort_indices()
    assert np.array_equal(K.indptr, ref.indptr) and np.array_equal(K.indices, ref.indices)


def test_p2_kernel_equals_scikit_fem_assembly(monkeypatch):
    import solvers.fem as fem

    m = shuffled_mesh(n=7)
    sigma = np.random.default_rng(4).uniform(1e-4, 1.0, m.t.shape[1])
    basis = Basis(m, ElementTetP2())
    ref = laplace.assemble(basis, sigma=sigma[:, None])
    assert np.array_equal(fem.p2_element_dofs(m), basis.element_dofs)
    for chunk in (10 ** 6, 97):                           # one chunk, and 9 threaded chunks
        monkeypatch.setattr(fem, "CHUNK", chunk)
        K = fem.laplace_p2(m, sigma)
        assert K.shape == ref.shape and K.has_sorted_indices
        assert abs(K - ref).max() <= 1e-12 * abs(ref).max()
    # the one-point basis numbers the same degrees of freedom, and its centroid gradient is the
    # exact mean gradient of a P2 field
    cheap = fem.dof_basis(m, ElementTetP2())
    assert cheap.N == basis.N and np.array_equal(cheap.get_dofs().all(), basis.get_dofs().all())
    u = basis.project(lambda x: x[0] ** 2 + 3 * x[1] * x[2])
    vol = basis.dx.sum(axis=1)
    mean = np.einsum("deq,eq->de", basis.interpolate(u).grad, basis.dx) / vol
    assert np.allclose(cheap.interpolate(u).grad[..., 0], mean, rtol=1e-10, atol=1e-12 * abs(mean).max())


def test_chunked_threaded_assembly_equals_one_chunk(monkeypatch):
    import solvers.fem as fem

    m = shuffled_mesh()
    sigma = np.random.default_rng(2).uniform(1e-4, 1.0, m.t.shape[1])
    whole = laplace_p1(m, sigma)
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("MB3D_THREADS", threads)
        monkeypatch.setattr(fem, "CHUNK", 97)          # 3072 elements -> 32 uneven chunks
        K = laplace_p1(m, sigma)
        assert K.has_sorted_indices and np.array_equal(K.indptr, whole.indptr)
        assert abs(K - whole).max() <= 1e-14 * abs(whole).max()


def test_fast_topology_is_identical_to_scikit_fem():
    ref = shuffled_mesh()
    fast = MeshTet(ref.p.copy(), ref.t.copy())
    init_facets(fast)
    init_edges(fast)
    assert np.array_equal(fast.facets, ref.facets) and np.array_equal(fast.t2f, ref.t2f)
    assert np.array_equal(fast.edges, ref.edges) and np.array_equal(fast.t2e, ref.t2e)
    assert np.array_equal(fast.f2t, ref.f2t)


def test_topology_and_facet_lookup_when_keys_would_overflow(monkeypatch):
    """Meshes too big for packed int64 keys (2^21 nodes for triangles) take the rank-compressed
    path; a tiny key limit forces it here."""
    import solvers.fem as fem

    ref = shuffled_mesh()
    n = ref.p.shape[1]
    monkeypatch.setattr(fem, "KEY_LIMIT", n ** 2 + n)        # pairs fit, triangles do not
    fast = MeshTet(ref.p.copy(), ref.t.copy())
    init_facets(fast)
    init_edges(fast)
    assert np.array_equal(fast.facets, ref.facets) and np.array_equal(fast.t2f, ref.t2f)
    assert np.array_equal(fast.edges, ref.edges) and np.array_equal(fast.t2e, ref.t2e)
    pick = np.random.default_rng(3).choice(ref.facets.shape[1], 50, replace=False)
    tris = ref.facets[:, pick].T[:, ::-1]                     # any node order
    assert np.array_equal(fem.find_facets(fast, tris), pick)
    with pytest.raises(ValueError, match="not facets"):
        fem.find_facets(fast, np.array([[0, 1, n - 1]]))


def test_dirichlet_elimination_matches_slicing():
    m = shuffled_mesh()
    K = laplace_p1(m, 2.0)
    x = np.zeros(K.shape[0])
    fixed = (m.p[0] < 1e-12) | (m.p[0] > 1e-5 - 1e-12)
    x[m.p[0] > 1e-5 - 1e-12] = 0.3
    A, b = dirichlet_system(K, x, fixed)
    y, _ = solve_spd(A, b, method="direct")
    free = np.flatnonzero(~fixed)
    ref = x.copy()
    ref[free] = sp.linalg.spsolve(K[free][:, free].tocsc(), -(K[free] @ x))
    assert np.allclose(y, ref, rtol=0, atol=1e-12)
    assert abs(K - laplace_p1(m, 2.0)).max() == 0.0       # K itself untouched
    # AMG-CG on the same system, and a reused hierarchy on a neighbouring matrix
    solve = spd_solver(A, "amg-cg", rtol=1e-12, scale=True)
    z, info = solve(b)
    assert info.method == "amg-cg" and np.allclose(z, ref, atol=1e-9)
    A2 = A + sp.diags(np.where(fixed, 0.0, 1e-3 * A.diagonal()))
    z2, info2 = spd_solver(A2, "amg-cg", rtol=1e-12, scale=True, reuse=solve)(b)
    assert info2.method.startswith("amg-cg (reused")
    assert np.allclose(A2 @ z2, b, atol=1e-10 * np.abs(b).max())
