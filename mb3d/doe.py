"""Design-of-experiments batches (``../shared/spec/study-format.md``): ``mb3d doe STUDY.yaml``.

A study is a base case, factors (dotted case keys with ``levels`` or a ``range``), a design
(``full_factorial``, ``latin_hypercube`` and ``sobol`` from :mod:`scipy.stats.qmc`, or an explicit
``list``), constraints (expressions over the factors) and the responses to summarise.

Every point becomes a case; its case hash names it. Cases run in isolation, locally in a process pool
or on a Dask cluster (``--scheduler``); a case that fails (bad geometry, mesher, solver, timeout) is a
``failed`` row with its message and the batch goes on. Each finished case is one transaction in
``results.sqlite``; running the same study again skips the hashes already there, so an interrupted
batch loses nothing it finished. Cases that share geometry and mesh reuse the mesh within a worker
(:data:`mb3d.pipeline.MESH_CACHE`).

A ``sobol`` design is a Saltelli design: N base points of a scrambled Sobol sequence in 2d dimensions
give the matrices A and B and the d matrices AB_i (A with column i from B), N (d + 2) cases in all, from
which the summary estimates first-order (Saltelli 2010) and total-order (Jansen 1999) indices.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import multiprocessing
import operator
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .case import CaseError, load_case, read_yaml

DEFAULT_RESPONSES = ["solution.asr_ohm_cm2", "geometry.area_gain.anode", "geometry.area_gain.cathode",
                     "geometry.capacity_uAh_cm2", "solution.current_density_mA_cm2.cathode.cov"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(_Strict):
    """``levels: [...]`` or ``range: [lo, hi]``."""

    levels: list[Any] | None = None
    range: list[Any] | None = Field(None, min_length=2, max_length=2)


class Design(_Strict):
    kind: Literal["full_factorial", "latin_hypercube", "sobol", "list"] = "full_factorial"
    samples: int = Field(16, ge=1, le=100000)
    seed: int = 0
    points: list[dict[str, Any]] = Field(default_factory=list)


class StudyModel(_Strict):
    name: str = Field(min_length=1, max_length=120)
    base: str | dict[str, Any]
    factors: dict[str, Factor]
    design: Design = Design()
    constraints: list[str] = Field(default_factory=list)
    responses: list[str] = Field(default_factory=lambda: list(DEFAULT_RESPONSES))


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
    return [_value(a + (b - a) * x, unit) for x in u]


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
    # sobol: Saltelli matrices A, B, AB_i
    m = int(math.ceil(math.log2(n)))
    u = qmc.Sobol(d=2 * d, scramble=True, seed=model.design.seed).random_base2(m)[:n]
    A, B = u[:, :d], u[:, d:]
    blocks = [A, B] + [np.where(np.arange(d) == i, B, A) for i in range(d)]
    allu = np.vstack(blocks)
    cols = [_map_unit(k, model.factors[k], allu[:, j]) for j, k in enumerate(keys)]
    return [dict(zip(keys, vals)) for vals in zip(*cols)], {"N": n, "d": d, "factors": keys}


# --- constraints ---------------------------------------------------------------------------------
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Lt: operator.lt,
        ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
        ast.NotEq: operator.ne}


def compile_constraint(expr: str, keys: Iterable[str]) -> Callable[[dict[str, Any]], bool]:
    """A safe evaluator for ``geometry.anode_radius < 0.45 * geometry.pitch`` (numbers, factor names,
    arithmetic, comparisons, and/or/not)."""
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
            if isinstance(v, str):   # a quantity ("30 um"): its magnitude as written
                from solvers.units import registry  # noqa: PLC0415

                try:
                    v = float(registry().Quantity(v).magnitude)
                except Exception:  # noqa: BLE001
                    raise CaseError(f"constraints: {expr!r}: {k} = {v!r} is not a number") from None
            env[k] = v
        return bool(ev(tree, env))

    return check


# --- loading ---------------------------------------------------------------------------------------
def load_study(path: str | Path) -> Study:
    """Read and check a study file; build every point's case (invalid points carry their error)."""
    path = Path(path)
    raw = read_yaml(path)
    try:
        model = StudyModel.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise CaseError(f"{loc}: {e['msg']}") from None
    if isinstance(model.base, str):
        base_path = (path.parent / model.base).resolve()
        base = read_yaml(base_path)
    else:
        base = dict(model.base)
    base.pop("expected", None)
    keys = list(model.factors)
    for k in keys:
        if not k.split(".")[0] in ("geometry", "materials", "physics", "mesh", "domain", "array"):
            raise CaseError(f"factors.{k}: not a case key (geometry.*, materials.*, physics.*, mesh.*)")
    values, saltelli = design_points(model)
    checks = [compile_constraint(c, keys) for c in model.constraints]
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


def _apply(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(base, default=str))
    for key, v in values.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
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
    """``results.sqlite``: one row per case, written in one transaction when the case ends."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("""CREATE TABLE IF NOT EXISTS runs (
            case_hash TEXT PRIMARY KEY, idx INTEGER, status TEXT NOT NULL, error TEXT,
            seconds REAL, factors TEXT NOT NULL, results TEXT)""")
        self.db.commit()

    def done(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT case_hash FROM runs")}

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
class CaseTimeout(Exception):
    pass


def run_point(point: Point, out_dir: str, timeout: float | None = None) -> dict[str, Any]:
    """Run one point in this process (a worker); never raises: failures are rows."""
    t0 = time.perf_counter()
    row = {"case_hash": point.case_hash, "index": point.index, "factors": point.factors}
    if point.error:
        return {**row, "status": "failed", "error": point.error, "seconds": 0.0}

    fired = []

    def on_alarm(signum, frame):
        fired.append(True)
        raise CaseTimeout()

    old = None
    if timeout and hasattr(signal, "SIGALRM"):
        try:
            old = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        except ValueError:   # not the main thread (a threaded Dask worker): no timeout
            old = None
    try:
        from .outputs import write_outputs  # noqa: PLC0415
        from .pipeline import run_case  # noqa: PLC0415

        case = load_case(point.raw)
        result = run_case(case)
        write_outputs(result, Path(out_dir) / "cases" / point.case_hash[:16])
        rec = json.loads(json.dumps(dict(result.record), default=lambda o: dict(o)))
        return {**row, "status": "ok", "seconds": time.perf_counter() - t0, "results": flatten(rec)}
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001  (isolation: any failure is a row)
        # the timer may fire inside a native call that turns it into its own error: the flag decides
        msg = f"timeout after {timeout:g} s" if fired else f"{type(exc).__name__}: {exc}".splitlines()[0]
        return {**row, "status": "failed", "error": msg, "seconds": time.perf_counter() - t0}
    finally:
        if old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def run_points(points: list[Point], out_dir: str, timeout: float | None = None) -> list[dict[str, Any]]:
    """Run several points one after the other in this worker: points that share a geometry and mesh
    (the same :meth:`mb3d.case.Case.mesh_key`) reuse the mesh from the worker's cache."""
    return [run_point(p, out_dir, timeout) for p in points]


def mesh_groups(points: list[Point], workers: int) -> list[list[Point]]:
    """Tasks for a process pool: points grouped by mesh key (so that one worker meshes a geometry
    once and reuses it), groups split into chunks small enough to keep every worker busy."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        try:
            key = load_case(p.raw).mesh_key() if p.error is None else p.case_hash
        except Exception:  # noqa: BLE001  (the worker reports the error as a row)
            key = p.case_hash
        groups.setdefault(key, []).append(p)
    chunk = max(1, math.ceil(len(points) / (2 * max(1, workers))))
    return [g[k:k + chunk] for g in groups.values() for k in range(0, len(g), chunk)]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles Ctrl-C


# --- the batch ---------------------------------------------------------------------------------------
def run_study(study: Study, out_dir: str | Path, workers: int | None = None, scheduler: str | None = None,
              case_timeout: float | None = None,
              on_row: Callable[[dict[str, Any], int, int], None] | None = None) -> dict[str, int]:
    """Run every point not yet in the store.

    Parameters
    ----------
    study : Study
    out_dir : path
        Study folder: ``results.sqlite``, ``cases/<hash>/``.
    workers : int, optional
        Local processes (default: the core count).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler; the cases run there instead.
    case_timeout : float, optional
        Seconds after which a case is recorded as failed.
    on_row : callable, optional
        Called as ``on_row(row, done, total)`` after each stored case.

    Returns
    -------
    dict
        Counts: ``total``, ``skipped``, ``ok``, ``failed``.
    """
    out = Path(out_dir)
    store = Store(out / "results.sqlite")
    finished = store.done()
    todo = [p for p in study.points if p.case_hash not in finished]
    counts = {"total": len(study.points), "skipped": len(study.points) - len(todo), "ok": 0, "failed": 0,
              "mesh_cache_hits": 0}
    seen: set[str] = set()
    unique = []
    for p in todo:              # two points with the same case hash are one case
        if p.case_hash not in seen:
            seen.add(p.case_hash)
            unique.append(p)
    done = counts["skipped"]

    def record(row: dict[str, Any]) -> None:
        nonlocal done
        store.add(row)
        done += 1
        counts["ok" if row["status"] == "ok" else "failed"] += 1
        counts["mesh_cache_hits"] += bool(row.get("results", {}).get("mesh.from_cache"))
        if on_row:
            on_row(row, done, counts["total"])

    try:
        if scheduler:
            from distributed import Client, as_completed  # noqa: PLC0415

            with Client(scheduler, timeout="20s") as client:
                futures = [client.submit(run_point, p, str(out), case_timeout, pure=False) for p in unique]
                for fut in as_completed(futures):
                    record(fut.result())
        else:
            n = workers or os.cpu_count() or 1
            # spawn, not fork: a forked child of a process that already ran gmsh (OpenMP threads)
            # can deadlock inside the mesher
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_ignore_sigint) as pool:
                pending = {pool.submit(run_points, g, str(out), case_timeout) for g in mesh_groups(unique, n)}
                try:
                    while pending:
                        fin, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in fin:
                            for row in fut.result():
                                record(row)
                except KeyboardInterrupt:
                    for fut in pending:
                        fut.cancel()
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        store.close()
    return counts


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
