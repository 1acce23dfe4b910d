"""Variance-based (Sobol') sensitivity analysis of a study, with SALib.

Design
------
:func:`saltelli_unit` is SALib's Saltelli design (:func:`SALib.sample.sobol.sample` with
``calc_second_order=True``) on the unit cube [0, 1]^d. A scrambled Sobol' sequence in 2d dimensions,
seeded, gives n base points; its first d columns are the matrix A, the last d the matrix B. Every base
point i contributes 2d + 2 consecutive rows, so the design has n (2d + 2) rows::

    row (2d+2) i           A_i
    row (2d+2) i + 1 + j   AB_j,i  (A_i with column j taken from B_i),   j = 0 .. d-1
    row (2d+2) i + 1 + d + j   BA_j,i  (B_i with column j taken from A_i), j = 0 .. d-1
    row (2d+2) i + 2d + 1  B_i

The Sobol' sequence keeps its balance properties only for n a power of 2 (scipy warns otherwise), so
n is rounded up to the next power of 2: ask for 6, get 8 base points. The caller reads the n it got
as ``len(rows) // (2 * d + 2)``. The caller maps the unit values to factor values.

Estimators
----------
:func:`sobol` is :func:`SALib.analyze.sobol.analyze` on the responses in that row order (SALib
first centres and scales them by their standard deviation), V the variance of f over A and B:

* first order (Saltelli et al. 2010): S_j = mean(f_B (f_ABj - f_A)) / V;
* total order (Jansen 1999, as in Saltelli et al. 2010): S_Tj = mean((f_A - f_ABj)^2) / (2 V);
* second order (Saltelli 2002): S_jk = mean(f_BAj f_ABk - f_A f_B) / V - S_j - S_k.

Confidence intervals are bootstrap intervals: ``num_resamples`` resamplings (with replacement) of the
n base points, half-width z_(1+c)/2 times the standard deviation of the resampled estimates, c the
confidence level. The bootstrap is seeded, so the intervals are reproducible.

A constant response (no variance) has no Sobol' indices: :func:`sobol` returns NaN for every index and
interval and ``constant=True``, without calling SALib (which would divide by a zero standard
deviation).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

#: bootstrap resamples of the confidence intervals
NUM_RESAMPLES = 1000


def _problem(d: int, names: list[str] | None = None) -> dict[str, Any]:
    names = list(names) if names is not None else [f"x{j + 1}" for j in range(d)]
    return {"num_vars": d, "names": names, "bounds": [[0.0, 1.0]] * d}


def base_points(n: int) -> int:
    """The number of base points :func:`saltelli_unit` uses for ``n``: the next power of 2.

    Parameters
    ----------
    n : int
        Requested number of base points (>= 1).

    Returns
    -------
    int
        ``2 ** ceil(log2(n))``.
    """
    if n < 1:
        raise ValueError(f"n = {n}: needs at least one base point")
    return 1 << (int(n) - 1).bit_length()


def saltelli_unit(d: int, n: int, seed: int) -> np.ndarray:
    """SALib's Saltelli design with second order on the unit cube, in SALib's row layout.

    Parameters
    ----------
    d : int
        Number of factors (>= 1).
    n : int
        Number of base points; rounded up to a power of 2 (see :func:`base_points`).
    seed : int
        Seed of the scrambled Sobol' sequence: the same seed gives the same rows.

    Returns
    -------
    numpy.ndarray
        Shape ``(N * (2 d + 2), d)`` with ``N = base_points(n)``, values in [0, 1]; the row layout is
        the module's (A, AB_1..AB_d, BA_1..BA_d, B per base point).
    """
    from SALib.sample import sobol as sobol_sample  # noqa: PLC0415

    if d < 1:
        raise ValueError(f"d = {d}: needs at least one factor")
    N = base_points(n)
    return np.asarray(sobol_sample.sample(_problem(d), N, calc_second_order=True, scramble=True, seed=seed),
                      dtype=float)


def sobol(f: np.ndarray, d: int, names: list[str], seed: int = 0, conf_level: float = 0.95,
          *, num_resamples: int = NUM_RESAMPLES) -> dict[str, Any]:
    """First, second and total Sobol' indices with confidence intervals (SALib).

    Parameters
    ----------
    f : numpy.ndarray
        The response at every row of :func:`saltelli_unit` (length ``N (2 d + 2)``), in that order.
    d : int
        Number of factors.
    names : list of str
        Factor names (length d), returned as ``names``.
    seed : int, optional
        Seed of the bootstrap resampling of the intervals.
    conf_level : float, optional
        Confidence level of the intervals, in (0, 1).
    num_resamples : int, optional
        Bootstrap resamples.

    Returns
    -------
    dict
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf``: arrays of length d; ``S2``, ``S2_conf``: d x d arrays,
        S2[j, k] for j < k, NaN on and below the diagonal; ``names``; ``N`` (base points);
        ``conf_level``; ``constant``: True when f has no variance (then every index is NaN).
        The ``*_conf`` values are half-widths: the interval is S +- S_conf.

    Raises
    ------
    ValueError
        If f is not a finite vector of length N (2 d + 2), or names is not of length d.
    """
    from SALib.analyze import sobol as sobol_analyze  # noqa: PLC0415

    f = np.asarray(f, dtype=float).ravel()
    if len(names) != d:
        raise ValueError(f"names: {len(names)} names for d = {d} factors")
    if d < 1 or f.size == 0 or f.size % (2 * d + 2):
        raise ValueError(f"f: {f.size} values is not N (2d + 2) with d = {d} (the layout of saltelli_unit)")
    if not np.all(np.isfinite(f)):
        raise ValueError("f: every value must be finite (a failed case has no response)")
    N = f.size // (2 * d + 2)
    out: dict[str, Any] = {"names": list(names), "N": N, "conf_level": conf_level}
    scale = max(float(np.max(np.abs(f))), np.finfo(float).tiny)
    if np.ptp(f) <= 1e-12 * scale:
        nan1, nan2 = np.full(d, np.nan), np.full((d, d), np.nan)
        out.update(S1=nan1, S1_conf=nan1.copy(), ST=nan1.copy(), ST_conf=nan1.copy(), S2=nan2,
                   S2_conf=nan2.copy(), constant=True)
        return out
    # SALib's analyze seeds the bootstrap only for a truthy seed (seed=0 would use the global
    # numpy state): shift by one so that every seed (>= 0) is reproducible
    res = sobol_analyze.analyze(_problem(d, names), f, calc_second_order=True, num_resamples=num_resamples,
                                conf_level=conf_level, seed=int(seed) + 1)
    for k in ("S1", "S1_conf", "ST", "ST_conf", "S2", "S2_conf"):
        out[k] = np.array(res[k], dtype=float)
    lower = np.tril(np.ones((d, d), bool))
    out["S2"][lower] = np.nan
    out["S2_conf"][lower] = np.nan
    out["constant"] = False
    return out


def fmt(value: float, conf: float | None = None) -> str:
    """``0.201 ± 0.012`` (or ``n/a`` for NaN)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if conf is None or not math.isfinite(conf):
        return f"{value:.3f}"
    return f"{value:.3f} ± {conf:.3f}"
