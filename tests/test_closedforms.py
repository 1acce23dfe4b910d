"""Closed-form references for the transient model (solvers.closedforms): constant-flux diffusion
in a slab, cylinder and sphere, the planar thin-film cell at constant current, and the
vertical-OCP utilisation limits."""
import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import j1

from solvers import closedforms as cf
from solvers.constants import FARADAY
from solvers.kinetics import Kinetics

GEOS = cf.GEOMETRIES
TAUS = (0.01, 0.1, 0.5)
#: the brackets at tau = 0.01, 0.1, 0.5 (issue 18), to the digits given
BRACKETS = {"slab": (0.11284, 0.35683, 0.83188), "cylinder": (0.11814, 0.41833, 1.24991),
            "sphere": (0.12364, 0.48676, 1.70000)}
SURFACE_XI = {"slab": 0.0, "cylinder": 1.0, "sphere": 1.0}


# --- constant-flux diffusion ---------------------------------------------------------------------
@pytest.mark.parametrize("geo", GEOS)
def test_surface_brackets_match_the_quoted_values(geo):
    us = cf.dimensionless_surface(np.array(TAUS), geo)
    assert [round(float(u), 5) for u in us] == pytest.approx(BRACKETS[geo], abs=1e-12)
    # the profile at the flux face is the same function (a different series for cylinder / sphere)
    prof = cf.dimensionless_profile(SURFACE_XI[geo], np.array(TAUS), geo)
    assert np.max(np.abs(prof / us - 1)) < 1e-13


def test_roots():
    b = cf.eigenvalues("cylinder", 300)
    assert np.max(np.abs(j1(b))) < 1e-14
    a = cf.eigenvalues("sphere", 300)
    n = np.arange(1, 301)
    assert np.all((a > n * np.pi) & (a < n * np.pi + np.pi / 2))
    newton = (np.sin(a) - a * np.cos(a)) / (a * np.sin(a))              # tan a = a: the next step
    assert np.max(np.abs(newton) / np.spacing(a)) <= 2.0
    assert a[0] == pytest.approx(4.493409457909064, rel=1e-15)
    assert cf.eigenvalues("slab", 3) == pytest.approx(np.pi * np.arange(1, 4), rel=1e-15)
    # the constants are the Rayleigh sums s = 2 sum 1/lambda_n (tail ~ 2 / (pi^2 N), lambda_n ~ (n pi)^2)
    for geo in GEOS:
        lam = cf.eigenvalues(geo, 1000) ** 2
        rayleigh = 2 * np.sum(1 / lam) + 2 / (np.pi**2 * 1000)
        assert rayleigh == pytest.approx(cf.SURFACE_CONSTANT[geo], abs=1e-6)


@pytest.mark.parametrize("geo", GEOS)
def test_series_converged_to_1e12(geo):
    """The series_terms count against four times as many terms, straight sum, tau >= 1e-4."""
    taus = np.array([1e-4, 3e-4, 1e-3, 0.01, 0.05, 0.1, 0.3, 1.0, 5.0])
    us = cf.dimensionless_surface(taus, geo)
    lam = cf.eigenvalues(geo, 4 * cf.series_terms(1e-4)) ** 2
    k, s = cf.SHAPE_FACTOR[geo], cf.SURFACE_CONSTANT[geo]
    ref = k * taus + s - 2 * np.sum(np.exp(-np.outer(taus, lam)) / lam, axis=1)
    assert np.max(np.abs(us / ref - 1)) < 1e-12
    assert cf.series_terms(1e-4) == 203


def test_slab_short_and_long_time_forms_agree():
    """Image series below tau = 0.1, cosine series above: each checked against the other form."""
    tau = np.concatenate([np.geomspace(1e-3, 0.0999, 15), np.linspace(0.1, 0.6, 11)])
    xi = np.linspace(0.0, 1.0, 7)[:, None]
    u = cf.dimensionless_profile(xi, tau, "slab")
    n = np.arange(1, 60)[:, None, None]
    cosine = (tau + 1 / 3 - xi + xi**2 / 2
              - 2 / np.pi**2 * np.sum(np.cos(n * np.pi * xi) * np.exp(-n**2 * np.pi**2 * tau) / n**2, axis=0))
    rt = np.sqrt(tau)
    m = np.arange(0, 8)[:, None, None]
    images = 2 * rt * (np.sum(cf._ierfc((2 * m + xi) / (2 * rt)), axis=0)
                       + np.sum(cf._ierfc((2 * m + 2 - xi) / (2 * rt)), axis=0))
    us = cf.dimensionless_surface(tau, "slab")
    assert np.max(np.abs(u - cosine)) < 1e-14 * np.max(us)
    assert np.max(np.abs(u - images)) < 1e-14 * np.max(us)
    assert np.max(np.abs(u[0] / us - 1)) < 1e-14


@pytest.mark.parametrize("geo", GEOS)
@pytest.mark.parametrize("tau", [1e-3, 0.01, 0.1, 0.5])
def test_profile_integrates_to_the_exact_mean(geo, tau):
    k = cf.SHAPE_FACTOR[geo]
    w = (lambda x: 1.0) if geo == "slab" else (lambda x: k * x ** (k - 1))
    pts = [0.0, 5 * math.sqrt(tau)] if geo == "slab" and tau < 0.02 else \
        [1.0 - 5 * math.sqrt(tau)] if tau < 0.02 else None
    mean, _ = quad(lambda x: w(x) * float(cf.dimensionless_profile(x, tau, geo)), 0.0, 1.0,
                   epsabs=0.0, epsrel=1e-12, limit=200, points=pts)
    assert mean == pytest.approx(k * tau, rel=1e-10)
    # dimensional: the same with c0, q, D, L
    q, D, L, c0 = 2e-5, 1e-14, 2e-6, 1e4
    t = tau * L**2 / D
    assert cf.mean_concentration(t, q, L, c0, geo) == pytest.approx(c0 + q * L / D * k * tau, rel=1e-15)


def _d1_one_sided(f, x0, h):
    """4th-order one-sided first derivative, forward (h > 0) or backward (h < 0)."""
    return (-25 * f(x0) + 48 * f(x0 + h) - 36 * f(x0 + 2 * h) + 16 * f(x0 + 3 * h)
            - 3 * f(x0 + 4 * h)) / (12 * h)


@pytest.mark.parametrize("geo", GEOS)
@pytest.mark.parametrize("tau", [0.01, 0.1, 0.5])
def test_flux_boundary_condition(geo, tau):
    """Dimensionless flux into the body is 1 at the surface; zero at the back face / centre."""
    def u(x):
        return float(cf.dimensionless_profile(x, tau, geo))
    h = 2e-4
    if geo == "slab":
        assert -_d1_one_sided(u, 0.0, h) == pytest.approx(1.0, abs=1e-8)      # -du/dxi = 1 at xi = 0
        assert _d1_one_sided(u, 1.0, -h) == pytest.approx(0.0, abs=1e-8)
    else:
        assert _d1_one_sided(u, 1.0, -h) == pytest.approx(1.0, abs=1e-8)      # du/dxi = 1 at xi = 1
        assert _d1_one_sided(u, 0.0, h) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("geo", GEOS)
def test_pde_residual_and_initial_state(geo):
    """u_tau = u_xixi + (k - 1) u_xi / xi at interior points (central differences); u(., 0) = 0."""
    k = cf.SHAPE_FACTOR[geo]
    xi = np.linspace(0.1, 0.9, 9)[:, None]
    tau = np.array([0.005, 0.05, 0.2, 0.8])
    h, dt = 1e-3, 1e-6

    def u(x, t):
        return cf.dimensionless_profile(x, t, geo)
    ut = (u(xi, tau + dt) - u(xi, tau - dt)) / (2 * dt)
    ux = (u(xi + h, tau) - u(xi - h, tau)) / (2 * h)
    uxx = (u(xi + h, tau) - 2 * u(xi, tau) + u(xi - h, tau)) / h**2
    res = ut - uxx - (k - 1) * ux / xi
    assert np.max(np.abs(res)) < 2e-4      # the FD truncation (h^2 u'''' / 12 ~ 1e-4 at tau = 0.005)
    assert np.all(cf.dimensionless_profile(xi, 0.0, geo) == 0.0)
    assert cf.dimensionless_surface(np.array([0.0]), geo)[0] == 0.0
    # far from the flux face the body has not yet seen the flux at tau = 1e-4
    far = 0.9 if geo == "slab" else 0.1
    assert abs(float(cf.dimensionless_profile(far, 1e-4, geo))) < 1e-12


def test_dimensional_wrappers():
    q, D, L, c0 = 3e-5, 2e-14, 1.5e-6, 5e3
    t = np.array([0.0, 1.0, 10.0, 100.0])
    for geo in GEOS:
        cs = cf.surface_concentration(t, q, D, L, c0, geo)
        assert cs == pytest.approx(c0 + q * L / D * cf.dimensionless_surface(D * t / L**2, geo), rel=1e-15)
        prof = cf.concentration_profile(SURFACE_XI[geo] * L, t, q, D, L, c0, geo)
        assert prof == pytest.approx(cs, rel=1e-13)


def test_bad_arguments():
    with pytest.raises(ValueError, match="geometry"):
        cf.dimensionless_surface(np.array([0.1]), "cube")
    with pytest.raises(ValueError, match="tau"):
        cf.dimensionless_surface(np.array([-0.1]), "slab")
    with pytest.raises(ValueError, match="too small"):
        cf.dimensionless_surface(np.array([1e-10]), "sphere")


# --- the planar cell -----------------------------------------------------------------------------
_BASE = cf.PlanarCell(electrolyte_thickness_m=1e-6, electrolyte_conductivity_S_m=2.3e-4,
                      cathode_thickness_m=1e-6, cathode_diffusivity_m2_s=1e-14,
                      cathode_c_max_mol_m3=51000.0, x0=0.5,
                      cathode_i0_A_m2=1.0, anode_i0_A_m2=10.0)


def _cell(**kw):
    """A LiCoO2-like 1 um film (L^2 / D = 100 s) behind 1 um of LiPON, with overrides."""
    return dataclasses.replace(_BASE, **kw)


def _lco(x):
    """A smooth decreasing OCP, V."""
    x = np.asarray(x, dtype=float)
    return 4.2 - 0.4 * (x - 0.5) - 0.3 * np.exp(-40 * (1 - x))


def test_planar_discharge_against_per_point_kinetics():
    cell = _cell(cathode_film_resistance_ohm_m2=1e-4, anode_film_resistance_ohm_m2=2e-4)
    j = 5.0
    t = np.linspace(0.0, 400.0, 9)
    x_s, x_mean, V = cf.planar_discharge(t, j, cell, _lco)
    L, D, cm = 1e-6, 1e-14, 51000.0
    q = j / FARADAY
    assert x_mean == pytest.approx(0.5 + q * t / (L * cm), rel=1e-15)
    assert x_s == pytest.approx(0.5 + q * L / (D * cm) * cf.dimensionless_surface(D * t / L**2), rel=1e-15)
    assert x_s[0] == 0.5 and np.all(np.diff(x_s - x_mean) > -1e-15)
    assert x_s[-1] - x_mean[-1] == pytest.approx(q * L / (D * cm) / 3, rel=1e-12)   # tau = 4: steady
    an = Kinetics(10.0, film_resistance_ohm_m2=2e-4)
    for ti, xs, v in zip(t, x_s, V):
        cat = Kinetics(2 * math.sqrt(xs * (1 - xs)), film_resistance_ohm_m2=1e-4)
        expect = (_lco(xs) - abs(float(cat.total_overpotential(np.array(-j))))
                  - float(an.total_overpotential(np.array(j))) - j * 1e-6 / 2.3e-4)
        assert v == pytest.approx(expect, abs=1e-12)
    # constant law: the kinetic losses do not change with time
    xs2, _, V2 = cf.planar_discharge(t, j, _cell(exchange_current_law="constant"), _lco)
    assert V2 - _lco(xs2) == pytest.approx(np.full_like(t, V2[0] - _lco(xs2[0])), abs=1e-13)


def test_planar_cutoff_time_and_capacity():
    cell = _cell()
    j, V_cut = 5.0, 3.8
    t_cut = cf.planar_cutoff_time(j, V_cut, cell, _lco)
    assert 0 < t_cut < cf.planar_full_time(j, cell)
    V = cf.planar_discharge(np.array([t_cut * (1 - 1e-9), t_cut, t_cut * (1 + 1e-9)]), j, cell, _lco).V
    assert V[0] > V_cut > V[2]
    assert V[1] == pytest.approx(V_cut, abs=1e-9)
    assert cf.planar_cutoff_capacity(j, V_cut, cell, _lco) == pytest.approx(j * t_cut, rel=1e-12)
    # the capacity cannot exceed what the cathode holds; at a higher rate it is smaller
    assert j * t_cut < cell.capacity_C_m2
    assert cf.planar_cutoff_capacity(4 * j, V_cut, cell, _lco) < j * t_cut
    # already below the cut-off at t = 0; never reaching it before the surface is full
    assert cf.planar_cutoff_time(j, 5.0, cell, _lco) == 0.0
    with pytest.raises(ValueError, match="fully"):
        cf.planar_cutoff_time(j, 1.0, _cell(exchange_current_law="constant"), _lco)


def test_planar_cell_validation():
    with pytest.raises(ValueError, match="x0"):
        _cell(x0=1.0)
    with pytest.raises(ValueError, match="exchange_current_law"):
        _cell(exchange_current_law="bv")
    with pytest.raises(ValueError, match="cathode_diffusivity_m2_s"):
        _cell(cathode_diffusivity_m2_s=0.0)


# --- vertical-OCP utilisation -------------------------------------------------------------------
def test_utilisation_limit_asymptote_vs_exact():
    for nu in (0.05, 0.3, 1.0):
        assert cf.utilisation_limit(nu, "slab", exact=True) == pytest.approx(1 - nu / 3, abs=3e-4)
    # cylinder and sphere: 1 - nu/8, 1 - nu/15 once the exponentials have died out
    assert cf.utilisation_limit(0.5, "cylinder", exact=True) == pytest.approx(1 - 0.5 / 8, abs=1e-6)
    assert cf.utilisation_limit(0.5, "sphere", exact=True) == pytest.approx(1 - 0.5 / 15, abs=1e-6)
    # large nu: the semi-infinite limit nu tau with 2 sqrt(tau / pi) = 1 / nu, i.e. pi / (4 nu)
    assert cf.utilisation_limit(200.0, "slab", exact=True) == pytest.approx(math.pi / 800, rel=1e-12)


@pytest.mark.parametrize("nu", [0.1, 0.5, 1.0])
def test_vertical_ocp_reproduces_one_minus_nu_over_three(nu):
    """A tanh OCP that drops 1 V within dx = 1e-4 at x_end and small losses: the cut-off
    utilisation j t_cut / (F c_max L (x_end - x0)) is 1 - nu/3."""
    x_end, w = 0.9, 1e-4
    cell = _cell(cathode_i0_A_m2=1e3, anode_i0_A_m2=1e3, electrolyte_conductivity_S_m=10.0)

    def ocp(x):
        return 4.0 - 0.5 * np.tanh((np.asarray(x, dtype=float) - x_end) / w)
    # t_nom from nu = L^2 / (D t_nom); j from t_nom = F c_max L (x_end - x0) / j
    t_nom = cell.diffusion_time_s / nu
    j = FARADAY * 51000.0 * 1e-6 * (x_end - 0.5) / t_nom
    assert cell.nominal_time_s(j, x_end) == pytest.approx(t_nom, rel=1e-14)
    u = cf.planar_cutoff_time(j, 3.75, cell, ocp) / t_nom
    assert u == pytest.approx(1 - nu / 3, rel=0.01)
    assert u == pytest.approx(cf.utilisation_limit(nu, exact=True), rel=2e-3)
