"""summary.html of a study: scatter matrix, Pareto front, main effects, Sobol indices (matplotlib).

* Scatter matrix: every numeric factor (columns) against every response (rows).
* Pareto front: interface area gain (anode) against the cov of the cathode current density; the
  non-dominated designs (no other design has a higher gain and a lower cov) are joined and labelled.
* Main effects: the mean of each response at each level of each factor (ranges: in quartile bins).
* Sobol indices (``design: sobol``, a Saltelli layout of N (d + 2) cases): first order
  S_i = mean(f_B (f_ABi - f_A)) / V (Saltelli et al. 2010) and total order
  S_Ti = mean((f_A - f_ABi)^2) / (2 V) (Jansen 1999), V the variance of f over A and B.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from .doe import Study

GAIN, COV = "geometry.area_gain.anode", "solution.current_density_mA_cm2.cathode.cov"


def _plt():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _img(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _numeric(values: list[Any]) -> np.ndarray | None:
    """Factor values as numbers (quantity strings by their magnitude), or None for categories."""
    out = []
    for v in values:
        if isinstance(v, bool):
            return None
        if isinstance(v, (int, float)):
            out.append(float(v))
            continue
        try:
            out.append(float(str(v).split()[0]))
        except ValueError:
            return None
    return np.array(out)


def pareto(gain: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (maximise gain, minimise cov), sorted by gain."""
    idx = []
    for i in range(len(gain)):
        dominated = np.any((gain >= gain[i]) & (cov <= cov[i]) & ((gain > gain[i]) | (cov < cov[i])))
        if not dominated:
            idx.append(i)
    return np.array(sorted(idx, key=lambda i: gain[i]), dtype=int)


def sobol_indices(f: np.ndarray, N: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """First- and total-order indices from the Saltelli layout [A; B; AB_1; ...; AB_d] of f."""
    fA, fB = f[:N], f[N:2 * N]
    V = np.var(np.concatenate([fA, fB]))
    S1, ST = np.zeros(d), np.zeros(d)
    for i in range(d):
        fAB = f[(2 + i) * N:(3 + i) * N]
        S1[i] = np.mean(fB * (fAB - fA)) / V
        ST[i] = 0.5 * np.mean((fA - fAB) ** 2) / V
    return S1, ST


def summary_html(study: Study, rows: list[dict[str, Any]]) -> str:
    """The summary page of a study (rows from :func:`mb3d.doe.table`)."""
    plt = _plt()
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    factors = list(study.model.factors)
    responses = [k for k in study.model.responses if ok and ok[0].get(k) is not None]
    parts = [f"<h1>Study {html.escape(study.name)}</h1>",
             f"<p>{len(rows)} cases: {len(ok)} ok, {len(failed)} failed; {study.dropped} points dropped by "
             f"constraints. Design: {study.model.design.kind}.</p>"]
    if failed:
        parts.append("<h2>Failures</h2><table>" + "".join(
            f"<tr><td>{r['index']}</td><td>{html.escape(str(r['error']))}</td></tr>" for r in failed) + "</table>")
    if ok and responses:
        num = {k: _numeric([r[k] for r in ok]) for k in factors}
        cols = [k for k in factors if num[k] is not None]
        if cols:
            fig, axes = plt.subplots(len(responses), len(cols), figsize=(3.2 * len(cols), 2.6 * len(responses)),
                                     squeeze=False)
            for i, resp in enumerate(responses):
                y = np.array([r[resp] for r in ok], float)
                for j, k in enumerate(cols):
                    ax = axes[i][j]
                    ax.scatter(num[k], y, s=12)
                    if i == len(responses) - 1:
                        ax.set_xlabel(k, fontsize=8)
                    if j == 0:
                        ax.set_ylabel(resp.split(".", 1)[-1], fontsize=8)
            fig.suptitle("factors against responses")
            parts.append("<h2>Scatter matrix</h2>" + _img(fig))
        if GAIN in ok[0] and COV in ok[0]:
            g = np.array([r[GAIN] for r in ok], float)
            c = np.array([r[COV] for r in ok], float)
            front = pareto(g, c)
            fig, ax = plt.subplots(figsize=(6, 4.5))
            ax.scatter(g, c, s=14, color="#999999", label="designs")
            ax.plot(g[front], c[front], "o-", color="#d1495b", label="Pareto front")
            for i in front:
                ax.annotate(str(ok[i]["index"]), (g[i], c[i]), fontsize=8)
            ax.set_xlabel("area gain (anode interface)")
            ax.set_ylabel("cov of cathode current density")
            ax.legend()
            parts.append("<h2>Pareto front: area gain against nonuniformity</h2>" + _img(fig))
        fig, axes = plt.subplots(len(responses), len(factors), figsize=(3.2 * len(factors), 2.6 * len(responses)),
                                 squeeze=False)
        for i, resp in enumerate(responses):
            y = np.array([r[resp] for r in ok], float)
            for j, k in enumerate(factors):
                ax = axes[i][j]
                x = num.get(k)
                if x is not None and len(np.unique(x)) > 6:
                    edges = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
                    b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 3)
                    labels = [f"{edges[q]:.3g}-{edges[q + 1]:.3g}" for q in range(4)]
                    means = [y[b == q].mean() if (b == q).any() else np.nan for q in range(4)]
                else:
                    levels = list(dict.fromkeys(str(r[k]) for r in ok))
                    labels = levels
                    means = [y[[str(r[k]) == lv for r in ok]].mean() for lv in levels]
                ax.plot(range(len(labels)), means, "o-")
                ax.set_xticks(range(len(labels)))
                ax.set_xticklabels(labels, fontsize=7, rotation=30)
                if i == len(responses) - 1:
                    ax.set_xlabel(k, fontsize=8)
                if j == 0:
                    ax.set_ylabel(resp.split(".", 1)[-1], fontsize=8)
        fig.suptitle("main effects (mean response per level)")
        parts.append("<h2>Main effects</h2>" + _img(fig))
        if study.saltelli and study.dropped == 0 and len(ok) == len(study.points):
            N, d = study.saltelli["N"], study.saltelli["d"]
            by_index = {r["index"]: r for r in ok}
            rowsx = ["<tr><th>response</th>" + "".join(f"<th>S1 {html.escape(k)}</th><th>ST {html.escape(k)}</th>"
                                                      for k in factors) + "</tr>"]
            for resp in responses:
                f = np.array([by_index[p.index][resp] for p in study.points], float)
                S1, ST = sobol_indices(f, N, d)
                rowsx.append(f"<tr><td>{html.escape(resp)}</td>" + "".join(
                    f"<td>{a:.3f}</td><td>{b:.3f}</td>" for a, b in zip(S1, ST)) + "</tr>")
            parts.append("<h2>Sobol indices</h2><table>" + "".join(rowsx) + "</table>")
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>mb3d study</title><style>"
            "body{font-family:sans-serif;max-width:1300px;margin:2em auto} img{max-width:100%}"
            "td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style></head><body>"
            + "".join(parts) + "</body></html>\n")
