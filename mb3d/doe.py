"""Design-of-experiments batches (``docs/formats/study.md``): ``mb3d doe STUDY.yaml``.

A study is a base case, factors (dotted case keys with ``levels`` or a ``range``), a design
(``full_factorial``, ``latin_hypercube`` and ``sobol`` from :mod:`scipy.stats.qmc`, or an explicit
``list``), constraints (expressions over the factors) and the responses to summarise.

Every point becomes a case, identified by its case hash; its outputs go to a readable folder
``cases/0007-pitch45-anode_radius8`` (:func:`case_folder`) and ``study.pvd`` indexes them for
ParaView. Cases run in isolation, locally in a process pool
or on a Dask cluster (``--scheduler``); a case that fails (bad geometry, mesher, solver, timeout) is a
``failed`` row with its message and the batch goes on. Each finished case is one transaction in
``results.sqlite``; running the same study again skips the hashes already there, so an interrupted
batch loses nothing it finished. Cases that share geometry and mesh reuse the mesh within a worker
(:data:`mb3d.pipeline.MESH_CACHE`).

A ``sobol`` design is SALib's Saltelli design with second order: N base points (``samples`` rounded up
to a power of 2) give N (2d + 2) points, from which the summary estimates first-, second- and
total-order Sobol indices with bootstrap confidence intervals (:mod:`mb3d.sensitivity`).
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import operator
import os
import queue
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from solvers.units import QuantityError, from_si, to_si

from .case import CaseError, MaterialsSpec, load_case, plain_name, read_yaml

DEFAULT_RESPONSES = ["solution.asr_ohm_cm2", "geometry.area_gain.anode", "geometry.area_gain.cathode",
                     "geometry.capacity_uAh_cm2", "solution.current_density_mA_cm2.cathode.cov"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(_Strict):
    """``levels: [...]`` or ``range: [lo, hi]``; a range may be whole numbers (``integer: true``), on
    a grid (``step``, an extension of the study format) or sampled on a log scale (``log: true``)."""

    levels: list[Any] | None = None
    range: list[Any] | None = Field(None, min_length=2, max_length=2)
    integer: bool = False
    log: bool = False
    step: float | None = Field(None, gt=0)


class Design(_Strict):
    kind: Literal["full_factorial", "latin_hypercube", "sobol", "list"] = "full_factorial"
    samples: int = Field(16, ge=1, le=100000)
    seed: int = 0
    points: list[dict[str, Any]] = Field(default_factory=list)


class PlotSpec(_Strict):
    """One scatter plot of summary.html: factor or response keys on the axes, optionally a colour."""

    x: str
    y: str
    color: str | None = None


class SummarySpec(_Strict):
    """``summary:`` block: the plots of summary.html and the factors that label its points."""

    plots: list[PlotSpec] = Field(default_factory=list)
    label: list[str] | None = None     # factor keys shown next to each point (default: every factor)


class Objective(_Strict):
    """One objective of ``optimize:``: ``{maximize: KEY}`` or ``{minimize: KEY}``."""

    maximize: str | None = None
    minimize: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Objective:
        if (self.maximize is None) == (self.minimize is None):
            raise ValueError("give one of maximize: RESPONSE or minimize: RESPONSE")
        return self

    @property
    def response(self) -> str:
        return self.maximize or self.minimize

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"


def _seconds(value: Any) -> float | None:
    """A timeout: seconds, or a time quantity (``2 h``, ``30 min``)."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        seconds = value
    else:
        try:
            seconds = to_si(str(value), "s", "optimize.timeout")
        except QuantityError as exc:
            raise ValueError(str(exc)) from None
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{value!r}: must be a positive time (seconds, or e.g. '2 h')")
    return None if seconds is None else float(seconds)


class OptimizeSpec(_Strict):
    """``optimize:`` block of a study (``mb3d optimize``): objectives, constraints on responses
    (``solution.asr_ohm_cm2 < 800``), the budget (``trials``; ``timeout`` in seconds or ``2 h``), the
    seeded sampler (``tpe`` default, ``nsga2``, ``gp`` (needs PyTorch), ``random``) and, an extension
    of the study format, ``startup_trials`` (random trials before the sampler models)."""

    objectives: list[Objective] = Field(min_length=1, max_length=4)
    constraints: list[str] = Field(default_factory=list)
    trials: int = Field(ge=1, le=100000)
    timeout: Annotated[float | None, BeforeValidator(_seconds)] = None
    sampler: Literal["tpe", "nsga2", "gp", "random"] = "tpe"
    seed: int = 0
    startup_trials: int | None = Field(None, ge=1, le=10000)


class StudyModel(_Strict):
    name: Annotated[str, AfterValidator(plain_name)] = Field(min_length=1, max_length=120)
    base: str | dict[str, Any]
    factors: dict[str, Factor]
    design: Design = Design()
    constraints: list[str] = Field(default_factory=list)
    responses: list[str] = Field(default_factory=lambda: list(DEFAULT_RESPONSES))
    summary: SummarySpec = SummarySpec()
    optimize: OptimizeSpec | None = None


@dataclass(frozen=True)
class Point:
    """One case of a study: its index, factor values, the raw case and its hash (or the reason it
    cannot be a case)."""

    index: int
    factors: dict[str, Any]
    raw: dict[str, Any]
    case_hash: str
    error: str | None = None


@dataclass(frozen=True)
class Study:
    model: StudyModel
    base: dict[str, Any]
    points: tuple[Point, ...]
    dropped: int
    saltelli: dict[str, Any] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.model.name


# --- factors and designs -------------------------------------------------------------------------
def _range_values(key: str, spec: list[Any]) -> tuple[float, float, str | None]:
    """A range as two magnitudes and the unit they were written in (None: bare numbers)."""
    from solvers.units import registry  # noqa: PLC0415

    lo, hi = spec
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
        unit = None
        a, b = float(lo), float(hi)
    else:
        try:
            q0, q1 = (registry().Quantity(str(v).replace("µ", "u")) for v in (lo, hi))
            unit = str(lo).split(maxsplit=1)[1] if isinstance(lo, str) and len(str(lo).split()) > 1 else str(q0.units)
            a, b = float(q0.to(unit).magnitude), float(q1.to(unit).magnitude)
        except Exception:  # noqa: BLE001  (pint raises many kinds)
            raise CaseError(f"factors.{key}.range = {spec}: must be two numbers or two quantities of the "
                            "same dimension") from None
    if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
        raise CaseError(f"factors.{key}.range = {spec}: must be [low, high] with low < high")
    return a, b, unit


def _value(x: float, unit: str | None) -> Any:
    x = float(f"{x:.10g}")
    return x if unit is None else f"{x} {unit}"


def _map_unit(key: str, f: Factor, u: np.ndarray) -> list[Any]:
    """Map unit-interval samples to factor values."""
    if f.levels is not None:
        idx = np.minimum((u * len(f.levels)).astype(int), len(f.levels) - 1)
        return [f.levels[i] for i in idx]
    a, b, unit = _range_values(key, f.range)
    x = a * (b / a) ** u if f.log and a > 0 else a + (b - a) * u
    if f.step is not None or f.integer:
        step = f.step or 1.0
        x = np.clip(a + np.round((x - a) / step) * step, a, b)
    if f.integer:
        return [int(round(v)) if unit is None else _value(round(v), unit) for v in x]
    return [_value(v, unit) for v in x]


def design_points(model: StudyModel) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The factor values of every point, and for ``sobol`` the Saltelli layout."""
    from scipy.stats import qmc  # noqa: PLC0415

    keys = list(model.factors)
    d, kind = len(keys), model.design.kind
    for k, f in model.factors.items():
        if (f.levels is None) == (f.range is None):
            raise CaseError(f"factors.{k}: give either levels or range")
        if f.levels is not None and not f.levels:
            raise CaseError(f"factors.{k}.levels: must not be empty")
    if kind == "full_factorial":
        for k, f in model.factors.items():
            if f.levels is None:
                raise CaseError(f"factors.{k}: full_factorial needs levels (a range needs latin_hypercube "
                                "or sobol)")
        return [dict(zip(keys, combo)) for combo in itertools.product(*(f.levels for f in model.factors.values()))], None
    if kind == "list":
        pts = model.design.points
        if not pts:
            raise CaseError("design.points: a list design needs at least one point")
        for i, p in enumerate(pts):
            extra = set(p) - set(keys)
            if extra:
                raise CaseError(f"design.points[{i}].{sorted(extra)[0]}: not a factor of this study")
        return [dict(p) for p in pts], None
    n = model.design.samples
    if kind == "latin_hypercube":
        u = qmc.LatinHypercube(d=d, seed=model.design.seed).random(n)
        cols = [_map_unit(k, model.factors[k], u[:, j]) for j, k in enumerate(keys)]
        return [dict(zip(keys, vals)) for vals in zip(*cols)], None
    # sobol: SALib's Saltelli design with second order (n rounded up to a power of 2)
    from .sensitivity import saltelli_unit  # noqa: PLC0415

    allu = saltelli_unit(d, n, model.design.seed)
    N = len(allu) // (2 * d + 2)
    cols = [_map_unit(k, model.factors[k], allu[:, j]) for j, k in enumerate(keys)]
    return [dict(zip(keys, vals)) for vals in zip(*cols)], {"N": N, "d": d, "factors": keys, "second_order": True}


# --- constraints ---------------------------------------------------------------------------------
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Lt: operator.lt,
        ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
        ast.NotEq: operator.ne}


def compile_constraint(expr: str, keys: Iterable[str], units: dict[str, str | None] | None = None,
                       numeric: bool = False) -> Callable[[dict[str, Any]], Any]:
    """A safe evaluator for ``geometry.anode_radius < 0.45 * geometry.pitch`` (numbers, factor names,
    arithmetic, comparisons, and/or/not).

    A factor value is a number in the unit the case format reads its key in (``units``: um for
    lengths, V, degC ...), so ``"0.05 mm"`` is compared as 50 (um), like a bare 50 in the
    constraint; a quantity whose key takes no unit is an error. With ``numeric`` the evaluator
    returns the expression's value (an arithmetic expression) instead of a truth value.
    """
    units = units or {}
    names = {k.replace(".", "__"): k for k in keys}
    src = expr
    for k in sorted(keys, key=len, reverse=True):
        src = src.replace(k, k.replace(".", "__"))
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise CaseError(f"constraints: {expr!r}: not an expression") from None

    def ev(node: ast.AST, env: dict[str, Any]) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body, env)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Attribute):
            raise CaseError(f"constraints: {expr!r}: {ast.unparse(node)} is not a factor")
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise CaseError(f"constraints: {expr!r}: {node.id.replace('__', '.')} is not a factor")
            return env[names[node.id]]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left, env), ev(node.right, env))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand, env))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not ev(node.operand, env)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v, env) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare):
            left = ev(node.left, env)
            for op, right_node in zip(node.ops, node.comparators):
                right = ev(right_node, env)
                if not _OPS[type(op)](left, right):
                    return False
                left = right
            return True
        raise CaseError(f"constraints: {expr!r}: only numbers, factors, arithmetic and comparisons")

    # check names now, with neutral values
    ev(tree, {k: 1.0 for k in keys})

    used = [names[n.id] for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in names]

    def check(values: dict[str, Any]) -> bool:
        env = {}
        for k in used:
            v = values[k]
            if isinstance(v, str):
                if units.get(k) is None:
                    raise CaseError(f"constraints: {expr!r}: {k} = {v!r} is not a number")
                try:   # a quantity ("0.05 mm"): its value in the unit the case format reads the key in
                    v = from_si(to_si(v, units[k], k), units[k])
                except QuantityError as exc:
                    raise CaseError(f"constraints: {expr!r}: {exc}") from None
            env[k] = v
        value = ev(tree, env)
        return float(value) if numeric else bool(value)

    return check


def case_units(base: dict[str, Any], keys: Iterable[str]) -> dict[str, str | None]:
    """The unit the case format reads each factor key in (``um`` for lengths, ``V``, ``degC``,
    ``S/cm`` ...; ``dimensionless`` for plain numbers), None for keys that take no quantity."""
    from geom3d import registry  # noqa: PLC0415
    from solvers.materials import PROPERTIES  # noqa: PLC0415

    from . import models  # noqa: PLC0415
    from .case import MeshSpec, field_range  # noqa: PLC0415

    def spec_unit(model: Any, name: str) -> str | None:
        r = field_range(model, name)
        return None if r is None else r.unit

    out: dict[str, str | None] = {}
    for key in keys:
        parts = key.split(".")
        unit = None
        if parts[0] == "geometry" and len(parts) == 2:
            try:
                fields = {f.name: f for f in registry.get(str(base.get("architecture"))).params.describe()}
            except KeyError:
                fields = {}
            f = fields.get(parts[1])
            unit = None if f is None or f.unit is None else (f.unit or "dimensionless")
        elif parts[0] == "physics" and len(parts) == 2:
            physics = base.get("physics") if isinstance(base.get("physics"), dict) else {}
            try:
                unit = spec_unit(models.get(str(physics.get("model", "primary"))).spec, parts[1])
            except KeyError:    # an unknown model: the case check names it
                unit = None
        elif parts[0] == "mesh" and len(parts) == 2:
            unit = spec_unit(MeshSpec, parts[1])
        elif parts[0] == "materials" and len(parts) == 3:
            kind = "electrolyte" if parts[1] == "electrolyte" else "electrode"
            prop = PROPERTIES[kind].get(parts[2])
            unit = None if prop is None else (prop.unit or "dimensionless")
        out[key] = unit
    return out


# --- loading ---------------------------------------------------------------------------------------
def read_study(path: str | Path) -> tuple[StudyModel, dict[str, Any]]:
    """Read and check a study file: its model and its base case (``expected:`` dropped)."""
    path = Path(path)
    raw = read_yaml(path)
    try:
        model = StudyModel.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise CaseError(f"{loc}: {e['msg'].removeprefix('Value error, ')}") from None
    if isinstance(model.base, str):
        base_path = (path.parent / model.base).resolve()
        base = read_yaml(base_path)
    else:
        base = dict(model.base)
    base.pop("expected", None)
    for k, f in model.factors.items():
        if not k.split(".")[0] in ("geometry", "materials", "physics", "mesh", "domain", "array"):
            raise CaseError(f"factors.{k}: not a case key (geometry.*, materials.*, physics.*, mesh.*)")
        if f.range is not None and (f.log or f.integer or f.step is not None):
            lo, hi, _ = _range_values(k, f.range)
            if f.log and lo <= 0:
                raise CaseError(f"factors.{k}.range = {f.range}: a log scale needs a positive low end")
            if f.integer and not (float(lo).is_integer() and float(hi).is_integer()):
                raise CaseError(f"factors.{k}.range = {f.range}: type int needs whole-number ends")
    return model, base


def load_study(path: str | Path) -> Study:
    """Read and check a study file; build every point's case (invalid points carry their error)."""
    model, base = read_study(path)
    keys = list(model.factors)
    _check_summary(model)
    values, saltelli = design_points(model)
    units = case_units(base, keys)
    checks = [compile_constraint(c, keys, units) for c in model.constraints]
    # a factor key must exist in the case format: probe with the first point
    points, dropped = [], 0
    for i, vals in enumerate(values):
        try:
            if not all(c(vals) for c in checks):
                dropped += 1
                continue
        except (TypeError, ValueError) as exc:
            raise CaseError(f"constraints: cannot evaluate at point {i}: {exc}") from None
        rawcase = _apply(base, vals)
        rawcase["name"] = f"{model.name}-{i:04d}"
        try:
            h = load_case(rawcase).hash()
            err = None
        except CaseError as exc:
            h, err = _fallback_hash(rawcase), str(exc)
            for k in keys:   # a factor that names no case key stops the study before anything runs
                if "unknown key" in err and err.startswith(k.rsplit(".", 1)[0]) and k.split(".")[-1] in err:
                    raise CaseError(f"factors.{k}: {err}") from None
        points.append(Point(i, vals, rawcase, h, err))
    if not points:
        raise CaseError("constraints: every point of the design breaks a constraint; nothing to run")
    return Study(model, base, tuple(points), dropped, saltelli)


def _check_summary(model: StudyModel) -> None:
    """Plot axes are factors or responses; labels are factors."""
    known = set(model.factors) | set(model.responses)
    for i, plot in enumerate(model.summary.plots):
        for axis in ("x", "y", "color"):
            key = getattr(plot, axis)
            if key is not None and key not in known:
                raise CaseError(f"summary.plots[{i}].{axis} = {key!r}: not a factor or a response of this study "
                                f"({', '.join(sorted(known))})")
    for key in model.summary.label or []:
        if key not in model.factors:
            raise CaseError(f"summary.label: {key!r} is not a factor ({', '.join(model.factors)})")


def _apply(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The base case with the factor values set. A factor on a property of a material given by its
    library name (``materials.electrolyte.conductivity`` with ``electrolyte: LiPON``) turns the entry
    into ``{base: LiPON, conductivity: ...}``."""
    out = json.loads(json.dumps(base, default=str))
    for key, v in values.items():
        node = out
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            if parts[0] == "materials" and depth == 1 and len(parts) == 3:
                entry = node.get(part, MaterialsSpec().model_dump().get(part))
                if isinstance(entry, str):
                    node[part] = {"base": entry}
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise CaseError(f"factors.{key}: {part} is not a mapping in the base case")
        node[parts[-1]] = v
    return out


def _fallback_hash(raw: dict[str, Any]) -> str:
    import hashlib  # noqa: PLC0415

    r = {k: v for k, v in raw.items() if k != "name"}
    return "invalid-" + hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()


# --- the results store -----------------------------------------------------------------------------
class Store:
    """``results.sqlite``: one row per case, written in one transaction when the case ends.

    A file that is not an SQLite database, or one without mb3d's ``runs`` table, is refused
    (:class:`StudyError`) rather than overwritten: it may hold hours of results.
    """

    COLUMNS = ["case_hash", "idx", "status", "error", "seconds", "factors", "results"]

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=60)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("""CREATE TABLE IF NOT EXISTS runs (
                case_hash TEXT PRIMARY KEY, idx INTEGER, status TEXT NOT NULL, error TEXT,
                seconds REAL, factors TEXT NOT NULL, results TEXT)""")
            self.db.commit()
            columns = [r[1] for r in self.db.execute("PRAGMA table_info(runs)")]
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StudyError(f"{path}: not a results store ({exc}); move it away (or delete it to start the "
                             "study again) and rerun") from None
        if columns != self.COLUMNS:
            self.db.close()
            raise StudyError(f"{path}: its runs table has columns {columns}, not mb3d's; move it away and rerun")

    def done(self, ok_only: bool = False) -> set[str]:
        """Hashes of the stored cases (only the successful ones with ``ok_only``)."""
        sql = "SELECT case_hash FROM runs" + (" WHERE status = 'ok'" if ok_only else "")
        return {r[0] for r in self.db.execute(sql)}

    def add(self, row: dict[str, Any]) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (row["case_hash"], row["index"], row["status"], row.get("error"), row.get("seconds"),
                             json.dumps(row["factors"]), json.dumps(row.get("results"))))

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for h, idx, status, err, sec, fac, res in self.db.execute(
                "SELECT case_hash, idx, status, error, seconds, factors, results FROM runs ORDER BY idx"):
            out.append({"case_hash": h, "index": idx, "status": status, "error": err, "seconds": sec,
                        "factors": json.loads(fac), "results": json.loads(res) if res else None})
        return out

    def close(self) -> None:
        self.db.close()


def flatten(record: Any, prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a results record, by dotted key (lists and the case block left out)."""
    out: dict[str, float] = {}
    if isinstance(record, dict):
        for k, v in record.items():
            if prefix == "" and k in ("case",):
                continue
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(record, bool):
        out[prefix[:-1]] = float(record)
    elif isinstance(record, (int, float)) and math.isfinite(record):
        out[prefix[:-1]] = float(record)
    return out


# --- one case ----------------------------------------------------------------------------------------
def case_folder(point: Point) -> str:
    """A case's folder in the study folder, readable: ``cases/0007-pitch45-radius8`` (the index, then
    each factor's last key and its value; the case hash is in its results.json)."""
    parts = [f"{point.index:04d}"]
    for key, value in point.factors.items():
        v = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(re.sub(r"[^A-Za-z0-9._+]+", "", str(key).rsplit(".", 1)[-1] + v.replace(" ", "")))
    return "cases/" + "-".join(parts)[:120]


def _case_work(point: Point, out_dir: str, cached: tuple | None, images: bool, stage: Callable[[str], None]
               ) -> tuple[dict[str, float], tuple | None]:
    """What runs in a case's own process: the pipeline, the outputs into its :func:`case_folder`
    (report.html with pictures only with ``images``), the flat results and (when this case meshed)
    the geometry and mesh for the parent's cache."""
    from . import pipeline  # noqa: PLC0415
    from .outputs import _clean, commit_outputs, staging_dir, write_outputs, write_report  # noqa: PLC0415

    case = load_case(point.raw)
    key = case.mesh_key()
    if cached is not None:
        pipeline.MESH_CACHE[key] = cached
    result = pipeline.run_case(case, progress=stage)
    stage("outputs")
    target = Path(out_dir) / case_folder(point)
    staging = staging_dir(target)
    try:
        write_outputs(result, staging)
        if images:
            stage("images")
            write_report(result, staging, images=True)
        commit_outputs(staging, target)
    finally:
        if staging.exists():
            import shutil  # noqa: PLC0415

            shutil.rmtree(staging, ignore_errors=True)
    return flatten(_clean(result.record)), (None if cached is not None else (key, pipeline.MESH_CACHE.get(key)))


def _reason(exc: Any) -> str:
    """The ``error`` of a failed row: ``SIGSEGV in the mesh stage``, ``timeout after 300 s in the
    solve stage``, or the one-line message of the exception."""
    if exc.signal and exc.signal != "timeout":
        return f"{exc.signal} in the {exc.stage} stage" if exc.stage else f"killed by {exc.signal}"
    return str(exc)


def run_point(point: Point, out_dir: str, timeout: float | None = None, images: bool = False) -> dict[str, Any]:
    """Run one point in its own process (:mod:`mb3d.isolate`); never raises: a bad case, an exception,
    a crash (signal) or the timeout (the process is killed) is a ``failed`` row with its reason.
    Thread-safe: a Dask worker runs it in several threads at once."""
    from . import isolate, pipeline  # noqa: PLC0415

    t0 = time.perf_counter()
    row = {"case_hash": point.case_hash, "index": point.index, "factors": point.factors}
    if point.error:
        return {**row, "status": "failed", "error": point.error, "seconds": 0.0}
    try:
        key = load_case(point.raw).mesh_key()
        results, fresh = isolate.call(_case_work, point, out_dir, pipeline.cached_mesh(key), images,
                                      timeout=timeout,
                                      label=point.raw.get("name"), ignore_sigint=True)
    except isolate.Failure as exc:
        return {**row, "status": "failed", "error": _reason(exc), "seconds": time.perf_counter() - t0}
    except CaseError as exc:
        return {**row, "status": "failed", "error": str(exc), "seconds": time.perf_counter() - t0}
    if fresh is not None and fresh[1] is not None:
        pipeline.remember_mesh(*fresh)
    return {**row, "status": "ok", "seconds": time.perf_counter() - t0, "results": results}


def preload() -> None:
    """Import what every case imports on demand (pyamg, meshio), once in the process that forks the
    cases rather than in each case (measured: 0.1-0.2 s a case)."""
    import meshio  # noqa: F401, PLC0415
    import pyamg.krylov  # noqa: F401, PLC0415


def run_points(points: list[Point], out_dir: str, timeout: float | None = None,
               stop: threading.Event | None = None, images: bool = False) -> list[dict[str, Any]]:
    """Run several points one after the other: points that share a geometry and mesh (the same
    :meth:`mb3d.case.Case.mesh_key`) reuse the mesh this process keeps (:data:`mb3d.pipeline.MESH_CACHE`)."""
    preload()
    rows = []
    for p in points:
        if stop is not None and stop.is_set():
            break
        rows.append(run_point(p, out_dir, timeout, images))
    return rows


def mesh_groups(points: list[Point], workers: int) -> list[list[Point]]:
    """Tasks: points grouped by mesh key (so that one worker meshes a geometry once and reuses it),
    groups split into chunks small enough to keep every worker busy."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        try:
            key = load_case(p.raw).mesh_key() if p.error is None else p.case_hash
        except Exception:  # noqa: BLE001  (the worker reports the error as a row)
            key = p.case_hash
        groups.setdefault(key, []).append(p)
    chunk = max(1, math.ceil(len(points) / (2 * max(1, workers))))
    return [g[k:k + chunk] for g in groups.values() for k in range(0, len(g), chunk)]


class StudyError(RuntimeError):
    """A study cannot run: its folder is in use, its store is not a results store, its scheduler cannot
    be reached (one line; exit code 1)."""


# --- the study folder ----------------------------------------------------------------------------
class StudyLock:
    """An exclusive lock on a study folder (``.mb3d-study.lock``, ``flock``), released when the process
    ends however it ends; a second ``mb3d doe`` on the folder is refused and told which process holds
    it. Taking the lock also removes what an interrupted run left: temporary output folders and a
    half-written summary."""

    NAME = ".mb3d-study.lock"

    def __init__(self, out_dir: Path):
        import fcntl  # noqa: PLC0415

        self.path = out_dir / self.NAME
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "a+")   # noqa: SIM115  (held for the life of the lock)
        except OSError as exc:
            raise CaseError(f"--out {out_dir}: cannot use it as the study folder ({exc.strerror})") from None
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise StudyError(f"{out_dir}: the study folder is in use by {holder} (another mb3d doe); wait "
                             "for it to finish or stop it, or choose another --out") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"process {os.getpid()}")
        self.fh.flush()
        _clean_leftovers(out_dir)

    def release(self) -> None:
        self.fh.close()

    def __enter__(self) -> StudyLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _clean_leftovers(out_dir: Path) -> None:
    """Temporary files of an interrupted run (only ever mb3d's own names)."""
    import shutil  # noqa: PLC0415

    for folder in (out_dir, out_dir / "cases"):
        if folder.is_dir():
            for p in folder.glob(".mb3d-partial-*"):
                shutil.rmtree(p, ignore_errors=True)
    for p in out_dir.glob(".summary.html.*"):
        p.unlink(missing_ok=True)


# --- the batch ---------------------------------------------------------------------------------------
def run_study(study: Study, out_dir: str | Path, workers: int | None = None, scheduler: str | None = None,
              case_timeout: float | None = None,
              on_row: Callable[[dict[str, Any], int, int], None] | None = None,
              retry_failed: bool = False, connect_timeout: float = 10.0,
              lock: StudyLock | None = None, images: bool = False) -> dict[str, int]:
    """Run every point not yet in the store, each in its own process.

    Parameters
    ----------
    study : Study
    out_dir : path
        Study folder: ``results.sqlite``, ``cases/<NNNN>-<factor values>/`` (:func:`case_folder`),
        ``study.pvd`` (:func:`write_collection`). Locked while the study runs.
    workers : int, optional
        Cases run at once on this machine (default: the core count).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler; the cases run there instead.
    case_timeout : float, optional
        Seconds after which a case's process is killed and the case recorded as failed.
    on_row : callable, optional
        Called as ``on_row(row, done, total)`` after each stored case.
    retry_failed : bool
        Run the cases that failed in earlier runs again (by default every stored case is done).
    connect_timeout : float
        Seconds to wait for the scheduler.
    lock : StudyLock, optional
        The folder's lock if the caller holds it already (else it is taken here).
    images : bool
        Also write each case's report.html with its pictures (about 2 s a case; off by default).

    Returns
    -------
    dict
        Counts: ``total``, ``skipped``, ``ok``, ``failed``, ``mesh_cache_hits``.

    Raises
    ------
    StudyError
        The folder is in use, the store is corrupt or the scheduler cannot be reached.
    KeyboardInterrupt
        After killing the running cases (finished ones stay in the store).
    """
    out = Path(out_dir)
    held = lock or StudyLock(out)
    try:
        store = Store(out / "results.sqlite")
        try:
            counts = _run(study, out, store, workers, scheduler, case_timeout, on_row, retry_failed,
                          connect_timeout, images)
            write_collection(study, out, store)
            return counts
        finally:
            store.close()
    finally:
        if lock is None:
            held.release()


def _run(study: Study, out: Path, store: Store, workers: int | None, scheduler: str | None,
         case_timeout: float | None, on_row: Callable | None, retry_failed: bool,
         connect_timeout: float, images: bool) -> dict[str, int]:
    finished = store.done(ok_only=retry_failed)
    unique = list({p.case_hash: p for p in study.points if p.case_hash not in finished}.values())
    counts = {"total": len(study.points), "skipped": len(study.points) - len(unique), "ok": 0, "failed": 0,
              "mesh_cache_hits": 0}
    done = counts["skipped"]

    def record(row: dict[str, Any]) -> None:
        nonlocal done
        store.add(row)
        done += 1
        counts["ok" if row["status"] == "ok" else "failed"] += 1
        counts["mesh_cache_hits"] += bool((row.get("results") or {}).get("mesh.from_cache"))
        if on_row:
            on_row(row, done, counts["total"])

    (out / "cases").mkdir(parents=True, exist_ok=True)
    if scheduler:
        _run_dask(unique, str(out), scheduler, case_timeout, record, connect_timeout, images)
    else:
        _run_local(unique, str(out), workers or os.cpu_count() or 1, case_timeout, record, images)
    return counts


def write_collection(study: Study, out: Path, store: Store) -> Path:
    """``study.pvd``: a ParaView collection of the study's finished cases (their ``solution.vtm``),
    each entry with the case index as ``timestep`` (ParaView's time slider steps through the cases)
    and its factor values as attributes."""
    from .outputs import atomic_write  # noqa: PLC0415
    from .vtkfiles import collection_xml  # noqa: PLC0415

    ok = {h for h in store.done(ok_only=True)}
    entries = []
    for p in study.points:
        folder = case_folder(p)
        if p.case_hash in ok and (out / folder / "solution.vtm").is_file():
            attrs = {"timestep": p.index, "part": 0, "case_hash": p.case_hash[:16]}
            attrs.update({re.sub(r"[^A-Za-z0-9_]", "_", k): v for k, v in p.factors.items()})
            entries.append((attrs, f"{folder}/solution.vtm"))
    path = out / "study.pvd"
    atomic_write(path, lambda f: f.write_text(collection_xml(entries)))
    return path


def _hard_exit_on_second_interrupt() -> Any:
    """After the first Ctrl-C the study cleans up; a second one ends the process at once."""
    def now(signum: int, frame: Any) -> None:
        os._exit(130)

    try:
        return signal.signal(signal.SIGINT, now)
    except ValueError:      # not the main thread
        return None


def _run_local(points: list[Point], out: str, workers: int, timeout: float | None,
               record: Callable[[dict[str, Any]], None], images: bool = False) -> None:
    """Threads that each start one case process at a time (a fork costs milliseconds; the threads
    only wait)."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from . import isolate  # noqa: PLC0415

    rows: queue.Queue = queue.Queue()
    stop = threading.Event()

    def task(group: list[Point]) -> None:
        for row in run_points(group, out, timeout, stop, images):
            rows.put(row)

    isolate.reopen()
    preload()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mb3d-case")
    futures = [pool.submit(task, g) for g in mesh_groups(points, workers)]
    try:
        left = len(points)
        while left:
            try:
                row = rows.get(timeout=0.1)
            except queue.Empty:
                if all(f.done() for f in futures) and rows.empty():
                    for f in futures:
                        f.result()          # a bug in the batch itself: let it surface
                    break
                continue
            record(row)
            left -= 1
    except BaseException:
        previous = _hard_exit_on_second_interrupt()
        stop.set()
        isolate.close()
        pool.shutdown(wait=True, cancel_futures=True)
        isolate.reopen()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        raise
    pool.shutdown(wait=True)


def connect(scheduler: str, connect_timeout: float) -> tuple[Any, int]:
    """A Dask client of ``scheduler`` and the threads its workers have (at least 1); a scheduler that
    cannot be reached is a :class:`StudyError` naming it."""
    from distributed import Client  # noqa: PLC0415

    try:
        client = Client(scheduler, timeout=f"{connect_timeout}s")
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StudyError(f"--scheduler {scheduler}: cannot reach the Dask scheduler within {connect_timeout:g} s "
                         f"({reason})") from None
    return client, max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def _run_dask(points: list[Point], out: str, scheduler: str, timeout: float | None,
              record: Callable[[dict[str, Any]], None], connect_timeout: float, images: bool = False) -> None:
    """Groups of points as Dask tasks; each case still runs in its own process on the worker, so a
    default worker (threads) is safe for gmsh. A task that dies with its worker is a failed row per
    point."""
    from distributed import as_completed  # noqa: PLC0415

    client, workers = connect(scheduler, connect_timeout)
    futures: dict = {}
    try:
        groups = mesh_groups(points, workers)
        futures = {client.submit(run_points, g, out, timeout, None, images, pure=False): g for g in groups}
        for fut in as_completed(futures):
            try:
                rows = fut.result()
            except Exception as exc:  # noqa: BLE001  (the worker died, or the task could not run)
                line = (str(exc).splitlines() or [type(exc).__name__])[0]
                rows = [{"case_hash": p.case_hash, "index": p.index, "factors": p.factors, "status": "failed",
                         "error": f"Dask task failed: {line}", "seconds": 0.0} for p in futures[fut]]
            for row in rows:
                record(row)
    except BaseException:
        _hard_exit_on_second_interrupt()
        client.cancel(list(futures), force=True)
        raise
    finally:
        client.close(timeout=5)


# --- reading the results -----------------------------------------------------------------------------
def table(out_dir: str | Path, responses: list[str] | None = None) -> list[dict[str, Any]]:
    """The results as flat rows: index, case_hash, status, error, seconds, factors, responses."""
    store = Store(Path(out_dir) / "results.sqlite")
    try:
        rows = store.rows()
    finally:
        store.close()
    out = []
    for r in rows:
        flat = {"index": r["index"], "case_hash": r["case_hash"], "status": r["status"],
                "error": r["error"] or "", "seconds": r["seconds"]}
        flat.update(r["factors"])
        res = r["results"] or {}
        for k in (responses if responses is not None else sorted(res)):
            flat[k] = res.get(k)
        out.append(flat)
    return out


def export(out_dir: str | Path, target: str | Path) -> Path:
    """Write the results table to CSV or Parquet (by the file suffix)."""
    rows = table(out_dir)
    target = Path(target)
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    if target.suffix == ".csv":
        import csv  # noqa: PLC0415

        from .outputs import atomic_write  # noqa: PLC0415

        def write(p: Path) -> None:
            with open(p, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=cols)
                w.writeheader()
                for r in rows:
                    w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})

        atomic_write(target, write)
    elif target.suffix == ".parquet":
        try:
            import pandas as pd  # noqa: PLC0415
        except ImportError:
            raise CaseError(f"--export {target}: parquet needs pandas and pyarrow (pip install pandas "
                            "pyarrow); or export to .csv") from None
        from .outputs import atomic_write  # noqa: PLC0415

        frame = pd.DataFrame(rows, columns=cols)
        atomic_write(target, lambda p: frame.to_parquet(p))
    else:
        raise CaseError(f"--export {target}: the file must end in .csv or .parquet")
    return target


LOWER_IS_BETTER = ("asr", "cov", "max_over_min", "p95_over_p05", "seconds", "std")


def top(out_dir: str | Path, n: int, by: str) -> tuple[list[dict[str, Any]], str]:
    """The n best finished cases by a response (ascending for ASR, cov and spreads, else descending)."""
    rows = [r for r in table(out_dir) if r["status"] == "ok"]
    if rows and by not in rows[0]:
        matches = sorted((k for k in rows[0] if k.endswith("." + by)), key=lambda k: k.count("."))
        if not matches or (len(matches) > 1 and matches[0].count(".") == matches[1].count(".")):
            raise CaseError(f"--by {by}: not one result key; e.g. solution.asr_ohm_cm2, geometry.capacity_uAh_cm2")
        by = matches[0]   # the shortest key that ends so: asr_ohm_cm2 -> solution.asr_ohm_cm2
    ascending = any(t in by for t in LOWER_IS_BETTER)
    rows = [r for r in rows if r.get(by) is not None]
    rows.sort(key=lambda r: r[by], reverse=not ascending)
    return rows[:n], by
