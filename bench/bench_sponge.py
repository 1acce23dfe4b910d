"""Benchmark: meshing the sponge, graded lattice against the uniform one (issue 20).

What it measures
----------------
The 10 x 10 x 23 um gyroid (cell 10 um, solid fraction 0.5, 0.4 um LiPON film, web 20 um) with no
``mesh:`` block: ``interface_size`` defaults to film / 2 = 0.2 um and ``mesh.size`` to 2 um, so the
lattice is graded (Kuhn boxes bisected from 1.7 um down to 0.2 um within and next to the film,
``geom3d/graded.py``). Against it, the uniform lattice at the same interface resolution
(``mesh.size = 0.2``): what every sponge meshed before the graded lattice. For each: the mesh stage's
seconds (geometry and mesh: one stage for the sponge; the best of ``--repeat`` runs, each in its own child process), the tetrahedra, the cathode
and anode area gains and the web area per cell (3.0916 a^2 is the gyroid's), then the primary
model's ASR and solve seconds. It prints the ratio of the mesh times against the target (at most
1/4 of the uniform lattice's) and the area gains' difference against the target (within 0.5 %).
Times are measurements, not assertions.

``make bench`` runs it; alone: ``python bench/bench_sponge.py [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench_unit_cell import MARKER, machine

ROOT = Path(__file__).resolve().parents[1]
GEOMETRY = {"kind": "gyroid", "solid_fraction": 0.5, "cell_size": 10, "width": 10,
            "electrolyte_thickness": 0.4, "web_height": 20, "height": 23}
RUNS = {"graded (defaults)": None, "uniform (mesh.size = 0.2)": {"size": 0.2, "interface_size": 0.2}}
TIME_TARGET = 0.25
GAIN_TARGET = 0.005


def child(label: str) -> None:
    from mb3d.case import load_case  # noqa: PLC0415
    from mb3d.pipeline import run_case  # noqa: PLC0415

    raw = {"name": "bench-sponge", "architecture": "sponge", "geometry": GEOMETRY,
           "materials": {"electrolyte": "LiPON", "anode": "Li", "cathode": "LiCoO2"}, "physics": {"voltage": 0.1}}
    if RUNS[label] is not None:
        raw["mesh"] = RUNS[label]
    rec = run_case(load_case(raw)).record
    g, t = rec["geometry"], rec["timing_s"]
    print(MARKER + json.dumps({"mesh_s": t["geometry"] + t["mesh"], "solve_s": t["solve"], "n_tets": rec["mesh"]["n_tetrahedra"],
                               "gain_c": g["area_gain"]["cathode"], "gain_a": g["area_gain"]["anode"],
                               "web_area": g["structure"]["web_area_per_cell_um2"],
                               "asr": rec["solution"]["asr_ohm_cm2"]}), flush=True)


def measure(label: str, repeat: int) -> dict | None:
    rows = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", label],
                              capture_output=True, text=True, cwd=ROOT)
        row = next((json.loads(x[len(MARKER):]) for x in reversed(proc.stdout.splitlines())
                    if x.startswith(MARKER)), None)
        if row is None:
            print(f"{label}: failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
            return None
        rows.append(row)
    best = min(rows, key=lambda r: r["mesh_s"])
    return {**best, "mesh_all": [r["mesh_s"] for r in rows]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=3, help="runs per lattice (the best mesh time counts)")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    out = {}
    print("| lattice | mesh (s), best of runs | tetrahedra | area gain cathode | area gain anode "
          "| web area per cell (um2) | ASR (ohm cm2) | solve (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label in RUNS:
        print(f"running: {label}", file=sys.stderr, flush=True)
        r = measure(label, args.repeat)
        if r is None:
            print(f"| {label} | failed |")
            continue
        out[label] = r
        runs = ", ".join(f"{x:.1f}" for x in r["mesh_all"])
        print(f"| {label} | {r['mesh_s']:.1f} ({runs}) | {r['n_tets']:,} | {r['gain_c']:.4f} | {r['gain_a']:.4f} "
              f"| {r['web_area']:.2f} | {r['asr']:.4f} | {r['solve_s']:.1f} |")
    if len(out) == 2:
        g, u = out["graded (defaults)"], out["uniform (mesh.size = 0.2)"]
        ratio = g["mesh_s"] / u["mesh_s"]
        dgain = max(abs(g["gain_c"] / u["gain_c"] - 1), abs(g["gain_a"] / u["gain_a"] - 1))
        print()
        print(f"mesh time graded / uniform: {ratio:.2f} (target <= {TIME_TARGET:.2f}: "
              f"{'met' if ratio <= TIME_TARGET else 'NOT met'})")
        print(f"area gains, graded against uniform: {dgain:.2%} (target <= {GAIN_TARGET:.1%}: "
              f"{'met' if dgain <= GAIN_TARGET else 'NOT met'})")
        print(f"web area per cell against 3.0916 a^2 = 309.16 um2: graded {g['web_area'] / 309.16 - 1:+.2%}, "
              f"uniform {u['web_area'] / 309.16 - 1:+.2%}")
    print()
    print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
