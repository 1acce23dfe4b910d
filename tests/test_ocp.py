"""Open-circuit potential curves (solvers.ocp): the library curves and case tables."""
import dataclasses

import numpy as np
import pytest

from solvers import ocp
from solvers.units import QuantityError

NAMES = sorted(ocp.CURVES)
#: curves whose source could not be verified (second-hand or made up from plateaus)
ESTIMATES = {"LiCoO2_Fabre2012", "LiCoO2_Raijmakers2020", "Li4Ti5O12_regular_solution", "V2O5_steps"}


@pytest.mark.parametrize("name", NAMES)
def test_curve_is_finite_strictly_decreasing_with_a_matching_derivative(name):
    c = ocp.get(name)
    lo, hi = c.x_range
    x = np.linspace(lo, hi, 20001)
    u, d = c(x), c.derivative(x)
    assert np.isfinite(u).all() and np.isfinite(d).all()
    assert (np.diff(u) < 0).all()                   # U falls as Li is inserted, strictly
    assert (d < 0).all()
    assert (-1 <= u).all() and (u <= 6).all()       # plausible potentials vs Li/Li+
    # the derivative against a central finite difference, inside and at the ends
    h = 1e-6
    xs = np.concatenate([np.linspace(lo + 2 * h, hi - 2 * h, 397), [lo, hi]])
    fd = (c(xs + h) - c(xs - h)) / (2 * h)
    inner = slice(0, -2)
    assert c.derivative(xs[inner]) == pytest.approx(fd[inner], rel=2e-4, abs=1e-6)
    # one-sided at the ends (outside, the curve continues with the end slope)
    assert c.derivative(lo) == pytest.approx((c(lo + h) - c(lo)) / h, rel=2e-3, abs=1e-4)
    assert c.derivative(hi) == pytest.approx((c(hi) - c(hi - h)) / h, rel=2e-3, abs=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_curve_is_continued_linearly_outside_its_range(name):
    c = ocp.get(name)
    lo, hi = c.x_range
    for end, out in ((lo, lo - 0.3), (hi, hi + 0.3)):
        assert c(out) == pytest.approx(c(end) + c.derivative(end) * (out - end), rel=1e-12, abs=1e-12)
        assert c.derivative(out) == c.derivative(end)
    x = np.linspace(-1, 2, 3001)
    u = c(x)
    assert np.isfinite(u).all() and (np.diff(u) < 0).all()
    assert c(lo - 1e-12) == pytest.approx(c(lo), abs=1e-9) and c(hi + 1e-12) == pytest.approx(c(hi), abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_curve_documents_formula_source_and_range(name):
    c = ocp.get(name)
    assert c.name == name and c.source.strip() and "Valid" in c.doc
    assert c.estimate == (name in ESTIMATES) and c.source.startswith("estimate") == c.estimate
    assert 0 <= c.x_range[0] < c.x_range[1] <= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.name = "other"


def test_vectorised_and_scalar():
    c = ocp.get("LiCoO2_Ramadass2004")
    assert isinstance(c(0.7), float) and isinstance(c.derivative(0.7), float)
    grid = np.array([[0.6, 0.7], [0.8, 2.0]])
    assert c(grid).shape == (2, 2) and c.derivative(grid).shape == (2, 2)
    assert c(grid)[1, 0] == c(0.8)
    assert c([0.6, 0.7]).tolist() == [c(0.6), c(0.7)]


# --- spot values against the sources -------------------------------------------------------------
def test_raijmakers_table_reproduces_its_emf_points():
    c = ocp.get("LiCoO2_Raijmakers2020")
    x, u = ocp.RAIJMAKERS_2020
    assert c.x_range == (0.60, 0.998)
    assert c(np.array(x)) == pytest.approx(u, abs=1e-12)
    # the reading notes' points: 0.60 4.058, 0.85 3.903, 0.99 3.704, 0.998 3.35
    assert (c(0.60), c(0.85), c(0.99), c(0.998)) == pytest.approx((4.058, 3.903, 3.704, 3.35), abs=1e-12)
    # PCHIP: no overshoot between the points
    xs = np.linspace(0.60, 0.998, 2001)
    k = np.searchsorted(x, xs, side="right").clip(1, len(x) - 1)
    assert (c(xs) <= np.array(u)[k - 1] + 1e-12).all() and (c(xs) >= np.array(u)[k] - 1e-12).all()


def test_lco_ramadass_values_and_agreement_with_the_film_emf():
    c = ocp.get("LiCoO2_Ramadass2004")
    # the coefficients of Ramadass et al. 2004 evaluated by hand at x = 0.5: num/den
    x = 0.5
    num = -4.656 + 88.669 * x**2 - 401.119 * x**4 + 342.909 * x**6 - 462.471 * x**8 + 433.434 * x**10
    den = -1 + 18.933 * x**2 - 79.532 * x**4 + 37.311 * x**6 - 73.083 * x**8 + 95.96 * x**10
    assert c(0.5) == pytest.approx(num / den, rel=1e-13) == pytest.approx(4.2350, abs=5e-5)
    assert (c(0.8), c(0.99)) == pytest.approx((3.9135, 3.4294), abs=5e-5)
    # within 25 mV of the Raijmakers 2020 thin-film EMF where LiCoO2 is a solid solution (0.6-0.85) ...
    film = ocp.get("LiCoO2_Raijmakers2020")
    for xi in (0.60, 0.70, 0.80, 0.85):
        assert abs(c(xi) - film(xi)) < 0.025, xi
    # ... and reaches the 4.2 V charge cut-off near the film's x0 = 0.510
    assert c(0.51) > 4.2 > c(0.52)


def test_lco_fabre_second_hand_transcription_is_consistent():
    """Not verified against the paper, but the coefficients as read give the stated pole at x = 1.0037
    and agree with the independently quoted Raijmakers 2020 film EMF within 10 mV for x >= 0.8."""
    c = ocp.get("LiCoO2_Fabre2012")
    raw = c._u   # the formula itself, without the linear continuation beyond x = 1
    assert raw(1.0036) < -10 and raw(1.0038) > 10   # a sign change through a pole
    film = ocp.get("LiCoO2_Raijmakers2020")
    for xi in (0.80, 0.85, 0.90, 0.95, 0.99):
        assert abs(c(xi) - film(xi)) < 0.010, xi
    assert c(0.5) == pytest.approx(4.2908, abs=5e-5)


def test_other_curves_spot_values():
    lmo = ocp.get("LiMn2O4_Doyle1996")
    assert (lmo(0.2), lmo(0.5), lmo(0.9)) == pytest.approx((4.1769, 4.1040, 3.9539), abs=5e-5)
    # the two 4 V plateaus of LixMn2O4: about 4.1 V below x = 0.5 and about 3.95-4.0 V above
    assert 4.09 < lmo(0.4) < 4.13 and 3.93 < lmo(0.8) < 4.0
    lfp = ocp.get("LiFePO4_Afshar2017")
    assert lfp(0.5) == pytest.approx(3.4077 - 0.020269 * 0.5 + 0.5 * np.exp(-75) - 0.9 * np.exp(-15), rel=1e-13)
    assert (lfp(0.01), lfp(0.5), lfp(0.99)) == pytest.approx((3.5191, 3.3976, 2.7209), abs=5e-5)
    assert abs(lfp(0.3) - lfp(0.7)) < 0.01     # the flat two-phase plateau
    nmc = ocp.get("NMC532_Mohtat2020")
    assert (nmc(0.0), nmc(0.5), nmc(1.0)) == pytest.approx((4.3452, 3.8148, 2.8186), abs=5e-5)
    nca = ocp.get("NCA_Kim2011")
    assert (nca(0.41), nca(0.7), nca(0.97)) == pytest.approx((4.1127, 3.7384, 3.4277), abs=5e-5)
    lto = ocp.get("Li4Ti5O12_regular_solution")
    assert lto(0.5) == pytest.approx(1.55, abs=1e-12)
    assert lto(0.2) + lto(0.8) == pytest.approx(3.1, abs=1e-12)            # symmetric about the plateau
    assert lto.derivative(0.5) == pytest.approx(-0.4 * 8.314462618 * 298.15 / 96485.33212, rel=1e-9)
    v2o5 = ocp.get("V2O5_steps")
    assert (v2o5(0.0), v2o5(0.5), v2o5(1.0)) == pytest.approx((3.60, 2.815, 2.00), abs=0.05)
    assert v2o5(0.275) == pytest.approx(3.25, abs=1e-12)


def test_silicon_branches():
    d, li = ocp.get("Si_delithiation_Verbrugge2016"), ocp.get("Si_lithiation_Verbrugge2016")
    # constant terms and coefficient sums of the two 7th-order polynomials
    assert (d(0.0), d(1.0)) == pytest.approx((0.9937, -51.02 + 161.3 - 205.7 + 140.2 - 58.76 + 16.87 - 3.792
                                                + 0.9937), abs=1e-12)
    assert (li(0.0), li(1.0)) == pytest.approx((0.8633, -96.63 + 372.6 - 587.6 + 489.9 - 232.8 + 62.99 - 9.286
                                                 + 0.8633), abs=1e-12)
    x = np.linspace(0, 1, 1001)
    assert (d(x) > li(x)).all()             # hysteresis: delithiation above lithiation


# --- tables from a case ----------------------------------------------------------------------------
def test_table_curve():
    c = ocp.from_table([0.5, 0.7, 0.9, 1.0], ["4.2 V", 3.95, "3880 mV", 3.5])
    assert c.x_range == (0.5, 1.0) and c.table == ((0.5, 0.7, 0.9, 1.0), (4.2, 3.95, 3.88, 3.5))
    assert c(0.9) == pytest.approx(3.88) and c.name == "table" and not c.estimate
    # linear beyond the table with the interpolant's end slopes
    assert c(0.4) == pytest.approx(4.2 + c.derivative(0.5) * -0.1, rel=1e-12)
    assert c(0.4) > c(0.5)
    # increasing tables are monotone too and accepted
    up = ocp.from_table([0.1, 0.5, 0.9], [1.0, 1.2, 1.5])
    assert (np.diff(up(np.linspace(0, 1, 101))) > 0).all()


def test_table_end_slope_falls_back_to_the_end_interval():
    """PCHIP's shape-preserving end rule sets the left end slope to 0 here (a gentle first interval next
    to a steep one); the continuation then uses the first interval's slope and stays strictly monotone."""
    c = ocp.from_table([0.0, 0.1, 0.2], [1.0, 0.99, 0.0])
    assert c.derivative(-0.5) == pytest.approx(-0.1, rel=1e-12)
    x = np.linspace(-1, 0.2, 1201)
    assert (np.diff(c(x)) < 0).all()


def test_resolve_names_and_tables():
    assert ocp.resolve("NCA_Kim2011") is ocp.CURVES["NCA_Kim2011"]
    t = ocp.resolve({"x": [0.1, 0.9], "U": [3.9, 3.1]}, "materials.cathode.ocp")
    assert t.source == "case file" and t(0.5) == pytest.approx(3.5)
    assert t == ocp.from_table([0.1, 0.9], [3.9, 3.1], source="case file")   # equal by their points
    assert ocp.case_spec(t) == {"x": [0.1, 0.9], "U": [3.9, 3.1]}
    assert ocp.case_spec(ocp.CURVES["V2O5_steps"]) == "V2O5_steps"
    with pytest.raises(KeyError, match="unknown OCP curve 'x'; known: LiCoO2_Ramadass2004"):
        ocp.get("x")


@pytest.mark.parametrize("spec,message", [
    ({"x": [0.5, 0.7, 0.9], "U": [4.2, 3.9, 4.0]}, "ocp.U = [4.2, 3.9, 4.0]: must be strictly monotone in x"),
    ({"x": [0.5, 0.7], "U": [3.9, 3.9]}, "ocp.U = [3.9, 3.9]: must be strictly monotone in x"),
    ({"x": [-0.1, 0.7], "U": [4.2, 3.9]}, "ocp.x = [-0.1, 0.7]: must lie within [0, 1] (the Li fraction c/c_max)"),
    ({"x": [0.5, 1.01], "U": [4.2, 3.9]}, "ocp.x = [0.5, 1.01]: must lie within [0, 1] (the Li fraction c/c_max)"),
    ({"x": [0.7, 0.5, 0.9], "U": [4.0, 4.2, 3.9]}, "ocp.x = [0.7, 0.5, 0.9]: must be strictly increasing"),
    ({"x": [0.5, 0.5], "U": [4.2, 3.9]}, "ocp.x = [0.5, 0.5]: must be strictly increasing"),
    ({"x": [0.5], "U": [4.2]}, "ocp.x = [0.5]: needs at least 2 points"),
    ({"x": [], "U": []}, "ocp.x = []: needs at least 2 points"),
    ({"x": [0.5, 0.9], "U": [4.2, 3.9, 3.8]}, "ocp.U = [4.2, 3.9, 3.8]: must have as many values as x (2)"),
    ({"x": [0.5, float("nan")], "U": [4.2, 3.9]}, "ocp.x[1] = nan: must be finite"),
    ({"x": [0.5, 0.9], "U": [4.2, "3.9 V V"]}, "ocp.U[1] = '3.9 V V': "),
    ({"x": 0.5, "U": 4.2}, "ocp.x = 0.5: must be a list of numbers"),
    ({"U": [4.2, 3.9]}, "ocp.x = None: required in an ocp table {x: [...], U: [...]}"),
    ({"x": [0.5, 0.9], "U": [4.2, 3.9], "units": "V"}, ("ocp.units = 'V': unknown key of an ocp table (allowed: "
                                                       "x, U)")),
    ("LiCoO2", "ocp = 'LiCoO2': unknown curve; known: LiCoO2_Ramadass2004, LiCoO2_Fabre2012"),
    ([0.5, 0.9], "ocp = [0.5, 0.9]: must be a curve name (mb3d materials) or a table {x: [...], U: [...]}"),
])
def test_table_errors_are_one_line(spec, message):
    with pytest.raises(QuantityError) as e:
        ocp.resolve(spec)
    text = str(e.value)
    assert "\n" not in text and text.startswith(message), text
    assert e.value.key.startswith("ocp")
