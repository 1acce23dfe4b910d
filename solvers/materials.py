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
from typing import Any

import yaml

from .units import QuantityError, from_si, to_si

DATA = Path(__file__).with_name("data") / "materials.yaml"
K_B = 1.380649e-23  # J/K

#: property -> (case unit, alternative units, default) per kind. Default None = required.
PROPERTIES: dict[str, dict[str, tuple[str, tuple[str, ...], Any]]] = {
    "electrolyte": {
        "conductivity": ("S/cm", (), None),
        "activation_energy": ("eV", ("kJ/mol",), 0.0),
        "reference_temperature": ("degC", (), 25.0),
        "transference_number": ("", (), 1.0),
    },
    "electrode": {
        "specific_capacity": ("mAh/g", (), None),
        "theoretical_capacity": ("mAh/g", (), None),
        "density": ("g/cm3", (), None),
        "potential": ("V", (), None),
        "electronic_conductivity": ("S/cm", (), None),
        "exchange_current_density": ("mA/cm2", (), None),
        "alpha_anodic": ("", (), 0.5),
        "alpha_cathodic": ("", (), 0.5),
    },
    "other": {
        "electronic_conductivity": ("S/cm", (), None),
        "density": ("g/cm3", (), None),
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
        return {k: round(from_si(v, spec[k][0] or "dimensionless"), 12) for k, v in self.props.items()}


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
        unit, alt, _ = spec[prop]
        props[prop] = to_si(val, unit or "dimensionless", f"{key}.{prop}", alt=alt)
    return props, sources


def _with_defaults(props: dict, kind: str) -> dict:
    out = dict(props)
    for prop, (unit, _, default) in PROPERTIES[kind].items():
        if prop not in out and default is not None:
            out[prop] = to_si(default, unit or "dimensionless", prop)
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
    role : {"electrolyte", "anode", "cathode"}
    key : str
        Dotted key for messages (``materials.electrolyte``).
    """
    kind = "electrolyte" if role == "electrolyte" else "electrode"
    lib = library()
    names = [n for n, m in lib.items() if m.kind == kind]
    if isinstance(spec, str):
        if spec not in lib or lib[spec].kind != kind:
            raise QuantityError(key, spec, f"unknown {kind}; known: {', '.join(names)}")
        return lib[spec]
    if not isinstance(spec, dict):
        raise QuantityError(key, spec, "must be a library name or a mapping {base: NAME, ...} / {name: ..., ...}")
    if "base" in spec:
        base = spec["base"]
        if base not in lib or lib[base].kind != kind:
            raise QuantityError(f"{key}.base", base, f"unknown {kind}; known: {', '.join(names)}")
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
