"""optimization.html of ``mb3d optimize`` (matplotlib pictures in one self-contained page).

* History: each objective against the trial number (feasible trials filled, infeasible ones as
  crosses, failed ones as ticks on the axis) with the best feasible value so far.
* Pareto front (two or more objectives): the first two objectives of every feasible trial, the
  non-dominated ones joined and labelled with their trial number and factor values.
* Parameter importances: PED-ANOVA (:class:`optuna.importance.PedAnovaImportanceEvaluator`) of each
  objective over the complete trials.
* Slices: each objective against each factor.
* The best design(s) and every trial in tables (state, factors, objectives, error).
"""
from __future__ import annotations

import html
import math
import warnings
from typing import Any

import numpy as np

from .summary import _img, _plt

MAX_LABELS = 12


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1] if key.count(".") < 3 else ".".join(key.split(".")[-2:])


def _factor_text(t: Any) -> str:
    return ", ".join(f"{_short(k)}={v}" for k, v in (t.user_attrs.get("factors") or {}).items())


def _history(plt, opt: Any, trials: list[Any], feasible) -> str:
    from optuna.trial import TrialState  # noqa: PLC0415

    n = len(opt.objectives)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.6), squeeze=False)
    for i, (key, d) in enumerate(zip(opt.objectives, opt.directions)):
        ax = axes[0][i]
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        ok = [t for t in done if feasible(t)]
        bad = [t for t in done if not feasible(t)]
        ax.scatter([t.number for t in ok], [t.values[i] for t in ok], s=16, label="feasible")
        if bad:
            ax.scatter([t.number for t in bad], [t.values[i] for t in bad], marker="x", color="grey",
                       label="breaks a response constraint")
        failed = [t.number for t in trials if t.state == TrialState.FAIL]
        if failed:
            ax.plot(failed, [0] * len(failed), "|", color="red", transform=ax.get_xaxis_transform(),
                    markersize=12, label="failed")
        if ok and n == 1:
            xs = sorted(t.number for t in ok)
            vals = {t.number: t.values[i] for t in ok}
            best = np.minimum.accumulate if d == "minimize" else np.maximum.accumulate
            ax.step(xs, best(np.array([vals[x] for x in xs])), where="post", color="C1", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{key} ({d})", fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle("history")
    return _img(fig, "history")


def _pareto(plt, opt: Any, ok: list[Any], best: list[Any]) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.scatter([t.values[0] for t in ok], [t.values[1] for t in ok], s=14, color="grey", label="feasible trials")
    front = sorted(best, key=lambda t: t.values[0])
    ax.plot([t.values[0] for t in front], [t.values[1] for t in front], "o-", color="C3", label="non-dominated")
    for t in front[:MAX_LABELS]:
        ax.annotate(f"#{t.number} {_factor_text(t)}", (t.values[0], t.values[1]), fontsize=6,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel(f"{opt.objectives[0]} ({opt.directions[0]})", fontsize=8)
    ax.set_ylabel(f"{opt.objectives[1]} ({opt.directions[1]})", fontsize=8)
    ax.legend(fontsize=7)
    note = "" if len(front) <= MAX_LABELS else f"<p>{MAX_LABELS} of {len(front)} designs labelled.</p>"
    return _img(fig, "Pareto front") + note


def _importances(plt, opt: Any, study: Any) -> str:
    import optuna  # noqa: PLC0415

    rows = []
    for i, key in enumerate(opt.objectives):
        sign = 1.0 if opt.directions[i] == "minimize" else -1.0     # PED-ANOVA: what makes the target low
        try:
            with warnings.catch_warnings():      # its note that it ranks for a low target: handled by sign
                warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes", category=UserWarning)
                imp = optuna.importance.get_param_importances(
                    study, target=lambda t, i=i, sign=sign: sign * t.values[i],
                    evaluator=optuna.importance.PedAnovaImportanceEvaluator())
        except (RuntimeError, ValueError) as exc:
            return f"<p>No importances: {html.escape(str(exc))}</p>"
        rows.append((key, imp))
    fig, axes = plt.subplots(1, len(rows), figsize=(5.2 * len(rows), 0.5 + 0.45 * len(opt.model.factors)),
                             squeeze=False)
    for ax, (key, imp) in zip(axes[0], rows):
        names = list(imp)[::-1]
        ax.barh([_short(k) for k in names], [imp[k] for k in names])
        ax.set_xlabel("importance (PED-ANOVA)")
        ax.set_title(_short(key), fontsize=8)
    return _img(fig, "parameter importances")


def _slices(plt, opt: Any, ok: list[Any]) -> str:
    keys = list(opt.model.factors)
    fig, axes = plt.subplots(len(opt.objectives), len(keys), figsize=(3.4 * len(keys), 2.8 * len(opt.objectives)),
                             squeeze=False)
    for i, obj in enumerate(opt.objectives):
        for j, k in enumerate(keys):
            raw = [t.params.get(k) for t in ok]
            levels = opt.model.factors[k].levels
            x = [levels.index(v) for v in raw] if levels is not None else raw
            axes[i][j].scatter(x, [t.values[i] for t in ok], s=12, c=[t.number for t in ok], cmap="viridis")
            if levels is not None:
                axes[i][j].set_xticks(range(len(levels)), [str(v) for v in levels], fontsize=7)
            axes[i][j].set_xlabel(k, fontsize=8)
            if j == 0:
                axes[i][j].set_ylabel(_short(obj), fontsize=8)
    fig.suptitle("objective against each factor (colour: trial number)")
    return _img(fig, "slices")


def _table(opt: Any, trials: list[Any], feasible) -> str:
    keys = list(opt.model.factors)
    head = "".join(f"<th>{html.escape(_short(k))}</th>" for k in ["trial", "state", *keys, *opt.objectives])
    rows = []
    for t in trials:
        f = t.user_attrs.get("factors") or t.params
        vals = list(t.values) if t.values else [math.nan] * len(opt.objectives)
        state = t.state.name.lower() + ("" if not t.values or feasible(t) else " (infeasible)")
        cells = [str(t.number), state, *(str(f.get(k, "")) for k in keys), *(f"{v:.6g}" for v in vals)]
        err = t.user_attrs.get("error")
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                    + (f"<td>{html.escape(err)}</td>" if err else "") + "</tr>")
    return f"<table><tr>{head}<th>error</th></tr>{''.join(rows)}</table>"


def optimization_html(opt: Any, study: Any, best: list[Any]) -> str:
    """The page: summary, best design(s), history, Pareto front, importances, slices, all trials."""
    from optuna.trial import TrialState  # noqa: PLC0415

    from .optimize import feasible, summary_lines  # noqa: PLC0415

    plt = _plt()
    trials = study.get_trials(deepcopy=False)
    ok = [t for t in trials if feasible(t)]
    n_fail = sum(t.state == TrialState.FAIL for t in trials)
    spec = opt.spec
    parts = [f"<h1>Optimisation {html.escape(opt.name)}</h1>",
             f"<p>{len(trials)} trials ({len(ok)} feasible, {n_fail} failed); sampler {spec.sampler} "
             f"(seed {spec.seed}); objectives: "
             + ", ".join(f"{html.escape(o.response)} ({o.direction})" for o in spec.objectives)
             + ("; response constraints: " + html.escape("; ".join(spec.constraints)) if spec.constraints else "")
             + ".</p>",
             "<h2>" + ("Best design" if len(best) == 1 else f"Non-dominated designs ({len(best)})") + "</h2><ul>"
             + "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(opt, best)) + "</ul>",
             "<h2>History</h2>" + _history(plt, opt, trials, feasible)]
    if len(opt.objectives) > 1 and ok:
        parts.append("<h2>Pareto front</h2>" + _pareto(plt, opt, ok, best))
    parts.append("<h2>Parameter importances</h2>" + _importances(plt, opt, study))
    if ok:
        parts.append("<h2>Slices</h2>" + _slices(plt, opt, ok))
    parts.append("<h2>Trials</h2>" + _table(opt, trials, feasible))
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(opt.name)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
