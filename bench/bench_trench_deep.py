"""Benchmark: the high-aspect-ratio trench (5 um wide, 50 um deep, 10 um pitch, Notten stack).

What it measures
----------------
``cases/trenched_silicon_deep.yaml`` end to end (:func:`mb3d.pipeline.run_case`) at its default
settings, where the two 50 nm films (TiN barrier, Si anode) are thinner than ``mesh.thin_layer_limit``
and collapsed onto the silicon surface, and again with ``mesh.thin_layer_limit = 0.01`` so that they
are meshed too. One markdown row per run: collapsed films, tetrahedra, DOFs, the seconds of the mesh,
assembly, solve stages and in all, the ASR, the capacity per footprint and the peak RSS. Each run is
its own child process. Times are measurements, not assertions.

``make bench`` runs it after the unit-cell benchmark; alone: ``python bench/bench_trench_deep.py``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

from bench_unit_cell import MARKER, machine

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "trenched_silicon_deep.yaml"
RUNS = {"default (50 nm films collapsed)": [],
        "films meshed (thin_layer_limit 0.01)": ["mesh.thin_layer_limit=0.01"]}


def child(label: str) -> None:
    from mb3d.case import load_case_file  # noqa: PLC0415
    from mb3d.pipeline import run_case  # noqa: PLC0415

    rec = run_case(load_case_file(CASE, RUNS[label])).record
    g, t = rec["geometry"], rec["timing_s"]
    print(MARKER + json.dumps({
        "run": label, "collapsed": ", ".join(g["collapsed_layers"]) or "none",
        "n_tets": rec["mesh"]["n_tetrahedra"], "n_dofs": rec["mesh"]["n_dofs"],
        "mesh_s": t["mesh"], "assemble_s": t["assemble"], "solve_s": t["solve"], "total_s": t["total"],
        "asr": rec["solution"]["asr_ohm_cm2"], "capacity": g["capacity_uAh_cm2"],
        "gain": g["area_gain"]["anode"],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    print("| run | collapsed films | tetrahedra | DOFs | mesh (s) | assembly (s) | solve (s) | total (s) "
          "| ASR (ohm cm2) | capacity (uAh/cm2) | area gain | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label in RUNS:
        print(f"running: {label}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", label],
                              capture_output=True, text=True, cwd=ROOT)
        row = next((json.loads(x[len(MARKER):]) for x in reversed(proc.stdout.splitlines())
                    if x.startswith(MARKER)), None)
        if row is None:
            err = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            print(f"| {label} | failed: {err} |")
            continue
        print(f"| {label} | {row['collapsed']} | {row['n_tets']:,} | {row['n_dofs']:,} | {row['mesh_s']:.1f} "
              f"| {row['assemble_s']:.2f} | {row['solve_s']:.2f} | {row['total_s']:.1f} | {row['asr']:.4f} "
              f"| {row['capacity']:.2f} | {row['gain']:.3f} | {row['rss_mb']:,.0f} |")
    print()
    print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
