"""Design optimisation with Optuna: ``mb3d optimize STUDY.yaml``.

A study file with an ``optimize:`` block asks for the best design rather than a table of tried ones::

    optimize:
      objectives:                       # one or more responses (dotted results.json keys)
        - {maximize: solution.rate_capability.5C.energy_uWh_cm2}
      constraints:                      # on responses; factor constraints stay in `constraints:`
        - solution.asr_ohm_cm2 < 800
      trials: 40                        # the budget: cases run, counted across runs
      timeout: 2 h                      # of this run, optional (seconds or a time quantity)
      sampler: tpe                      # tpe | nsga2 | gp (PyTorch) | random
      seed: 0

Factors are ranges (``range: [20, 60]``, ``integer: true``, ``step``, ``log: true``) or ``levels``
(categorical). Each trial is a case run in its own process, like a point of ``mb3d doe`` (the same
isolation, mesh cache, per-case timeout and Dask scheduler), in ``cases/NNNN-<factor values>/``.

Constraints on responses are Optuna constraints: a trial's violation ``c`` is ``value - bound`` for
``<`` and ``<=`` and ``bound - value`` for ``>`` and ``>=``; it is feasible when every ``c <= 0``
(TPE, NSGA-II and GP sample towards feasibility). A point that breaks a factor constraint or that
case validation refuses fails before meshing, with its reason; a case that fails (geometry, mesher,
solver, crash, timeout) fails with its reason; neither stops the run.

The Optuna study lives in ``optuna.sqlite`` in the study folder (RDB storage): running the command
again continues it. The budget counts every finished trial (complete or failed); trials that were
running when the process died (``kill -9``) or was interrupted are marked failed with
``interrupted`` (not counted) and their points are run again first, so none is lost or duplicated.

Outputs: ``best.yaml`` (one objective: the best feasible design as a runnable case) or
``pareto/NNN.yaml`` with ``pareto.csv`` (several: the non-dominated feasible designs, checked by
:func:`non_dominated`), ``optimization.html`` (history, Pareto front labelled with the factors,
parameter importances by PED-ANOVA, objective against each factor) and, with ``--export``, every
trial as CSV or Parquet.
"""
from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .case import CaseError, load_case
from .doe import (OptimizeSpec, Point, StudyError, StudyLock, StudyModel, _apply, _range_values, _value,
                  case_folder, case_units, compile_constraint, read_study)

STORAGE = "optuna.sqlite"
VALID_CASE = "the case passes validation"
INTERRUPTED = "interrupted"
REJECTED = "rejected"
#: sampled points refused before meshing in a row, per trial of the budget, before the run gives up
MAX_REJECTIONS_PER_TRIAL = 200
#: points already run proposed in a row before the search space counts as exhausted (the run ends)
MAX_REPEATS = 50
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


class NoFeasibleDesign(StudyError):
    """No trial met the response constraints (or every trial failed): the message names them."""


@dataclass(frozen=True)
class ResponseConstraint:
    """``solution.asr_ohm_cm2 < 800``: a response, a comparison and a bound."""

    text: str
    key: str
    op: str
    bound: float

    def violation(self, value: float) -> float:
        """Optuna's constraint value: <= 0 when met."""
        return value - self.bound if self.op in ("<", "<=") else self.bound - value


def parse_constraint(text: str, where: str) -> ResponseConstraint:
    """Read ``KEY < NUMBER`` (or ``<=``, ``>``, ``>=``)."""
    m = _CONSTRAINT.match(text)
    if not m:
        raise CaseError(f"{where} = {text!r}: expected RESPONSE < NUMBER (or <=, >, >=), e.g. "
                        "solution.asr_ohm_cm2 < 800")
    try:
        bound = float(m.group(3))
    except ValueError:
        raise CaseError(f"{where} = {text!r}: {m.group(3)!r} is not a number") from None
    return ResponseConstraint(text.strip(), m.group(1), m.group(2), bound)


@dataclass(frozen=True)
class Optimization:
    """A checked study file with an ``optimize:`` block."""

    model: StudyModel
    base: dict[str, Any]
    units: dict[str, str | None]
    checks: tuple[tuple[str, Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], float] | None], ...]
    constraints: tuple[ResponseConstraint, ...]

    @property
    def spec(self) -> OptimizeSpec:
        return self.model.optimize

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.spec.objectives]

    @property
    def objectives(self) -> list[str]:
        return [o.response for o in self.spec.objectives]


def load_optimization(path: str | Path) -> Optimization:
    """Read and check a study file for ``mb3d optimize`` (bad input: :class:`CaseError`)."""
    model, base = read_study(path)
    if model.optimize is None:
        raise CaseError(f"{path}: no optimize: block (objectives, trials); `mb3d doe` runs a study without one")
    keys = list(model.factors)
    for k, f in model.factors.items():
        if (f.levels is None) == (f.range is None):
            raise CaseError(f"factors.{k}: give either levels or range")
        if f.levels is not None and not f.levels:
            raise CaseError(f"factors.{k}.levels: must not be empty")
        if f.range is not None and f.log and f.step is not None:
            raise CaseError(f"factors.{k}: log and step cannot be combined")
    spec = model.optimize
    if spec.sampler == "gp":
        try:
            import torch  # noqa: F401, PLC0415
        except ImportError:
            raise CaseError("optimize.sampler = gp: Optuna's GP sampler needs PyTorch (pip install torch); "
                            "or use tpe") from None
    units = case_units(base, keys)
    checks = tuple((c, compile_constraint(c, keys, units), _gap(c, keys, units)) for c in model.constraints)
    cons = tuple(parse_constraint(c, f"optimize.constraints[{i}]") for i, c in enumerate(spec.constraints))
    opt = Optimization(model, base, units, checks, cons)
    distributions(opt)          # ranges and levels checked before anything runs
    return opt


def _gap(expr: str, keys: list[str], units: dict[str, str | None]) -> Callable[[dict[str, Any]], float] | None:
    """For a single comparison ``A < B`` (or <=, >, >=), how far a point is from meeting it
    (``A - B``, or ``B - A``), so that the sampler learns how badly a refused point broke it; None
    for other expressions."""
    import ast  # noqa: PLC0415

    src = expr
    for k in sorted(keys, key=len, reverse=True):
        src = src.replace(k, k.replace(".", "__"))
    node = ast.parse(src, mode="eval").body
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE))):
        return None
    a, b = ast.unparse(node.left), ast.unparse(node.comparators[0])
    diff = f"({a}) - ({b})" if isinstance(node.ops[0], (ast.Lt, ast.LtE)) else f"({b}) - ({a})"
    return compile_constraint(diff.replace("__", "."), keys, units, numeric=True)


# --- the search space ------------------------------------------------------------------------------
def distributions(opt: Optimization) -> dict[str, Any]:
    """Optuna distributions of the factors, in the units the study writes them in."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: PLC0415

    out: dict[str, Any] = {}
    for key, f in opt.model.factors.items():
        if f.levels is not None:
            out[key] = CategoricalDistribution(list(f.levels))
            continue
        lo, hi, _ = _range_values(key, f.range)
        if f.integer:
            out[key] = IntDistribution(int(lo), int(hi), step=int(f.step or 1), log=f.log)
        else:
            out[key] = FloatDistribution(lo, hi, step=f.step, log=f.log)
    return out


def case_values(opt: Optimization, params: dict[str, Any]) -> dict[str, Any]:
    """The factor values of a trial as the case reads them (a range written with a unit keeps it)."""
    out = {}
    for key, v in params.items():
        f = opt.model.factors[key]
        if f.levels is not None:
            out[key] = v
            continue
        _, _, unit = _range_values(key, f.range)
        out[key] = (int(v) if unit is None else _value(int(v), unit)) if f.integer else _value(v, unit)
    return out


def trial_point(opt: Optimization, number: int, params: dict[str, Any]) -> tuple[Point, str | None]:
    """The case of a trial, and the constraint it breaks (:func:`constraint_keys`) when a factor
    constraint or case validation refuses it (``Point.error`` says why)."""
    values = case_values(opt, params)
    raw = _apply(opt.base, values)
    raw["name"] = f"{opt.name}-{number:04d}"
    for text, check, _ in opt.checks:
        if not check(values):
            return Point(number, values, raw, "", f"breaks the factor constraint {text}"), text
    try:
        return Point(number, values, raw, load_case(raw).hash()), None
    except CaseError as exc:
        return Point(number, values, raw, "", str(exc)), VALID_CASE


def constraint_keys(opt: Optimization) -> list[str]:
    """Every constraint the sampler sees, by name: the factor constraints, case validation, then
    the response constraints."""
    return [*(text for text, _, _ in opt.checks), VALID_CASE, *(c.text for c in opt.constraints)]


def make_sampler(opt: Optimization, resumed: int = 0) -> Any:
    """The seeded Optuna sampler of ``optimize.sampler`` (the response constraints reach it through
    :meth:`optuna.trial.Trial.set_constraint`). A study resumed with ``resumed`` trials in its
    storage gets the seed ``seed + resumed``: the same seed would draw the first run's random points
    again."""
    import optuna  # noqa: PLC0415

    s = opt.spec
    seed = s.seed + resumed
    start = {} if s.startup_trials is None else {"n_startup_trials": s.startup_trials}
    if s.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, **start)
    if s.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if s.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed, **start)
    return optuna.samplers.RandomSampler(seed=seed)


# --- the Optuna study ------------------------------------------------------------------------------
def open_study(opt: Optimization, out: Path) -> Any:
    """The Optuna study in ``out/optuna.sqlite`` (created, or loaded to continue)."""
    import optuna  # noqa: PLC0415

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(out / STORAGE).resolve()}"
    study = optuna.create_study(study_name=opt.name, storage=storage, sampler=make_sampler(opt),
                                directions=opt.directions, load_if_exists=True)
    have = [d.name.lower() for d in study.directions]
    if have != opt.directions:
        raise CaseError(f"optimize.objectives: {out / STORAGE} holds the study {opt.name!r} with directions "
                        f"{have}, not {opt.directions}; use another --out or another name")
    resumed = len(study.get_trials(deepcopy=False))
    if resumed:
        study.sampler = make_sampler(opt, resumed)
    return study


def counted(trial: Any) -> bool:
    """Does a trial count against the budget? Every case that ran (complete or failed); not a point
    refused before meshing (a factor constraint, case validation: it cost nothing) nor one cut short
    by an interruption (it runs again)."""
    from optuna.trial import TrialState  # noqa: PLC0415

    return trial.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED) \
        and not trial.user_attrs.get(INTERRUPTED) and not trial.user_attrs.get(REJECTED)


def recover(study: Any) -> int:
    """Trials left running by a process that died: marked failed (``interrupted``, not counted) and
    their points queued to run first. Returns how many."""
    from optuna.trial import TrialState  # noqa: PLC0415

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
    for t in stale:
        if t.state == TrialState.WAITING:
            continue                                # queued already: asked first
        _abandon(study, t._trial_id, "the run stopped before this trial finished")
        if t.params:                                # killed inside ask: no point yet, nothing to redo
            study.enqueue_trial(t.params)
    return sum(t.state == TrialState.RUNNING for t in stale)


def _abandon(study: Any, trial_id: int, why: str) -> None:
    from optuna.trial import TrialState  # noqa: PLC0415

    study._storage.set_trial_user_attr(trial_id, INTERRUPTED, True)
    study._storage.set_trial_user_attr(trial_id, "error", f"{INTERRUPTED}: {why}")
    study._storage.set_trial_state_values(trial_id, TrialState.FAIL)


def _tell(opt: Optimization, study: Any, trial: Any, point: Point, row: dict[str, Any]) -> dict[str, Any]:
    """Record a finished case in its trial: objectives and constraint values, or the failure."""
    from optuna.trial import TrialState  # noqa: PLC0415

    trial.set_user_attr("folder", case_folder(point))
    trial.set_user_attr("seconds", row.get("seconds"))
    if row["status"] != "ok":
        trial.set_user_attr("error", row.get("error") or "failed")
        study.tell(trial, state=TrialState.FAIL)
        return row
    res = row["results"]
    missing = [k for k in opt.objectives + [c.key for c in opt.constraints] if k not in res]
    if missing:
        near = sorted(k for k in res if k.endswith(missing[0].rsplit(".", 1)[-1]))[:3]
        msg = f"the response {missing[0]} is not in this case's results" + (f" (maybe {', '.join(near)})"
                                                                             if near else "")
        trial.set_user_attr("error", msg)
        study.tell(trial, state=TrialState.FAIL)
        return {**row, "status": "failed", "error": msg}
    responses = {k: res[k] for k in dict.fromkeys(opt.objectives + [c.key for c in opt.constraints]
                                                 + list(opt.model.responses)) if k in res}
    trial.set_user_attr("responses", responses)
    violations = [c.violation(res[c.key]) for c in opt.constraints]
    trial.set_user_attr("constraints", violations)
    met = dict(zip((c.text for c in opt.constraints), violations))
    for key in constraint_keys(opt):
        trial.set_constraint(key, met.get(key, 0.0))
    study.tell(trial, [res[k] for k in opt.objectives])
    return row


def _reject(opt: Optimization, study: Any, trial: Any, point: Point, broken: str) -> None:
    """A point refused before meshing, told to the sampler as an infeasible trial (the constraint it
    broke by how far it missed (:func:`_gap`; else 1), the rest met; objectives the worst seen so far, which constrained samplers ignore for
    infeasible trials), so that it learns where the refused region is; not counted in the budget."""
    from optuna.trial import TrialState  # noqa: PLC0415

    trial.set_user_attr(REJECTED, True)
    trial.set_user_attr("error", point.error)
    gaps = {text: gap for text, _, gap in opt.checks}
    amount = 1.0 if gaps.get(broken) is None else max(float(gaps[broken](point.factors)), 1e-9)
    for key in constraint_keys(opt):
        trial.set_constraint(key, amount if key == broken else 0.0)
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if not t.user_attrs.get(REJECTED)]
    worst = [(max if d == "minimize" else min)((t.values[i] for t in done), default=0.0)
             for i, d in enumerate(opt.directions)]
    study.tell(trial, worst)


def _repeat(opt: Optimization, study: Any, trial: Any, point: Point, running: dict[str, int]) -> bool:
    """A point some finished trial ran already (a discrete space, a sampler that proposes its best
    again): the trial gets that result (``repeat_of``) without running the case again; not counted.
    A point that is running now (``running``: case hash -> trial number) is dropped as failed."""
    from optuna.trial import TrialState  # noqa: PLC0415

    if not point.case_hash:
        return False
    if point.case_hash in running:
        trial.set_user_attr(REJECTED, True)
        trial.set_user_attr("repeat_of", running[point.case_hash])
        study.tell(trial, state=TrialState.FAIL)
        return True
    same = next((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.user_attrs.get("case_hash") == point.case_hash and not t.user_attrs.get(REJECTED)
                 and t.number != trial.number), None)
    if same is None:
        return False
    trial.set_user_attr(REJECTED, True)
    trial.set_user_attr("repeat_of", same.number)
    for key in ("responses", "constraints", "folder"):
        if key in same.user_attrs:
            trial.set_user_attr(key, same.user_attrs[key])
    for key in constraint_keys(opt):
        met = dict(zip((c.text for c in opt.constraints), same.user_attrs.get("constraints", [])))
        trial.set_constraint(key, met.get(key, 0.0))
    study.tell(trial, list(same.values))
    return True


def _ask(opt: Optimization, study: Any, dists: dict[str, Any]) -> tuple[Any, Point, str | None]:
    trial = study.ask(dists)
    point, broken = trial_point(opt, trial.number, trial.params)
    trial.set_user_attr("case", point.raw)
    trial.set_user_attr("factors", point.factors)
    if point.case_hash:
        trial.set_user_attr("case_hash", point.case_hash)
    return trial, point, broken


@dataclass
class Progress:
    """What :func:`run_optimization` reports after each trial."""

    done: int
    budget: int
    failed: int
    trial: int
    status: str
    values: list[float] | None


def run_optimization(opt: Optimization, out_dir: str | Path, workers: int | None = None,
                     scheduler: str | None = None, case_timeout: float | None = None,
                     on_trial: Callable[[Progress], None] | None = None, connect_timeout: float = 10.0,
                     lock: StudyLock | None = None) -> Any:
    """Run trials until the budget (``optimize.trials`` finished trials, this run's ``timeout``) is
    spent; return the Optuna study.

    Parameters
    ----------
    opt : Optimization
    out_dir : path
        Study folder (locked while it runs): ``optuna.sqlite``, ``cases/``.
    workers : int, optional
        Trials at once on this machine (default: the core count).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler to run the trials on.
    case_timeout : float, optional
        Seconds after which a case's process is killed (the trial fails).
    on_trial : callable, optional
        Called with a :class:`Progress` after each finished trial.
    """
    import os  # noqa: PLC0415

    out = Path(out_dir)
    held = lock or StudyLock(out)
    try:
        study = open_study(opt, out)
        recover(study)
        pool = _Dask(scheduler, connect_timeout) if scheduler else _Local(workers or os.cpu_count() or 1)
        try:
            _loop(opt, study, out, pool, case_timeout, on_trial)
        finally:
            pool.close()
        return study
    finally:
        if lock is None:
            held.release()


def _loop(opt: Optimization, study: Any, out: Path, pool: Any, case_timeout: float | None,
          on_trial: Callable[[Progress], None] | None) -> None:
    from optuna.trial import TrialState  # noqa: PLC0415

    dists = distributions(opt)
    budget = opt.spec.trials
    done = sum(counted(t) for t in study.get_trials(deepcopy=False))
    failed = sum(counted(t) and t.state == TrialState.FAIL for t in study.get_trials(deepcopy=False))
    stop_at = time.monotonic() + opt.spec.timeout if opt.spec.timeout else math.inf
    running: dict[Any, tuple[Any, Point]] = {}
    rejected = repeats = 0

    def report(trial: Any, row: dict[str, Any]) -> None:
        nonlocal done, failed
        done += 1
        failed += row["status"] != "ok"
        if on_trial:
            vals = [row["results"][k] for k in opt.objectives] if row["status"] == "ok" else None
            on_trial(Progress(done, budget, failed, trial.number, row["status"], vals))

    try:
        while True:
            while len(running) < pool.size and done + len(running) < budget and time.monotonic() < stop_at \
                    and repeats <= MAX_REPEATS:
                trial, point, broken = _ask(opt, study, dists)
                now = {p.case_hash: t.number for t, p in running.values()}
                if _repeat(opt, study, trial, point, now):   # a point already run: its result, not counted
                    repeats += 1                        # a small discrete space runs out: the run ends
                    continue
                if broken:                       # refused before meshing: recorded, not counted
                    _reject(opt, study, trial, point, broken)
                    rejected += 1
                    if rejected > MAX_REJECTIONS_PER_TRIAL * budget:
                        raise NoFeasibleDesign(f"{opt.name}: {rejected} sampled points in a row were refused "
                                               f"before meshing (last: {point.error})")
                    continue
                rejected = repeats = 0
                running[pool.submit(point, str(out), case_timeout)] = (trial, point)
            if not running:
                break
            for fut in pool.wait_first(list(running)):
                trial, point = running.pop(fut)
                report(trial, _tell(opt, study, trial, point, pool.row(fut, point)))
    except BaseException:
        for trial, _ in running.values():
            _abandon(study, trial._trial_id, "stopped by the user")
            study.enqueue_trial(trial.params)
        raise


class _Local:
    """Threads that each run one case process at a time (:func:`mb3d.doe.run_point`)."""

    def __init__(self, workers: int):
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        from . import isolate  # noqa: PLC0415
        from .doe import preload  # noqa: PLC0415

        isolate.reopen()
        preload()
        self.size = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mb3d-trial")

    def submit(self, point: Point, out: str, timeout: float | None) -> Any:
        from .doe import run_point  # noqa: PLC0415

        return self.pool.submit(run_point, point, out, timeout)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait  # noqa: PLC0415

        return list(wait(futures, return_when=FIRST_COMPLETED).done)

    def row(self, fut: Any, point: Point) -> dict[str, Any]:
        return fut.result()

    def close(self) -> None:
        from . import isolate  # noqa: PLC0415

        isolate.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        isolate.reopen()


class _Dask:
    """Trials as Dask tasks (each case still in its own process on the worker)."""

    def __init__(self, scheduler: str, connect_timeout: float):
        from .doe import connect  # noqa: PLC0415

        self.client, self.size = connect(scheduler, connect_timeout)

    def submit(self, point: Point, out: str, timeout: float | None) -> Any:
        from .doe import run_points  # noqa: PLC0415

        return self.client.submit(run_points, [point], out, timeout, pure=False)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        from distributed import wait  # noqa: PLC0415

        return list(wait(futures, return_when="FIRST_COMPLETED").done)

    def row(self, fut: Any, point: Point) -> dict[str, Any]:
        try:
            return fut.result()[0]
        except Exception as exc:  # noqa: BLE001  (the worker died, or the task could not run)
            line = (str(exc).splitlines() or [type(exc).__name__])[0]
            return {"case_hash": point.case_hash, "index": point.index, "factors": point.factors,
                    "status": "failed", "error": f"the Dask task failed: {line}"}

    def close(self) -> None:
        self.client.close()


# --- results ---------------------------------------------------------------------------------------
def feasible(trial: Any) -> bool:
    """A complete trial that meets every response constraint."""
    from optuna.trial import TrialState  # noqa: PLC0415

    return trial.state == TrialState.COMPLETE and not trial.user_attrs.get(REJECTED) \
        and all(c <= 0 for c in trial.user_attrs.get("constraints", []))


def non_dominated(values: list[list[float]], directions: list[str]) -> list[int]:
    """Indices of the points no other point dominates (at least as good in every objective, better
    in one). Hand-written (a few lines): it is what the tests check Optuna's Pareto front against."""
    sign = [1.0 if d == "minimize" else -1.0 for d in directions]
    v = [[s * x for s, x in zip(sign, row)] for row in values]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [i for i, a in enumerate(v) if not any(dominates(b, a) for j, b in enumerate(v) if j != i)]


def best_trials(opt: Optimization, study: Any) -> list[Any]:
    """The best feasible trial (one objective) or the non-dominated feasible ones (several).

    Raises
    ------
    NoFeasibleDesign
        No trial completed, or none met the response constraints (the message names them and the
        closest trial).
    """
    from optuna.trial import TrialState  # noqa: PLC0415

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and not t.user_attrs.get(REJECTED)]
    if not complete:
        errors = [t.user_attrs.get("error") for t in trials if t.state == TrialState.FAIL or t.user_attrs.get(REJECTED)]
        first = next((e for e in errors if e), "no trial ran")
        raise NoFeasibleDesign(f"{opt.name}: no trial finished ({len(errors)} failed; first: {first})")
    ok = [t for t in complete if feasible(t)]
    if not ok:
        worst = [max(range(len(opt.constraints)), key=lambda i: t.user_attrs["constraints"][i]) for t in complete]
        closest = min(complete, key=lambda t: max(t.user_attrs["constraints"]))
        unmet = sorted({opt.constraints[i].text for i in worst})
        k = worst[complete.index(closest)]
        c = opt.constraints[k]
        raise NoFeasibleDesign(
            f"{opt.name}: no trial met the response constraint{'s' if len(unmet) > 1 else ''} "
            f"{'; '.join(unmet)} ({len(complete)} trials; closest: trial {closest.number} with {c.key} = "
            f"{closest.user_attrs['responses'][c.key]:.6g})")
    values = [list(t.values) for t in ok]
    if len(opt.objectives) == 1:
        pick = min if opt.directions[0] == "minimize" else max
        return [pick(ok, key=lambda t: t.values[0])]
    return [ok[i] for i in non_dominated(values, opt.directions)]


def write_results(opt: Optimization, study: Any, out: Path) -> list[Path]:
    """``best.yaml`` or ``pareto/`` with ``pareto.csv``, and ``optimization.html``."""
    import yaml  # noqa: PLC0415

    from .outputs import atomic_write  # noqa: PLC0415

    best = best_trials(opt, study)
    paths = []

    def case_text(t: Any, title: str) -> str:
        vals = ", ".join(f"{k} = {v:.6g}" for k, v in zip(opt.objectives, t.values))
        head = f"# {title}: trial {t.number} of study {opt.name} ({vals})\n# factors: " + \
            ", ".join(f"{k} = {v}" for k, v in t.user_attrs["factors"].items()) + "\n"
        return head + yaml.safe_dump(t.user_attrs["case"], sort_keys=False)

    if len(opt.objectives) == 1:
        paths.append(out / "best.yaml")
        atomic_write(paths[-1], lambda p: p.write_text(case_text(best[0], "the best design")))
    else:
        for t in best:
            paths.append(out / "pareto" / f"{t.number:03d}.yaml")
            atomic_write(paths[-1], lambda p, t=t: p.write_text(case_text(t, "a non-dominated design")))
        cols = ["trial", *opt.model.factors, *opt.objectives]
        lines = [",".join(cols)] + [",".join([str(t.number), *(json.dumps(t.user_attrs["factors"][k]) for k in
                                                               opt.model.factors),
                                              *(f"{v:.10g}" for v in t.values)]) for t in best]
        paths.append(out / "pareto.csv")
        atomic_write(paths[-1], lambda p: p.write_text("\n".join(lines) + "\n"))
    from .optimize_report import optimization_html  # noqa: PLC0415

    paths.append(out / "optimization.html")
    atomic_write(paths[-1], lambda p: p.write_text(optimization_html(opt, study, best), encoding="utf-8"))
    return paths


def export_trials(study: Any, target: str | Path) -> Path:
    """Every trial (number, state, factors, objectives, responses, error, seconds) as CSV or Parquet."""
    import pandas as pd  # noqa: PLC0415

    from .outputs import atomic_write  # noqa: PLC0415

    target = Path(target)
    if target.suffix not in (".csv", ".parquet"):
        raise CaseError(f"--export {target}: the file must end in .csv or .parquet")
    rows = []
    for t in study.get_trials(deepcopy=False):
        row = {"trial": t.number, "state": t.state.name.lower(), **(t.user_attrs.get("factors") or t.params)}
        for i, v in enumerate(t.values or []):
            row[f"objective_{i}"] = v
        row.update(t.user_attrs.get("responses", {}))
        row.update({"feasible": feasible(t), "error": t.user_attrs.get("error"),
                    "seconds": t.user_attrs.get("seconds"), "case_hash": t.user_attrs.get("case_hash")})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if target.suffix == ".csv":
        atomic_write(target, lambda p: frame.to_csv(p, index=False))
    else:
        atomic_write(target, lambda p: frame.to_parquet(p))
    return target


def summary_lines(opt: Optimization, best: list[Any]) -> list[str]:
    """One line per best design: trial, objectives, factors."""
    out = []
    for t in best:
        vals = ", ".join(f"{k} = {v:.6g}" for k, v in zip(opt.objectives, t.values))
        facts = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in t.user_attrs["factors"].items())
        out.append(f"trial {t.number}: {vals} ({facts})")
    return out

