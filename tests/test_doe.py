"""Design-of-experiments batches: designs, constraints, local and Dask runs with identical tables,
failures as rows, kill and resume, export, top, mesh cache, Sobol indices."""
import atexit
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from mb3d import doe
from mb3d.case import CaseError, load_case
from mb3d.pipeline import MESH_CACHE, run_case

ROOT = Path(__file__).parent.parent
BASE = {"name": "doe-base", "architecture": "interdigitated_pillars",
        "geometry": {"lattice": "square", "pitch": 40, "anode_radius": 10, "cathode_radius": 10, "height": 10},
        "mesh": {"size": 5.0, "interface_size": 2.5, "order": 1}}
VOLATILE = ("timing_s.", "mesh.from_cache")


@pytest.fixture(autouse=True)
def fresh_mesh_cache():
    """Each test starts without meshes cached in this process (studies reuse them across runs)."""
    MESH_CACHE.clear()


# --- `python -m mb3d.cli ...` without paying the interpreter's start-up each time -------------------
# Every `mb3d` command first imports the same modules (mb3d/cli.py: its module level and main(), before
# it acts on its arguments): about 1.5 s of a 2 s command that only reports a bad input, and of every
# `mb3d run` of a small case. CLI.run forks each command from one interpreter that has imported exactly
# those modules (nothing else, and it never meshes: gmsh does not survive a fork after meshing) and then
# runs mb3d.cli as __main__ like `python -m`: same argv, cwd, environment, stdin/stdout/stderr, normal
# interpreter exit, exit status (negative: killed by that signal) and timeout as subprocess.run, and
# whatever those imports print (warnings) is prepended to the command's stderr, as a fresh interpreter
# would have printed it. test_forked_cli_is_the_cli compares it with a fresh interpreter. Tests of
# signals sent to the study's process (SIGINT, SIGKILL of its group) keep a real subprocess.
_SERVER = r"""
import json, os, runpy, sys, time
import rich.console, rich.markup, rich.table                        # mb3d/cli.py, module level
import mb3d, geom3d, solvers.fem, solvers.units, mb3d.case, mb3d.isolate, mb3d.doe, mb3d.views  # main()
assert "mb3d.cli" not in sys.modules     # runpy runs it as __main__, as `python -m mb3d.cli` does
sys.stderr.flush()
os.write(1, b'{"ready": true}\n')
for line in sys.stdin.buffer:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, req["stdout"], os.O_WRONLY),
                                (2, req["stderr"], os.O_WRONLY)):
            f = os.open(path, flags)
            os.dup2(f, fd)
            os.close(f)
        sys.path[0] = os.getcwd()
        sys.argv = ["-m", *req["args"]]
        runpy.run_module("mb3d.cli", run_name="__main__", alter_sys=True)
        sys.exit(0)           # (mb3d.cli ends in sys.exit; SystemExit leaves through here either way)
    deadline = None if req["timeout"] is None else time.monotonic() + req["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if deadline is not None and time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            rc = None
            break
        time.sleep(0.005)
    os.write(1, (json.dumps({"rc": rc}) + "\n").encode())
"""


class ForkedCli:
    """``CLI.run(args, cwd, timeout)``: like ``subprocess.run([sys.executable, "-m", "mb3d.cli", *args],
    cwd=cwd, capture_output=True, text=True, timeout=timeout)``, forked from a warm interpreter."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.buf = b""

    def _start(self) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (held while the server lives)
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, bufsize=0)
        self.buf = b""
        self._reply(300)
        self.log.seek(0)
        self.preamble = self.log.read().decode()      # what the imports printed (normally nothing)

    def _reply(self, timeout: float | None) -> dict:
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            chunk = os.read(self.proc.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                self.log.seek(0)
                raise RuntimeError("the mb3d CLI server " + ("did not answer" if not ready else "died") + ":\n"
                                   + self.log.read().decode(errors="replace"))
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def run(self, args, cwd: Path = ROOT, timeout: float | None = None) -> subprocess.CompletedProcess:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        cmd = [sys.executable, "-m", "mb3d.cli", *map(str, args)]
        with tempfile.TemporaryDirectory(prefix="mb3d-cli-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            out.touch()
            err.touch()
            self.proc.stdin.write(json.dumps({"args": cmd[3:], "cwd": str(cwd), "env": dict(os.environ),
                                              "stdout": str(out), "stderr": str(err),
                                              "timeout": timeout}).encode() + b"\n")
            rc = self._reply(None if timeout is None else timeout + 120)["rc"]
            stdout, stderr = out.read_text(), self.preamble + err.read_text()
        if rc is None:
            raise subprocess.TimeoutExpired(cmd, timeout, stdout, stderr)
        return subprocess.CompletedProcess(cmd, rc, stdout, stderr)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


CLI = ForkedCli()
atexit.register(CLI.close)


def study_file(tmp_path, **over) -> Path:
    s = {"name": "t", "base": BASE,
         "factors": {"geometry.pitch": {"levels": [30, 40, 50]}, "geometry.anode_radius": {"levels": [6, 8, 10]}},
         "design": {"kind": "full_factorial"}}
    s.update(over)
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(s))
    return p


def interruptible() -> None:
    """Popen preexec_fn: Ctrl-C at its default in the study's process. A suite started in the
    background by a non-interactive shell (``make test &``, nohup) runs with SIGINT ignored, and
    children inherit that; the study would then, rightly, ignore the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stored(db: Path) -> int:
    """Rows in a study's store while it is being written (0 before its table exists)."""
    try:
        return sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0] if db.exists() else 0
    except sqlite3.Error:
        return 0


def stable(rows):
    """Rows keyed by case hash, without timings."""
    return {r["case_hash"]: {k: v for k, v in r.items() if k != "seconds" and not k.startswith(VOLATILE)}
            for r in rows}


def test_full_factorial_locally(tmp_path):
    """(Dask: test_real_dask_scheduler_and_default_worker compares a real cluster with this pool.)"""
    study = doe.load_study(study_file(tmp_path))
    assert len(study.points) == 9
    local = doe.run_study(study, tmp_path / "local", workers=2)
    assert local == {"total": 9, "skipped": 0, "ok": 9, "failed": 0, "mesh_cache_hits": 0}   # 9 geometries
    a = stable(doe.table(tmp_path / "local"))
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
    # 6 cases (3 geometries x 2 voltages, one worker): killed once 2 are stored, 4 are left to resume;
    # cases take far longer than the few milliseconds between the poll and the kill
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 40, 50]},
                                      "physics.voltage": {"levels": ["0.1 V", "0.2 V"]}})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = out / "results.sqlite"
    t0 = time.time()
    n = 0
    while time.time() - t0 < 120:
        n = stored(db)
        if n >= 2:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= n < 6
    kept = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    r = CLI.run(cmd[3:])
    assert r.returncode == 0, r.stderr
    assert f"({kept} already done, {6 - kept} ok, 0 failed now" in " ".join(r.stdout.split())
    hashes = [h for (h,) in sqlite3.connect(db).execute("SELECT case_hash FROM runs")]
    assert len(hashes) == 6 == len(set(hashes))


def test_sigint_stops_and_keeps_finished_rows(tmp_path):
    # more points than can finish between the poll that sees the first row and the signal, even on a busy
    # machine (the study is then in its loop over cases, with a finished row to keep)
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30 + 2 * k for k in range(14)]}})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "1",
                             "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MB3D_STAGE_DELAY": "0.3"},     # each case >= 1.5 s
                            preexec_fn=interruptible)
    db = out / "results.sqlite"
    t0 = time.time()
    while time.time() - t0 < 120:
        if stored(db) >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the study ended before the signal"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command to resume" in err and "Traceback" not in err
    assert 1 <= stored(db) < 14


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
    assert len(sob.points) == 8 * (2 * 2 + 2) and sob.saltelli["N"] == 8 and sob.saltelli["d"] == 2
    assert set(sob.saltelli["factors"]) == {"geometry.pitch", "geometry.height"}


@pytest.mark.parametrize("over,message", [
    ({"factors": {"geometry.pitchh": {"levels": [30, 40]}}}, "factors.geometry.pitchh: geometry.pitchh: unknown key"),
    ({"factors": {"colour": {"levels": [1]}}}, "factors.colour: not a case key"),
    ({"factors": {"geometry.pitch": {"range": [50, 30]}}, "design": {"kind": "latin_hypercube"}},
     "factors.geometry.pitch.range = [50, 30]: must be [low, high] with low < high"),
    ({"factors": {"geometry.pitch": {"range": [30, 50]}}}, "full_factorial needs levels"),
    ({"constraints": ["geometry.pitch < geometry.width"]}, "geometry.width is not a factor"),
    ({"design": {"kind": "magic"}}, "design.kind"),
    ({"name": "../escape"}, "name: must be a plain folder name"),
    ({"summary": {"plots": [{"x": "geometry.pitch", "y": "solution.asrr"}]}},
     "summary.plots[0].y = 'solution.asrr': not a factor or a response"),
    ({"summary": {"label": ["geometry.height"]}}, "summary.label: 'geometry.height' is not a factor"),
])
def test_bad_study_is_one_line_before_anything_runs(tmp_path, over, message):
    p = study_file(tmp_path, **over)
    out = tmp_path / "out"
    r = CLI.run(["doe", p, "--out", out])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def pillar_study_run(tmp_path_factory):
    """The committed studies/pillar_pitch_radius.yaml (3 x 3, order-2 meshes: the costliest study here) run
    once through `mb3d doe --workers 2 --export --top --by`, for the two tests that need a finished 3 x 3
    study: test_the_pillar_study_in_studies_runs and test_export_top_and_summary."""
    tmp = tmp_path_factory.mktemp("pillar-study")
    out = tmp / "out"
    r = CLI.run(["doe", ROOT / "studies" / "pillar_pitch_radius.yaml", "--out", out, "--workers", "2",
                 "--export", tmp / "t.csv", "--top", "3", "--by", "capacity_uAh_cm2", "--quiet"])
    return tmp, out, r


def test_export_top_and_summary(pillar_study_run, tmp_path):
    csv_dir, out, r = pillar_study_run
    assert r.returncode == 0, r.stderr
    import csv
    rows = list(csv.DictReader(open(csv_dir / "t.csv")))
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
    (every worker busy). The second point of a chunk always reuses its first point's mesh (2 hits at
    least); a chunk that starts after another chunk of its geometry has meshed reuses that mesh too (the
    parent keeps one cache for its threads: how often depends on timing), and each geometry is meshed
    at least once (4 hits at most)."""
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [40, 45]},
                                      "physics.voltage": {"levels": ["0.1 V", "0.2 V", "0.3 V"]}})
    study = doe.load_study(p)
    groups = doe.mesh_groups(list(study.points), workers=2)
    assert sorted(len(g) for g in groups) == [1, 1, 2, 2]
    assert all(len({q.factors["geometry.pitch"] for q in g}) == 1 for g in groups)
    counts = doe.run_study(study, tmp_path / "out", workers=2)
    assert counts["ok"] == 6 and 2 <= counts["mesh_cache_hits"] <= 4


def test_sobol_study_reports_indices(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"range": [30, 50]}, "geometry.height": {"range": [5, 15]}},
                   # N = 2 base points, 12 cases: the fewest with a bootstrap interval (N = 1 resamples
                   # one point); the page's indices table is the same for any N
                   design={"kind": "sobol", "samples": 2, "seed": 1},
                   responses=["solution.asr_ohm_cm2", "geometry.area_gain.anode"])
    out = tmp_path / "out"
    r = CLI.run(["doe", p, "--out", out, "--workers", "2", "--quiet"])
    assert r.returncode == 0, r.stderr
    page = (out / "summary.html").read_text()
    assert "Sobol indices" in page and page.count("<td>solution.asr_ohm_cm2</td>") == 1


def test_the_pillar_study_in_studies_runs(pillar_study_run):
    study = doe.load_study(ROOT / "studies" / "pillar_pitch_radius.yaml")
    assert len(study.points) == 9 and all(pt.error is None for pt in study.points)
    _, out, r = pillar_study_run                     # run with 2 workers
    assert r.returncode == 0, r.stdout + r.stderr
    assert "9 cases (0 already done, 9 ok, 0 failed now" in " ".join(r.stdout.split())
    assert [row["status"] for row in doe.table(out)] == ["ok"] * 9


def test_case_timeout_is_a_failed_row(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 40]}})
    counts = doe.run_study(doe.load_study(p), tmp_path / "out", workers=1, case_timeout=0.05)
    rows = doe.table(tmp_path / "out")
    assert counts["failed"] == 2 and all(r["error"] == "timeout after 0.05 s" for r in rows)


# --- issue 16: studies that cannot lie ---------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_cli(*args) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


def test_real_dask_scheduler_and_default_worker(tmp_path):
    """`dask scheduler` and a `dask worker` with its defaults (threads, a nanny) as processes on
    loopback: every case ok (each runs in its own process, so gmsh never shares one), the same numbers
    as the local pool."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen(dask_cli("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        procs.append(subprocess.Popen(dask_cli("worker", address, "--host", "127.0.0.1", "--no-dashboard"),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                      cwd=ROOT))
        from distributed import Client
        with Client(address, timeout="60s") as c:
            c.wait_for_workers(1, timeout=60)
            assert next(iter(c.scheduler_info()["workers"].values()))["nthreads"] >= 1
        p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 40, 50]},
                                          "physics.voltage": {"levels": ["0.1 V", "0.2 V"]}})
        r = CLI.run(["doe", p, "--out", tmp_path / "dask", "--scheduler", address, "--quiet"], timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "6 ok, 0 failed now" in " ".join(r.stdout.split())
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    doe.run_study(doe.load_study(p), tmp_path / "local", workers=2)
    a, b = stable(doe.table(tmp_path / "local")), stable(doe.table(tmp_path / "dask"))
    assert a == b and len(a) == 6


def test_unreachable_scheduler_is_one_line(tmp_path):
    p = study_file(tmp_path)
    r = CLI.run(["doe", p, "--out", tmp_path / "o", "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                 "--connect-timeout", "1", "--quiet"], timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert "cannot reach the Dask scheduler within 1 s" in lines[0]


def test_crashing_point_is_a_failed_row_and_retry(tmp_path, monkeypatch):
    """One point's process is killed by SIGSEGV (the MB3D_CRASH_AT test hook, aimed at that case by
    name): it is recorded as failed with the signal and the stage, the rest finish; a rerun skips every
    stored case; --retry-failed runs only the failed one again."""
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 40, 50]}})
    study = doe.load_study(p)
    monkeypatch.setenv("MB3D_CRASH_AT", "mesh@t-0001")
    counts = doe.run_study(study, tmp_path / "out", workers=2)
    assert counts["ok"] == 2 and counts["failed"] == 1
    rows = {r["index"]: r for r in doe.table(tmp_path / "out")}
    assert rows[1]["status"] == "failed" and rows[1]["error"] == "SIGSEGV in the mesh stage"
    assert doe.run_study(study, tmp_path / "out", workers=2)["skipped"] == 3
    monkeypatch.delenv("MB3D_CRASH_AT")
    again = doe.run_study(study, tmp_path / "out", workers=2, retry_failed=True)
    assert again == {"total": 3, "skipped": 2, "ok": 1, "failed": 0, "mesh_cache_hits": 0}
    assert [r["status"] for r in doe.table(tmp_path / "out")] == ["ok"] * 3


def test_exit_codes_and_retry_through_the_cli(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [15, 40]}})    # 15: pillars overlap
    cmd = ["doe", p, "--out", tmp_path / "o", "--quiet"]
    r = CLI.run(cmd)
    assert r.returncode == 1 and "failed case 0" in r.stdout and "Traceback" not in r.stderr
    r = CLI.run(cmd + ["--retry-failed"])
    assert r.returncode == 1 and "(1 already done, 0 ok, 1 failed now" in " ".join(r.stdout.split())


def test_constraints_compare_quantities_in_case_units(tmp_path):
    """levels ["30 um", "0.05 mm"]: 0.05 mm is 50 um, not 0.05 (the old bug dropped it)."""
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": ["30 um", "0.05 mm"]},
                                      "geometry.anode_radius": {"levels": [6, 12]}},
                   constraints=["geometry.anode_radius < 0.3 * geometry.pitch", "geometry.pitch > 40"])
    study = doe.load_study(p)
    assert [pt.factors for pt in study.points] == [{"geometry.pitch": "0.05 mm", "geometry.anode_radius": 6},
                                                   {"geometry.pitch": "0.05 mm", "geometry.anode_radius": 12}]
    assert study.dropped == 2
    units = doe.case_units(BASE, ["geometry.pitch", "physics.temperature", "materials.electrolyte.conductivity",
                                  "geometry.lattice", "mesh.order"])
    assert units == {"geometry.pitch": "um", "physics.temperature": "degC",
                     "materials.electrolyte.conductivity": "S/cm", "geometry.lattice": None, "mesh.order": None}
    bad = study_file(tmp_path, factors={"geometry.lattice": {"levels": ["square"]}},
                     constraints=["geometry.lattice > 1"])
    with pytest.raises(CaseError, match="is not a number"):
        doe.load_study(bad)


def test_factor_on_a_property_of_a_library_material(tmp_path):
    p = study_file(tmp_path, base={**BASE, "materials": {"electrolyte": "LiPON"}},
                   factors={"materials.electrolyte.conductivity": {"levels": ["2.3 uS/cm", "4.6 uS/cm"]}})
    study = doe.load_study(p)
    assert all(pt.error is None for pt in study.points)
    assert study.points[0].raw["materials"]["electrolyte"] == {"base": "LiPON", "conductivity": "2.3 uS/cm"}
    doe.run_study(study, tmp_path / "out", workers=2)
    asr = [r["solution.asr_ohm_cm2"] for r in doe.table(tmp_path / "out", ["solution.asr_ohm_cm2"])]
    assert asr[0] == pytest.approx(2 * asr[1], rel=1e-6)      # ASR = 1 / sigma x geometry


def test_lock_corrupt_store_and_leftovers(tmp_path):
    out = tmp_path / "out"
    lock = doe.StudyLock(out)
    p = study_file(tmp_path)
    r = CLI.run(["doe", p, "--out", out, "--quiet"])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and f"in use by process {os.getpid()}" in lines[0], r.stderr
    lock.release()
    (out / ".summary.html.abc.html").write_text("half")
    (out / "cases" / ".mb3d-partial-x-1").mkdir(parents=True)
    doe.StudyLock(out).release()
    assert not (out / ".summary.html.abc.html").exists() and not list((out / "cases").iterdir())
    (out / "results.sqlite").write_bytes(b"this is not sqlite" * 100)
    r = CLI.run(["doe", p, "--out", out, "--quiet"])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "not a results store" in lines[0] and "move it away" in lines[0]


def test_double_sigint_exits_promptly(tmp_path):
    p = study_file(tmp_path, factors={"geometry.pitch": {"levels": [30, 35, 40, 45, 50, 55]}},
                   base={**BASE, "mesh": {"size": 3.0, "interface_size": 0.6}})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "mb3d.cli", "doe", str(p), "--out", str(out), "--workers", "2",
                             "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MB3D_STAGE_DELAY": "0.5"},     # each case >= 2.5 s
                            preexec_fn=interruptible)
    t0 = time.time()
    while time.time() - t0 < 120 and not list((out / "cases").glob(".mb3d-partial-*")) \
            and not (out / "cases").is_dir():
        time.sleep(0.1)
    time.sleep(1.0)                                  # cases are running now
    assert proc.poll() is None, "the study ended before the signal"
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    t1 = time.time()
    proc.communicate(timeout=5)
    assert proc.returncode == 130 and time.time() - t1 < 5


def test_study_folder_that_cannot_be_one(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    for out in (f, f / "below"):
        r = CLI.run(["doe", study_file(tmp_path), "--out", out])
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "cannot use it as the study folder" in lines[0], r.stderr
    assert f.read_text() == "x"


def test_forked_cli_is_the_cli(tmp_path):
    """CLI.run (the commands above, forked from a warm interpreter) gives what a fresh interpreter gives:
    the same exit code, stdout and stderr. (Every test above that runs cases through CLI.run checks the
    rest of the way: isolated cases, the store, summary.html, the printed counts.)"""
    bad = study_file(tmp_path, factors={"colour": {"levels": [1]}})
    fresh = subprocess.run([sys.executable, "-m", "mb3d.cli", "doe", str(bad), "--out", str(tmp_path / "a")],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    forked = CLI.run(["doe", bad, "--out", tmp_path / "a"])
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert fresh.returncode == 2 and fresh.stderr.startswith("error: factors.colour: not a case key")
