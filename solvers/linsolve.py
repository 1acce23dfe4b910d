"""Sparse direct factorisation of the transient model's Newton matrices, behind one function.

Two back ends, measured on the Jacobian of the demo pillar cell at 1C (P2, 29.9 k unknowns,
0.96 M non-zeros, nearly symmetric after diagonal scaling; 2-core VM, 2026-12-01):

============================================  ===============  ===========
back end                                      factorisation    fill (L+U)
============================================  ===============  ===========
SuperLU, COLAMD ordering (scipy's default)    5.9 s            26.8 M
SuperLU, minimum degree on A^T + A            6.9 s            16.4 M
SuperLU, same, symmetric mode, thresh. 0.01   2.4 s            16.4 M
PARDISO (MKL, via pypardiso, 2 threads)       1.3 s            --
============================================  ===============  ===========

SuperLU in symmetric mode (diagonal pivots preferred, fill-reducing ordering of A^T + A) is the
default: the matrices are structurally symmetric and, once scaled to a unit diagonal, diagonally
strong, so partial pivoting only adds fill. The diagonal pivots are kept whatever their size
(``diag_pivot_thresh`` 0): with 0.01, a Jacobian late in the 5C discharge of a periodic 2 x 2 gyroid
block (15.5 k unknowns) pivoted off the diagonal and filled 56 M entries in 42 s instead of 4.7 M in
1 s, for no better a factor (it is nearly singular: a probe solve is off by 2e-2 either way); the
demo pillar discharge (bench/bench_transient.py) went from 13.5 s to 9.8 s. Only an exactly zero
pivot brings threshold pivoting back (``PIVOT_THRESHOLDS``). PARDISO is used only when asked for with the environment
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
#: SuperLU's diag_pivot_thresh, the next tried after a zero pivot (see _SuperLU)
PIVOT_THRESHOLDS = (0.0, 0.01)


class SingularMatrix(SolverError):
    """The factorisation met an exactly zero pivot: the matrix is singular to working precision."""


class Factor(Protocol):
    """A factorised square matrix: ``solve(b)`` returns A^-1 b."""

    def solve(self, b: np.ndarray) -> np.ndarray: ...


class _SuperLU:
    """Diagonal pivots (``diag_pivot_thresh`` 0: fill as the ordering planned it); a zero pivot redoes
    the factorisation with threshold pivoting (``PIVOT_THRESHOLDS``) before the matrix is called
    singular."""

    def __init__(self, A: sp.csc_matrix):
        for k, thresh in enumerate(PIVOT_THRESHOLDS):
            try:
                self._lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=thresh,
                                     options={"SymmetricMode": True})
                return
            except RuntimeError as exc:     # SuperLU's "Factor is exactly singular"
                if k + 1 == len(PIVOT_THRESHOLDS):
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
