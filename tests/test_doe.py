"""Design-of-experiments batches: designs, constraints, local and Dask runs with identical tables,
failures as rows, kill and resume, export, top, mesh cache, Sobol indices."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from mb3d import doe
from mb3d.case import CaseError, load_case
from mb3d.pipeline import MESH_CACHE, run_case
from mb3d.summary import pareto, sobol_indices

ROOT = Path(__file__).parent.parent
BASE = {"name": "doe-base", "architecture": "interdigitated_pillars",
        "geometry": {"lattice": "square", "pitch": 40, "anode_radius": 10, "cathode_radius": 10, "height": 10},
        "mesh": {"size": 5.0, "interface_size": 2.5, "order": 1}}
VOLATILE = ("timing_s.", "mesh.from_cache")


def study_file(tmp_path, **over) -> Path:
    s = {"name": "t", "base": BASE,
         "factors": {"geometry.pitch": {"levels": [30, 40, 50]}, "geometry.anode_radius": {"levels": [6, 8, 10]}},
         "design": {"kind": "full_factorial"}}
    s.update(over)
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(s))
    return p


def stable(rows):
    """Rows keyed by case hash, without timings."""
    return {r["case_hash"]: {k: v for k, v in r.items() if k != "seconds" and not k.startswith(VOLATILE)}
            for r in rows}


def test_full_factorial_locally_and_on_a_local_dask_cluster(tmp_path):
    from distributed import LocalCluster

    study = doe.load_study(study_file(tmp_path))
    assert len(study.points) == 9
    local = doe.run_study(study, tmp_path / "local", workers=2)
    assert local == {"total": 9, "skipped": 0, "ok": 9, "failed": 0, "mesh_cache_hits": 0}   # 9 geometries
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        dask = doe.run_study(study, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert dask["ok"] == 9
    a, b = stable(doe.table(tmp_path / "local")), stable(doe.table(tmp_path / "dask"))
    assert a == b
    assert len({r["solution.asr_ohm_cm2"] for r in a.values()}) == 9


def test_one_impossible_point_is_one_failure(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [15, 40]},
                                      "geometry.anode_radius": {"levels": [6, 8]}})
    study = doe.load_study(p)
    counts = doe.run_study(study, tmp_path / "out", workers=2)
    rows = doe.table(tmp_path / "out")
    failed = [r for r in rows if r["status"] == "failed"]
    assert counts["ok"] == 2 and counts["failed"] == 2   # pitch 15 with both radii: pillars overlap
    assert all("overlap or touch" in r["error"] for r in failed)
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [19, 40]}})   # exactly one impossible
    counts = doe.run_study(doe.load_study(p), tmp_path / "out2", workers=1)
    rows = doe.table(tmp_path / "out2")
    assert counts == {"total": 2, "skipped": 0, "ok": 1, "failed": 1, "mesh_cache_hits": 0}
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert rows[0]["error"].startswith("geometry.anode_radius = 10: anode and cathode pillars overlap or touch")


def test_kill_half_way_and_resume(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 35, 40, 45, 50, 55]},
                                      "physics.voltage": {"levels": ["0.1 V", "0.2 V"]}})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = out / "results.sqlite"
    t0 = time.time()
    n = 0
    while time.time() - t0 < 120:
        if db.exists():
            try:
                n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= 4:
                break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 4 <= n < 12
    kept = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"({kept} already done, {12 - kept} ok, 0 failed now" in " ".join(r.stdout.split())
    hashes = [h for (h,) in sqlite3.connect(db).execute("SELECT case_hash FROM runs")]
    assert len(hashes) == 12 == len(set(hashes))


def test_sigint_stops_and_keeps_finished_rows(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 35, 40, 45, 50, 55]}})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "1",
                             "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = out / "results.sqlite"
    t0 = time.time()
    while time.time() - t0 < 120:
        if db.exists() and sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0] >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command to resume" in err and "Traceback" not in err


def test_designs_units_and_constraints(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"range": ["30 um", "0.05 mm"]},
                                      "geometry.anode_radius": {"range": [5, 12]},
                                      "materials.electrolyte": {"levels": ["LiPON", "Li7P3S11"]}},
                   design={"kind": "latin_hypercube", "samples": 20, "seed": 2},
                   constraints=["geometry.anode_radius + 10 < 0.5 * geometry.pitch"])
    study = doe.load_study(p)
    assert len(study.points) + study.dropped == 20 and study.dropped > 0
    for pt in study.points:
        pitch = float(pt.factors["geometry.pitch"].split()[0])
        assert 30 <= pitch <= 50 and pt.factors["geometry.pitch"].endswith("um")
        assert pt.factors["geometry.anode_radius"] + 10 < 0.5 * pitch
        assert pt.error is None
    again = doe.load_study(p)
    assert [q.case_hash for q in again.points] == [q.case_hash for q in study.points]   # seeded
    sob = doe.load_study(study_file(tmp_path, factors={"geometry.pitch": {"range": [30, 50]},
                                                       "geometry.height": {"range": [5, 20]}},
                                    design={"kind": "sobol", "samples": 8, "seed": 1}))
    assert len(sob.points) == 8 * (2 + 2) and sob.saltelli["N"] == 8 and sob.saltelli["d"] == 2
    assert set(sob.saltelli["factors"]) == {"geometry.pitch", "geometry.height"}


@pytest.mark.parametrize("over,message", [
    ({"factors": {"geometry.pitchh": {"levels": [30, 40]}}}, "factors.geometry.pitchh: geometry.pitchh: unknown key"),
    ({"factors": {"colour": {"levels": [1]}}}, "factors.colour: not a case key"),
    ({"factors": {"geometry.pitch": {"range": [50, 30]}}, "design": {"kind": "latin_hypercube"}},
     "factors.geometry.pitch.range = [50, 30]: must be [low, high] with low < high"),
    ({"factors": {"geometry.pitch": {"range": [30, 50]}}}, "full_factorial needs levels"),
    ({"constraints": ["geometry.pitch < geometry.width"]}, "geometry.width is not a factor"),
    ({"design": {"kind": "magic"}}, "design.kind"),
])
def test_bad_study_is_one_line_before_anything_runs(tmp_path, over, message):
    p = study_file(tmp_path, **over)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not out.exists()


def test_export_top_and_summary(tmp_path):
    p = study_file(tmp_path)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "2",
                        "--export", str(tmp_path / "t.csv"), "--top", "3", "--by", "capacity_uAh_cm2", "--quiet"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import csv
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert len(rows) == 9 and "solution.asr_ohm_cm2" in rows[0] and "geometry.pitch" in rows[0]
    best, key = doe.top(out, 3, "capacity_uAh_cm2")
    assert key == "geometry.capacity_uAh_cm2"
    caps = [b[key] for b in best]
    assert caps == sorted(caps, reverse=True) and caps[0] == max(float(r[key]) for r in rows)
    best_asr, _ = doe.top(out, 9, "solution.asr_ohm_cm2")
    assert [b["solution.asr_ohm_cm2"] for b in best_asr] == sorted(float(r["solution.asr_ohm_cm2"]) for r in rows)
    page = (out / "summary.html").read_text()
    assert page.count("<img") >= 3 and "Pareto front" in page and "Main effects" in page
    with pytest.raises(CaseError, match="must end in .csv or .parquet"):
        doe.export(out, tmp_path / "t.xlsx")


def test_mesh_cache_reuses_geometry_and_mesh():
    MESH_CACHE.clear()
    a = run_case(load_case(dict(BASE, physics={"voltage": "0.1 V"})))
    b = run_case(load_case(dict(BASE, physics={"voltage": "0.2 V"}, materials={"electrolyte": "Li7P3S11"})))
    assert a.record["mesh"]["from_cache"] is False and b.record["mesh"]["from_cache"] is True
    assert a.mesh is b.mesh
    c = run_case(load_case(dict(BASE, mesh={"size": 4.0, "interface_size": 2.0, "order": 1})))
    assert c.record["mesh"]["from_cache"] is False


def test_points_sharing_a_mesh_go_to_one_worker(tmp_path):
    """2 geometries x 3 voltages on 2 workers: each geometry's points are split into chunks of 2 and 1
    (every worker busy), so each geometry is meshed twice and reused once: 2 cache hits of 6."""
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [40, 45]},
                                      "physics.voltage": {"levels": ["0.1 V", "0.2 V", "0.3 V"]}})
    study = doe.load_study(p)
    groups = doe.mesh_groups(list(study.points), workers=2)
    assert sorted(len(g) for g in groups) == [1, 1, 2, 2]
    assert all(len({q.factors["geometry.pitch"] for q in g}) == 1 for g in groups)
    counts = doe.run_study(study, tmp_path / "out", workers=2)
    assert counts["ok"] == 6 and counts["mesh_cache_hits"] == 2


def test_sobol_indices_and_pareto_on_known_functions():
    from scipy.stats import qmc

    N, d = 4096, 2
    u = qmc.Sobol(d=2 * d, scramble=True, seed=0).random(N)
    A, B = u[:, :d], u[:, d:]
    X = np.vstack([A, B] + [np.where(np.arange(d) == i, B, A) for i in range(d)])
    f = X[:, 0] + 2 * X[:, 1]                      # variances 1/12 and 4/12: S = 0.2, 0.8
    S1, ST = sobol_indices(f, N, d)
    assert S1 == pytest.approx([0.2, 0.8], abs=0.02) and ST == pytest.approx([0.2, 0.8], abs=0.02)
    gain = np.array([1.0, 2.0, 3.0, 2.5, 1.5])
    cov = np.array([0.1, 0.2, 0.4, 0.5, 0.05])
    assert list(pareto(gain, cov)) == [4, 1, 2]


def test_sobol_study_reports_indices(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"range": [30, 50]}, "geometry.height": {"range": [5, 15]}},
                   design={"kind": "sobol", "samples": 4, "seed": 1},
                   responses=["solution.asr_ohm_cm2", "geometry.area_gain.anode"])
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "2", "--quiet"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    page = (out / "summary.html").read_text()
    assert "Sobol indices" in page and page.count("<td>solution.asr_ohm_cm2</td>") == 1


def test_the_pillar_study_in_studies_runs(tmp_path):
    study = doe.load_study(ROOT / "studies" / "pillar_pitch_radius.yaml")
    assert len(study.points) == 9 and all(pt.error is None for pt in study.points)
    counts = doe.run_study(study, tmp_path / "out", workers=2)
    assert counts["ok"] == 9


def test_case_timeout_is_a_failed_row(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 40]}})
    counts = doe.run_study(doe.load_study(p), tmp_path / "out", workers=1, case_timeout=0.05)
    rows = doe.table(tmp_path / "out")
    assert counts["failed"] == 2 and all(r["error"] == "timeout after 0.05 s" for r in rows)
