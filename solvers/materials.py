"""Materials library: electrolytes, electrodes and passive layers, every value with its source.

The data live in ``solvers/data/materials.yaml`` (seeded from Skundin & Kulova 2025 and the primary
sources named next to each value). Values are parsed with pint and held in SI:

* electrolyte: ``conductivity`` (S/m at ``reference_temperature``), ``activation_energy`` (J per
  ion), ``reference_temperature`` (K), ``transference_number``;
* electrode: ``specific_capacity`` and ``theoretical_capacity`` (C/kg), ``density`` (kg/m^3),
  ``potential`` (V vs Li/Li+), ``electronic_conductivity`` (S/m), ``exchange_current_density``
  (A/m^2), ``alpha_anodic``, ``alpha_cathodic``; for the transient (diffusion) model
  ``max_concentration`` (mol/m^3, the Li concentration at x = 1 of the OCP curve), ``diffusivity``
  (m^2/s at 298.15 K) and ``diffusivity_activation_energy`` (J per ion).

Three electrode properties are not numbers and live in :attr:`Material.extras` (not in ``props``):
``ocp`` (a :class:`solvers.ocp.OCP`: a library curve name or a table ``{x: [...], U: [...]}`` in the
case format), ``stoichiometry`` (``(x at full charge, x at full discharge)``, x = c / max_concentration)
and ``reservoir`` (True for Li metal: no diffusion, U = 0, constant exchange current density).

Conductivity and diffusivity follow the Arrhenius law

    sigma(T) = sigma_ref exp(-(E_a / k_B) (1/T - 1/T_ref)).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from . import ocp as ocp_curves
from .constants import K_B
from .ocp import OCP
from .units import QuantityError, Range, from_si, to_si

DATA = Path(__file__).with_name("data") / "materials.yaml"

class Property(NamedTuple):
    """One material property: its case unit, other accepted units, default and valid range.

    The range is in the case unit; ``low_open`` makes the lower bound exclusive (``> 0``). A default
    of None means required (for the kinds in :data:`REQUIRED`) or absent unless given.

    A property whose value is not a number (``ocp``, ``stoichiometry``, ``reservoir``) has no unit
    and no range; ``values`` then says in words what it takes, and :meth:`rule` returns that text.
    """

    unit: str
    alt: tuple[str, ...]
    default: Any
    low: float
    high: float
    low_open: bool = False
    doc: str = ""
    values: str = ""

    @property
    def numeric(self) -> bool:
        """Whether the value is a quantity (False for ``ocp``, ``stoichiometry``, ``reservoir``)."""
        return not self.values

    @property
    def valid(self) -> Range:
        """The valid range as a :class:`solvers.units.Range`."""
        return Range(self.unit, self.low, self.high, self.low_open)

    def rule(self) -> str:
        """The range in words, e.g. ``in (0, 100] S/cm`` (for a non-numeric property: what it takes)."""
        return self.values or self.valid.rule()

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
        "max_concentration": Property("mol/m3", (), None, 0.0, 1e6, low_open=True,
                                      doc="Li concentration at x = 1 of the ocp curve (transient model)"),
        "diffusivity": Property("m2/s", (), None, 1e-24, 1e-6,
                                doc="Li diffusivity in the solid at 25 degC (transient model); cm2/s accepted"),
        "diffusivity_activation_energy": Property("eV", ("kJ/mol",), 0.0, 0.0, 2.0,
                                                  doc="Arrhenius activation energy of the diffusivity"),
        "ocp": Property("", (), None, 0.0, 0.0, doc="open-circuit potential U(x) vs Li/Li+, x = c/max_concentration",
                        values="a curve name (" + ocp_curves.describe() + ") or a table {x: [...], U: [...]}: "
                               "at least 2 points, x in [0, 1] strictly increasing, U in V strictly monotone"),
        "stoichiometry": Property("", (), None, 0.0, 0.0, doc="usable window of x = c/max_concentration",
                                  values="[x at full charge, x at full discharge]: two different numbers in [0, 1]"),
        "reservoir": Property("", (), False, 0.0, 0.0,
                              doc="Li metal reservoir: no diffusion, U = 0, constant exchange current density",
                              values="true or false"),
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
    extras : dict
        The non-numeric properties: ``ocp`` (:class:`solvers.ocp.OCP`), ``stoichiometry`` (a pair of
        floats), ``reservoir`` (bool); read them with :attr:`ocp`, :attr:`stoichiometry`, :attr:`reservoir`.
    """

    name: str
    kind: str
    props: dict[str, float]
    sources: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        """A property: SI float (``material["max_concentration"]``, mol/m^3) or a non-numeric one."""
        if key in self.props:
            return self.props[key]
        return self.extras[key]

    @property
    def ocp(self) -> OCP | None:
        """The open-circuit potential curve U(x), or None if the material has none."""
        return self.extras.get("ocp")

    @property
    def stoichiometry(self) -> tuple[float, float] | None:
        """``(x at full charge, x at full discharge)`` with x = c / max_concentration, or None."""
        return self.extras.get("stoichiometry")

    @property
    def reservoir(self) -> bool:
        """Whether the electrode is a Li metal reservoir (no diffusion, U = 0, constant i0)."""
        return bool(self.extras.get("reservoir", False))

    def conductivity_at(self, temperature_K: float) -> float:
        """Ionic conductivity at ``temperature_K`` (Arrhenius), S/m."""
        p = self.props
        ea = p.get("activation_energy", 0.0)
        return p["conductivity"] * math.exp(-ea / K_B * (1.0 / temperature_K - 1.0 / p["reference_temperature"]))

    def diffusivity_at(self, temperature_K: float) -> float:
        """Li diffusivity in the solid at ``temperature_K``, m^2/s.

        Arrhenius with ``diffusivity_activation_energy`` E_D (default 0: no temperature dependence),
        D(T) = D_ref exp(-(E_D / k_B) (1/T - 1/T_ref)). The reference temperature is the material's
        ``reference_temperature`` property if it has one; electrodes have none, so for every library
        electrode T_ref = 298.15 K (25 degC), the temperature the ``diffusivity`` values are given at.

        Raises
        ------
        KeyError
            If the material has no ``diffusivity``.
        ValueError
            If ``temperature_K`` is not a finite positive temperature.
        """
        p = self.props
        if "diffusivity" not in p:
            raise KeyError(f"{self.name} has no diffusivity")
        if not (math.isfinite(temperature_K) and temperature_K > 0):
            raise ValueError(f"temperature_K = {temperature_K}: must be a finite temperature > 0 K")
        t_ref = p.get("reference_temperature", DIFFUSIVITY_REFERENCE_K)
        ea = p.get("diffusivity_activation_energy", 0.0)
        return p["diffusivity"] * math.exp(-ea / K_B * (1.0 / temperature_K - 1.0 / t_ref))

    def display(self) -> dict[str, Any]:
        """Properties in the case units (``S/cm``, ``eV``, ``mAh/g`` ...), to 12 significant digits.

        Rounding to significant digits (not decimal places) keeps small values such as Li4Ti5O12's
        1e-13 S/cm electronic conductivity while dropping the float noise of the unit conversion. The
        non-numeric properties are shown as a case file writes them: ``ocp`` a curve name or a table
        ``{x: [...], U: [...]}``, ``stoichiometry`` a list of two numbers, ``reservoir`` a bool.
        """
        spec = PROPERTIES[self.kind]
        out: dict[str, Any] = {k: _significant(from_si(v, spec[k].unit or "dimensionless"))
                               for k, v in self.props.items()}
        for k, v in self.extras.items():
            out[k] = ocp_curves.case_spec(v) if k == "ocp" else list(v) if k == "stoichiometry" else v
        return out


#: reference temperature of electrode diffusivities (electrodes have no ``reference_temperature``), K
DIFFUSIVITY_REFERENCE_K = 298.15


def _significant(x: float, digits: int = 12) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    return float(f"{x:.{digits}g}")


def _parse_props(raw: dict[str, Any], kind: str, key: str, *, with_source: bool) -> tuple[dict, dict, dict]:
    """Numeric properties (SI), non-numeric ones (parsed) and sources of a library or case entry."""
    spec = PROPERTIES[kind]
    props, extras, sources = {}, {}, {}
    for prop, val in raw.items():
        if prop in DESCRIPTIVE or prop in ("name", "base"):
            continue
        if prop not in spec:
            raise QuantityError(f"{key}.{prop}", val, f"unknown {kind} property; known: {', '.join(spec)}")
        source = "case file"
        if with_source:
            if not isinstance(val, dict) or "value" not in val or "source" not in val:
                raise QuantityError(f"{key}.{prop}", val, "library values need {value, source}")
            source = sources[prop] = str(val["source"])
            val = val["value"]
        if spec[prop].numeric:
            props[prop] = _checked(spec[prop], val, f"{key}.{prop}")
        else:
            extras[prop] = _parse_other(prop, val, f"{key}.{prop}", source)
    return props, extras, sources


def _parse_other(prop: str, value: Any, key: str, source: str) -> Any:
    """A non-numeric property: the OCP curve, the stoichiometry window or the reservoir flag."""
    if prop == "ocp":
        return ocp_curves.resolve(value, key, source=source)
    if prop == "reservoir":
        if not isinstance(value, bool):
            raise QuantityError(key, value, "must be true or false")
        return value
    if prop == "stoichiometry":
        rule = PROPERTIES["electrode"]["stoichiometry"].values
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise QuantityError(key, value, f"must be {rule}")
        pair = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise QuantityError(key, value, f"must be {rule}")
            pair.append(float(v))
        if pair[0] == pair[1]:
            raise QuantityError(key, value, "x at full charge and x at full discharge must differ")
        return tuple(pair)
    raise AssertionError(prop)   # pragma: no cover - PROPERTIES names no other non-numeric property


def _checked(prop: Property, value: Any, key: str) -> float:
    """``value`` in SI after checking its dimension and its range (case unit)."""
    unit = prop.unit or "dimensionless"
    si = to_si(value, unit, key, alt=prop.alt)
    if not prop.contains(from_si(si, unit)):
        raise QuantityError(key, value, f"must be {prop.rule()}")
    return si


def _with_defaults(props: dict, extras: dict, kind: str) -> tuple[dict, dict]:
    out, more = dict(props), dict(extras)
    for prop, spec in PROPERTIES[kind].items():
        if spec.default is None or prop in out or prop in more:
            continue
        if spec.numeric:
            out[prop] = to_si(spec.default, spec.unit or "dimensionless", prop)
        else:
            more[prop] = spec.default
    return out, more


@functools.lru_cache(maxsize=1)
def library() -> dict[str, Material]:
    """All library materials by name (parsed once)."""
    raw = yaml.safe_load(DATA.read_text())
    out = {}
    for section, kind in SECTIONS.items():
        for name, entry in (raw.get(section) or {}).items():
            props, extras, sources = _parse_props(entry, kind, f"materials library {name}", with_source=True)
            info = {k: str(entry[k]) for k in DESCRIPTIVE if k in entry}
            props, extras = _with_defaults(props, extras, kind)
            out[name] = Material(name, kind, props, sources, info, extras)
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
        ``collector``: a material of kind ``other``).
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
        props, extras, _ = _parse_props(spec, kind, key, with_source=False)
        bm = lib[base]
        name = str(spec.get("name", f"{base} (modified)"))
        sources = {**bm.sources, **{k: "case file" for k in (*props, *extras)}}
        return Material(name, kind, {**bm.props, **props}, sources, bm.info, {**bm.extras, **extras})
    if "name" not in spec:
        raise QuantityError(key, spec, "a material mapping needs 'base' (a library name) or 'name'")
    props, extras, _ = _parse_props(spec, kind, key, with_source=False)
    for req in REQUIRED[kind]:
        if req not in props:
            raise QuantityError(f"{key}.{req}", None, f"required for a new {kind}")
    sources = {k: "case file" for k in (*props, *extras)}
    props, extras = _with_defaults(props, extras, kind)
    return Material(str(spec["name"]), kind, props, sources, {}, extras)
