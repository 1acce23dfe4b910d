"""Benchmark: a square pillar unit cell from YAML to results.json, wall time with process start.

What it measures
----------------
``mb3d run cases/interdigitated_pillars_square.yaml --quiet --no-images`` (primary model, P2, the demo case) and
``mb3d run cases/interdigitated_pillars_secondary.yaml --quiet --no-images`` (the same cell with Butler-Volmer
kinetics), each as a new process, three times; it prints the median wall time against the targets of
issue 9 (3 s primary, 5 s secondary, process start included), whether VTK or matplotlib were imported
(they must not be on a run without pictures), and the ASR error against the converged reference of the primary
cell (681.1 ohm cm2: P2, interface size 0.25 um; target 1 %).

How to run
----------
``python bench/bench_unit_cell_wall.py [--repeat N]`` (part of ``make bench``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_ASR = 681.1     # ohm cm2, the demo cell at interface size 0.25 um, P2 (README)


def run(case: str, out: Path) -> tuple[float, dict, bool]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "mb3d.cli", "run", str(ROOT / "cases" / case),
                        "--out", str(out), "--quiet", "--no-images"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    heavy = any(f" {m}" in line for line in r.stderr.splitlines() for m in ("vtkmodules", "pyvista", "matplotlib"))
    return wall, json.loads((out / "results.json").read_text()), heavy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("| case | model | median wall (s) | runs (s) | target (s) | holds | VTK/matplotlib imported | ASR (ohm cm2) |")
    print("|---|---|---:|---|---:|---|---|---:|")
    for case, target in (("interdigitated_pillars_square.yaml", 3.0), ("interdigitated_pillars_secondary.yaml", 5.0)):
        walls, heavy = [], False
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(args.repeat):
                w, rec, h = run(case, Path(tmp) / str(k))
                walls.append(w)
                heavy |= h
        med = statistics.median(walls)
        s = rec["solution"]
        print(f"| {case} | {s['model']} | {med:.2f} | {', '.join(f'{w:.2f}' for w in walls)} | {target} | "
              f"{med < target and not heavy} | {heavy} | {s['asr_ohm_cm2']:.2f} |")
        if s["model"] == "primary":
            err = s["asr_ohm_cm2"] / REFERENCE_ASR - 1
            print(f"|  | ASR error vs converged {REFERENCE_ASR} | {err:+.2%} |  | 1 % | {abs(err) < 0.01} |  |  |")


if __name__ == "__main__":
    main()
