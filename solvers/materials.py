"""Materials library: electrolytes, electrodes and passive layers, every value with its source.

The data live in ``solvers/data/materials.yaml`` (seeded from Skundin & Kulova 2025 and the primary
sources named next to each value). Values are parsed with pint and held in SI:

* electrolyte: ``conductivity`` (S/m at ``reference_temperature``), ``activation_energy`` (J per
  ion), ``reference_temperature`` (K), ``transference_number``;
* electrode: ``specific_capacity`` and ``theoretical_capacity`` (C/kg), ``density`` (kg/m^3),
  ``potential`` (V vs Li/Li+), ``electronic_conductivity`` (S/m), ``exchange_current_density``
  (A/m^2), ``alpha_anodic``, ``alpha_cathodic``.

Conductivity follows the Arrhenius law

    sigma(T) = sigma_ref exp(-(E_a / k_B) (1/T - 1/T_ref)).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .constants import K_B
from .units import QuantityError, Range, from_si, to_si

DATA = Path(__file__).with_name("data") / "materials.yaml"

class Property(NamedTuple):
    """One material property: its case unit, other accepted units, default and valid range.

    The range is in the case unit; ``low_open`` makes the lower bound exclusive (``> 0``). A default
    of None means required (for the kinds in :data:`REQUIRED`) or absent unless given.
    """

    unit: str
    alt: tuple[str, ...]
    default: Any
    low: float
    high: float
    low_open: bool = False
    doc: str = ""

    @property
    def valid(self) -> Range:
        """The valid range as a :class:`solvers.units.Range`."""
        return Range(self.unit, self.low, self.high, self.low_open)

    def rule(self) -> str:
        """The range in words, e.g. ``in (0, 100] S/cm``."""
        return self.valid.rule()

    def contains(self, value: float) -> bool:
        """Whether ``value`` (case unit) lies in the valid range."""
        return self.valid.contains(value)


#: property -> :class:`Property` per kind. The ranges are wide physical bounds (solid electrolytes
#: 1e-12..1e-1 S/cm, Li4Ti5O12's 1e-13 S/cm to metals' up to 6e5 S/cm, densities below osmium's 22.6 g/cm3, Li metal's
#: 3861 mAh/g): they catch typing errors and values the solvers cannot use, not unusual materials.
PROPERTIES: dict[str, dict[str, Property]] = {
    "electrolyte": {
        "conductivity": Property("S/cm", (), None, 1e-12, 100.0, doc="ionic conductivity at reference_temperature"),
        "activation_energy": Property("eV", ("kJ/mol",), 0.0, 0.0, 2.0, doc="Arrhenius activation energy"),
        "reference_temperature": Property("degC", (), 25.0, -100.0, 500.0,
                                          doc="temperature at which conductivity is given"),
        "transference_number": Property("", (), 1.0, 0.0, 1.0, low_open=True, doc="Li+ transference number"),
    },
    "electrode": {
        "specific_capacity": Property("mAh/g", (), None, 0.0, 5000.0, low_open=True, doc="practical capacity"),
        "theoretical_capacity": Property("mAh/g", (), None, 0.0, 5000.0, low_open=True),
        "density": Property("g/cm3", (), None, 0.0, 25.0, low_open=True),
        "potential": Property("V", (), None, -1.0, 6.0, doc="average potential vs Li/Li+"),
        "electronic_conductivity": Property("S/cm", (), None, 1e-16, 1e6),
        "exchange_current_density": Property("mA/cm2", (), None, 1e-9, 1e5),
        "alpha_anodic": Property("", (), 0.5, 0.0, 1.0, low_open=True, doc="anodic transfer coefficient"),
        "alpha_cathodic": Property("", (), 0.5, 0.0, 1.0, low_open=True, doc="cathodic transfer coefficient"),
    },
    "other": {
        "electronic_conductivity": Property("S/cm", (), None, 1e-16, 1e6),
        "density": Property("g/cm3", (), None, 0.0, 25.0, low_open=True),
    },
}
SECTIONS = {"electrolytes": "electrolyte", "electrodes": "electrode", "others": "other"}
#: properties a case-defined material must give
REQUIRED = {"electrolyte": ("conductivity",), "electrode": ("specific_capacity", "density", "potential"),
            "other": ()}
DESCRIPTIVE = ("formula", "family", "description", "role")


@dataclass(frozen=True)
class Material:
    """One material with SI properties and their sources.

    Attributes
    ----------
    name : str
    kind : {"electrolyte", "electrode", "other"}
    props : dict
        Property -> SI value (see the module docstring for units); missing ones are absent.
    sources : dict
        Property -> citation.
    info : dict
        Descriptive fields (formula, family, role, description).
    """

    name: str
    kind: str
    props: dict[str, float]
    sources: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.props[key]

    def conductivity_at(self, temperature_K: float) -> float:
        """Ionic conductivity at ``temperature_K`` (Arrhenius), S/m."""
        p = self.props
        ea = p.get("activation_energy", 0.0)
        return p["conductivity"] * math.exp(-ea / K_B * (1.0 / temperature_K - 1.0 / p["reference_temperature"]))

    def display(self) -> dict[str, Any]:
        """Properties in the case units (``S/cm``, ``eV``, ``mAh/g`` ...)."""
        spec = PROPERTIES[self.kind]
        return {k: _significant(from_si(v, spec[k].unit or "dimensionless")) for k, v in self.props.items()}


def _significant(x: float, digits: int = 12) -> float:
    """``x`` rounded to ``digits`` significant digits (``round(x, 12)`` would keep 12 decimals and
    show 1e-13 S/cm as 0)."""
    return float(f"{x:.{digits}g}")


def _parse_props(raw: dict[str, Any], kind: str, key: str, *, with_source: bool) -> tuple[dict, dict]:
    spec = PROPERTIES[kind]
    props, sources = {}, {}
    for prop, val in raw.items():
        if prop in DESCRIPTIVE or prop in ("name", "base"):
            continue
        if prop not in spec:
            raise QuantityError(f"{key}.{prop}", val, f"unknown {kind} property; known: {', '.join(spec)}")
        if with_source:
            if not isinstance(val, dict) or "value" not in val or "source" not in val:
                raise QuantityError(f"{key}.{prop}", val, "library values need {value, source}")
            sources[prop] = str(val["source"])
            val = val["value"]
        props[prop] = _checked(spec[prop], val, f"{key}.{prop}")
    return props, sources


def _checked(prop: Property, value: Any, key: str) -> float:
    """``value`` in SI after checking its dimension and its range (case unit)."""
    unit = prop.unit or "dimensionless"
    si = to_si(value, unit, key, alt=prop.alt)
    if not prop.contains(from_si(si, unit)):
        raise QuantityError(key, value, f"must be {prop.rule()}")
    return si


def _with_defaults(props: dict, kind: str) -> dict:
    out = dict(props)
    for prop, spec in PROPERTIES[kind].items():
        if prop not in out and spec.default is not None:
            out[prop] = to_si(spec.default, spec.unit or "dimensionless", prop)
    return out


@functools.lru_cache(maxsize=1)
def library() -> dict[str, Material]:
    """All library materials by name (parsed once)."""
    raw = yaml.safe_load(DATA.read_text())
    out = {}
    for section, kind in SECTIONS.items():
        for name, entry in (raw.get(section) or {}).items():
            props, sources = _parse_props(entry, kind, f"materials library {name}", with_source=True)
            info = {k: str(entry[k]) for k in DESCRIPTIVE if k in entry}
            out[name] = Material(name, kind, _with_defaults(props, kind), sources, info)
    return out


def resolve(spec: Any, role: str, key: str) -> Material:
    """Material for a case's ``materials.<role>`` entry.

    Parameters
    ----------
    spec : str or dict
        A library name; ``{base: NAME, prop: value, ...}`` (library entry with overrides); or
        ``{name: NAME, prop: value, ...}`` (a new material).
    role : str
        ``electrolyte``, ``anode``, ``cathode``, or a passive film of a stack (``barrier``,
        ``collector``: any library material).
    key : str
        Dotted key for messages (``materials.electrolyte``).
    """
    lib = library()
    if role in ("electrolyte", "anode", "cathode"):
        kind = "electrolyte" if role == "electrolyte" else "electrode"
        names = [n for n, m in lib.items() if m.kind == kind]
        what = kind
    else:   # a passive film: any library material, of its own kind
        base = spec if isinstance(spec, str) else spec.get("base") if isinstance(spec, dict) else None
        kind = lib[base].kind if isinstance(base, str) and base in lib else "other"
        names, what = list(lib), "material"
    if isinstance(spec, str):
        if spec not in lib or lib[spec].kind != kind:
            raise QuantityError(key, spec, f"unknown {what}; known: {', '.join(names)}")
        return lib[spec]
    if not isinstance(spec, dict):
        raise QuantityError(key, spec, "must be a library name or a mapping {base: NAME, ...} / {name: ..., ...}")
    if "base" in spec:
        base = spec["base"]
        if base not in lib or lib[base].kind != kind:
            raise QuantityError(f"{key}.base", base, f"unknown {what}; known: {', '.join(names)}")
        props, _ = _parse_props(spec, kind, key, with_source=False)
        bm = lib[base]
        name = str(spec.get("name", f"{base} (modified)"))
        sources = {**bm.sources, **{k: "case file" for k in props}}
        return Material(name, kind, {**bm.props, **props}, sources, bm.info)
    if "name" not in spec:
        raise QuantityError(key, spec, "a material mapping needs 'base' (a library name) or 'name'")
    props, _ = _parse_props(spec, kind, key, with_source=False)
    for req in REQUIRED[kind]:
        if req not in props:
            raise QuantityError(f"{key}.{req}", None, f"required for a new {kind}")
    return Material(str(spec["name"]), kind, _with_defaults(props, kind),
                    {k: "case file" for k in props}, {})
