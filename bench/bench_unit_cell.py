"""Benchmark: the square pillar unit cell at three mesh sizes, from about 50 k to 1 M tetrahedra.

What it measures
----------------
For each mesh size it runs ``cases/interdigitated_pillars_square.yaml`` end to end with
:func:`mb3d.pipeline.run_case` (``mesh.size`` and ``mesh.interface_size`` overridden, first-order
elements by default) and prints one row of a markdown table:

* the number of tetrahedra of the whole mesh and the number of unknowns (DOFs) of the electrolyte
  problem;
* the seconds spent in the geometry, mesh, assembly and linear solve stages, as recorded in the
  results record (``timing_s``: ``geometry``, ``mesh``, ``assemble``, ``solve``), and the number of
  AMG-CG iterations;
* the area-specific resistance (``solution.asr_ohm_cm2``), to show the mesh convergence;
* the peak resident set size of the process in MB (``getrusage(RUSAGE_SELF).ru_maxrss``).

Every size runs in its own child process (the script re-invokes itself with ``--child``), so the peak
memory of one size does not include the previous ones. It includes the Python interpreter, the
imported libraries and gmsh, which runs in the same process. The last line names the machine
(``nproc``, CPU model from /proc/cpuinfo, Python version). Times are measurements, not assertions:
nothing here fails on a slow machine.

How to run
----------
``make bench`` runs ``python bench/bench_unit_cell.py`` in the project virtualenv. Options::

    python bench/bench_unit_cell.py                            # the default three sizes, P1
    python bench/bench_unit_cell.py --order 2                  # P2 (about 7x the DOFs of P1)
    python bench/bench_unit_cell.py --sizes 1.6/0.55,0.8/0.27  # SIZE[/INTERFACE_SIZE] in um

Without ``/INTERFACE_SIZE`` the case file's ``mesh.interface_size`` (1 um) is kept; it must not exceed
``mesh.size``. Progress goes to stderr; stdout is only the table and the machine line, ready to paste
into the README.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "interdigitated_pillars_square.yaml"
#: mesh.size / mesh.interface_size (um) giving about 50 k, 250 k and 1 M tetrahedra with this case.
DEFAULT_SIZES = ("1.6/0.55", "0.82/0.275", "0.48/0.16")
MARKER = "BENCH_RESULT "


def parse_size(token: str) -> tuple[float, float | None]:
    """``"0.8/0.27"`` -> (0.8, 0.27); ``"0.8"`` -> (0.8, None)."""
    size, _, iface = token.strip().partition("/")
    return float(size), (float(iface) if iface else None)


def overrides(token: str, order: int) -> list[str]:
    size, iface = parse_size(token)
    sets = [f"mesh.size={size}", f"mesh.order={order}"]
    if iface is not None:
        sets.append(f"mesh.interface_size={iface}")
    return sets


def child(token: str, order: int) -> None:
    """Run one size in this process and print its measurements as one JSON line."""
    from mb3d.case import load_case_file  # noqa: PLC0415  (imported here: the parent never needs it)
    from mb3d.pipeline import run_case  # noqa: PLC0415

    case = load_case_file(CASE, overrides(token, order))
    rec = run_case(case).record
    t = rec["timing_s"]
    out = {
        "size": token,
        "mesh_size_um": case.model.mesh.size,
        "interface_size_um": case.interface_size_um,
        "n_tets": rec["mesh"]["n_tetrahedra"],
        "n_dofs": rec["mesh"]["n_dofs"],
        "geometry_s": t["geometry"],
        "mesh_s": t["mesh"],
        "assemble_s": t["assemble"],
        "solve_s": t["solve"],
        "total_s": t["total"],
        "solver": rec["solution"]["linear_solver"]["method"],
        "iterations": rec["solution"]["linear_solver"]["iterations"],
        "asr_ohm_cm2": rec["solution"]["asr_ohm_cm2"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
    }
    print(MARKER + json.dumps(out), flush=True)


def run_child(token: str, order: int) -> dict:
    """Run one size in a fresh interpreter; return its measurements (or ``{"error": ...}``)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", token, "--order", str(order)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return {"size": token, "error": tail}


def machine() -> str:
    """One line: nproc (CPUs this process may use), CPU model, Python version."""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"Machine: nproc {nproc}, {cpu}, Python {platform.python_version()} "
            f"({platform.system()} {platform.machine()})")


def table(rows: list[dict], order: int) -> str:
    head = ["mesh size / interface (um)", "tetrahedra", f"DOFs (P{order})", "geometry (s)", "mesh (s)",
            "assembly (s)", "solve (s)", "CG iter.", "ASR (ohm cm2)", "peak RSS (MB)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['size']} | failed: {r['error']} |" + " |" * (len(head) - 2))
            continue
        cells = [f"{r['mesh_size_um']:g} / {r['interface_size_um']:g}", f"{r['n_tets']:,}", f"{r['n_dofs']:,}",
                 f"{r['geometry_s']:.2f}", f"{r['mesh_s']:.1f}", f"{r['assemble_s']:.1f}", f"{r['solve_s']:.1f}",
                 str(r["iterations"]) if r["solver"] == "amg-cg" else r["solver"],
                 f"{r['asr_ohm_cm2']:.2f}", f"{r['peak_rss_mb']:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(DEFAULT_SIZES),
                    help="comma-separated SIZE[/INTERFACE_SIZE] in um (default: %(default)s)")
    ap.add_argument("--order", type=int, choices=(1, 2), default=1, help="element order (default: 1)")
    ap.add_argument("--child", metavar="SIZE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.order)
        return 0
    tokens = [t for t in args.sizes.split(",") if t.strip()]
    for t in tokens:
        parse_size(t)  # fail early on a malformed list
    rows = []
    for t in tokens:
        print(f"running mesh {t} (P{args.order}) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rows.append(run_child(t, args.order))
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(f"Square pillar unit cell ({CASE.relative_to(ROOT)}), primary current distribution, "
          f"P{args.order} elements, one process per size.")
    print()
    print(table(rows, args.order))
    print()
    print(machine())
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
