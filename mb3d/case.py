"""Case files: loading, overrides, validation and normalisation (``../shared/spec/case-format.md``).

A case is validated in two steps. pydantic checks the structure (unknown keys, types, units and
dimensions of physics and mesh quantities, enumerations); then the architecture's parameter dataclass
checks the geometry (positive lengths, pillars that overlap or touch, electrolyte lower than the
pillars ...) and the materials are resolved against the library. Any failure is a :class:`CaseError`
whose message is one line: the dotted key, the value and the rule.

The normalised case (:meth:`Case.normalized`) has every default filled in and every quantity as a bare
number in the unit the format names (um, V, mA/cm2, degC, S/cm, eV ...): it is itself a valid case
file, and its SHA-256 (without ``name`` and ``expected``) is the case hash.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from geom3d import Domain, ParameterError, registry
from geom3d.params import Layer
from solvers.materials import Material, library, resolve
from solvers.units import QuantityError, from_si, to_si


class CaseError(ValueError):
    """Bad input: one line naming the key, the value and the rule (the CLI exits with code 2)."""


def _quantity(unit: str, *, positive: bool = False, nonzero: bool = False):
    """A float read in ``unit`` (bare number) or from a string with any unit of that dimension."""

    def convert(value: Any) -> float:
        try:
            si = to_si(value, unit, "")
        except QuantityError as exc:
            raise ValueError(exc.rule) from None
        if positive and not si > 0:
            raise ValueError("must be > 0")
        if nonzero and si == 0:
            raise ValueError("must not be 0")
        return _round(from_si(si, unit))

    return BeforeValidator(convert)


def _round(x: float) -> float:
    return float(f"{x:.12g}")


def _round_all(v: Any) -> Any:
    """Round every float in a nested structure to 12 significant digits."""
    if isinstance(v, float):
        return _round(v)
    if isinstance(v, list):
        return [_round_all(x) for x in v]
    if isinstance(v, dict):
        return {k: _round_all(x) for k, x in v.items()}
    return v


Length = Annotated[float, _quantity("um", positive=True)]
Voltage = Annotated[float, _quantity("V", nonzero=True)]
CurrentDensity = Annotated[float, _quantity("mA/cm2", positive=True)]
Temperature = Annotated[float, _quantity("degC")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArraySpec(_Strict):
    """``array:`` block (only with ``domain: array``)."""

    nx: int = Field(4, ge=1, le=200, strict=True)
    ny: int = Field(4, ge=1, le=200, strict=True)


class PhysicsSpec(_Strict):
    """``physics:`` block."""

    model: Literal["primary", "secondary"] = "primary"
    voltage: Voltage | None = None
    current_density: CurrentDensity | None = None
    temperature: Temperature = 25.0
    cell_voltage: Voltage | None = None
    kinetics: Literal["butler_volmer", "linear"] | None = None
    electrode_conduction: bool | None = None

    @property
    def temperature_K(self) -> float:
        """``temperature`` (degC in the case) in kelvin."""
        return self.temperature + 273.15


class MeshSpec(_Strict):
    """``mesh:`` block."""

    size: Length = 2.0
    interface_size: Length | None = None
    order: Literal[1, 2] = 1
    thin_layer_limit: Length = 0.1


MaterialSpec = str | dict[str, Any]


class MaterialsSpec(_Strict):
    """``materials:`` block: a library name or a mapping per role."""

    electrolyte: MaterialSpec = "LiPON"
    anode: MaterialSpec = "Li"
    cathode: MaterialSpec = "LiCoO2"


class Expectation(_Strict):
    """One ``expected:`` entry: a value and a relative and/or absolute tolerance."""

    value: float
    rel: float | None = Field(None, ge=0)
    abs: float | None = Field(None, ge=0)


class CaseModel(_Strict):
    """The structure of a case file (the geometry is checked by the architecture)."""

    name: str = Field(min_length=1, max_length=120)
    architecture: str
    domain: Literal["unit_cell", "array"] = "unit_cell"
    array: ArraySpec | None = None
    geometry: dict[str, Any] = Field(default_factory=dict)
    materials: MaterialsSpec = MaterialsSpec()
    physics: PhysicsSpec = PhysicsSpec()
    mesh: MeshSpec = MeshSpec()
    expected: dict[str, Expectation] | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    """A validated case: the structure, the architecture's parameters and the resolved materials.

    Attributes
    ----------
    model : CaseModel
    architecture : registry.Architecture
    params : geom3d.Params
        Geometry parameters, SI.
    domain : geom3d.Domain
    materials : dict
        Role (electrolyte, anode, cathode) -> :class:`solvers.materials.Material`.
    """

    model: CaseModel
    architecture: registry.Architecture
    params: Any
    domain: Domain
    materials: dict[str, Material]

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def build_options(self) -> dict[str, float]:
        """Options the architecture's ``build`` takes from the case (SI)."""
        return build_options(self.architecture, self.model)

    @property
    def interface_size_um(self) -> float:
        m = self.model.mesh
        return m.interface_size if m.interface_size is not None else _round(m.size / 4)

    def normalized(self) -> dict[str, Any]:
        """The case with defaults filled in and quantities in the format's units (no ``expected``)."""
        m = self.model
        out: dict[str, Any] = {"name": m.name, "architecture": m.architecture, "domain": m.domain}
        if m.domain == "array":
            out["array"] = {"nx": self.domain.nx, "ny": self.domain.ny}
        out["geometry"] = {k: _round_all(v) for k, v in self.params.display().items()}
        out["materials"] = m.materials.model_dump()
        out["physics"] = {k: v for k, v in m.physics.model_dump().items() if v is not None}
        mesh = m.mesh.model_dump()
        mesh["interface_size"] = self.interface_size_um
        out["mesh"] = mesh
        return out

    def mesh_key(self) -> str:
        """SHA-256 of what the geometry and mesh depend on (architecture, domain, geometry, mesh)."""
        norm = self.normalized()
        keep = {k: norm[k] for k in ("architecture", "domain", "array", "geometry", "mesh") if k in norm}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()

    def hash(self) -> str:
        """SHA-256 of the normalised case without ``name`` (identical physics, identical hash)."""
        norm = self.normalized()
        norm.pop("name")
        return hashlib.sha256(json.dumps(norm, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------
def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a case (or study) file into a mapping; errors are :class:`CaseError`."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise CaseError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CaseError(f"{path}: invalid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case file must be a mapping of keys (name, architecture, ...)")
    return raw


def apply_overrides(raw: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``KEY=VALUE`` overrides applied (values read as YAML).

    ``geometry.pitch=40`` sets ``raw["geometry"]["pitch"] = 40``; ``"physics.voltage=0.2 V"`` a
    string with a unit.
    """
    out = json.loads(json.dumps(raw, default=str))
    for item in sets:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", key):
            raise CaseError(f"--set {item!r}: expected KEY=VALUE with a dotted key, e.g. geometry.pitch=40")
        try:
            parsed = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            parsed = value
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise CaseError(f"--set {item!r}: {part} is not a mapping in the case")
            node = nxt
        node[parts[-1]] = parsed
    return out


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict | list):
        s = json.dumps(v, default=str)
        return s if len(s) < 60 else s[:57] + "..."
    return str(v)


def _pydantic_message(err: ValidationError) -> str:
    errors = err.errors()
    e = errors[0]
    # pydantic puts the member type of a union in loc ("str", "dict[str,any]"): keep only keys
    def is_key(p: Any) -> bool:
        return isinstance(p, int) or (re.fullmatch(r"[A-Za-z_]\w*", p) is not None
                                      and p not in ("str", "int", "float"))

    loc = ".".join(str(p) for p in e["loc"] if is_key(p))
    typ, msg = e["type"], e["msg"]
    if typ == "extra_forbidden":
        parent = e["loc"][:-1]
        model = CaseModel
        for part in parent:
            model = model.model_fields[part].annotation
            model = next((a for a in getattr(model, "__args__", (model,)) if isinstance(a, type)
                          and issubclass(a, BaseModel)), model)
        allowed = ", ".join(model.model_fields) if isinstance(model, type) else ""
        line = f"{loc}: unknown key (allowed: {allowed})"
    elif typ == "missing":
        line = f"{loc}: required key is missing"
    elif loc.startswith("materials.") and loc.count(".") == 1:
        line = f"{loc} = {_fmt_value(e.get('input'))}: must be a library name or a mapping {{base: NAME, ...}}"
        errors = [x for x in errors if tuple(x["loc"][:2]) != tuple(e["loc"][:2])] + [e]
    else:
        msg = msg.removeprefix("Value error, ")
        line = f"{loc} = {_fmt_value(e.get('input'))}: {msg}"
    more = len(errors) - 1
    return line + (f" (and {more} more error{'s' * (more > 1)})" if more else "")


def load_case(raw: dict[str, Any]) -> Case:
    """Validate a raw case mapping.

    Parameters
    ----------
    raw : dict
        The YAML mapping (after ``--set`` overrides).

    Returns
    -------
    Case

    Raises
    ------
    CaseError
        With a one-line message naming the key, the value and the rule.
    """
    try:
        model = CaseModel.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(_pydantic_message(exc)) from None
    try:
        arch = registry.get(model.architecture)
    except KeyError:
        raise CaseError(f"architecture = {model.architecture!r}: unknown; known: "
                        f"{', '.join(registry.ARCHITECTURES)}") from None
    if model.domain not in arch.domains:
        raise CaseError(f"domain = {model.domain!r}: {arch.name} supports {', '.join(arch.domains)}")
    if model.array is not None and model.domain != "array":
        raise CaseError("array: only allowed with domain: array")
    arr = model.array or ArraySpec()
    domain = Domain(model.domain, arr.nx, arr.ny) if model.domain == "array" else Domain()
    params = _geometry(arch, model.geometry)
    try:
        params.check_build(domain, case_options(model))
    except ParameterError as exc:
        raise CaseError(str(exc)) from None
    mesh = model.mesh
    if mesh.interface_size is not None and mesh.interface_size > mesh.size:
        raise CaseError(f"mesh.interface_size = {mesh.interface_size}: must be <= mesh.size ({mesh.size})")
    ph = model.physics
    if ph.temperature_K <= 0:
        raise CaseError(f"physics.temperature = {ph.temperature}: must be above absolute zero")
    model = model.model_copy(update={"physics": _physics(ph)})
    materials = _materials(model, params)
    _check_secondary(model, materials)
    return Case(model, arch, params, domain, materials)


#: physics keys of each model (the others are errors)
PHYSICS_KEYS = {"primary": ("voltage",),
                "secondary": ("current_density", "cell_voltage", "kinetics", "electrode_conduction")}


def _physics(ph: PhysicsSpec) -> PhysicsSpec:
    """Check which physics keys the model takes and fill in its defaults."""
    other = "secondary" if ph.model == "primary" else "primary"
    for key in PHYSICS_KEYS[other]:
        value = getattr(ph, key)
        if value is not None:
            hint = ("current_density (galvanostatic) or cell_voltage (potentiostatic)"
                    if ph.model == "secondary" else "voltage")
            raise CaseError(f"physics.{key} = {_fmt_value(value)}: only used by the {other} model "
                            f"(physics.model: {other}); the {ph.model} model takes {hint} (remove the key, or --set physics.{key}=null)")
    if ph.model == "primary":
        return ph.model_copy(update={"voltage": 0.1 if ph.voltage is None else ph.voltage})
    if ph.current_density is not None and ph.cell_voltage is not None:
        raise CaseError(f"physics.cell_voltage = {ph.cell_voltage}: give either current_density "
                        "(galvanostatic) or cell_voltage (potentiostatic), not both")
    update: dict[str, Any] = {"kinetics": ph.kinetics or "butler_volmer",
                              "electrode_conduction": bool(ph.electrode_conduction)}
    if ph.cell_voltage is None and ph.current_density is None:
        update["current_density"] = 0.1
    return ph.model_copy(update=update)


def _check_secondary(model: CaseModel, materials: dict[str, Material]) -> None:
    """The properties the secondary model needs, and a cell voltage below the open-circuit voltage."""
    ph = model.physics
    if ph.model != "secondary":
        return
    need = ["exchange_current_density"] + (["electronic_conductivity"] if ph.electrode_conduction else [])
    for role in ("anode", "cathode"):
        for prop in need:
            if prop not in materials[role].props:
                why = "the secondary model" if prop == "exchange_current_density" else "electrode_conduction"
                raise CaseError(f"materials.{role}.{prop}: missing for {materials[role].name!r}, "
                                f"required by {why}")
    if ph.cell_voltage is not None:
        ocv = materials["cathode"]["potential"] - materials["anode"]["potential"]
        if not 0 < ph.cell_voltage < ocv:
            raise CaseError(f"physics.cell_voltage = {ph.cell_voltage}: must lie between 0 and the "
                            f"open-circuit voltage {_round(ocv)} V (discharge)")


def case_options(model: CaseModel) -> dict[str, float]:
    """Mesh settings that geometry rules may depend on, SI (metres)."""
    m = model.mesh
    isize = m.interface_size if m.interface_size is not None else _round(m.size / 4)
    return {"thin_layer_limit": m.thin_layer_limit * 1e-6, "size": m.size * 1e-6,
            "interface_size": isize * 1e-6}


def build_options(arch: registry.Architecture, model: CaseModel) -> dict[str, float]:
    """The case settings an architecture's ``build`` takes besides its parameters (SI), e.g.
    ``thin_layer_limit`` in metres from ``mesh.thin_layer_limit``."""
    available = case_options(model)
    return {k: available[k] for k in arch.options}


def _geometry(arch: registry.Architecture, geometry: dict[str, Any]):
    fields = {f.name: f for f in arch.params.describe()}
    kwargs = {}
    for key, value in geometry.items():
        if key not in fields:
            raise CaseError(f"geometry.{key}: unknown key for {arch.name} (allowed: {', '.join(fields)})")
        f = fields[key]
        if f.layers:
            kwargs[key] = _layers(value, f"geometry.{key}")
        elif f.options is not None:
            if not isinstance(value, str):
                raise CaseError(f"geometry.{key} = {_fmt_value(value)}: must be {f.rule}")
            kwargs[key] = value
        elif isinstance(value, (list, tuple)):
            if not (isinstance(f.default, list) and len(value) == len(f.default)):
                raise CaseError(f"geometry.{key} = {_fmt_value(value)}: must be {f.rule}")
            try:
                kwargs[key] = tuple(to_si(v, f.unit or "dimensionless", f"geometry.{key}") for v in value)
            except QuantityError as exc:
                raise CaseError(str(exc)) from None
        else:
            if isinstance(f.default, list):
                raise CaseError(f"geometry.{key} = {_fmt_value(value)}: must be a list [x, y] of {f.rule}")
            try:
                kwargs[key] = to_si(value, f.unit or "dimensionless", f"geometry.{key}")
            except QuantityError as exc:
                raise CaseError(str(exc)) from None
    try:
        return arch.params(**kwargs)
    except ParameterError as exc:
        raise CaseError(str(exc)) from None


def _layers(value: Any, key: str) -> tuple[Layer, ...]:
    """Parse a ``layers:`` list of ``{role, material, thickness}`` mappings."""
    if not isinstance(value, list) or not value:
        raise CaseError(f"{key} = {_fmt_value(value)}: must be a non-empty list of "
                        "{role, material, thickness} mappings")
    out = []
    for i, item in enumerate(value):
        k = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise CaseError(f"{k} = {_fmt_value(item)}: must be a mapping {{role, material, thickness}}")
        extra = set(item) - {"role", "material", "thickness"}
        if extra:
            raise CaseError(f"{k}.{sorted(extra)[0]}: unknown key (allowed: role, material, thickness)")
        for req in ("role", "material", "thickness"):
            if req not in item:
                raise CaseError(f"{k}.{req}: missing (a layer is {{role, material, thickness}})")
        if not isinstance(item["role"], str):
            raise CaseError(f"{k}.role = {_fmt_value(item['role'])}: must be a string")
        try:
            t = to_si(item["thickness"], "um", f"{k}.thickness")
        except QuantityError as exc:
            raise CaseError(str(exc)) from None
        out.append(Layer(item["role"], item["material"], t))
    return tuple(out)


def _materials(model: CaseModel, params: Any) -> dict[str, Material]:
    """Resolve the three materials; an architecture with a layer stack names them in its layers, and a
    ``materials:`` entry that names another material for the same role is an error."""
    specs: dict[str, tuple[Any, str]] = {role: (getattr(model.materials, role), f"materials.{role}")
                                         for role in ("electrolyte", "anode", "cathode")}
    for i, layer in enumerate(getattr(params, "layers", ()) or ()):
        key = f"geometry.layers[{i}].material"
        if layer.role not in specs:   # barrier, collector: a library name, or a mapping kept as given
            if isinstance(layer.material, str) and layer.material not in library():
                raise CaseError(f"{key} = {layer.material!r}: unknown material; known: {', '.join(library())}")
            if not isinstance(layer.material, (str, dict)):
                raise CaseError(f"{key} = {_fmt_value(layer.material)}: must be a library name or a mapping")
            continue
        if layer.role in model.materials.model_fields_set and specs[layer.role][0] != layer.material:
            raise CaseError(f"materials.{layer.role} = {_fmt_value(specs[layer.role][0])}: conflicts with "
                            f"{key} = {_fmt_value(layer.material)}; name the material in one place")
        specs[layer.role] = (layer.material, key)
    try:
        return {role: resolve(spec, role, key) for role, (spec, key) in specs.items()}
    except QuantityError as exc:
        raise CaseError(str(exc)) from None


def load_case_file(path: str | Path, sets: list[str] | None = None) -> Case:
    """Read, override and validate a case file (see :func:`load_case`)."""
    return load_case(apply_overrides(read_yaml(path), sets or []))
