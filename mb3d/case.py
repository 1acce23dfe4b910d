"""Case files: loading, overrides, validation and normalisation (``docs/formats/case.md``).

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
import typing
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from geom3d import Domain, ParameterError, registry
from geom3d.params import Layer
from solvers.constants import ZERO_CELSIUS_K
from solvers.materials import Material, resolve
from solvers.units import QuantityError, Range, from_si, to_si


class CaseError(ValueError):
    """Bad input: one line naming the key, the value and the rule (the CLI exits with code 2)."""


def _quantity(valid: Range):
    """A float read in ``valid.unit`` (bare number) or from a string with any unit of that dimension,
    checked against ``valid``."""

    def convert(value: Any) -> float:
        try:
            si = to_si(value, valid.unit, "")
        except QuantityError as exc:
            raise ValueError(exc.rule) from None
        x = from_si(si, valid.unit)
        if not valid.contains(x):
            raise ValueError(f"must be {valid.rule()}")
        return _round(x)

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


#: lengths a case may give (um): from a nanometre to ten centimetres
LENGTHS = Range("um", 1e-3, 1e5)
VOLTAGES = Range("V", -100.0, 100.0, nonzero=True)
CURRENT_DENSITIES = Range("mA/cm2", 0.0, 1e4, low_open=True)
#: operating temperatures (degC): Arrhenius laws are not extrapolated further
TEMPERATURES = Range("degC", -100.0, 500.0)
Length = Annotated[float, LENGTHS, _quantity(LENGTHS)]
Voltage = Annotated[float, VOLTAGES, _quantity(VOLTAGES)]
CurrentDensity = Annotated[float, CURRENT_DENSITIES, _quantity(CURRENT_DENSITIES)]
Temperature = Annotated[float, TEMPERATURES, _quantity(TEMPERATURES)]
#: a folder name: no separators, not hidden, not ``.`` or ``..``
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


def field_range(model: type[BaseModel], name: str) -> Range | None:
    """The :class:`Range` a field of a case block carries (also inside ``X | None``), or None."""
    f = model.model_fields.get(name)
    if f is None:
        return None
    found = [m for m in f.metadata if isinstance(m, Range)]
    for arg in typing.get_args(f.annotation):
        found += [m for m in getattr(arg, "__metadata__", ()) if isinstance(m, Range)]
    return found[0] if found else None


def plain_name(value: Any) -> Any:
    """Check that ``value`` can be used as a folder name (``out/<name>/``)."""
    if isinstance(value, str) and not NAME_PATTERN.fullmatch(value):
        raise ValueError("must be a plain folder name: letters, digits, '_', '-', '.' and '+', not "
                         "starting with '.', '-' or '+'")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArraySpec(_Strict):
    """``array:`` block (only with ``domain: array``)."""

    nx: int = Field(4, ge=1, le=200, strict=True, description="repeat units along x")
    ny: int = Field(4, ge=1, le=200, strict=True, description="repeat units along y")


class PhysicsBase(BaseModel):
    """Keys every model's ``physics:`` block has. Subclass it with ``model: Literal["NAME"] = "NAME"``
    and the model's own keys (annotated with a :class:`~solvers.units.Range`-carrying type such as
    :data:`mb3d.case.Voltage` to get units, ranges and the SI conversion)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    temperature: Temperature = Field(25.0, description="conductivities follow their Arrhenius laws")
    #: how the error message for a key of another model names the keys this model takes
    takes: ClassVar[str] = ""

    def complete(self) -> PhysicsBase:
        """This block with its defaults filled in and its cross-key rules checked (raise
        :class:`mb3d.case.CaseError`). Called once when the case is loaded."""
        return self

    def check(self, materials: Mapping[str, Any]) -> None:
        """Rules that need the resolved materials (raise :class:`mb3d.case.CaseError`)."""

    @property
    def temperature_K(self) -> float:
        """``temperature`` (degC in the case) in kelvin."""
        return self.temperature + ZERO_CELSIUS_K

    def si(self) -> SI:
        """The block in SI units: every quantity key converted from the unit of its range
        (temperature in kelvin); other keys as they are."""
        out = {}
        for key in type(self).model_fields:
            value = getattr(self, key)
            r = field_range(type(self), key)
            if key == "temperature":
                value = self.temperature_K
            elif r is not None and value is not None:
                value = to_si(value, r.unit, f"physics.{key}")
            out[key] = value
        return SI(MappingProxyType(out))


@dataclasses.dataclass(frozen=True)
class SI:
    """A read-only record of SI values with attribute access (``physics.current_density`` in A/m^2)."""

    values: Mapping[str, Any]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key) from None


#: default ``mesh.max_elements``: about what this 24 GB, 2-core machine solves in a few minutes (a
#: P1 problem of 1 M DOFs is ~6 M tetrahedra and 3 GB; P2 has ~8x the DOFs of P1 on one mesh)
MAX_ELEMENTS = 3_000_000


class MeshSpec(_Strict):
    """``mesh:`` block."""

    size: Length = Field(2.0, description="target element size in the bulk")
    interface_size: Length | None = Field(None, description="element size on the electrode interfaces, <= "
                                                            "size (default size / 4; sponge: also <= "
                                                            "electrolyte_thickness / 2)")
    order: Literal[1, 2] = Field(1, description="Lagrange element order")
    thin_layer_limit: Length = Field(0.1, description="films thinner than this are collapsed to surfaces")
    max_elements: int = Field(MAX_ELEMENTS, ge=1000, le=10**8, strict=True,
                              description="refuse a case whose estimated tetrahedron count is larger")


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


def _mapping(value: Any) -> Any:
    """``physics:`` is a mapping (checked against its model's spec by :func:`load_case`)."""
    if value is None:
        return {}
    if not isinstance(value, (dict, PhysicsBase)):
        raise ValueError("must be a mapping of physics keys (model, temperature, ...)")
    return value


class CaseModel(_Strict):
    """The structure of a case file (the geometry is checked by the architecture)."""

    name: Annotated[str, AfterValidator(plain_name)] = Field(min_length=1, max_length=120)
    architecture: str
    domain: Literal["unit_cell", "array"] = "unit_cell"
    array: ArraySpec | None = None
    geometry: dict[str, Any] = Field(default_factory=dict)
    materials: MaterialsSpec = MaterialsSpec()
    physics: Annotated[Any, BeforeValidator(_mapping)] = Field(default_factory=dict)
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
    materials : mapping
        Role (electrolyte, anode, cathode) -> :class:`solvers.materials.Material` (SI).
    raw_json : str
        The mapping the case was validated from (:attr:`raw`).
    physics : SI
        The ``physics:`` block of the case's model in SI units (A/m^2, V, K).
    mesh : SI
        The ``mesh:`` block in SI: ``size``, ``interface_size`` (default filled in),
        ``thin_layer_limit`` in metres; ``order``, ``max_elements``.

    ``model`` keeps the validated block in the case units (what :meth:`normalized` writes).
    """

    model: CaseModel
    architecture: registry.Architecture
    params: Any
    domain: Domain
    materials: Mapping[str, Material]
    raw_json: str = "{}"
    physics: SI | None = None
    mesh: SI | None = None

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def raw(self) -> dict[str, Any]:
        """A copy of the mapping this case was validated from (after overrides)."""
        return json.loads(self.raw_json)

    def with_(self, **overrides: Any) -> "Case":
        """A validated copy with dotted keys changed: ``case.with_(**{"geometry.pitch": 45})``.

        Values are what a case file holds (numbers in the format's units, or strings with a unit:
        ``"45 um"``); ``None`` removes a key. The case itself is frozen and never changes.

        Raises
        ------
        CaseError
            If a key or a value is invalid (the same one-line message as for a case file).
        """
        return load_case(set_keys(self.raw, overrides))

    @property
    def build_options(self) -> dict[str, float]:
        """Options the architecture's ``build`` takes from the case (SI)."""
        return build_options(self.architecture, self.model)

    @property
    def interface_size_um(self) -> float:
        return hi_um(self.model)

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
#: a case or study file is a few kB of YAML; anything larger is refused before parsing
MAX_FILE_BYTES = 256 * 1024
#: nesting of mappings and lists (a case file needs 4)
MAX_DEPTH = 32
#: scalars, mappings and lists after expanding aliases (an "alias bomb" expands exponentially)
MAX_NODES = 100_000


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses nesting deeper than :data:`MAX_DEPTH` while composing
    (the pure-Python composer recurses once per level: thousands of levels overflow the stack)."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _read_text(path: str | Path) -> str:
    """The file's text: at most :data:`MAX_FILE_BYTES`, UTF-8 (a BOM is allowed)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CaseError(f"{path}: cannot read the file ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise CaseError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; a case or study file is a few "
                        "kB of YAML")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CaseError(f"{path}: the file is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CaseError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); save the "
                        "file as UTF-8") from None


def _count_nodes(obj: Any, path: str | Path) -> None:
    """Refuse a document with more than :data:`MAX_NODES` values once aliases are expanded."""
    stack, n = [obj], 0
    while stack:
        item = stack.pop()
        n += 1
        if n > MAX_NODES:
            raise CaseError(f"{path}: more than {MAX_NODES} values once YAML aliases are expanded; "
                            "a case file is a few dozen keys")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a case (or study) file into a mapping; errors are :class:`CaseError`.

    The file is bounded before it is parsed: at most :data:`MAX_FILE_BYTES` of UTF-8 text, nesting at
    most :data:`MAX_DEPTH` deep and :data:`MAX_NODES` values with aliases expanded.
    """
    text = _read_text(path)
    try:
        raw = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader subclass)
    except _TooDeep as exc:
        raise CaseError(f"{path}: YAML nested more than {MAX_DEPTH} levels deep at line {exc.line}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CaseError(f"{path}: invalid YAML{where}: {problem}") from None
    except (ValueError, RecursionError) as exc:   # e.g. an integer of more than 4300 digits
        raise CaseError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case file must be a mapping of keys (name, architecture, ...)")
    _count_nodes(raw, path)
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
        if isinstance(parsed, bool) and value.strip().lower() not in ("true", "false"):
            parsed = value.strip()      # YAML 1.1 reads yes/no/on/off as booleans: --set name=no is a name
        _set_dotted(out, key, parsed, f"--set {item!r}", remove_none=False)
    return out


def _set_dotted(out: dict[str, Any], key: str, value: Any, where: str, remove_none: bool = True) -> None:
    """Set ``out[a][b][c] = value`` for ``key`` "a.b.c", creating mappings on the way (with
    ``remove_none``, a value of None removes the key; ``--set key=null`` keeps an explicit null)."""
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise CaseError(f"{where}: {part} is not a mapping in the case")
        node = nxt
    if value is None and remove_none:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def set_keys(raw: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with ``{"geometry.pitch": 45}``-style dotted keys set to Python values
    (``None`` removes the key). The Python counterpart of :func:`apply_overrides`."""
    out = json.loads(json.dumps(raw, default=str))
    for key, value in overrides.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", key):
            raise CaseError(f"{key!r}: expected a dotted case key, e.g. geometry.pitch")
        _set_dotted(out, key, None if value is None else json.loads(json.dumps(value, default=str)), key)
    return out


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict | list):
        s = json.dumps(v, default=str)
        return s if len(s) < 60 else s[:57] + "..."
    return str(v)


def _pydantic_message(err: ValidationError, prefix: str = "", root: type[BaseModel] | None = None) -> str:
    """One line for the first error of a validation (``prefix``: the dotted key of the block that
    ``root`` validated, for a block validated on its own)."""
    errors = err.errors()
    e = errors[0]
    # pydantic puts the member type of a union in loc ("str", "dict[str,any]"): keep only keys
    def is_key(p: Any) -> bool:
        return isinstance(p, int) or (re.fullmatch(r"[A-Za-z_]\w*", p) is not None
                                      and p not in ("str", "int", "float"))

    loc = ".".join([prefix] * bool(prefix) + [str(p) for p in e["loc"] if is_key(p)])
    typ, msg = e["type"], e["msg"]
    if typ == "extra_forbidden":
        parent = e["loc"][:-1]
        model = root or CaseModel
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
        raw_json = json.dumps(raw, default=str, sort_keys=True)
    except ValueError as exc:
        raise CaseError(f"the case is not a plain mapping of keys: {exc}") from None
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
    if model.mesh.interface_size is None:       # the architecture's default (size / 4, or finer)
        isize = _round(params.default_interface_size(model.mesh.size * 1e-6) * 1e6)
        model = model.model_copy(update={"mesh": model.mesh.model_copy(update={"interface_size": isize})})
    try:
        params.check_build(domain, case_options(model))
    except ParameterError as exc:
        raise CaseError(str(exc)) from None
    mesh = model.mesh
    if mesh.interface_size is not None and mesh.interface_size > mesh.size:
        raise CaseError(f"mesh.interface_size = {mesh.interface_size}: must be <= mesh.size ({mesh.size})")
    footprint, height = params.box(domain)
    check_work(model, footprint * height, lattice=arch.implicit)
    physics = _physics(model.physics)
    _check_periodic(arch, params, domain, physics.model)
    model = model.model_copy(update={"physics": physics})
    materials = _materials(model, params)
    physics.check(materials)
    return Case(model, arch, params, domain, MappingProxyType(materials), raw_json, physics.si(), _mesh_si(model))


def _check_periodic(arch, params, domain: Domain, name: str) -> None:
    """A periodic cell needs a model that joins its periodic faces (``Model.periodic``)."""
    from . import models  # noqa: PLC0415

    if params.periodic(domain) and not models.get(name).periodic:
        solvers = [m for m in models.names() if models.get(m).periodic]
        raise CaseError(f"physics.model = {name}: does not solve periodic cells yet, and this {arch.name} unit cell "
                        f"is periodic; use physics.model: {' or '.join(solvers)}, or {params.NOT_PERIODIC}")


def _mesh_si(model: CaseModel) -> SI:
    m = model.mesh
    return SI(MappingProxyType({"size": m.size * 1e-6, "interface_size": hi_um(model) * 1e-6, "order": m.order,
                                "thin_layer_limit": m.thin_layer_limit * 1e-6, "max_elements": m.max_elements}))


def _physics(raw: Any) -> PhysicsBase:
    """Validate a ``physics:`` mapping against the spec of its ``model`` (a discriminated union over
    the registered models, :mod:`mb3d.models`), fill in its defaults and check its rules. A key of
    another model is named as such."""
    from . import models  # noqa: PLC0415

    if isinstance(raw, PhysicsBase):
        return raw
    name = raw.get("model", "primary")
    try:
        spec = models.get(name).spec if isinstance(name, str) else None
    except KeyError:
        spec = None
    if spec is None:
        raise CaseError(f"physics.model = {_fmt_value(name)}: unknown; known: {', '.join(models.names())}")
    # an explicit null for another model's key (``--set physics.voltage=null``) means "not given"
    raw = {k: v for k, v in raw.items() if v is not None or k in spec.model_fields}
    for key in raw:
        if key in spec.model_fields:
            continue
        owner = next((m for m in models.names() if m != name and key in models.get(m).spec.model_fields), None)
        if owner is None:
            continue
        other = models.get(owner).spec
        try:
            value = getattr(other.model_validate({"model": owner, key: raw[key]}), key)
        except ValidationError as exc:
            raise CaseError(_pydantic_message(exc, "physics", other)) from None
        raise CaseError(f"physics.{key} = {_fmt_value(value)}: only used by the {owner} model (physics.model: "
                        f"{owner}); the {name} model takes {spec.takes or ', '.join(spec.model_fields)} "
                        f"(remove the key, or --set physics.{key}=null)")
    try:
        return spec.model_validate(raw).complete()
    except ValidationError as exc:
        raise CaseError(_pydantic_message(exc, "physics", spec)) from None


def case_options(model: CaseModel) -> dict[str, float]:
    """Mesh settings that geometry rules may depend on, SI (metres)."""
    m = model.mesh
    isize = hi_um(model)
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
            if f.unit == "um":
                for v, si in zip(value, kwargs[key]):
                    _length_range(f"geometry.{key}", v, si)
        else:
            if isinstance(f.default, list):
                raise CaseError(f"geometry.{key} = {_fmt_value(value)}: must be a list [x, y] of {f.rule}")
            try:
                kwargs[key] = to_si(value, f.unit or "dimensionless", f"geometry.{key}")
            except QuantityError as exc:
                raise CaseError(str(exc)) from None
            if f.unit == "um":
                _length_range(f"geometry.{key}", value, kwargs[key])
    try:
        return arch.params(**kwargs)
    except ParameterError as exc:
        raise CaseError(str(exc)) from None


def _length_range(key: str, value: Any, si: float) -> None:
    """A nonzero length must lie in :data:`LENGTHS` (zero and negative lengths are left to
    the architecture's rules, which say why they are wrong)."""
    if si > 0 and not LENGTHS.contains(si * 1e6):
        raise CaseError(f"{key} = {_fmt_value(value)}: a length must be {LENGTHS.rule()}")


#: tetrahedra per h^3 of volume in a gmsh mesh of target size h: 4.7 in a uniform mesh (coaxial
#: cell); the estimate below over the committed cases gives 3.9-5.9 x (V/h^3 + band). The lower
#: value keeps the estimate below the real count: a refused case is surely too large.
TETS_PER_H3 = 4.0


def hi_um(model: CaseModel) -> float:
    """``mesh.interface_size`` with its default (``mesh.size / 4``), um."""
    m = model.mesh
    return m.interface_size if m.interface_size is not None else _round(m.size / 4)


#: Kuhn tetrahedra per lattice cube of the implicit (sponge) mesher; cutting by the level sets adds
#: more (9.4-11.3 per cube on the committed sponge cases)
TETS_PER_CUBE = 6


def estimated_elements(model: CaseModel, volume_m3: float, interface_area_m2: float = 0.0,
                       lattice: bool = False) -> float:
    """Tetrahedra a mesh of ``volume_m3`` with ``interface_area_m2`` of electrode interfaces needs.

    ``lattice``: the implicit mesher (sponge) fills the volume with cubes of side h_i, each cut into
    :data:`TETS_PER_CUBE` tetrahedra or more.

    The bulk has size h (``mesh.size``); around the interfaces (both sides) gmsh's size grows
    linearly from h_i (``mesh.interface_size``) to h over a distance 2h, which adds
    A int_0^2h dd / s(d)^3 - 2h A / h^3 = A ((h + h_i) / (h_i^2 h) - 2 / h^2) per side. Without the
    interface area (before the geometry is built) this is the bulk term alone, a lower bound.
    """
    h = model.mesh.size * 1e-6
    hi = hi_um(model) * 1e-6
    if lattice:
        return TETS_PER_CUBE * volume_m3 / hi ** 3
    per_volume = volume_m3 / h ** 3
    if hi < h:
        per_volume += 2 * interface_area_m2 * ((h + hi) / (hi ** 2 * h) - 2 / h ** 2)
    return TETS_PER_H3 * min(per_volume, volume_m3 / hi ** 3)


def check_work(model: CaseModel, volume_m3: float, interface_area_m2: float = 0.0,
               lattice: bool = False) -> float:
    """Refuse a mesh that would exceed ``mesh.max_elements`` (estimated before any meshing); return
    the estimate."""
    n = estimated_elements(model, volume_m3, interface_area_m2, lattice)
    if n > model.mesh.max_elements:
        what = f"{volume_m3 * 1e18:.4g} um3" + (f" with {interface_area_m2 * 1e12:.4g} um2 of interfaces"
                                               if interface_area_m2 else "")
        key = f"mesh.interface_size = {hi_um(model):g}" if lattice else f"mesh.size = {model.mesh.size:g}"
        raise CaseError(f"{key}: the model ({what}) would need about {n:.3g} "
                        f"tetrahedra, more than mesh.max_elements = {model.mesh.max_elements} (enlarge "
                        "mesh.size or mesh.interface_size, model a smaller domain, or raise mesh.max_elements)")
    return n


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
        _length_range(f"{k}.thickness", item["thickness"], t)
        out.append(Layer(item["role"], item["material"], t))
    return tuple(out)


def _materials(model: CaseModel, params: Any) -> dict[str, Material]:
    """Resolve the three materials, and those of the other films of a layer stack (barrier, collector:
    by role, overrides kept); a stack names its materials in its layers, and a ``materials:`` entry
    that names another material for the same role is an error."""
    specs: dict[str, tuple[Any, str]] = {role: (getattr(model.materials, role), f"materials.{role}")
                                         for role in ("electrolyte", "anode", "cathode")}
    for i, layer in enumerate(getattr(params, "layers", ()) or ()):
        key = f"geometry.layers[{i}].material"
        if layer.role in specs and layer.role in model.materials.model_fields_set \
                and specs[layer.role][0] != layer.material:
            raise CaseError(f"materials.{layer.role} = {_fmt_value(specs[layer.role][0])}: conflicts with "
                            f"{key} = {_fmt_value(layer.material)}; name the material in one place")
        specs[layer.role] = (layer.material, key)   # barrier, collector: a library name or a mapping too
    try:
        return {role: resolve(spec, role, key) for role, (spec, key) in specs.items()}
    except QuantityError as exc:
        raise CaseError(str(exc)) from None


def load_case_file(path: str | Path, sets: list[str] | None = None) -> Case:
    """Read, override and validate a case file (see :func:`load_case`)."""
    return load_case(apply_overrides(read_yaml(path), sets or []))
