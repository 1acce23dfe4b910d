"""MkDocs hook: the convergence plots of the physics page, computed while the site is built.

Each plot repeats a computation of the test suite with the test's own helper functions (imported from
tests/), fits the order of convergence and draws the error against the mesh size (or time step) on
log axes. The PNGs are added to the site as generated files (``images/convergence/*.png``), so the
pages link to them like to any other image and nothing is written into the repository:

* ``coaxial.png``: the primary current between coaxial cylinders against 2 pi sigma h V / ln(b/a),
  P1 and P2 (``tests/test_coaxial.py``: ``current``);
* ``periodic.png``: the L2 error of a manufactured solution on a periodic unit cube, P1 and P2
  (``tests/test_periodic.py``: ``solve``);
* ``bdf2.png``: the end voltage of the transient planar cell integrated with constant steps: the
  differences between successive halvings (``tests/test_transient.py``: ``_fixed_step_voltage``).

About 30 s on 2 cores. The results are kept for the life of the process (``mkdocs serve`` computes
them once).
"""
from __future__ import annotations

import io
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "images/convergence"
log = logging.getLogger("mkdocs.hooks.convergence")
_PNGS: dict[str, bytes] = {}


def fitted_order(h, err) -> float:
    """Slope of log|err| against log h (least squares)."""
    return float(np.polyfit(np.log(h), np.log(np.abs(err)), 1)[0])


def _plot(series, xlabel: str, ylabel: str, title: str, expected: dict[str, float]) -> bytes:
    """One log-log plot: each series (label, h, err) with its fitted order, and a dotted line of the
    expected order through its last point."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(5.6, 4.0), dpi=110)
    for label, h, err in series:
        h, err = np.asarray(h, float), np.abs(np.asarray(err, float))
        p = fitted_order(h, err)
        line, = ax.loglog(h, err, "o-", label=f"{label}: fitted order {p:.2f}")
        q = expected.get(label)
        if q is not None:
            ax.loglog(h, err[-1] * (h / h[-1]) ** q, ":", color=line.get_color(), label=f"order {q:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def coaxial() -> bytes:
    """tests/test_coaxial.py: the current of the default coaxial cell against its closed form."""
    import test_coaxial as t  # noqa: PLC0415

    series = []
    for order, sizes in ((1, [1.0, 0.7, 0.5, 0.35]), (2, [1.0, 0.7, 0.5])):
        errors = [t.current(s, order)[0] / t.EXACT_QUARTER_A - 1 for s in sizes]
        series.append((f"P{order}", sizes, errors))
    return _plot(series, "mesh size h (um)", "|relative error of the current|",
                 "coaxial cylinders: I = 2 pi sigma h V / ln(b/a)", {"P1": 2, "P2": 2})


def periodic() -> bytes:
    """tests/test_periodic.py: a periodic manufactured solution on the unit cube, L2 error."""
    import test_periodic as t  # noqa: PLC0415

    series = []
    for order, ns in ((1, [4, 8, 16]), (2, [4, 6, 8])):
        series.append((f"P{order}", [1.0 / n for n in ns], [t.solve(n, order) for n in ns]))
    return _plot(series, "element size h = 1/n (cube of n^3 boxes)", "L2 error",
                 "periodic faces joined by elimination: manufactured solution", {"P1": 2, "P2": 3})


def bdf2() -> bytes:
    """tests/test_transient.py: the end voltage after 4 min at 2C with constant steps h."""
    import test_transient as t  # noqa: PLC0415

    hs = np.array([12.0, 6.0, 3.0, 1.5])
    volts = np.array([t._fixed_step_voltage(h) for h in hs])
    return _plot([("BDF2", hs[:-1], np.diff(volts))], "time step h (s)", "|V(h) - V(h/2)| (V)",
                 "planar transient cell, 2C for 4 min: time integration", {"BDF2": 2})


PLOTS = {"coaxial.png": coaxial, "periodic.png": periodic, "bdf2.png": bdf2}


def on_files(files, config):
    """Compute the plots (once per process) and add them to the site's files."""
    from mkdocs.structure.files import File  # noqa: PLC0415

    for path in (str(ROOT / "tests"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    for name, make in PLOTS.items():
        if name not in _PNGS:
            t0 = time.perf_counter()
            _PNGS[name] = make()
            log.info("convergence plot %s: %.1f s", name, time.perf_counter() - t0)
        files.append(File.generated(config, f"{FOLDER}/{name}", content=_PNGS[name]))
    return files
