"""Field metrics: the normal current density on the interfaces and its statistics.

On an interface facet with unit normal n pointing out of the electrolyte, the normal ionic current
density is ``j_n = -sigma grad(phi) . n`` (into the cathode; the anode's current density is
``-j_n``, out of the anode). It is evaluated at the quadrature points of a :class:`skfem.FacetBasis`
on the interface facets, so every statistic is an area-weighted quadrature: mean = integral / area,
std, cov = std / mean, min, max, the 5th and 95th area percentiles (inverse of the area-weighted
distribution function, interpolated at mid-weights), max/min, p95/p05 and the area fraction within
+/-10 % of the mean.
"""
from __future__ import annotations

import math

import numpy as np
from skfem import FacetBasis

from .constants import A_M2_TO_MA_CM2  # noqa: F401  (re-exported)


def normal_current_density(mesh, elem, phi: np.ndarray, sigma: float, facets: np.ndarray,
                           electrode: str, facet_basis: FacetBasis | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Normal current density at the quadrature points of interface facets.

    Parameters
    ----------
    mesh : skfem.MeshTet
        Electrolyte mesh.
    elem : skfem.Element
        Element of ``phi``.
    phi : ndarray
        Potential, volts.
    sigma : float
        Conductivity, S/m.
    facets : ndarray of int
        Interface facets (boundary facets of the electrolyte mesh).
    electrode : {"anode", "cathode"}
        Sign convention: positive for discharge current into the cathode and out of the anode.
    facet_basis : skfem.FacetBasis, optional
        The facet basis of ``elem`` on ``facets`` if already built (the cell problem keeps one).

    Returns
    -------
    j : ndarray (n_facets, n_qp)
        Normal current density, A/m^2.
    w : ndarray (n_facets, n_qp)
        Quadrature weights (areas), m^2.
    """
    fb = FacetBasis(mesh, elem, facets=facets) if facet_basis is None else facet_basis
    g = fb.interpolate(phi).grad
    n = fb.normals
    jn = -sigma * np.einsum("i...,i...->...", g, n)
    if electrode == "anode":
        jn = -jn
    return np.asarray(jn), np.asarray(fb.dx)


def weighted_stats(values: np.ndarray, weights: np.ndarray) -> dict[str, float | None]:
    """Area-weighted statistics of a sampled field (see the module docstring).

    Non-finite ratios (a minimum of zero) are returned as None.
    """
    v = np.ravel(values).astype(float)
    w = np.ravel(weights).astype(float)
    W = w.sum()
    mean = float((v * w).sum() / W)
    std = float(math.sqrt(max(((v - mean) ** 2 * w).sum() / W, 0.0)))
    order = np.argsort(v, kind="stable")
    vs, ws = v[order], w[order]
    cdf = (np.cumsum(ws) - 0.5 * ws) / W
    p05, p95 = (float(np.interp(q, cdf, vs)) for q in (0.05, 0.95))
    vmin, vmax = float(vs[0]), float(vs[-1])

    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 and math.isfinite(a / b) else None

    within = float(w[np.abs(v - mean) <= 0.1 * abs(mean)].sum() / W)
    return {"mean": mean, "std": std, "cov": ratio(std, abs(mean)) if mean else None,
            "min": vmin, "max": vmax, "p05": p05, "p95": p95,
            "max_over_min": ratio(vmax, vmin), "p95_over_p05": ratio(p95, p05),
            "fraction_within_10pct": within}
