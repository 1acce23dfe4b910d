"""Benchmark: the transient model's speed targets (issue 18), printed against the targets.

What it measures
----------------
Two runs, each end to end with :func:`mb3d.pipeline.run_case` in its own child process:

* ``planar``: ``cases/planar_lipon_transient.yaml`` discharged at 1C to 3.0 V (its rest step
  dropped). Target: < 2 s for the solve. Error: the delivered capacity against the closed form
  (:func:`solvers.closedforms.planar_cutoff_time`, the slab series).
* ``pillar``: ``cases/interdigitated_pillars_transient.yaml``, the demo square pillar cell at 1C with
  electrode conduction, to 3.0 V. Target: < 30 s for the solve on 2 cores. Error: the delivered
  capacity against ``PILLAR_REFERENCE`` (the same case on a finer mesh at a tighter step tolerance;
  how it was computed is written next to it; ``--reference`` recomputes it).

For each: unknowns, accepted and rejected steps, Newton iterations, factorisations, GMRES
iterations, the solve time, the time per step and the share of the linear algebra (factorisations
and preconditioned GMRES) in the solve. Times are measurements, not assertions.

How to run
----------
``python bench/bench_transient.py [planar|pillar ...] [--reference] [--sweep]``; ``make bench`` runs
it with ``--sweep``: the planar case at six rates in one run (``physics.rates``) against each rate
alone (issue 19's target: the sweep under 4 x its slowest single rate).
``MB3D_LINEAR_SOLVER=pardiso`` measures PARDISO instead of SuperLU (needs ``pip install pypardiso``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_unit_cell import machine  # noqa: E402

MARKER = "BENCH_RESULT "
RUNS = {
    "planar": (ROOT / "cases" / "planar_lipon_transient.yaml",
               {"physics.protocol": ["Discharge at 1C until 3.0 V"]}, 2.0),
    "pillar": (ROOT / "cases" / "interdigitated_pillars_transient.yaml", {}, 30.0),
}
#: delivered capacity (uAh/cm2) of the pillar case at mesh.size 2, interface_size 0.7 (P2, 64 k unknowns),
#: step_tolerance 2.5e-4 (``--reference``; 2026-12-01: 53 steps, 5 factorisations, 1481 GMRES
#: iterations, 253 s with two other jobs on the machine)
PILLAR_REFERENCE = 58.916


def planar_reference() -> float:
    """The closed-form delivered capacity (uAh/cm2) of the planar case at 1C to 3.0 V: the value of its
    ``expected:`` block, computed with :func:`solvers.closedforms.planar_cutoff_time` (and checked
    against that closed form by tests/test_transient.py)."""
    from mb3d.case import load_case_file  # noqa: PLC0415

    return load_case_file(RUNS["planar"][0]).model.expected["solution.delivered_capacity_uAh_cm2"].value


def child(name: str, reference: bool) -> None:
    from mb3d.case import load_case_file  # noqa: PLC0415
    from mb3d.pipeline import run_case  # noqa: PLC0415

    path, sets, _ = RUNS[name]
    if reference:
        sets = {**sets, "mesh.size": 2.0, "mesh.interface_size": 0.7, "physics.step_tolerance": 2.5e-4}
    case = load_case_file(path).with_(**sets) if sets else load_case_file(path)
    rec = run_case(case).record
    s, t = rec["solution"], rec["timing_s"]
    out = {k: s[k] for k in ("time_steps", "rejected_steps", "newton_iterations", "factorisations",
                             "krylov_iterations", "delivered_capacity_uAh_cm2")}
    out.update(unknowns=rec["mesh"]["n_dofs"], solve_s=t["solve"], linear_s=t["linear_solves"], total_s=t["total"])
    print(MARKER + json.dumps(out), flush=True)


def run_child(name: str, reference: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", name] + (["--reference"] if reference else [])
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=os.environ.copy())
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise SystemExit(f"{name}: the run failed:\n{done.stderr[-2000:]}")


SWEEP = ["C/10", "C/2", "1C", "2C", "5C", "10C"]


def sweep_child(name: str) -> None:
    """The case's protocol at the SWEEP rates: one run with ``physics.rates``, then each rate alone."""
    from mb3d.case import load_case_file  # noqa: PLC0415
    from mb3d.pipeline import run_case  # noqa: PLC0415

    path, sets, _ = RUNS[name]
    case = load_case_file(path).with_(**sets) if sets else load_case_file(path)
    run_case(case)                                          # mesh and cell problem cached, as in a sweep
    swept = run_case(case.with_(**{"physics.rates": SWEEP})).record["timing_s"]["solve"]
    single = {r: run_case(case.with_(**{"physics.rates": [r]})).record["timing_s"]["solve"] for r in SWEEP}
    print(MARKER + json.dumps({"sweep_s": swept, "single_s": single}), flush=True)


def sweep_table(name: str) -> None:
    done = subprocess.run([sys.executable, __file__, "--sweep-child", name], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ.copy())
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARKER)), None)
    if line is None:
        raise SystemExit(f"sweep {name}: the run failed:\n{done.stderr[-2000:]}")
    r = json.loads(line[len(MARKER):])
    slowest = max(r["single_s"].values())
    ratio = r["sweep_s"] / slowest
    print(f"\nRate sweep of the {name} case at {', '.join(SWEEP)} (target: < 4 x the slowest single rate)\n")
    print("| " + " | ".join(SWEEP) + " | sweep | sweep / slowest |")
    print("|" + "---|" * (len(SWEEP) + 2))
    print("| " + " | ".join(f"{r['single_s'][k]:.1f} s" for k in SWEEP)
          + f" | {r['sweep_s']:.1f} s | {ratio:.2f} ({'met' if ratio < 4 else 'MISSED'}) |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", help=f"any of {', '.join(RUNS)} (default: all)")
    ap.add_argument("--reference", action="store_true", help="the pillar on the reference mesh and tolerance")
    ap.add_argument("--sweep", action="store_true", help="also time a six-rate sweep of the planar case")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sweep-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.reference)
        return 0
    if args.sweep_child:
        sweep_child(args.sweep_child)
        return 0
    from solvers.linsolve import backend  # noqa: PLC0415

    print(f"Transient model, 1C to 3.0 V; linear solver: {backend()}\n")
    print("| run | unknowns | steps (rejected) | Newton | factorisations | GMRES | solve s | target s "
          "| s per step | linear share | capacity uAh/cm2 | error vs reference |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    unknown = [r for r in args.runs if r not in RUNS]
    if unknown:
        ap.error(f"unknown run {unknown[0]!r}: choose from {', '.join(RUNS)}")
    for name in args.runs or list(RUNS):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        r = run_child(name, args.reference)
        ref = planar_reference() if name == "planar" else PILLAR_REFERENCE
        err = f"{r['delivered_capacity_uAh_cm2'] / ref - 1:+.2e}" if ref else "no reference"
        if args.reference:
            err = "(this is the reference run)"
        target = RUNS[name][2]
        verdict = "met" if r["solve_s"] < target else "MISSED"
        steps = r["time_steps"] + r["rejected_steps"]
        print(f"| {name} | {r['unknowns']} | {r['time_steps']} ({r['rejected_steps']}) | {r['newton_iterations']} "
              f"| {r['factorisations']} | {r['krylov_iterations']} | {r['solve_s']:.1f} | < {target:g} ({verdict}) "
              f"| {r['solve_s'] / steps:.2f} | {r['linear_s'] / r['solve_s']:.0%} "
              f"| {r['delivered_capacity_uAh_cm2']:.4f} | {err} |")
    if args.sweep:
        sweep_table("planar")
    print()
    print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
