r"""Closed-form reference solutions for the transient model (issue 18): no finite elements here.

1. Diffusion with a constant flux into an initially uniform body
----------------------------------------------------------------
A body at uniform concentration c0 receives, from t = 0, a constant molar flux q (mol m^-2 s^-1,
> 0 into the body) through its surface; D is constant. With tau = D t / L^2, xi = r / L and the
dimensionless concentration u = (c - c0) D / (q L), the three bodies are

* slab 0 <= x <= L, flux through x = 0, x = L insulated (xi = x / L, measured from the flux face)::

      u = tau + 1/3 - xi + xi^2/2 - (2/pi^2) sum_{n>=1} cos(n pi xi) exp(-n^2 pi^2 tau) / n^2

* solid cylinder of radius L (flux through r = L), J1(b_n) = 0, b_n > 0::

      u = 2 tau + xi^2/2 - 1/4 - 2 sum_n J0(b_n xi) / J0(b_n) exp(-b_n^2 tau) / b_n^2

* sphere of radius L (flux through r = L), tan a_n = a_n, a_n > 0::

      u = 3 tau + xi^2/2 - 3/10 - 2 sum_n sin(a_n xi) / (xi sin a_n) exp(-a_n^2 tau) / a_n^2

Each is the quasi-steady growth k tau + g(xi) (k = A L / V = 1, 2, 3; g'' + (k-1) g'/xi = k,
g'(1) = 1 at the flux face, zero mean) minus its eigenfunction expansion, which cancels g at
tau = 0. At the surface the brackets are the quoted ones,

    slab      u_s = tau + 1/3 - (2/pi^2) sum exp(-n^2 pi^2 tau) / n^2
    cylinder  u_s = 2 tau + 1/4 - 2 sum exp(-b_n^2 tau) / b_n^2
    sphere    u_s = 3 tau + 1/5 - 2 sum exp(-a_n^2 tau) / a_n^2,

and the mean is exact: c_mean = c0 + q (A / V) t = c0 + k q t / L. Since the constants are the sums
1/3 = 2 sum 1/(n pi)^2, 1/4 = 2 sum 1/b_n^2, 1/5 = 2 sum 1/a_n^2, the surface value is evaluated as
u_s = k tau + 2 sum_{n<=N} (-expm1(-lambda_n tau)) / lambda_n + 2 (s/2 - sum_{n<=N} 1/lambda_n)
(lambda_n the squared eigenvalues), which has no cancellation at small tau.

Slab at short times: the image (erfc) series, exact for every tau > 0,

    u = 2 sqrt(tau) [sum_{n>=0} ierfc((2n + xi) / (2 sqrt tau))
                     + sum_{n>=1} ierfc((2n - xi) / (2 sqrt tau))],
    u_s = 2 sqrt(tau) [1/sqrt(pi) + 2 sum_{n>=1} ierfc(n / sqrt tau)],

ierfc(z) = exp(-z^2)/sqrt(pi) - z erfc(z); its first term is the semi-infinite solid's
2 sqrt(tau/pi).

Number of terms (accuracy target 1e-12 relative to the surface value for tau >= 1e-4). The first
neglected term of the eigenfunction series is ~ exp(-lambda_{N+1} tau) / lambda_{N+1}; N is chosen
per call from the smallest positive tau so that lambda_{N+1} tau_min >= 40 (exp(-40) = 4e-18, well
below 1e-12 of u_s >= 2 sqrt(tau/pi) ~ 1e-2 at tau = 1e-4): N = ceil(sqrt(40 / tau_min) / pi) + 1,
at least 10; 203 terms at tau = 1e-4 (:func:`series_terms`). The slab uses the image series for
tau < 0.1 (4 images per side: the first neglected term ~ exp(-20 / tau) < exp(-200)) and the
cosine series for tau >= 0.1 (12 terms: the first neglected exp(-169 pi^2 tau) < exp(-166)); each
agrees with the other form to 1e-14 of u_s on 1e-3 <= tau <= 0.6 (tests). Cylinder and sphere
refuse 0 < tau < 1e-8 (N would exceed 2e4).

Roots: b_n from ``scipy.special.jn_zeros(1, N)``; a_n by ``brentq`` on sin a - a cos a in each
interval (n pi, n pi + pi/2), n = 1..N.

2. The planar thin-film cell at constant current
------------------------------------------------
Li metal | solid electrolyte (thickness t_e, conductivity sigma) | cathode film (thickness L,
diffusivity D, c_max, initial lithiation x0) | collector. A discharge current density j (A/m^2,
> 0) inserts Li into the cathode through its electrolyte face at q = j / F; the collector face is
insulated. The slab solution gives the surface and mean lithiation

    x_s(t)    = x0 + (q L / (D c_max)) u_s(D t / L^2)
    x_mean(t) = x0 + q t / (L c_max)

and the cell voltage V(t) = U(x_s) - |eta_c(j, x_s)| - eta_a(j) - j t_e / sigma, where eta is the
Butler-Volmer overpotential (plus any film drop r j) of :class:`solvers.kinetics.Kinetics`, the
cathode's exchange current density i0 = i0_ref 2 sqrt(x_s (1 - x_s)) (law ``lithiation``) or
i0_ref (``constant``), the Li anode's constant. The cut-off time solves V(t) = V_cut (brentq on the
closed form) and the capacity to cut-off per footprint is j t_cut (C/m^2).

3. Vertical-OCP utilisation limits
----------------------------------
With an OCP that drops vertically at x_end and a negligible overpotential, the cell cuts off when
the surface lithiation reaches x_end. With the nominal time t_nom = F c_max L (x_end - x0) / j
(the mean reaches x_end) and nu = L^2 / (D t_nom), the utilisation t_cut / t_nom = nu tau_cut,
u_s(tau_cut) = k / nu. Once the exponentials have died out (u_s = k tau + s) this is

    slab 1 - nu/3,   cylinder 1 - nu/8,   sphere 1 - nu/15,

which for the slab is within 3e-4 of the exact root for nu <= 1 (:func:`utilisation_limit`).

Sources
-------
H. S. Carslaw and J. C. Jaeger, Conduction of Heat in Solids, 2nd ed., Oxford 1959: the slab
(ch. III), the cylinder (ch. VII) and the sphere (ch. IX) with a constant surface flux; J. Crank,
The Mathematics of Diffusion, 2nd ed., Oxford 1975: the plane sheet (ch. 4), cylinder (ch. 5) and
sphere (ch. 6). Section and equation numbers are not quoted; the series above were re-derived
(coefficients -2/lambda_n from the orthogonality integrals) and are checked in
``tests/test_closedforms.py`` (roots, PDE residual, flux condition, exact mean, short/long overlap).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc, erfcx, j0, jn_zeros

from .constants import FARADAY
from .kinetics import Kinetics

Geometry = Literal["slab", "cylinder", "sphere"]
GEOMETRIES: tuple[str, ...] = ("slab", "cylinder", "sphere")
#: A L / V for each body: d(mean u)/d tau
SHAPE_FACTOR = {"slab": 1, "cylinder": 2, "sphere": 3}
#: the surface constant s = lim (u_s - k tau) = 2 sum 1 / lambda_n
SURFACE_CONSTANT = {"slab": 1.0 / 3.0, "cylinder": 0.25, "sphere": 0.2}
#: slab: image series below this tau, cosine series from it
SLAB_SWITCH_TAU = 0.1
_SLAB_IMAGES = 4
_SLAB_COSINES = 12
#: lambda_{N+1} tau_min >= this for the eigenfunction series (exp(-40) = 4e-18)
_DECAY = 40.0
_MIN_TERMS = 10
#: smallest positive tau accepted by the eigenfunction series (about 2e4 terms)
_TAU_MIN = 1e-8
_SQRT_PI = math.sqrt(math.pi)


def _check_geometry(geometry: str) -> str:
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    return geometry


# --- eigenvalues ---------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _roots(geometry: str, n: int) -> np.ndarray:
    k = np.arange(1, n + 1, dtype=float)
    if geometry == "slab":
        r = k * math.pi
    elif geometry == "cylinder":
        r = jn_zeros(1, n)
    else:
        def f(a: float) -> float:   # tan a = a without the poles
            return math.sin(a) - a * math.cos(a)
        r = np.array([brentq(f, m * math.pi, m * math.pi + 0.5 * math.pi, xtol=1e-300,
                             rtol=4 * np.finfo(float).eps, maxiter=200) for m in range(1, n + 1)])
    r = np.asarray(r, dtype=float)
    r.setflags(write=False)
    return r


def eigenvalues(geometry: Geometry, n: int) -> np.ndarray:
    """The first ``n`` positive eigenvalues of the flux problem (dimensionless).

    Parameters
    ----------
    geometry : {"slab", "cylinder", "sphere"}
    n : int
        Number of roots.

    Returns
    -------
    ndarray, shape (n,)
        n pi (slab); the zeros b_n of J1 (cylinder); the roots a_n of tan a = a in
        (n pi, n pi + pi/2) (sphere). Read-only (cached).
    """
    return _roots(_check_geometry(geometry), int(n))


def series_terms(tau_min: float) -> int:
    """Terms of the eigenfunction series for relative accuracy 1e-12 at tau >= ``tau_min``.

    N = ceil(sqrt(40 / tau_min) / pi) + 1 (at least 10), so that the first neglected term is below
    exp(-40) (lambda_n ~ (n pi)^2 and above for every body).

    Parameters
    ----------
    tau_min : float
        Smallest positive dimensionless time D t / L^2.

    Returns
    -------
    int
    """
    if not tau_min >= _TAU_MIN:
        raise ValueError(f"tau = {tau_min:g} is too small for the eigenfunction series "
                         f"(use tau >= {_TAU_MIN:g}, about 2e4 terms)")
    return max(_MIN_TERMS, math.ceil(math.sqrt(_DECAY / tau_min) / math.pi) + 1)


def _ierfc(z: np.ndarray) -> np.ndarray:
    """First repeated integral of erfc, exp(-z^2)/sqrt(pi) - z erfc(z)."""
    z = np.asarray(z, dtype=float)
    zp = np.maximum(z, 0.0)
    pos = np.exp(-zp * zp) * (1.0 / _SQRT_PI - zp * erfcx(zp))      # no overflow for large z
    zn = np.minimum(z, 0.0)
    neg = np.exp(-zn * zn) / _SQRT_PI - zn * erfc(zn)
    return np.where(z >= 0, pos, neg)


# --- dimensionless solutions ---------------------------------------------------------------------
def dimensionless_surface(tau: np.ndarray, geometry: Geometry = "slab") -> np.ndarray:
    """Surface value u_s = (c_s - c0) D / (q L) of the constant-flux problem (the bracket).

    Parameters
    ----------
    tau : array_like
        Dimensionless time D t / L^2 (>= 0).
    geometry : {"slab", "cylinder", "sphere"}
        L is the slab thickness (back face insulated) or the cylinder / sphere radius.

    Returns
    -------
    ndarray
        u_s, same shape as ``tau``; 0 at tau = 0.
    """
    _check_geometry(geometry)
    tau = np.asarray(tau, dtype=float)
    if np.any(tau < 0) or not np.all(np.isfinite(tau)):
        raise ValueError("tau must be finite and >= 0")
    out = np.zeros_like(tau)
    k, s = SHAPE_FACTOR[geometry], SURFACE_CONSTANT[geometry]
    if geometry == "slab":
        short = (tau > 0) & (tau < SLAB_SWITCH_TAU)
        if np.any(short):
            ts = tau[short]
            n = np.arange(1, _SLAB_IMAGES + 1)
            out[short] = 2.0 * np.sqrt(ts) * (1.0 / _SQRT_PI + 2.0 * np.sum(
                _ierfc(n / np.sqrt(ts)[..., None]), axis=-1))
        long_ = tau >= SLAB_SWITCH_TAU
        nterms = _SLAB_COSINES
    else:
        long_ = tau > 0
        nterms = series_terms(float(tau[long_].min())) if np.any(long_) else 0
    if np.any(long_):
        tl = tau[long_]
        lam = eigenvalues(geometry, nterms) ** 2
        head = np.sum(-np.expm1(-lam * tl[..., None]) / lam, axis=-1)
        tail = 0.5 * s - np.sum(1.0 / lam)          # sum_{n>N} 1/lambda_n (exp(-lambda tau) ~ 0)
        out[long_] = k * tl + 2.0 * (head + tail)
    return out


def dimensionless_profile(xi: np.ndarray, tau: np.ndarray, geometry: Geometry = "slab") -> np.ndarray:
    """Profile u(xi, tau) = (c - c0) D / (q L) of the constant-flux problem.

    Parameters
    ----------
    xi : array_like
        Position x / L (slab: distance from the flux face, which is xi = 0; xi = 1 insulated) or
        r / L (cylinder, sphere: centre xi = 0, flux face xi = 1). The series are analytic in xi,
        so a point slightly outside [0, 1] returns their continuation.
    tau : array_like
        Dimensionless time D t / L^2 (>= 0); broadcast against ``xi``.
    geometry : {"slab", "cylinder", "sphere"}

    Returns
    -------
    ndarray
        u, shape of ``broadcast(xi, tau)``; 0 at tau = 0.
    """
    _check_geometry(geometry)
    xi, tau = np.broadcast_arrays(np.asarray(xi, dtype=float), np.asarray(tau, dtype=float))
    if np.any(tau < 0) or not np.all(np.isfinite(tau)):
        raise ValueError("tau must be finite and >= 0")
    out = np.zeros(xi.shape)
    k = SHAPE_FACTOR[geometry]
    if geometry == "slab":
        short = (tau > 0) & (tau < SLAB_SWITCH_TAU)
        if np.any(short):
            x, rt = xi[short][..., None], np.sqrt(tau[short])[..., None]
            n = np.arange(0, _SLAB_IMAGES + 1)
            m = np.arange(1, _SLAB_IMAGES + 1)
            out[short] = 2.0 * rt[..., 0] * (np.sum(_ierfc((2 * n + x) / (2 * rt)), axis=-1)
                                              + np.sum(_ierfc((2 * m - x) / (2 * rt)), axis=-1))
        long_ = tau >= SLAB_SWITCH_TAU
        nterms = _SLAB_COSINES
    else:
        long_ = tau > 0
        nterms = series_terms(float(tau[long_].min())) if np.any(long_) else 0
    if np.any(long_):
        x, t = xi[long_], tau[long_]
        roots = eigenvalues(geometry, nterms)
        lam = roots ** 2
        xr = x[..., None] * roots
        if geometry == "slab":
            shape = np.cos(xr)
        elif geometry == "cylinder":
            shape = j0(xr) / j0(roots)
        else:                    # sin(a xi) / xi = a sinc(a xi / pi), finite at the centre
            shape = roots * np.sinc(xr / np.pi) / np.sin(roots)
        series = np.sum(shape * np.exp(-lam * t[..., None]) / lam, axis=-1)
        # quasi-steady part g(xi), zero mean: slab 1/3 - xi + xi^2/2, cylinder xi^2/2 - 1/4,
        # sphere xi^2/2 - 3/10
        g = {"slab": 1.0 / 3.0 - x + 0.5 * x * x, "cylinder": 0.5 * x * x - 0.25,
             "sphere": 0.5 * x * x - 0.3}[geometry]
        out[long_] = k * t + g - 2.0 * series
    return out


# --- dimensional wrappers ------------------------------------------------------------------------
def surface_concentration(t: np.ndarray, q: float, D: float, L: float, c0: float = 0.0,
                          geometry: Geometry = "slab") -> np.ndarray:
    """Surface concentration under a constant flux q into the body, mol/m^3.

    Parameters
    ----------
    t : array_like
        Time, s (>= 0).
    q : float
        Molar flux into the body through its surface, mol m^-2 s^-1.
    D : float
        Diffusivity, m^2/s.
    L : float
        Slab thickness (back face insulated) or cylinder / sphere radius, m.
    c0 : float
        Initial uniform concentration, mol/m^3.
    geometry : {"slab", "cylinder", "sphere"}

    Returns
    -------
    ndarray
        c_s(t) = c0 + (q L / D) u_s(D t / L^2), mol/m^3.
    """
    t = np.asarray(t, dtype=float)
    return c0 + q * L / D * dimensionless_surface(D * t / L**2, geometry)


def concentration_profile(r: np.ndarray, t: np.ndarray, q: float, D: float, L: float,
                          c0: float = 0.0, geometry: Geometry = "slab") -> np.ndarray:
    """Concentration c(r, t) under a constant flux q into the body, mol/m^3.

    Parameters
    ----------
    r : array_like
        Position, m: slab, distance from the flux face (0 <= r <= L); cylinder / sphere, distance
        from the axis / centre (0 <= r <= L, flux face at L). Broadcast against ``t``.
    t : array_like
        Time, s (>= 0).
    q, D, L, c0, geometry
        As :func:`surface_concentration`.

    Returns
    -------
    ndarray
        c0 + (q L / D) u(r / L, D t / L^2), mol/m^3.
    """
    r, t = np.asarray(r, dtype=float), np.asarray(t, dtype=float)
    return c0 + q * L / D * dimensionless_profile(r / L, D * t / L**2, geometry)


def mean_concentration(t: np.ndarray, q: float, L: float, c0: float = 0.0,
                       geometry: Geometry = "slab") -> np.ndarray:
    """Volume-mean concentration c0 + q (A / V) t (exact), mol/m^3.

    Parameters
    ----------
    t : array_like
        Time, s.
    q : float
        Molar flux into the body, mol m^-2 s^-1.
    L : float
        Slab thickness or radius, m (A / V = 1/L, 2/L, 3/L).
    c0 : float
        Initial concentration, mol/m^3.
    geometry : {"slab", "cylinder", "sphere"}

    Returns
    -------
    ndarray
    """
    return c0 + SHAPE_FACTOR[_check_geometry(geometry)] * q / L * np.asarray(t, dtype=float)


# --- vertical-OCP utilisation ---------------------------------------------------------------------
def utilisation_limit(nu: float, geometry: Geometry = "slab", exact: bool = False) -> float:
    """Utilisation t_cut / t_nom at which the surface reaches the end of a vertical OCP.

    Parameters
    ----------
    nu : float
        L^2 / (D t_nom), t_nom the time at which the mean concentration would reach the surface
        limit (the nominal discharge time), dimensionless (> 0).
    geometry : {"slab", "cylinder", "sphere"}
    exact : bool
        False: the long-time asymptote 1 - nu/3 (slab), 1 - nu/8 (cylinder), 1 - nu/15 (sphere),
        valid (slab: within 3e-4) for nu <= 1. True: nu tau with u_s(tau) = k / nu solved by
        brentq, valid for every nu > 0.

    Returns
    -------
    float
        Fraction of the nominal capacity delivered, dimensionless.
    """
    _check_geometry(geometry)
    if not nu > 0:
        raise ValueError(f"nu must be > 0, got {nu}")
    k, s = SHAPE_FACTOR[geometry], SURFACE_CONSTANT[geometry]
    if not exact:
        return 1.0 - s * nu / k
    target = k / nu
    # u_s >= k tau, and u_s >= 2 sqrt(tau / pi) ... use tau_hi = target / k (u_s(tau_hi) >= target)
    tau = brentq(lambda x: float(dimensionless_surface(np.array(x), geometry)) - target,
                 0.0, target / k, xtol=1e-300, rtol=1e-13, maxiter=500)
    return nu * tau


# --- the planar cell -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanarCell:
    """Planar Li | solid electrolyte | cathode-film cell (SI units throughout).

    Parameters
    ----------
    electrolyte_thickness_m : float
        t_e, m.
    electrolyte_conductivity_S_m : float
        sigma, S/m.
    cathode_thickness_m : float
        L, m.
    cathode_diffusivity_m2_s : float
        D, m^2/s.
    cathode_c_max_mol_m3 : float
        Li site concentration of the cathode at x = 1, mol/m^3.
    x0 : float
        Initial lithiation of the cathode, 0 <= x0 < 1.
    cathode_i0_A_m2 : float
        Cathode exchange current density i0_ref, A/m^2 (law ``lithiation``: the value at x = 1/2).
    anode_i0_A_m2 : float
        Li anode exchange current density, A/m^2 (constant).
    alpha_a, alpha_c : float
        Transfer coefficients (both interfaces).
    temperature_K : float
    exchange_current_law : {"lithiation", "constant"}
        ``lithiation``: i0 = i0_ref 2 sqrt(x_s (1 - x_s)); ``constant``: i0 = i0_ref.
    cathode_film_resistance_ohm_m2, anode_film_resistance_ohm_m2 : float
        Series film resistances of the interfaces (:class:`Kinetics`), ohm m^2.
    """

    electrolyte_thickness_m: float
    electrolyte_conductivity_S_m: float
    cathode_thickness_m: float
    cathode_diffusivity_m2_s: float
    cathode_c_max_mol_m3: float
    x0: float
    cathode_i0_A_m2: float
    anode_i0_A_m2: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    temperature_K: float = 298.15
    exchange_current_law: Literal["lithiation", "constant"] = "lithiation"
    cathode_film_resistance_ohm_m2: float = 0.0
    anode_film_resistance_ohm_m2: float = 0.0

    def __post_init__(self) -> None:
        for name in ("electrolyte_thickness_m", "electrolyte_conductivity_S_m", "cathode_thickness_m",
                     "cathode_diffusivity_m2_s", "cathode_c_max_mol_m3", "cathode_i0_A_m2",
                     "anode_i0_A_m2", "alpha_a", "alpha_c", "temperature_K"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.x0 < 1.0:
            raise ValueError(f"x0 must be in [0, 1), got {self.x0}")
        if self.exchange_current_law not in ("lithiation", "constant"):
            raise ValueError(f"exchange_current_law must be 'lithiation' or 'constant', "
                             f"got {self.exchange_current_law!r}")
        if self.cathode_film_resistance_ohm_m2 < 0 or self.anode_film_resistance_ohm_m2 < 0:
            raise ValueError("film resistances must be >= 0")

    @property
    def diffusion_time_s(self) -> float:
        """L^2 / D, s."""
        return self.cathode_thickness_m**2 / self.cathode_diffusivity_m2_s

    @property
    def capacity_C_m2(self) -> float:
        """Capacity left in the cathode, F c_max L (1 - x0), C/m^2."""
        return FARADAY * self.cathode_c_max_mol_m3 * self.cathode_thickness_m * (1.0 - self.x0)

    def nominal_time_s(self, j: float, x_end: float = 1.0) -> float:
        """t_nom = F c_max L (x_end - x0) / j: the mean lithiation reaches ``x_end``, s."""
        return FARADAY * self.cathode_c_max_mol_m3 * self.cathode_thickness_m * (x_end - self.x0) / j

    def cathode_kinetics(self, i0_A_m2: float) -> Kinetics:
        """:class:`Kinetics` of the cathode interface for exchange current density ``i0_A_m2``."""
        return Kinetics(i0_A_m2=i0_A_m2, alpha_a=self.alpha_a, alpha_c=self.alpha_c,
                        temperature_K=self.temperature_K,
                        film_resistance_ohm_m2=self.cathode_film_resistance_ohm_m2)

    def anode_kinetics(self) -> Kinetics:
        """:class:`Kinetics` of the Li anode interface."""
        return Kinetics(i0_A_m2=self.anode_i0_A_m2, alpha_a=self.alpha_a, alpha_c=self.alpha_c,
                        temperature_K=self.temperature_K,
                        film_resistance_ohm_m2=self.anode_film_resistance_ohm_m2)

    def cathode_i0(self, x_s: np.ndarray) -> np.ndarray:
        """Cathode exchange current density at surface lithiation ``x_s``, A/m^2 (nan outside [0, 1])."""
        x_s = np.asarray(x_s, dtype=float)
        if self.exchange_current_law == "constant":
            return np.full_like(x_s, self.cathode_i0_A_m2)
        with np.errstate(invalid="ignore"):
            return self.cathode_i0_A_m2 * 2.0 * np.sqrt(x_s * (1.0 - x_s))


class PlanarDischarge(NamedTuple):
    """:func:`planar_discharge` result; arrays shaped like ``t``."""

    #: cathode surface lithiation (electrolyte face)
    x_s: np.ndarray
    #: cathode mean lithiation
    x_mean: np.ndarray
    #: cell voltage, V
    V: np.ndarray


def planar_overpotentials(j: float, x_s: np.ndarray, cell: PlanarCell) -> tuple[np.ndarray, float, float]:
    """Magnitudes of the voltage losses at discharge current density ``j``.

    Parameters
    ----------
    j : float
        Discharge current density, A/m^2 (> 0 inserts Li into the cathode).
    x_s : array_like
        Cathode surface lithiation.
    cell : PlanarCell

    Returns
    -------
    eta_c : ndarray
        |cathode overpotential + film drop|, V (inf where i0 = 0, nan where x_s is outside [0, 1]
        for the ``lithiation`` law).
    eta_a : float
        Anode overpotential + film drop, V.
    ohmic : float
        Electrolyte drop j t_e / sigma, V.
    """
    x_s = np.asarray(x_s, dtype=float)
    i0 = cell.cathode_i0(x_s)
    # the law is i0 g(eta): eta(i; i0) = eta(i / i0; 1), vectorised over the time points
    unit = cell.cathode_kinetics(1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta_c = np.abs(unit.overpotential(-j / i0)) + cell.cathode_film_resistance_ohm_m2 * abs(j)
    eta_a = float(cell.anode_kinetics().total_overpotential(np.array(j)))
    ohmic = j * cell.electrolyte_thickness_m / cell.electrolyte_conductivity_S_m
    return eta_c, eta_a, ohmic


def planar_discharge(t: np.ndarray, j: float, cell: PlanarCell,
                     ocp: Callable[[np.ndarray], np.ndarray]) -> PlanarDischarge:
    """Closed-form constant-current discharge of the planar cell.

    Parameters
    ----------
    t : array_like
        Time since the start of the discharge, s (>= 0).
    j : float
        Discharge current density, A/m^2 (> 0: Li into the cathode, x increases).
    cell : PlanarCell
    ocp : callable
        Cathode equilibrium potential U(x) vs Li/Li+, V; vectorised over an ndarray of x.

    Returns
    -------
    PlanarDischarge
        ``x_s`` = x0 + (q L / (D c_max)) u_s(D t / L^2) with q = j / F, ``x_mean`` =
        x0 + q t / (L c_max), and ``V`` = U(x_s) - |eta_c| - eta_a - j t_e / sigma (V; nan where
        x_s leaves [0, 1] under the ``lithiation`` law).
    """
    t = np.asarray(t, dtype=float)
    q = j / FARADAY
    L, D, cm = cell.cathode_thickness_m, cell.cathode_diffusivity_m2_s, cell.cathode_c_max_mol_m3
    x_s = cell.x0 + q * L / (D * cm) * dimensionless_surface(D * t / L**2, "slab")
    x_mean = cell.x0 + q * t / (L * cm)
    eta_c, eta_a, ohmic = planar_overpotentials(j, x_s, cell)
    V = np.asarray(ocp(x_s), dtype=float) - eta_c - eta_a - ohmic
    return PlanarDischarge(x_s, x_mean, V)


def planar_full_time(j: float, cell: PlanarCell) -> float:
    """Time at which the cathode surface reaches x = 1 under discharge current density ``j``, s."""
    if not j > 0:
        raise ValueError(f"discharge current density must be > 0, got {j}")
    L, D, cm = cell.cathode_thickness_m, cell.cathode_diffusivity_m2_s, cell.cathode_c_max_mol_m3
    target = (1.0 - cell.x0) * D * cm / (j / FARADAY * L)   # u_s(tau_full)
    tau = brentq(lambda x: float(dimensionless_surface(np.array(x), "slab")) - target,
                 0.0, target, xtol=1e-300, rtol=1e-14, maxiter=500)       # u_s(tau) >= tau
    return tau * L**2 / D


def planar_cutoff_time(j: float, V_cut: float, cell: PlanarCell,
                       ocp: Callable[[np.ndarray], np.ndarray], rtol: float = 1e-11) -> float:
    """First time at which the closed-form voltage of :func:`planar_discharge` falls to ``V_cut``.

    The interval up to the time the surface is fully lithiated (:func:`planar_full_time`) is
    scanned on 400 points (geometric and linear) for the first sign change of V - V_cut, which
    brentq then refines to relative tolerance ``rtol`` (default 1e-11).

    Parameters
    ----------
    j : float
        Discharge current density, A/m^2 (> 0).
    V_cut : float
        Cut-off voltage, V.
    cell : PlanarCell
    ocp : callable
        U(x), V, vectorised.
    rtol : float
        Relative tolerance on the time.

    Returns
    -------
    float
        t_cut, s; 0.0 if the voltage is already at or below ``V_cut`` at t = 0.

    Raises
    ------
    ValueError
        If V stays above ``V_cut`` until the cathode surface is fully lithiated.
    """
    t_full = planar_full_time(j, cell)

    def g(t: np.ndarray) -> np.ndarray:
        # V - V_cut; -inf (i0 -> 0 at x_s = 1) and nan (x_s outside [0, 1]) become a finite
        # large negative value so that brentq can use the end point of the bracket
        d = planar_discharge(t, j, cell, ocp).V - V_cut
        return np.where(np.isfinite(d), d, -1e6)

    if g(np.array([0.0]))[0] <= 0:
        return 0.0
    grid = np.unique(np.concatenate([[0.0], np.geomspace(t_full * 1e-9, t_full, 200),
                                     np.linspace(0.0, t_full, 201)[1:]]))
    grid[-1] = t_full
    vals = g(grid)
    below = np.nonzero(vals <= 0)[0]
    if below.size == 0:
        raise ValueError(f"V stays above V_cut = {V_cut} V until the cathode surface is fully "
                         f"lithiated (t = {t_full:g} s, V = {vals[-1] + V_cut:.6g} V)")
    i = int(below[0])
    if vals[i] == 0:
        return float(grid[i])
    return brentq(lambda x: float(g(np.array([x]))[0]), float(grid[i - 1]), float(grid[i]),
                  xtol=1e-300, rtol=rtol, maxiter=500)


def planar_cutoff_capacity(j: float, V_cut: float, cell: PlanarCell,
                           ocp: Callable[[np.ndarray], np.ndarray]) -> float:
    """Charge delivered per footprint area to cut-off, j t_cut, C/m^2 (see :func:`planar_cutoff_time`)."""
    return j * planar_cutoff_time(j, V_cut, cell, ocp)


__all__ = ["GEOMETRIES", "SHAPE_FACTOR", "SURFACE_CONSTANT", "PlanarCell", "PlanarDischarge",
           "concentration_profile", "dimensionless_profile", "dimensionless_surface", "eigenvalues",
           "mean_concentration", "planar_cutoff_capacity", "planar_cutoff_time", "planar_discharge",
           "planar_full_time", "planar_overpotentials", "series_terms", "surface_concentration",
           "utilisation_limit"]
