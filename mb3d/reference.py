"""The case-file reference (``docs/reference.md``), generated from the schema itself.

Every key's unit, default and valid range come from the objects that check them: the pydantic models
of :mod:`mb3d.case` (with their :class:`~solvers.units.Range` metadata), the material property table
:data:`solvers.materials.PROPERTIES` and each architecture's parameter record. A test compares the
committed file with :func:`markdown`, so the documentation cannot drift from the code.

Regenerate with ``python -m mb3d.reference > docs/reference.md``.
"""
from __future__ import annotations

import typing

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from geom3d import registry
from solvers.materials import PROPERTIES, REQUIRED

from . import case, models

BLOCKS = (("mesh", case.MeshSpec), ("array", case.ArraySpec))


def _rule(model: type[BaseModel], key: str) -> tuple[str, str]:
    """Unit and valid values of a field of a case block."""
    f = model.model_fields[key]
    r = case.field_range(model, key)
    if r is not None:
        return r.unit, r.rule().removeprefix("in ").removesuffix(f" {r.unit}")
    bounds = {type(m): m for m in f.metadata if isinstance(m, (Ge, Gt, Le, Lt))}
    if bounds:
        lo = f"[{bounds[Ge].ge}" if Ge in bounds else f"({bounds[Gt].gt}" if Gt in bounds else "(-inf"
        hi = f"{bounds[Le].le}]" if Le in bounds else f"{bounds[Lt].lt})" if Lt in bounds else "inf)"
        kind = "integer" if f.annotation is int else "number"
        return "-", f"{kind} in {lo}, {hi}"
    annotation = f.annotation
    literals = [a for a in typing.get_args(annotation) if typing.get_origin(a) is typing.Literal]
    if typing.get_origin(annotation) is typing.Literal:
        literals = [annotation]
    if literals:
        return "-", "one of " + ", ".join(str(v) for v in typing.get_args(literals[0]))
    if bool in typing.get_args(annotation) or annotation is bool:
        return "-", "true or false"
    return "-", ""


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def _block(name: str, model: type[BaseModel], title: str | None = None, skip: tuple[str, ...] = ()) -> list[str]:
    rows = [title or f"### `{name}:`", "", "| key | unit | default | valid values | meaning |", "|---|---|---|---|---|"]
    for key, f in model.model_fields.items():
        if key in skip:
            continue
        unit, rule = _rule(model, key)
        default = "-" if f.default is None else f"{f.default}"
        rows.append(f"| `{name}.{key}` | {unit} | {default} | {rule} | {f.description or ''} |")
    return rows + [""]


def _physics() -> list[str]:
    """The ``physics:`` block: ``model`` picks a registered model; each model's keys."""
    rows = ["### `physics:`", "",
            f"`physics.model` picks the physics model (default primary): one of {', '.join(models.BUILTIN)} "
            "(`mb3d list`; `mb3d describe MODEL` prints the same tables). Each model takes its own keys; a key "
            "of another model is an error.", ""]
    for name in models.BUILTIN:
        m = models.get(name)
        rows += _block("physics", m.spec, f"#### `physics.model: {name}`: {m.summary}", skip=("model",))
    return rows


def _materials() -> list[str]:
    rows = ["## Material properties", "",
            "Give them in a `materials:` mapping (`{base: LiPON, conductivity: \"3 uS/cm\"}`) or a library "
            "file. A number is read in the unit below; a string may carry any unit of the same dimension.", ""]
    for kind, props in PROPERTIES.items():
        rows += [f"### {kind}", "", "| property | unit | default | valid range | meaning |", "|---|---|---|---|---|"]
        for name, p in props.items():
            default = ("required" if name in REQUIRED[kind] else "-") if p.default is None else f"{p.default}"
            rng = p.rule().removeprefix("in ").removesuffix(f" {p.unit}") if p.unit else p.rule().removeprefix("in ")
            rows.append(f"| `{name}` | {p.unit or '-'} | {default} | {rng} | {p.doc} |")
        rows.append("")
    return rows


def _architectures() -> list[str]:
    rows = ["## Geometry keys by architecture", "",
            f"Every nonzero length must lie in {case.LENGTHS.rule()}; the rules name the other keys they "
            "depend on. `mb3d describe ARCH` prints the same table.", ""]
    for arch in registry.ARCHITECTURES.values():
        rows += [f"### {arch.name}", "", f"{arch.summary.rstrip('.')}. Domains: {', '.join(arch.domains)}.", "",
                 "| key | unit | default | rule | meaning |", "|---|---|---|---|---|"]
        for f in arch.params.describe():
            if f.layers:
                default = "; ".join(f"{d['role']} {d['material']} {d['thickness']:g} um" for d in f.default)
            else:
                default = "(follows from other keys)" if f.default is None else f"{f.default}"
            rows.append(f"| `geometry.{f.name}` | {f.unit or '-'} | {_cell(default)} | {_cell(f.rule)} | {_cell(f.doc)} |")
        rows.append("")
    return rows


def markdown() -> str:
    """The reference as Markdown."""
    rows = ["# Case file reference", "",
            "Generated from the schema by `python -m mb3d.reference` (do not edit by hand). The format "
            "itself is described in [the case format](formats/case.md); this page lists every key with its unit, "
            "default and valid range, as `mb3d validate` checks them.", "",
            "## The file", "",
            f"- UTF-8 text (a byte-order mark is allowed), at most {case.MAX_FILE_BYTES // 1024} KiB, nested at "
            f"most {case.MAX_DEPTH} levels, at most {case.MAX_NODES} values once YAML aliases are expanded.",
            "- A quantity is a number (in the unit of its key) or a string with one number and at most one "
            "unit: `\"2.3 uS/cm\"`, `\"500 nm\"`; `\"50 um 3\"` or `\"(40\"` are errors.",
            "- `name` is a plain folder name (`out/<name>/`): letters, digits, `_ - . +`, not starting "
            "with `.`, `-` or `+`, at most 120 characters.",
            f"- Before meshing, the tetrahedron count is estimated from the volumes and interface areas "
            f"and a case that needs more than `mesh.max_elements` (default {case.MAX_ELEMENTS}) is refused.",
            "", "## Case keys", "", "| key | default | valid values |", "|---|---|---|",
            "| `name` | required | a plain folder name (above) |",
            f"| `architecture` | required | one of {', '.join(registry.ARCHITECTURES)} |",
            "| `domain` | unit_cell | one of unit_cell, array (array: see `array:` below) |"]
    for role, default in case.MaterialsSpec().model_dump().items():
        rows.append(f"| `materials.{role}` | {default} | a library name (`mb3d materials`) or a mapping "
                    "(properties below) |")
    rows.append("")
    rows += _physics()
    for name, model in BLOCKS:
        rows += _block(name, model)
    return "\n".join(rows + _materials() + _architectures()).rstrip() + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
