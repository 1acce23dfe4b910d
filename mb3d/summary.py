"""summary.html of a study: results table, plots, Pareto front, main effects, Sobol indices (matplotlib).

* Results: every case (index, status, factors, responses, seconds, error) in one table; a click on a
  header sorts by that column (numbers numerically, quantity strings such as ``30 um`` by magnitude,
  empty cells last; a second click reverses). A small inline script, no external files.
* Plots: one scatter per ``summary.plots`` entry of the study file (``x``, ``y`` and an optional
  ``color``, each a factor or response key; categories are placed by level); without entries, the
  scatter matrix of every numeric factor (columns) against every response (rows).
* Labels: the points of those plots and of the Pareto front carry the values of the factors in
  ``summary.label`` (default: every factor), e.g. ``pitch=40, anode_radius=10``; at most
  :data:`MAX_LABELS` points are labelled per plot (spread along x; the plot says how many).
* Pareto front: interface area gain (anode) against the cov of the cathode current density; the
  non-dominated designs (no other design has a higher gain and a lower cov) are joined.
* Main effects: the mean of each response at each level of each factor (ranges: in quartile bins).
* Sobol indices (``design: sobol``, SALib's Saltelli layout of N (2d + 2) cases,
  :mod:`mb3d.sensitivity`): first, total and second order with bootstrap confidence intervals; only
  when every point of the design finished (a missing case would bias every index, so the page says
  why there are none instead).
"""
from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

import numpy as np

from . import sensitivity
from .doe import Study

GAIN, COV = "geometry.area_gain.anode", "solution.current_density_mA_cm2.cathode.cov"
#: the most points labelled in one plot
MAX_LABELS = 40

_SORT_JS = """<script>
function mb3dKey(s){s=s.trim();if(s==="")return null;var x=parseFloat(s);return isNaN(x)?s:x;}
function mb3dCmp(a,b){var x=mb3dKey(a),y=mb3dKey(b);
 if(x===null||y===null)return x===y?0:(x===null?1:-1);
 if(typeof x==="number"&&typeof y==="number")return x-y;
 if(typeof x==="number")return -1;if(typeof y==="number")return 1;return x.localeCompare(y);}
function mb3dSort(th){var table=th.closest("table"),body=table.tBodies[0],col=th.cellIndex;
 var asc=th.getAttribute("data-dir")!=="asc";
 Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute("data-dir");});
 th.setAttribute("data-dir",asc?"asc":"desc");
 var rows=Array.prototype.slice.call(body.rows);
 rows.sort(function(r,s){var a=r.cells[col].textContent,b=s.cells[col].textContent,
   ea=a.trim()==="",eb=b.trim()==="";if(ea||eb)return ea===eb?0:(ea?1:-1);
   var c=mb3dCmp(a,b);return asc?c:-c;});
 rows.forEach(function(r){body.appendChild(r);});}
</script>"""


def _plt():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _img(fig, alt: str = "") -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return (f'<img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">')


def _numeric(values: list[Any]) -> np.ndarray | None:
    """Factor values as numbers (quantity strings by their magnitude), or None for categories."""
    out = []
    for v in values:
        if isinstance(v, bool):
            return None
        if v is None:
            out.append(math.nan)
            continue
        if isinstance(v, (int, float)):
            out.append(float(v))
            continue
        try:
            out.append(float(str(v).split()[0]))
        except (ValueError, IndexError):
            return None
    return np.array(out)


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return str(v)


def _label_value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def pareto(gain: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (maximise gain, minimise cov), sorted by gain."""
    idx = []
    for i in range(len(gain)):
        dominated = np.any((gain >= gain[i]) & (cov <= cov[i]) & ((gain > gain[i]) | (cov < cov[i])))
        if not dominated:
            idx.append(i)
    return np.array(sorted(idx, key=lambda i: gain[i]), dtype=int)


def point_label(row: dict[str, Any], keys: list[str]) -> str:
    """``pitch=40, anode_radius=10``: the values of ``keys`` in a row, by the last part of each key."""
    return ", ".join(f"{_short(k)}={_label_value(row.get(k))}" for k in keys)


def label_subset(x: np.ndarray, limit: int = MAX_LABELS) -> np.ndarray:
    """Indices of at most ``limit`` points to label, spread evenly along x (all when few)."""
    n = len(x)
    if n <= limit:
        return np.arange(n)
    order = np.argsort(np.asarray(x, float), kind="stable")
    return order[np.unique(np.round(np.linspace(0, n - 1, limit)).astype(int))]


def _annotate(ax, xs: np.ndarray, ys: np.ndarray, texts: list[str], candidates: np.ndarray | None = None) -> str:
    """Label at most MAX_LABELS points (of ``candidates``, default all); a note when some are left out."""
    cand = np.arange(len(xs)) if candidates is None else np.asarray(candidates, int)
    if not len(cand) or not texts or not texts[0]:
        return ""
    chosen = cand[label_subset(xs[cand])]
    for i in chosen:
        ax.annotate(texts[i], (xs[i], ys[i]), fontsize=6, alpha=0.85, xytext=(3, 3), textcoords="offset points")
    return "" if len(chosen) == len(xs) else f"labels on {len(chosen)} of {len(xs)} points"


class _Axis:
    """The values of one factor or response key over the plotted rows: numbers or level codes."""

    def __init__(self, key: str, rows: list[dict[str, Any]], levels: list[Any] | None):
        self.key = key
        vals = [r.get(key) for r in rows]
        num = _numeric(vals)
        self.ticks: list[str] | None = None
        if num is not None:
            self.values = num
        else:
            order = [str(v) for v in (levels or [])]
            order += [s for s in dict.fromkeys(str(v) for v in vals if v is not None) if s not in order]
            self.values = np.array([order.index(str(v)) if v is not None else math.nan for v in vals], float)
            self.ticks = order

    def apply(self, ax, which: str) -> None:
        getattr(ax, f"set_{which}label")(self.key, fontsize=8)
        if self.ticks is not None:
            getattr(ax, f"set_{which}ticks")(range(len(self.ticks)))
            getattr(ax, f"set_{which}ticklabels")(self.ticks, fontsize=7)


def _study_plot(plt, spec, ok: list[dict[str, Any]], study: Study, label_keys: list[str]) -> str:
    factors = study.model.factors
    known = set(factors) | {k for r in ok for k in r}
    missing = [k for k in (spec.x, spec.y, spec.color) if k is not None and k not in known]
    title = f"{spec.y} against {spec.x}" + (f", colour {spec.color}" if spec.color else "")
    if missing:
        return (f"<p>plot {html.escape(title)}: {html.escape(', '.join(missing))} is not a factor or a response "
                "of this study (responses: the study's <code>responses</code> list)</p>")

    def axis(k: str) -> _Axis:
        f = factors.get(k)
        return _Axis(k, ok, f.levels if f is not None else None)

    ax_x, ax_y = axis(spec.x), axis(spec.y)
    ax_c = axis(spec.color) if spec.color else None
    keep = np.isfinite(ax_x.values) & np.isfinite(ax_y.values)
    if ax_c is not None:
        keep &= np.isfinite(ax_c.values)
    idx = np.flatnonzero(keep)
    if not len(idx):
        return f"<p>plot {html.escape(title)}: no finished case has these values</p>"
    x, y = ax_x.values[idx], ax_y.values[idx]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    if ax_c is not None:
        if ax_c.ticks is not None:
            cmap = plt.get_cmap("tab10", max(len(ax_c.ticks), 1))
            sc = ax.scatter(x, y, c=ax_c.values[idx], cmap=cmap, vmin=-0.5, vmax=len(ax_c.ticks) - 0.5, s=18)
            bar = fig.colorbar(sc, ax=ax, ticks=range(len(ax_c.ticks)))
            bar.ax.set_yticklabels(ax_c.ticks, fontsize=7)
        else:
            sc = ax.scatter(x, y, c=ax_c.values[idx], cmap="viridis", s=18)
            bar = fig.colorbar(sc, ax=ax)
        bar.set_label(spec.color, fontsize=8)
    else:
        ax.scatter(x, y, s=18)
    ax.margins(x=0.12, y=0.06)                      # room for the labels of the outermost points
    ax_x.apply(ax, "x")
    ax_y.apply(ax, "y")
    note = _annotate(ax, x, y, [point_label(ok[i], label_keys) for i in idx])
    ax.set_title(title + (f"\n({note})" if note else ""), fontsize=9)
    return _img(fig, title)


def results_table(rows: list[dict[str, Any]], factors: list[str], responses: list[str]) -> str:
    """Every case in a sortable table: index, status, factors, responses, seconds, error."""
    cols = ["index", "status", *factors, *responses, "seconds", "error"]
    head = "".join(f'<th onclick="mb3dSort(this)" title="sort">{html.escape(c)}</th>' for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_text(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return (f'<table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def _sobol_section(study: Study, ok: list[dict[str, Any]], responses: list[str]) -> str:
    salt = study.saltelli or {}
    N, d, keys = salt.get("N"), salt.get("d"), list(salt.get("factors", study.model.factors))
    head = "<h2>Sobol indices</h2>"
    if not salt.get("second_order") or not N or not d or len(study.points) != N * (2 * d + 2):
        return head + ("<p>No indices: the points are not SALib's Saltelli layout with second order "
                       "(N (2d + 2) points).</p>")
    if study.dropped:
        return head + f"<p>No indices: {study.dropped} points of the design were dropped by constraints.</p>"
    by_hash = {r.get("case_hash"): r for r in ok}
    lost = sum(p.case_hash not in by_hash for p in study.points)
    if lost:
        return head + f"<p>No indices: {lost} of {len(study.points)} points did not finish (failed or not run).</p>"
    pairs = [(j, k) for j in range(d) for k in range(j + 1, d)]
    th = ["<th>response</th>"] + [f"<th>S1 {html.escape(k)}</th><th>ST {html.escape(k)}</th>" for k in keys]
    th += [f"<th>S2 {html.escape(keys[j])} × {html.escape(keys[k])}</th>" for j, k in pairs]
    trs = ["<tr>" + "".join(th) + "</tr>"]
    ncells = 2 * d + len(pairs)
    level = 0.95
    for resp in responses:
        f = np.array([by_hash[p.case_hash].get(resp) if by_hash[p.case_hash].get(resp) is not None else math.nan
                      for p in study.points], float)
        cell = f"<td>{html.escape(resp)}</td>"
        if not np.all(np.isfinite(f)):
            trs.append(f"<tr>{cell}<td colspan={ncells}>n/a: missing in some cases</td></tr>")
            continue
        s = sensitivity.sobol(f, d, keys, seed=study.model.design.seed, conf_level=level)
        if s["constant"]:
            trs.append(f"<tr>{cell}<td colspan={ncells}>n/a: constant response (no variance), "
                       "no Sobol indices</td></tr>")
            continue
        tds = [f"<td>{sensitivity.fmt(s['S1'][j], s['S1_conf'][j])}</td>"
               f"<td>{sensitivity.fmt(s['ST'][j], s['ST_conf'][j])}</td>" for j in range(d)]
        tds += [f"<td>{sensitivity.fmt(s['S2'][j, k], s['S2_conf'][j, k])}</td>" for j, k in pairs]
        trs.append(f"<tr>{cell}{''.join(tds)}</tr>")
    return (head + f"<p>SALib, N = {N} base points, {len(study.points)} cases; first (S1), total (ST) and "
            f"second order (S2) indices ± the half-width of a {level:.0%} bootstrap interval "
            f"({sensitivity.NUM_RESAMPLES} resamples).</p><table>" + "".join(trs) + "</table>")


def summary_html(study: Study, rows: list[dict[str, Any]]) -> str:
    """The summary page of a study (rows from :func:`mb3d.doe.table`)."""
    plt = _plt()
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    factors = list(study.model.factors)
    responses = [k for k in study.model.responses if ok and ok[0].get(k) is not None]
    spec = study.model.summary
    label_keys = list(factors) if spec.label is None else [k for k in spec.label if k in study.model.factors]
    parts = [f"<h1>Study {html.escape(study.name)}</h1>",
             f"<p>{len(rows)} cases: {len(ok)} ok, {len(failed)} failed; {study.dropped} points dropped by "
             f"constraints. Design: {study.model.design.kind}.</p>"]
    if spec.label is not None and len(label_keys) < len(spec.label):
        bad = [k for k in spec.label if k not in study.model.factors]
        parts.append(f"<p>summary.label: {html.escape(', '.join(bad))} not a factor of this study (ignored)</p>")
    if failed:
        parts.append("<h2>Failures</h2><table>" + "".join(
            f"<tr><td>{r['index']}</td><td>{html.escape(str(r['error']))}</td></tr>" for r in failed) + "</table>")
    parts.append("<h2>Results</h2><p>Click a header to sort.</p>"
                 + results_table(rows, factors, list(study.model.responses)))
    if ok and spec.plots:
        parts.append("<h2>Plots</h2>" + "".join(_study_plot(plt, p, ok, study, label_keys) for p in spec.plots))
    if ok and responses:
        num = {k: _numeric([r.get(k) for r in ok]) for k in factors}
        cols = [k for k in factors if num[k] is not None]
        if cols and not spec.plots:
            fig, axes = plt.subplots(len(responses), len(cols), figsize=(3.2 * len(cols), 2.6 * len(responses)),
                                     squeeze=False)
            for i, resp in enumerate(responses):
                y = np.array([r[resp] if r.get(resp) is not None else math.nan for r in ok], float)
                for j, k in enumerate(cols):
                    ax = axes[i][j]
                    ax.scatter(num[k], y, s=12)
                    if i == len(responses) - 1:
                        ax.set_xlabel(k, fontsize=8)
                    if j == 0:
                        ax.set_ylabel(resp.split(".", 1)[-1], fontsize=8)
            fig.suptitle("factors against responses")
            parts.append("<h2>Scatter matrix</h2>" + _img(fig))
        if ok[0].get(GAIN) is not None and ok[0].get(COV) is not None:
            pr = [r for r in ok if r.get(GAIN) is not None and r.get(COV) is not None]
            g = np.array([r[GAIN] for r in pr], float)
            c = np.array([r[COV] for r in pr], float)
            front = pareto(g, c)
            fig, ax = plt.subplots(figsize=(6.4, 4.6))
            ax.scatter(g, c, s=14, color="#999999", label="designs")
            ax.plot(g[front], c[front], "o-", color="#d1495b", label="Pareto front")
            texts = [point_label(r, label_keys) for r in pr]
            # few designs: label them all; many: the front (spread along the gain axis)
            note = _annotate(ax, g, c, texts, None if len(pr) <= MAX_LABELS else front)
            ax.set_xlabel("area gain (anode interface)")
            ax.set_ylabel("cov of cathode current density")
            if note:
                ax.set_title(f"{note} (the Pareto front)", fontsize=9)
            ax.legend()
            parts.append("<h2>Pareto front: area gain against nonuniformity</h2>" + _img(fig))
        fig, axes = plt.subplots(len(responses), len(factors), figsize=(3.2 * len(factors), 2.6 * len(responses)),
                                 squeeze=False)
        for i, resp in enumerate(responses):
            y = np.array([r[resp] if r.get(resp) is not None else math.nan for r in ok], float)
            for j, k in enumerate(factors):
                ax = axes[i][j]
                x = num.get(k)
                if x is not None and len(np.unique(x)) > 6:
                    edges = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
                    b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 3)
                    labels = [f"{edges[q]:.3g}-{edges[q + 1]:.3g}" for q in range(4)]
                    means = [np.nanmean(y[b == q]) if (b == q).any() else np.nan for q in range(4)]
                else:
                    levels = list(dict.fromkeys(str(r.get(k)) for r in ok))
                    labels = levels
                    means = [np.nanmean(y[[str(r.get(k)) == lv for r in ok]]) for lv in levels]
                ax.plot(range(len(labels)), means, "o-")
                ax.set_xticks(range(len(labels)))
                ax.set_xticklabels(labels, fontsize=7, rotation=30)
                if i == len(responses) - 1:
                    ax.set_xlabel(k, fontsize=8)
                if j == 0:
                    ax.set_ylabel(resp.split(".", 1)[-1], fontsize=8)
        fig.suptitle("main effects (mean response per level)")
        parts.append("<h2>Main effects</h2>" + _img(fig))
    if study.saltelli and ok and responses:
        parts.append(_sobol_section(study, ok, responses))
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>mb3d study</title><style>"
            "body{font-family:sans-serif;max-width:1300px;margin:2em auto} img{max-width:100%}"
            "td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
            "table.results th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}"
            "table.results th[data-dir=asc]::after{content:' \\25B2'}"
            "table.results th[data-dir=desc]::after{content:' \\25BC'}"
            "table.results{font-size:85%}</style>" + _SORT_JS + "</head><body>"
            + "".join(parts) + "</body></html>\n")
