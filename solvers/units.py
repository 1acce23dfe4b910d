"""Quantities with units, parsed by pint.

Case files and the materials library write quantities as strings with units (``"2.3 uS/cm"``,
``"500 nm"``, ``"25 degC"``) or as bare numbers in a documented default unit. :func:`to_si` converts
either to a float in SI base units and checks the dimension. The registry adds the compact area and
volume spellings used in electrochemistry (``cm2``, ``cm3``, ``um2`` ...) as unit definitions.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import pint


class QuantityError(ValueError):
    """A value that is not a quantity of the expected dimension; the message is one line."""

    def __init__(self, key: str, value: Any, rule: str):
        self.key, self.value, self.rule = key, value, rule
        shown = repr(value) if isinstance(value, str) else value
        super().__init__(f"{key} = {shown}: {rule}")


@functools.lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared unit registry (offset units such as degC convert to kelvin on arithmetic)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for p in ("m", "cm", "mm", "um", "nm"):
        ureg.define(f"{p}2 = {p} ** 2")
        ureg.define(f"{p}3 = {p} ** 3")
    return ureg


def to_si(value: Any, unit: str, key: str, *, alt: tuple[str, ...] = ()) -> float:
    """Convert a number (in ``unit``) or a string with a unit to SI base units.

    Parameters
    ----------
    value : float or str
        ``40`` (read in ``unit``) or ``"40 um"``.
    unit : str
        Default unit and expected dimension, e.g. ``"um"``, ``"S/cm"``, ``"degC"``, ``"eV"``.
    key : str
        Dotted key for error messages.
    alt : tuple of str
        Other accepted units of a different dimension, converted by a fixed rule
        (``"kJ/mol"`` for activation energies: divided by the Avogadro constant).

    Returns
    -------
    float
        Value in SI base units (m, S/m, K, J, A/m^2, ...).
    """
    ureg = registry()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise QuantityError(key, value, f"must be a number (in {unit}) or a string with a unit")
    if isinstance(value, str):
        q = _parse(value, unit, key)
    else:
        if not math.isfinite(value):
            raise QuantityError(key, value, "must be finite")
        q = ureg.Quantity(float(value), unit)
    target = ureg.Quantity(1, unit)
    if q.dimensionality == target.dimensionality:
        out = q.to_base_units().magnitude
    else:
        for a in alt:
            if q.dimensionality == ureg.Quantity(1, a).dimensionality:
                out = (q / ureg.Quantity(1, "avogadro_constant")).to_base_units().magnitude
                break
        else:
            raise QuantityError(key, value, f"wrong dimension: expected a quantity in {unit}"
                                + "".join(f" or {a}" for a in alt))
    out = float(out)
    if not math.isfinite(out):
        raise QuantityError(key, value, "must be finite")
    return out


#: one number (sign, decimals, exponent), then an optional unit expression
_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*")


def _parse(text: str, unit: str, key: str) -> Any:
    """A string holding one number and at most one unit expression (``"2.3 uS/cm"``, ``"40"``).

    pint alone would read ``"50 um 3"`` as 150 um and raise a tokenizer error on ``"(40"``; here the
    number is matched first and the rest must be a unit without a scaling factor.
    """
    ureg = registry()
    m = _NUMBER.fullmatch(text.replace("\u00b5", "u").replace("\u03bc", "u"))
    if m is None:
        raise QuantityError(key, text, f"not a quantity: expected one number and at most one unit, e.g. '1 {unit}'")
    number, unit_text = float(m.group(1)), m.group(2)
    if not unit_text:
        return ureg.Quantity(number, unit)
    try:
        parsed = ureg.parse_units(unit_text)
    except pint.errors.UndefinedUnitError as exc:
        names = ", ".join(map(str, exc.unit_names)) if isinstance(exc.unit_names, (list, tuple)) else exc.unit_names
        raise QuantityError(key, text, f"unknown unit {names!r}; expected a quantity in {unit}") from None
    except Exception:   # pint raises ValueError, TokenError, DefinitionSyntaxError ... on malformed units
        raise QuantityError(key, text, f"not a quantity: expected one number and at most one unit, "
                                       f"e.g. '1 {unit}'") from None
    return ureg.Quantity(number, parsed)


def from_si(value: float, unit: str) -> float:
    """Express an SI value in ``unit`` (the inverse of :func:`to_si` for numbers)."""
    ureg = registry()
    base = ureg.Quantity(1, unit).to_base_units()
    if unit in ("degC",):
        return float(ureg.Quantity(value, "kelvin").to("degC").magnitude)
    return float(value / base.magnitude)


def fmt_number(x: float) -> str:
    """A bound as a rule writes it: ``1e+06`` -> ``1e6``, ``1e-09`` -> ``1e-9``, ``100000``."""
    return f"{x:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


@dataclass(frozen=True)
class Range:
    """The valid range of a quantity, in the unit the case format reads it in.

    ``low_open`` excludes the lower bound; ``nonzero`` means 0 < |x| <= high (a signed value).
    Case keys (:mod:`mb3d.case`) and material properties (:mod:`solvers.materials`) both use it.
    """

    unit: str
    low: float
    high: float
    low_open: bool = False
    nonzero: bool = False

    def contains(self, x: float) -> bool:
        """Whether ``x`` (in ``unit``) lies in the range."""
        if self.nonzero:
            return 0 < abs(x) <= self.high
        return (x > self.low if self.low_open else x >= self.low) and x <= self.high

    def rule(self) -> str:
        """The range in words: ``in (0, 100] S/cm``, ``nonzero and within +-100 V``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.nonzero:
            return f"nonzero and within +-{fmt_number(self.high)}{unit}"
        return f"in {'(' if self.low_open else '['}{fmt_number(self.low)}, {fmt_number(self.high)}]{unit}"
