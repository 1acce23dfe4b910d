"""Parameter records for the architectures.

Every architecture declares a frozen dataclass of its geometry parameters. Each field carries, in its
metadata, the unit users write it in (``um`` for lengths), its constraint in words and a one-line
description, so that the case schema can convert and check user input and ``mb3d describe`` can print
the table without a second source of truth.

Values inside the dataclass are SI (lengths in metres). The gmsh model itself is drawn in micrometres
(:data:`MODEL_UNIT_M`) because OpenCASCADE tolerances are absolute (about 1e-7 model units): a model
drawn in metres would merge every sub-micrometre feature.

A violated constraint raises :class:`ParameterError`, whose message is one line naming the key, the
value (in the user's unit) and the rule.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: Length of one gmsh model unit, in metres (the model is drawn in micrometres).
MODEL_UNIT_M = 1e-6

#: Display units: name -> SI factor (value_SI = value_display * factor).
UNITS = {"um": 1e-6, "": 1.0}

#: Fewest interface elements across a lateral feature the interface mesh must resolve (a pillar's
#: diameter, a wall, a line, a gap between features). Measured on a 3 x 2 pillar array under 0.93 um
#: interface elements: diameters 0.94 and 0.8 um mesh in 2 s, 0.6 um makes HXT fail, 0.26 um makes
#: gmsh segfault after a minute. Flat or conformal layers (planar films, coated-pillar films, the
#: electrolyte over pillar tops) are not limited: gmsh meshes them however thin (a 0.2 um film under
#: 2 um elements meshes).
MIN_ELEMENTS_ACROSS = 1.0


class ParameterError(ValueError):
    """A parameter breaks its rule; the message names the key, the value and the rule.

    Parameters
    ----------
    key : str
        Dotted key as the user wrote it (``geometry.pitch``).
    value : Any
        The offending value, in the user's unit.
    rule : str
        The rule in words (``must be > 0``).
    """

    def __init__(self, key: str, value: Any, rule: str):
        self.key, self.value, self.rule = key, value, rule
        super().__init__(f"{key} = {_fmt(value)}: {rule}")


def _times(coef: float) -> str:
    """``coef`` as the factor of a product in a rule: "" for 1, "1/2 x " for 0.5, "1.5 x " else."""
    if coef == 1:
        return ""
    if (1 / coef).is_integer():
        return f"1/{1 / coef:g} x "
    return f"{coef:g} x "


def _over(formula: str, count: float) -> str:
    """A width divided by the number of elements across it, as a rule writes it."""
    return formula if count == 1 else f"({formula}) / {count:g}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


def length(default: float | None, doc: str, rule: str = "> 0", why: str = "",
           allow_zero: bool = False) -> Any:
    """A length field (SI metres inside; micrometres in the case file). ``default`` is in um.

    ``why`` is appended to the message when the length is not > 0; ``allow_zero`` accepts 0.
    """
    meta = {"unit": "um", "doc": doc, "rule": rule, "why": why, "allow_zero": allow_zero}
    if default is None:
        return field(default=None, metadata=meta)
    return field(default=default * UNITS["um"], metadata=meta)


def length_pair(default: tuple[float, float], doc: str,
                rule: str = "two finite lengths >= 0") -> Any:
    """A pair of lengths ``[x, y]`` (SI metres inside; micrometres in the case file), each >= 0."""
    meta = {"unit": "um", "doc": doc, "rule": rule, "pair": True}
    return field(default=tuple(v * UNITS["um"] for v in default), metadata=meta)


def number(default: float, doc: str, lo: float, hi: float) -> Any:
    """A dimensionless number in the closed interval [lo, hi]."""
    return field(default=default, metadata={"unit": "", "doc": doc, "rule": f"in [{lo:g}, {hi:g}]",
                                            "bounds": (lo, hi)})


@dataclass(frozen=True)
class Layer:
    """One film of a conformal stack.

    Attributes
    ----------
    role : str
        ``barrier``, ``anode``, ``electrolyte``, ``cathode`` or ``collector``.
    material : str or dict
        A library name or a material mapping (as in the case's ``materials:`` block).
    thickness : float
        Metres.
    """

    role: str
    material: Any
    thickness: float

    def display(self) -> dict[str, Any]:
        """As a case file writes it (thickness in um)."""
        return {"role": self.role, "material": self.material,
                "thickness": float(f"{self.thickness / UNITS['um']:.12g}")}


def layers(default: tuple[Layer, ...], doc: str, rule: str) -> Any:
    """A list of :class:`Layer` (``{role, material, thickness}`` mappings in the case file)."""
    return field(default=default, metadata={"unit": None, "doc": doc, "rule": rule, "layers": True})


def integer(default: int, doc: str, lo: int = 1) -> Any:
    """An integer field (a count), >= ``lo``."""
    return field(default=default, metadata={"unit": "", "doc": doc, "rule": f"an integer >= {lo}",
                                            "integer_min": lo})


def choice(default: str, options: tuple[str, ...], doc: str) -> Any:
    """A field that takes one of ``options``."""
    return field(default=default, metadata={"unit": None, "doc": doc, "options": options,
                                            "rule": "one of " + ", ".join(options)})


@dataclass(frozen=True)
class FieldInfo:
    """One geometry key as `mb3d describe` prints it."""

    name: str
    unit: str | None
    default: Any          # in display units (um), or None when it follows from other keys
    rule: str
    doc: str
    options: tuple[str, ...] | None = None
    layers: bool = False


@dataclass(frozen=True)
class Params:
    """Base of every architecture's parameter record: validation hooks and introspection."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            opts = f.metadata.get("options")
            if opts is not None:
                if value not in opts:
                    raise ParameterError(f"geometry.{f.name}", value, f.metadata["rule"])
            elif f.metadata.get("pair"):
                ok = (isinstance(value, (tuple, list)) and len(value) == 2
                      and all(isinstance(v, float) and 0 <= v < float("inf") for v in value))
                if not ok:
                    raise ParameterError(f"geometry.{f.name}", self.show(f.name), f"must be {f.metadata['rule']}")
                object.__setattr__(self, f.name, tuple(value))
            elif f.metadata.get("integer_min") is not None:
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                    object.__setattr__(self, f.name, value)
                if not isinstance(value, int) or isinstance(value, bool) or value < f.metadata["integer_min"]:
                    raise ParameterError(f"geometry.{f.name}", value, f"must be {f.metadata['rule']}")
            elif f.metadata.get("bounds") is not None:
                lo, hi = f.metadata["bounds"]
                if not (isinstance(value, float) and lo <= value <= hi):
                    raise ParameterError(f"geometry.{f.name}", value, f"must be {f.metadata['rule']}")
            elif f.metadata.get("unit") == "um" and value is not None:
                zero_ok = f.metadata.get("allow_zero", False)
                if not (value > 0 or (zero_ok and value == 0)) or value != value or value == float("inf"):
                    why = f.metadata.get("why")
                    rule = ">= 0" if zero_ok else "> 0"
                    raise ParameterError(f"geometry.{f.name}", self.show(f.name),
                                         f"must be a finite length {rule}" + (f" ({why})" if why else ""))
        self.check()

    def check(self) -> None:
        """Cross-field rules of the architecture; raise :class:`ParameterError`."""

    def check_build(self, domain: "Domain", options: dict[str, float]) -> None:
        """Rules that depend on the modelled domain or on the build options (e.g.
        ``thin_layer_limit``, metres); raise :class:`ParameterError`."""

    #: how a case makes the cell not periodic (named when a model refuses a periodic cell)
    NOT_PERIODIC: ClassVar[str] = "domain: array"

    def periodic(self, domain: "Domain") -> bool:
        """Whether the modelled cell is periodic: its lateral faces are named ``periodic`` and joined
        by the solver (a unit cell without mirror planes); false for mirror cells and arrays."""
        return False

    def default_interface_size(self, size: float) -> float:
        """``mesh.interface_size`` (m) when the case gives none, for a bulk size ``size`` (m):
        ``size / 4``; an architecture whose mesher needs a finer one says so here."""
        return size / 4

    def box(self, domain: "Domain") -> tuple[float, float]:
        """Size of the modelled domain from the parameters alone (no gmsh), to estimate the work.

        Parameters
        ----------
        domain : Domain

        Returns
        -------
        footprint_m2 : float
            Area of the footprint outline of the model (the unit cell polygon, or the array box with
            its margins), m^2.
        height_m : float
            Height of the meshed model, m, such that ``footprint_m2 * height_m`` is its meshed
            volume (exactly for a model that fills its prism; for one that leaves parts of the prism
            unmeshed, such as grid lines buried in a substrate, the mean height of what is meshed).
        """
        raise NotImplementedError(f"{type(self).__name__} does not define box()")

    def require_resolved(self, name: str, options: dict[str, float], what: str, per: float = 1.0) -> None:
        """Refuse field ``name`` if the feature it sizes is narrower than the interface elements.

        Parameters
        ----------
        name : str
            A length field; the feature is ``per`` x its value wide (``per = 2`` for a radius).
        options : dict
            Build options; ``interface_size`` in metres (no rule without it).
        what : str
            The feature in words (``the anode pillar``).
        per : float
            Feature width per unit of the field.
        """
        isize = options.get("interface_size")
        if not isize:
            return
        coef = MIN_ELEMENTS_ACROSS / per
        if getattr(self, name) < coef * isize * (1 - 1e-9):
            self.fail(name, f"must be >= {_times(coef)}mesh.interface_size ({coef * isize / 1e-6:.6g} um) "
                            f"for the mesh to resolve {what}; refine mesh.interface_size or enlarge {what}")

    def require_gap(self, width: float, formula: str, options: dict[str, float], what: str) -> None:
        """Refuse an interface element size larger than a derived width (a gap between features).

        Parameters
        ----------
        width : float
            The width, metres.
        formula : str
            How it follows from the geometry (``pitch - anode_radius - cathode_radius``).
        options : dict
            Build options; ``interface_size`` in metres (no rule without it).
        what : str
            The feature in words (``the electrolyte gap between anode and cathode pillars``).
        """
        isize = options.get("interface_size")
        if not isize or width >= MIN_ELEMENTS_ACROSS * isize * (1 - 1e-9):
            return
        raise ParameterError("mesh.interface_size", isize / 1e-6,
                             f"must be <= {_over(formula, MIN_ELEMENTS_ACROSS)} = "
                             f"{width / MIN_ELEMENTS_ACROSS / 1e-6:.6g} um "
                             f"for the mesh to resolve {what}; refine mesh.interface_size or widen it")

    def show(self, name: str) -> Any:
        """Value of field ``name`` in its display unit (um for lengths)."""
        f = {f.name: f for f in dataclasses.fields(self)}[name]
        value = getattr(self, name)
        unit = f.metadata.get("unit")
        if f.metadata.get("layers"):
            return [layer.display() for layer in value]
        if unit and value is not None:
            if isinstance(value, (tuple, list)):
                return [v / UNITS[unit] if isinstance(v, float) else v for v in value]
            return value / UNITS[unit]
        return value

    def fail(self, name: str, rule: str) -> None:
        """Raise a :class:`ParameterError` for field ``name``."""
        raise ParameterError(f"geometry.{name}", self.show(name), rule)

    @classmethod
    def describe(cls) -> list[FieldInfo]:
        """Field table: name, unit, default (display units), rule and description."""
        out = []
        for f in dataclasses.fields(cls):
            unit = f.metadata.get("unit")
            default = f.default
            if f.metadata.get("layers"):
                default = [layer.display() for layer in default]
            elif unit and isinstance(default, tuple):
                default = [round(v / UNITS[unit], 12) for v in default]
            elif unit and default is not None:
                default = round(default / UNITS[unit], 12)
            out.append(FieldInfo(f.name, unit, default, f.metadata.get("rule", ""),
                                 f.metadata.get("doc", ""), f.metadata.get("options"),
                                 bool(f.metadata.get("layers"))))
        return out

    def display(self) -> dict[str, Any]:
        """All fields in display units, as a case file would write them."""
        return {f.name: self.show(f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Domain:
    """What part of the structure is modelled.

    ``unit_cell``: the smallest cell of the infinite array bounded by mirror planes.
    ``array``: a finite chip of ``nx`` x ``ny`` repeat units with a margin of half a pitch.
    """

    kind: str = "unit_cell"
    nx: int = 1
    ny: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("unit_cell", "array"):
            raise ParameterError("domain", self.kind, "one of unit_cell, array")
        for name in ("nx", "ny"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ParameterError(f"array.{name}", v, "must be an integer >= 1")
