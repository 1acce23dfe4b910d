"""Open-circuit potentials U(x) of intercalation electrodes, for the transient (diffusion) model.

``x`` is the Li fraction ``c / c_max`` of the electrode (``c_max`` is the material's
``max_concentration``), ``U`` the equilibrium potential in V vs Li/Li+. Every curve is strictly
monotone in x (for Li fractions U falls as Li is inserted) over its validity range ``x_range``.

Two kinds of curve:

* a named curve of :data:`CURVES` (:func:`get`): a published fit with its formula, its source and its
  validity range in the docstring of the function that evaluates it (``help(ocp.CURVES[name])`` or
  ``ocp.CURVES[name].doc``). A source that starts with ``estimate:`` marks a curve that could not be
  checked against a primary source (second-hand or made up from known plateaus): verify it before
  relying on it;
* a table ``{x: [...], U: [...]}`` (:func:`from_table`), interpolated by a shape-preserving monotone
  cubic (PCHIP, :class:`scipy.interpolate.PchipInterpolator`): no overshoot between the points, so a
  strictly monotone table gives a strictly monotone U.

Outside ``x_range`` every curve is continued linearly with its slope at the nearest end (a table:
the interpolant's end slope, or the slope of the end interval if the shape-preserving end rule set
it to zero). U then stays finite and strictly monotone for any x a solver may try, and no pole or
overflow of a fitted formula is ever reached. The derivative of an analytic curve is computed by the
complex-step method (``Im f(x + ih) / h``, exact to rounding for the analytic formulas used here).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

from .constants import FARADAY, GAS_CONSTANT
from .units import QuantityError, to_si

#: complex-step size for derivatives of analytic curves
_H = 1e-20
#: plausible electrode potentials vs Li/Li+ (the range of the materials' ``potential`` property)
U_RANGE = (-1.0, 6.0)


@dataclass(frozen=True)
class OCP:
    """An open-circuit potential curve U(x), V vs Li/Li+, of the Li fraction x = c / c_max.

    Attributes
    ----------
    name : str
        Curve name (a key of :data:`CURVES` for the library curves, ``"table"`` for a case table).
    source : str
        Citation; ``estimate: ...`` for a curve not checked against a primary source.
    x_range : (float, float)
        Validity range of x; outside it U is continued linearly (module docstring).
    doc : str
        Formula, source and validity range in words.
    table : ((x, ...), (U, ...)) or None
        The points of a table curve (None for an analytic curve).
    """

    name: str
    source: str
    x_range: tuple[float, float]
    doc: str = ""
    table: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    _u: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    _du: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    _ends: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0), init=False,
                                                     compare=False, repr=False)

    def __reduce__(self) -> tuple:
        """Pickled by name (a library curve) or by its points (a table): the curve functions are
        module-level names that a child process looks up in its own copy of this module."""
        if self.table is not None:
            return _rebuild_table, (self.table, self.name, self.source)
        return get, (self.name,)

    def __post_init__(self) -> None:
        lo, hi = self.x_range
        if not (0.0 <= lo < hi <= 1.0):
            raise ValueError(f"OCP {self.name}: x_range {self.x_range} must satisfy 0 <= low < high <= 1")
        s_lo, s_hi = float(self._du(np.array(lo))), float(self._du(np.array(hi)))
        if self.table is not None:   # PCHIP's shape-preserving end rule may set an end slope to 0
            xs, us = self.table
            s_lo = s_lo if s_lo != 0 else (us[1] - us[0]) / (xs[1] - xs[0])
            s_hi = s_hi if s_hi != 0 else (us[-1] - us[-2]) / (xs[-1] - xs[-2])
        ends = (float(self._u(np.array(lo))), s_lo, float(self._u(np.array(hi))), s_hi)
        object.__setattr__(self, "_ends", ends)

    @property
    def estimate(self) -> bool:
        """Whether the curve is an estimate (not checked against a primary source)."""
        return self.source.startswith("estimate")

    def __call__(self, x: Any) -> Any:
        """U(x) in V vs Li/Li+ (a float for a scalar x, an array of the shape of x otherwise)."""
        xa = np.asarray(x, dtype=float)
        lo, hi = self.x_range
        u_lo, s_lo, u_hi, s_hi = self._ends
        u = np.real(self._u(np.clip(xa, lo, hi)))
        u = np.where(xa < lo, u_lo + s_lo * (xa - lo), np.where(xa > hi, u_hi + s_hi * (xa - hi), u))
        return float(u) if u.ndim == 0 else u

    def derivative(self, x: Any) -> Any:
        """dU/dx in V per unit of x (the end slopes outside ``x_range``)."""
        xa = np.asarray(x, dtype=float)
        lo, hi = self.x_range
        _, s_lo, _, s_hi = self._ends
        d = np.real(self._du(np.clip(xa, lo, hi)))
        d = np.where(xa < lo, s_lo, np.where(xa > hi, s_hi, d))
        return float(d) if d.ndim == 0 else d


# --- construction ------------------------------------------------------------------------------
def _analytic(name: str, source: str, x_range: tuple[float, float]) -> Callable[[Callable], OCP]:
    """Register an analytic curve; the decorated function evaluates U (real or complex x)."""
    def register(f: Callable) -> OCP:
        def du(x: Any) -> Any:
            return np.imag(f(np.asarray(x, dtype=float) + 1j * _H)) / _H
        curve = OCP(name, source, x_range, _doc(f), None, f, du)
        CURVES[name] = curve
        return curve
    return register


def _doc(f: Callable) -> str:
    return " ".join((f.__doc__ or "").split())


def from_table(x: Any, U: Any, *, name: str = "table", source: str = "table", key: str = "ocp",
               doc: str = "") -> OCP:
    """A curve interpolating ``(x, U)`` points (PCHIP; linear beyond the ends).

    Parameters
    ----------
    x : sequence of float
        Li fractions, strictly increasing, within [0, 1]; at least 2 points.
    U : sequence of float or str
        Potentials vs Li/Li+ (numbers in V or strings with a unit, ``"3.9 V"``), strictly monotone in x.
    name, source, doc : str
        Curve name, citation and description.
    key : str
        Dotted key for messages (``materials.cathode.ocp``).

    Raises
    ------
    solvers.units.QuantityError
        One line naming ``<key>.x`` or ``<key>.U``, the value and the rule broken.
    """
    xs = _numbers(x, f"{key}.x", "dimensionless")
    us = _numbers(U, f"{key}.U", "V")
    if len(xs) < 2:
        raise QuantityError(f"{key}.x", x, "needs at least 2 points")
    if len(us) != len(xs):
        raise QuantityError(f"{key}.U", U, f"must have as many values as x ({len(xs)})")
    if any(not 0.0 <= v <= 1.0 for v in xs):
        raise QuantityError(f"{key}.x", x, "must lie within [0, 1] (the Li fraction c/c_max)")
    if any(b <= a for a, b in itertools.pairwise(xs)):
        raise QuantityError(f"{key}.x", x, "must be strictly increasing")
    if any(not U_RANGE[0] <= v <= U_RANGE[1] for v in us):
        raise QuantityError(f"{key}.U", U, f"must lie within [{U_RANGE[0]:g}, {U_RANGE[1]:g}] V vs Li/Li+")
    steps = [b - a for a, b in itertools.pairwise(us)]
    if not (all(s < 0 for s in steps) or all(s > 0 for s in steps)):
        raise QuantityError(f"{key}.U", U, "must be strictly monotone in x")
    interp = PchipInterpolator(np.array(xs), np.array(us), extrapolate=True)
    slope = interp.derivative()
    return OCP(name, source, (xs[0], xs[-1]), doc or f"PCHIP interpolation of {len(xs)} points",
               (tuple(xs), tuple(us)), interp, slope)


def _numbers(values: Any, key: str, unit: str) -> list[float]:
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise QuantityError(key, values, "must be a list of numbers")
    out = []
    for i, v in enumerate(values):
        out.append(to_si(v, unit, f"{key}[{i}]"))
    return out


def _rebuild_table(table: tuple, name: str, source: str) -> OCP:
    return from_table(list(table[0]), list(table[1]), name=name, source=source)


def get(name: str) -> OCP:
    """The named curve ``name`` of :data:`CURVES` (KeyError naming the known ones otherwise)."""
    try:
        return CURVES[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown OCP curve {name!r}; known: {', '.join(CURVES)}") from None


def resolve(spec: Any, key: str = "ocp", *, source: str = "case file") -> OCP:
    """The curve a case or library entry names: a curve name, or a table ``{x: [...], U: [...]}``
    (``source`` is the citation given to a table).

    Raises
    ------
    solvers.units.QuantityError
        One line with the key (``materials.cathode.ocp``, ``...ocp.U``), the value and the rule.
    """
    if isinstance(spec, str):
        if spec not in CURVES:
            raise QuantityError(key, spec, f"unknown curve; known: {', '.join(CURVES)}")
        return CURVES[spec]
    if isinstance(spec, dict):
        extra = sorted(set(map(str, spec)) - {"x", "U"})
        if extra:
            raise QuantityError(f"{key}.{extra[0]}", spec.get(extra[0], None),
                                "unknown key of an ocp table (allowed: x, U)")
        for k in ("x", "U"):
            if k not in spec:
                raise QuantityError(f"{key}.{k}", None, "required in an ocp table {x: [...], U: [...]}")
        return from_table(spec["x"], spec["U"], key=key, source=source)
    raise QuantityError(key, spec, "must be a curve name (mb3d materials) or a table {x: [...], U: [...]}")


def case_spec(curve: OCP) -> Any:
    """What a case file writes for ``curve``: its name if it is a library curve, else its table."""
    if CURVES.get(curve.name) == curve:
        return curve.name
    assert curve.table is not None
    return {"x": list(curve.table[0]), "U": list(curve.table[1])}


#: named curves, by name (filled below)
CURVES: dict[str, OCP] = {}

_RT_F = GAS_CONSTANT * 298.15 / FARADAY   # 25.69 mV


# --- LiCoO2 -----------------------------------------------------------------------------------
@_analytic("LiCoO2_Ramadass2004",
           "Ramadass, Haran, Gomadam, White, Popov, J. Electrochem. Soc. 151 (2004) A196 (composite "
           "LiCoO2 of a Sony 18650 cell); coefficients as transcribed in PyBaMM's Ramadass2004 parameter "
           "set and, identically, in LIONSIMBA (Torchio et al., J. Electrochem. Soc. 163 (2016) A1192)",
           (0.5, 1.0))
def _lco_ramadass(x: Any) -> Any:
    """LiCoO2, ratio of even polynomials (Ramadass et al. 2004): U = (-4.656 + 88.669 x^2 - 401.119 x^4
    + 342.909 x^6 - 462.471 x^8 + 433.434 x^10) / (-1 + 18.933 x^2 - 79.532 x^4 + 37.311 x^6 - 73.083 x^8
    + 95.96 x^10), x = Li fraction of LixCoO2. Valid 0.5 <= x <= 1 (poles of the denominator at x = 0.4226
    and 1.0043; PyBaMM applies it to a stretched stoichiometry 1.13 x, not done here). U(0.5) = 4.2350,
    U(0.8) = 3.9135, U(0.99) = 3.4294 V."""
    x2 = x * x
    num = ((((433.434 * x2 - 462.471) * x2 + 342.909) * x2 - 401.119) * x2 + 88.669) * x2 - 4.656
    den = ((((95.96 * x2 - 73.083) * x2 + 37.311) * x2 - 79.532) * x2 + 18.933) * x2 - 1.0
    return num / den


@_analytic("LiCoO2_Fabre2012",
           "estimate: second-hand, not verified against the paper: Fabre, Guy-Bouyssou, Bouillon, Le Cras, "
           "Delacourt, J. Electrochem. Soc. 159 (2012) A104 (sputtered LiCoO2 film), coefficients as quoted "
           "via Kim et al., Electrochim. Acta 317 (2019) 663 in the project's reading notes; consistent with "
           "the stated pole at x = 1.0037 and within 0.06 V of the Raijmakers 2020 EMF points; verify",
           (0.5, 1.0))
def _lco_fabre(x: Any) -> Any:
    """Thin-film LiCoO2, ratio of even polynomials (Fabre et al. 2012, second-hand): U = (-219.027 +
    322.003 x^2 - 198.242 x^4 + 354.911 x^6 - 467.807 x^8 + 207.168 x^10) / (-44.337 + 36.643 x^2 - 3.430 x^4
    + 113.081 x^6 - 182.567 x^8 + 80.3097 x^10). Valid 0.5 <= x <= 1 (pole at x = 1.0037). U(0.5) = 4.2908,
    U(0.9) = 3.8928, U(0.99) = 3.7070 V."""
    x2 = x * x
    num = ((((207.168 * x2 - 467.807) * x2 + 354.911) * x2 - 198.242) * x2 + 322.003) * x2 - 219.027
    den = ((((80.3097 * x2 - 182.567) * x2 + 113.081) * x2 - 3.430) * x2 + 36.643) * x2 - 44.337
    return num / den


#: Raijmakers et al. 2020, EMF of the LiCoO2 film (x, V), as quoted in the reading notes
RAIJMAKERS_2020 = ((0.60, 0.70, 0.80, 0.85, 0.90, 0.95, 0.99, 0.998),
                   (4.058, 3.960, 3.910, 3.903, 3.893, 3.865, 3.704, 3.35))
CURVES["LiCoO2_Raijmakers2020"] = from_table(
    *RAIJMAKERS_2020, name="LiCoO2_Raijmakers2020",
    source="estimate: second-hand, not verified against the paper: Raijmakers, Danilov, Eichel, Notten, "
           "Electrochim. Acta 330 (2020) 135147, EMF of an 8 um sputtered LiCoO2 film (c_max 3.22e4 mol/m3) "
           "at 20 degC, points as quoted in the project's reading notes; verify",
    doc="Thin-film LiCoO2 EMF table (Raijmakers et al. 2020, second-hand), PCHIP through x = 0.60, 0.70, "
        "0.80, 0.85, 0.90, 0.95, 0.99, 0.998 with U = 4.058, 3.960, 3.910, 3.903, 3.893, 3.865, 3.704, "
        "3.35 V. Valid 0.60 <= x <= 0.998 (linear continuation outside).")


# --- LiMn2O4 ----------------------------------------------------------------------------------
@_analytic("LiMn2O4_Doyle1996",
           "Doyle, Newman, Gozdz, Schmutz, Tarascon, J. Electrochem. Soc. 143 (1996) 1890 (LixMn2O4 of "
           "plastic Li-ion cells); coefficients as transcribed identically in MPET (LiMn2O4_ss) and other "
           "public models",
           (0.2, 0.995))
def _lmo_doyle(x: Any) -> Any:
    """LiMn2O4 (Doyle et al. 1996): U = 4.19829 + 0.0565661 tanh(-14.5546 x + 8.60942) - 0.0275479
    ((0.998432 - x)^-0.492465 - 1.90111) - 0.157123 exp(-0.04738 x^8) + 0.810239 exp(-40 (x - 0.133875)),
    x = Li fraction of LixMn2O4 (4 V region). Valid 0.2 <= x <= 0.995 (below 0.2 the last term rises
    without bound, at 0.998432 the power term has a pole). U(0.2) = 4.1769, U(0.5) = 4.1040, U(0.9) = 3.9539 V."""
    return (4.19829 + 0.0565661 * np.tanh(-14.5546 * x + 8.60942)
            - 0.0275479 * ((0.998432 - x) ** -0.492465 - 1.90111)
            - 0.157123 * np.exp(-0.04738 * x ** 8)
            + 0.810239 * np.exp(-40.0 * (x - 0.133875)))


# --- Li4Ti5O12 ---------------------------------------------------------------------------------
_LTO_U0, _LTO_A = 1.55, 1.8


@_analytic("Li4Ti5O12_regular_solution",
           "estimate: regular-solution isotherm (the form of MPET's LTO model, after Vasileiadis et al. 2017) "
           "centred on the 1.55 V plateau of Ohzuku, Ueda, Yamamoto, J. Electrochem. Soc. 142 (1995) 1431, "
           "interaction 1.8 RT chosen below the 2 RT at which the model phase-separates (the real two-phase "
           "plateau is flatter); no fitted LTO curve was verified; verify",
           (0.01, 0.99))
def _lto(x: Any) -> Any:
    """Li4Ti5O12, regular solution (estimate): U = 1.55 + (RT/F) [ln((1 - x)/x) - 1.8 (1 - 2x)] with
    T = 298.15 K, x = fraction of the 3 Li inserted into Li4Ti5O12 (Li(4+3x)Ti5O12). Slope at x = 0.5:
    -0.4 RT/F = -10.3 mV. Valid 0.01 <= x <= 0.99. U(0.5) = 1.5500, U(0.1) = 1.5695, U(0.9) = 1.5305 V."""
    return _LTO_U0 + _RT_F * (np.log((1.0 - x) / x) - _LTO_A * (1.0 - 2.0 * x))


# --- LiFePO4 ----------------------------------------------------------------------------------
@_analytic("LiFePO4_Afshar2017",
           "Afshar, Morris, Khajepour, 'Efficient electrochemical model for lithium-ion cells', "
           "arXiv:1709.03970 (2017), as used with the LFP cell of Prada et al., J. Electrochem. Soc. 160 "
           "(2013) A616 in PyBaMM's Prada2013 parameter set",
           (0.0, 1.0))
def _lfp(x: Any) -> Any:
    """LiFePO4 (Afshar et al. 2017): U = 3.4077 - 0.020269 x + 0.5 exp(-150 x) - 0.9 exp(-30 (1 - x)),
    x = Li fraction of LixFePO4; a flat two-phase plateau (about 3.40 V) with steep ends. Valid 0 <= x <= 1.
    U(0.01) = 3.5191, U(0.5) = 3.3976, U(0.99) = 2.7209 V."""
    return 3.4077 - 0.020269 * x + 0.5 * np.exp(-150.0 * x) - 0.9 * np.exp(-30.0 * (1.0 - x))


# --- layered Ni oxides ------------------------------------------------------------------------------
@_analytic("NMC532_Mohtat2020",
           "Mohtat, Lee, Sulzer, Siegel, Stefanopoulou, J. Electrochem. Soc. 167 (2020) 110561 (NMC532 of a "
           "graphite/NMC532 pouch cell, c_max 35380 mol/m3), as transcribed in PyBaMM's Mohtat2020 "
           "parameter set",
           (0.0, 1.0))
def _nmc_mohtat(x: Any) -> Any:
    """NMC532 (Mohtat et al. 2020): U = 4.3452 - 1.6518 x + 1.6225 x^2 - 2.0843 x^3 + 3.5146 x^4
    - 2.2166 x^5 - 0.5623e-4 exp(109.451 x - 100.006), x = c/c_max with c_max = 35380 mol/m3 (an
    effective scale: 4.2 V at x = 0.1, not the Li fraction of the oxide). Valid 0 <= x <= 1.
    U(0) = 4.3452, U(0.5) = 3.8148, U(1) = 2.8186 V."""
    return (4.3452 + x * (-1.6518 + x * (1.6225 + x * (-2.0843 + x * (3.5146 + x * -2.2166))))
            - 0.5623e-4 * np.exp(109.451 * x - 100.006))


@_analytic("NCA_Kim2011",
           "Kim, Smith, Lee, Santhanagopalan, Pesaran, J. Electrochem. Soc. 158 (2011) A955 (NCA, c_max "
           "49000 mol/m3), as transcribed in PyBaMM's NCA_Kim2011 parameter set",
           (0.3, 0.98))
def _nca_kim(x: Any) -> Any:
    """LiNi0.8Co0.15Al0.05O2 (Kim et al. 2011): U = 1.638 x^10 - 2.222 x^9 + 15.056 x^8 - 23.488 x^7
    + 81.246 x^6 - 344.566 x^5 + 621.3475 x^4 - 554.774 x^3 + 264.427 x^2 - 66.3691 x + 11.8058
    - 0.61386 exp(5.8201 x^136.4), x = Li fraction. Valid 0.3 <= x <= 0.98 (the polynomial runs off to
    11 V at x = 0 and the exponential to -200 V at x = 1). U(0.41) = 4.1127, U(0.7) = 3.7384,
    U(0.97) = 3.4277 V."""
    poly = 0.0
    for c in (1.638, -2.222, 15.056, -23.488, 81.246, -344.566, 621.3475, -554.774, 264.427, -66.3691,
              11.8058):
        poly = poly * x + c
    return poly - 0.61386 * np.exp(5.8201 * x ** 136.4)


# --- V2O5 -------------------------------------------------------------------------------------
CURVES["V2O5_steps"] = from_table(
    (0.0, 0.05, 0.225, 0.275, 0.475, 0.525, 0.95, 1.0),
    (3.60, 3.45, 3.38, 3.25, 3.18, 2.45, 2.25, 2.00),
    name="V2O5_steps",
    source="estimate: smoothed steps of crystalline LixV2O5 (about 3.4 V for 0 < Li < 0.5, 3.2 V for "
           "0.5 < Li < 1, 2.3 V for 1 < Li < 2 per V2O5, the textbook alpha/epsilon/delta sequence) with small "
           "slopes added to keep U strictly monotone; sputtered amorphous films slope continuously; no "
           "published fit was found; verify",
    doc="V2O5 (estimate), PCHIP through x = 0, 0.05, 0.225, 0.275, 0.475, 0.525, 0.95, 1 with U = 3.60, 3.45, "
        "3.38, 3.25, 3.18, 2.45, 2.25, 2.00 V, x = (Li per V2O5)/2, i.e. x = 1 is Li2V2O5 (the reversible "
        "range before the irreversible gamma phase). Valid 0 <= x <= 1.")


# --- Si ---------------------------------------------------------------------------------------
_SI_SOURCE = ("Verbrugge, Baker, Xiao, J. Electrochem. Soc. 163 (2016) A262, 7th-order polynomial fits as "
              "transcribed in PyBaMM's Chen2020_composite parameter set (Ai et al., J. Electrochem. Soc. 169 "
              "(2022) 020522; c_max 278000 mol/m3)")


@_analytic("Si_delithiation_Verbrugge2016", _SI_SOURCE + "; delithiation branch", (0.0, 1.0))
def _si_delith(x: Any) -> Any:
    """Si, delithiation branch (Verbrugge et al. 2016): U = -51.02 x^7 + 161.3 x^6 - 205.7 x^5 + 140.2 x^4
    - 58.76 x^3 + 16.87 x^2 - 3.792 x + 0.9937, x = c/c_max (c_max = 278000 mol/m3). The branch of a
    discharging cell with a Si anode (Li leaves the Si); lies above the lithiation branch (hysteresis).
    Valid 0 <= x <= 1. U(0) = 0.9937, U(0.5) = 0.4263, U(1) = 0.0917 V."""
    u = 0.0
    for c in (-51.02, 161.3, -205.7, 140.2, -58.76, 16.87, -3.792, 0.9937):
        u = u * x + c
    return u


@_analytic("Si_lithiation_Verbrugge2016", _SI_SOURCE + "; lithiation branch", (0.0, 1.0))
def _si_lith(x: Any) -> Any:
    """Si, lithiation branch (Verbrugge et al. 2016): U = -96.63 x^7 + 372.6 x^6 - 587.6 x^5 + 489.9 x^4
    - 232.8 x^3 + 62.99 x^2 - 9.286 x + 0.8633, x = c/c_max (c_max = 278000 mol/m3). The branch of a
    charging cell (Li enters the Si). Valid 0 <= x <= 1. U(0) = 0.8633, U(0.5) = 0.1910, U(1) = 0.0373 V."""
    u = 0.0
    for c in (-96.63, 372.6, -587.6, 489.9, -232.8, 62.99, -9.286, 0.8633):
        u = u * x + c
    return u


def describe() -> str:
    """The curve names for messages and the reference (``LiCoO2_Ramadass2004, ...``)."""
    return ", ".join(CURVES)

