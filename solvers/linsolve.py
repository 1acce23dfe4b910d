"""Sparse direct factorisation of the transient model's Newton matrices, behind one function.

Two back ends, measured on the Jacobian of the demo pillar cell at 1C (P2, 29.9 k unknowns,
0.96 M non-zeros, nearly symmetric after diagonal scaling; 2-core VM, 2026-12-01):

============================================  ===============  ===========
back end                                      factorisation    fill (L+U)
============================================  ===============  ===========
SuperLU, COLAMD ordering (scipy's default)    5.9 s            26.8 M
SuperLU, minimum degree on A^T + A            6.9 s            16.4 M
SuperLU, same ordering, symmetric mode        2.4 s            16.4 M
PARDISO (MKL, via pypardiso, 2 threads)       1.3 s            --
============================================  ===============  ===========

SuperLU in symmetric mode (diagonal pivots preferred, fill-reducing ordering of A^T + A) is the
default: the matrices are structurally symmetric and, once scaled to a unit diagonal, diagonally
strong, so partial pivoting only adds fill. PARDISO is used only when asked for with the environment
variable ``MB3D_LINEAR_SOLVER=pardiso`` (``pip install pypardiso``): it wins on one large
factorisation but lost on the planar cell (2 k unknowns, hundreds of solves: 32 s against 2.4 s of
linear algebra, with the second core busy), where pypardiso hashes the matrix at every solve and
MKL's threads compete.

A matrix SuperLU finds exactly singular (a zero pivot) raises :class:`SingularMatrix`, a
:class:`~solvers.fem.SolverError`: the integrator takes it as a failed Newton iteration and retries
with a shorter step (a Newton iterate far from the solution can make the Jacobian singular to working
precision: measured on the 12 um pitch pillar cell at C/10, condition number 2.5e20, when the
cathode's interface conductance reached 1e8 times its value at the solution).
"""
from __future__ import annotations

import os
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .fem import SolverError

__all__ = ["Factor", "SingularMatrix", "factorize", "backend", "BACKENDS"]

BACKENDS = ("superlu", "pardiso")


class SingularMatrix(SolverError):
    """The factorisation met an exactly zero pivot: the matrix is singular to working precision."""


class Factor(Protocol):
    """A factorised square matrix: ``solve(b)`` returns A^-1 b."""

    def solve(self, b: np.ndarray) -> np.ndarray: ...


class _SuperLU:
    def __init__(self, A: sp.csc_matrix):
        # diag_pivot_thresh 0.01: keep the diagonal pivot unless it is 100x smaller than the column's
        # largest entry (scipy's default 1.0 pivots for size, and with COLAMD fills in 1.6x more)
        try:
            self._lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.01,
                                 options={"SymmetricMode": True})
        except RuntimeError as exc:     # SuperLU's "Factor is exactly singular"
            raise SingularMatrix(f"sparse LU of a {A.shape[0]} x {A.shape[0]} matrix: {exc}") from None

    def solve(self, b: np.ndarray) -> np.ndarray:
        return self._lu.solve(b)


class _Pardiso:
    def __init__(self, A: sp.csc_matrix):
        import pypardiso

        self._A = sp.csr_matrix(A)
        self._solver = pypardiso.PyPardisoSolver()
        self._solver.factorize(self._A)

    def solve(self, b: np.ndarray) -> np.ndarray:
        return self._solver.solve(self._A, b)

    def __del__(self):
        try:
            self._solver.free_memory(everything=True)
        except Exception:   # interpreter shutdown
            pass


def backend() -> str:
    """The back end in use: ``MB3D_LINEAR_SOLVER`` if set, else ``superlu``."""
    chosen = os.environ.get("MB3D_LINEAR_SOLVER", "").strip().lower() or "superlu"
    if chosen not in BACKENDS:
        raise ValueError(f"MB3D_LINEAR_SOLVER={chosen!r}: must be one of {', '.join(BACKENDS)}")
    return chosen


def factorize(A: sp.spmatrix, which: str | None = None) -> Factor:
    """Factorise a square sparse matrix.

    Parameters
    ----------
    A : scipy.sparse matrix
        Square, non-singular; best scaled to a unit diagonal first.
    which : {"superlu", "pardiso"}, optional
        Back end; default :func:`backend`.

    Raises
    ------
    SingularMatrix
        SuperLU met an exactly zero pivot.
    """
    which = which or backend()
    if which == "pardiso":
        return _Pardiso(sp.csc_matrix(A))
    return _SuperLU(sp.csc_matrix(A))
