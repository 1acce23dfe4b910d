"""summary.html and the sensitivity analysis: SALib's Saltelli design and Sobol indices with intervals on
known functions, the Pareto front, the sortable results table, the study file's plots and labels."""
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import matplotlib.axes
import numpy as np
import pytest
import yaml

from mb3d import doe
from mb3d.case import CaseError
from mb3d.sensitivity import base_points, saltelli_unit, sobol
from mb3d.summary import MAX_LABELS, label_subset, pareto, summary_html

ROOT = Path(__file__).parent.parent
ASR, GAIN, COV = "solution.asr_ohm_cm2", "geometry.area_gain.anode", "solution.current_density_mA_cm2.cathode.cov"


def test_saltelli_design_layout_and_seed():
    X = saltelli_unit(2, 6, seed=3)                   # 6 is rounded up to 8 base points
    assert base_points(6) == 8 and base_points(8) == 8 and base_points(1) == 1
    assert X.shape == (8 * (2 * 2 + 2), 2) and X.min() >= 0 and X.max() <= 1
    assert np.array_equal(X, saltelli_unit(2, 8, seed=3)) and not np.array_equal(X, saltelli_unit(2, 8, seed=4))
    A, AB1, AB2, BA1, BA2, B = (X[k::6] for k in range(6))   # SALib's rows per base point
    assert np.array_equal(AB1, np.c_[B[:, 0], A[:, 1]]) and np.array_equal(AB2, np.c_[A[:, 0], B[:, 1]])
    assert np.array_equal(BA1, np.c_[A[:, 0], B[:, 1]]) and np.array_equal(BA2, np.c_[B[:, 0], A[:, 1]])
    assert not np.allclose(A, B)


def test_sobol_indices_and_pareto_on_known_functions():
    d, n = 2, 1024
    X = saltelli_unit(d, n, seed=0)
    f = X[:, 0] + 2 * X[:, 1]                      # variances 1/12 and 4/12: S = 0.2, 0.8, no interaction
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sobol(f, d, ["x1", "x2"], seed=0)
    true = np.array([0.2, 0.8])
    assert s["N"] == n and not s["constant"]
    assert s["S1"] == pytest.approx(true, abs=0.02) and s["ST"] == pytest.approx(true, abs=0.02)
    for key in ("S1", "ST"):                       # intervals that contain the truth, and are informative
        assert np.all(np.abs(s[key] - true) <= s[f"{key}_conf"]), (key, s[key], s[f"{key}_conf"])
        assert np.all(s[f"{key}_conf"] > 0) and np.all(s[f"{key}_conf"] < 0.1)
    assert abs(s["S2"][0, 1]) <= s["S2_conf"][0, 1] < 0.2
    assert np.isnan(s["S2"][1, 0]) and np.isnan(s["S2"][0, 0]) and np.isnan(s["S2_conf"][1, 0])
    again = sobol(f, d, ["x1", "x2"], seed=0)      # the bootstrap is seeded
    assert np.array_equal(again["S1_conf"], s["S1_conf"])
    # an interaction: f = x1 x2 on [-1/2, 1/2]^2 is all second order
    g = (X[:, 0] - 0.5) * (X[:, 1] - 0.5)
    s2 = sobol(g, d, ["x1", "x2"], seed=0)
    assert s2["S1"] == pytest.approx([0, 0], abs=0.05) and s2["ST"] == pytest.approx([1, 1], abs=0.05)
    assert s2["S2"][0, 1] == pytest.approx(1, abs=0.1)
    # a constant response: NaN indices, no warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = sobol(np.full(len(f), 43.5), d, ["x1", "x2"])
    assert c["constant"] and all(np.all(np.isnan(c[k])) for k in ("S1", "S1_conf", "ST", "ST_conf", "S2", "S2_conf"))
    with pytest.raises(ValueError, match="N \\(2d \\+ 2\\)"):
        sobol(f[:-1], d, ["x1", "x2"])
    gain = np.array([1.0, 2.0, 3.0, 2.5, 1.5])
    cov = np.array([0.1, 0.2, 0.4, 0.5, 0.05])
    assert list(pareto(gain, cov)) == [4, 1, 2]


def test_label_subset_is_bounded_and_spread():
    x = np.arange(500.0)[::-1]
    chosen = label_subset(x)
    assert len(chosen) == MAX_LABELS and len(set(chosen)) == MAX_LABELS
    assert {0, 499} <= set(chosen)                 # both ends of the x axis
    assert list(label_subset(np.arange(5.0))) == [0, 1, 2, 3, 4]


def _study(tmp_path, **summary) -> doe.Study:
    s = {"name": "sum", "base": str(ROOT / "cases" / "planar_lipon.yaml"),
         "factors": {"geometry.electrolyte_thickness": {"levels": [1.0, 2.0, 3.0]},
                     "materials.electrolyte": {"levels": ["LiPON", "Li7P3S11"]}},
         "design": {"kind": "full_factorial"}, "responses": [ASR, GAIN, COV], "summary": summary}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(s))
    return doe.load_study(p)                      # loading runs nothing


def _rows(study: doe.Study) -> list[dict]:
    rows = []
    for p in study.points:
        t = p.factors["geometry.electrolyte_thickness"]
        sigma = 2.3 if p.factors["materials.electrolyte"] == "LiPON" else 500.0
        rows.append({"index": p.index, "case_hash": p.case_hash, "status": "ok", "error": "", "seconds": 0.5 + p.index,
                     **p.factors, ASR: 100 * t / sigma, GAIN: 1 + 0.1 * p.index, COV: 0.01 * (6 - p.index)})
    rows[-1] = {**rows[-1], "status": "failed", "error": "mesher: <bad> & worse", ASR: None, GAIN: None, COV: None}
    return rows


def _section(page: str, heading: str) -> str:
    start = page.index(f"<h2>{heading}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start:end if end > 0 else len(page)]


def test_summary_has_the_sortable_table_the_study_plots_and_labels(tmp_path, monkeypatch):
    plots = [{"x": "geometry.electrolyte_thickness", "y": ASR, "color": "materials.electrolyte"},
             {"x": "materials.electrolyte", "y": GAIN},
             {"x": GAIN, "y": COV, "color": "geometry.electrolyte_thickness"}]
    study = _study(tmp_path, plots=plots, label=["geometry.electrolyte_thickness"])
    rows = _rows(study)
    drawn = []
    original = matplotlib.axes.Axes.annotate
    monkeypatch.setattr(matplotlib.axes.Axes, "annotate",
                        lambda self, text, *a, **k: (drawn.append(text), original(self, text, *a, **k))[1])
    page = summary_html(study, rows)
    # the results table: a sortable header per column, one row per case, escaped
    table = _section(page, "Results")
    heads = re.findall(r'<th onclick="mb3dSort\(this\)"[^>]*>([^<]*)</th>', table)
    assert heads == ["index", "status", "geometry.electrolyte_thickness", "materials.electrolyte", ASR, GAIN, COV,
                     "seconds", "error"]
    assert table.count("<tr>") == 1 + len(rows)
    assert "mesher: &lt;bad&gt; &amp; worse" in table and "<bad>" not in page
    assert "<script>" in page and "function mb3dSort(" in page and "<script src" not in page
    # one image per plot of the study file, with its keys; no scatter matrix then
    section = _section(page, "Plots")
    assert section.count("<img") == len(plots)
    assert f'alt="{ASR} against geometry.electrolyte_thickness, colour materials.electrolyte"' in section
    assert "Scatter matrix" not in page and "Pareto front" in page and "Main effects" in page
    # every finished point labelled by the chosen factor, in the study plots and the Pareto plot
    ok = [r for r in rows if r["status"] == "ok"]
    assert "electrolyte_thickness=2" in drawn and not any("electrolyte=" in t and "thickness" not in t for t in drawn)
    assert len(drawn) == 3 * len(ok) + len(ok)      # 3 plots and the Pareto front (few points: all)
    # default label (every factor); no plots: today's scatter matrix
    drawn.clear()
    page = summary_html(_study(tmp_path), rows)
    assert "Scatter matrix" in page and "<h2>Plots</h2>" not in page
    assert "electrolyte_thickness=1, electrolyte=LiPON" in drawn


def test_a_plot_key_that_is_no_column_is_refused_when_loading(tmp_path):
    with pytest.raises(CaseError, match="summary.plots.0..x = 'geometry.pitch': not a factor or a response"):
        _study(tmp_path, plots=[{"x": "geometry.pitch", "y": ASR}])


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_the_sort_script_sorts_numbers_numerically(tmp_path):
    study = _study(tmp_path)
    page = summary_html(study, _rows(study))
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    values = ["10", "9", "", "100 um", "LiPON", "2.5e-3", "-1", "Li7P3S11"]
    js = script + f"\nconsole.log(JSON.stringify({json.dumps(values)}.sort(mb3dCmp)));"
    out = subprocess.run(["node", "-e", js], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["-1", "2.5e-3", "9", "10", "100 um", "Li7P3S11", "LiPON", ""]


def _sobol_study(d: int = 2, n: int = 64, failed: int | None = None):
    keys = ["geometry.pitch", "geometry.height"][:d]
    model = doe.StudyModel(name="sob", base={}, factors={"geometry.pitch": {"range": [30, 50]},
                                                         "geometry.height": {"range": [5, 15]}},
                           design={"kind": "sobol", "samples": n, "seed": 1}, responses=[ASR, GAIN])
    U = saltelli_unit(d, n, seed=1)
    points, rows = [], []
    for i, (u1, u2) in enumerate(U):
        vals = {"geometry.pitch": 30 + 20 * u1, "geometry.height": 5 + 10 * u2}
        points.append(doe.Point(i, vals, {}, f"h{i}"))
        rows.append({"index": i, "case_hash": f"h{i}", "status": "ok" if i != failed else "failed",
                     "error": "", "seconds": 1.0, **vals,
                     ASR: vals["geometry.pitch"] + 4 * vals["geometry.height"], GAIN: 2.0})
    study = doe.Study(model, {}, tuple(points), 0, {"N": base_points(n), "d": d, "factors": keys,
                                                    "second_order": True})
    return study, rows


def test_sobol_table_with_intervals_and_a_constant_response():
    study, rows = _sobol_study()
    page = summary_html(study, rows)
    table = _section(page, "Sobol indices")
    assert page.count(f"<td>{ASR}</td>") == 1 and page.count(f"<td>{GAIN}</td>") == 1
    cells = re.findall(r"<td>(-?[0-9.]+) ± ([0-9.]+)</td>", table)
    assert len(cells) == 2 * 2 + 1                  # S1 and ST per factor, S2 for the pair
    (s1p, c1p), (stp, ctp), (s1h, c1h), (sth, cth), (s2, c2) = [(float(a), float(b)) for a, b in cells]
    assert abs(s1p - 0.2) <= c1p and abs(stp - 0.2) <= ctp and abs(s1h - 0.8) <= c1h and abs(sth - 0.8) <= cth
    assert abs(s2) <= c2
    assert "S2 geometry.pitch × geometry.height" in table
    assert "constant response" in table           # the area gain is 2.0 everywhere
    failed_study, failed_rows = _sobol_study(failed=5)
    page = summary_html(failed_study, failed_rows)
    assert "1 of 384 points did not finish" in _section(page, "Sobol indices") and f"<td>{ASR}</td>" not in page
