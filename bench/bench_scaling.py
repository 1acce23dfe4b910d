"""Benchmark: P1 scaling from 50 k to 2 M unknowns, and the gmsh -> solver hand-over.

What it measures
----------------
The coaxial verification cell (a quarter of a Li pillar of radius 10 um in a cylindrical counter
electrode of radius 20 um, 20 um high, LiPON), whose current has the closed form
I = 2 pi sigma h V / ln(b/a) / 4, is meshed by gmsh (HXT, one thread) at two sizes and, for the two
largest problems, refined uniformly once by scikit-fem with the new nodes of the curved walls
projected onto the cylinders (so the error keeps falling). For each of four problem sizes, in its own
child process (for an honest peak memory):

* ``handover``: gmsh arrays -> :class:`geom3d.MeshData` (:func:`geom3d.meshing.read_mesh`), the
  electrolyte submesh and the interface facet look-up, seconds and seconds per million tetrahedra
  (gmsh-meshed sizes only);
* ``assemble`` and ``solve``: :func:`solvers.primary.solve_primary` with P1 elements (specialised
  Laplace kernel, AMG-preconditioned CG to 1e-10), their sum, the CG iterations;
* the relative error of the current against the closed form;
* the peak resident set size of the child (``ru_maxrss``), MB.

Then it fits the exponent of solve time (and of assembly + solve) against the number of unknowns
over the four sizes, and prints each target of issue 9 with its figure and whether it holds:
1 M unknowns assembled and solved in under 15 s and 6 GB; exponent below 1.15; hand-over under 1 s per
million tetrahedra. Times are measurements, never assertions.

How to run
----------
``python bench/bench_scaling.py`` (part of ``make bench``; about 10 minutes): every size runs
``--repeat`` times (default 3) and the table shows medians. Output: a markdown table on stdout,
progress on stderr.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "BENCH_RESULT "
A_UM, B_UM, H_UM = 10.0, 20.0, 20.0
SIGMA = 2.3e-4      # LiPON, S/m
VOLT = 0.1
#: (gmsh size in um, refinements): about 50 k, 220 k, 1 M and 2 M unknowns
SIZES = ((0.41, 0), (0.245, 0), (0.295, 1), (0.23, 1))


def exact_current() -> float:
    return 2 * math.pi * SIGMA * H_UM * 1e-6 * VOLT / math.log(B_UM / A_UM) / 4


def classify(mesh):
    """Boundary facets of the quarter annulus: inner wall (anode), outer wall (cathode)."""
    import numpy as np  # noqa: PLC0415

    f = mesh.boundary_facets()
    pts = mesh.p[:, mesh.facets[:, f]]                  # (3, 3 nodes, n)
    c = pts.mean(axis=1)
    nrm = np.cross((pts[:, 1] - pts[:, 0]).T, (pts[:, 2] - pts[:, 0]).T)
    nrm /= np.linalg.norm(nrm, axis=1)[:, None]
    tol = 1e-9 * B_UM * 1e-6
    sym = (np.abs(pts[0]).max(axis=0) < tol) | (np.abs(pts[1]).max(axis=0) < tol)
    wall = (np.abs(nrm[:, 2]) < 0.5) & ~sym
    r = np.hypot(c[0], c[1])
    mid = 0.5 * (A_UM + B_UM) * 1e-6
    return f[wall & (r < mid)], f[wall & (r >= mid)]


def refine_snapped(mesh):
    """Uniform refinement with the new wall nodes projected onto the cylinders, renumbered along the
    same space-filling curve as a mesh handed over by gmsh (so it stands in for a gmsh mesh of that
    size)."""
    import numpy as np  # noqa: PLC0415

    from geom3d.meshing import spatial_order  # noqa: PLC0415
    from solvers.fem import init_edges, init_facets  # noqa: PLC0415

    init_edges(mesh)
    fine = mesh.refined()
    init_facets(fine)
    inner, outer = classify(fine)
    p = fine.p.copy()
    for facets, radius in ((inner, A_UM * 1e-6), (outer, B_UM * 1e-6)):
        nodes = np.unique(fine.facets[:, facets])
        r = np.hypot(p[0, nodes], p[1, nodes])
        p[0, nodes] *= radius / r
        p[1, nodes] *= radius / r
    perm = spatial_order(p.T)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    out = type(fine)(np.ascontiguousarray(p[:, perm]), inv[fine.t])
    init_facets(out)
    return out


def child(size: float, refine: int) -> None:
    import numpy as np  # noqa: PLC0415

    from geom3d import Domain, gmsh_session, mesh_geometry, registry  # noqa: PLC0415
    from geom3d.meshing import read_mesh  # noqa: PLC0415
    from solvers.fem import find_facets, submesh  # noqa: PLC0415
    from solvers.primary import solve_primary  # noqa: PLC0415

    arch = registry.get("coaxial")
    params = arch.params(inner_radius=A_UM * 1e-6, outer_radius=B_UM * 1e-6, height=H_UM * 1e-6)
    with gmsh_session():
        geo = arch.build(params, Domain())
        t0 = time.perf_counter()
        mesh_geometry(geo, size * 1e-6, size * 1e-6)
        t1 = time.perf_counter()
        md = read_mesh(geo)
        t2 = time.perf_counter()
    emesh, nodes = submesh(md.points_m, md.tets, md.region_mask("electrolyte"))
    facets = {e: find_facets(emesh, np.searchsorted(nodes, md.boundary_tris[f"{e}_interface"]))
              for e in ("anode", "cathode")}
    t3 = time.perf_counter()
    gmsh_tets = len(md.tets)
    for _ in range(refine):
        emesh = refine_snapped(emesh)
        facets["anode"], facets["cathode"] = classify(emesh)
    t4 = time.perf_counter()
    sol = solve_primary(emesh, SIGMA, facets["anode"], facets["cathode"], VOLT, order=1)
    out = {"size_um": size, "refine": refine, "gmsh_tets": gmsh_tets, "tets": int(emesh.t.shape[1]),
           "dofs": sol.n_dofs, "mesh_s": t1 - t0, "handover_s": (t2 - t1) + (t3 - t2),
           "refine_s": t4 - t3, "assemble_s": sol.timing_s["assemble"], "solve_s": sol.timing_s["solve"],
           "cg": sol.solve_info.iterations, "error": sol.current_A / exact_current() - 1,
           "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(MARKER + json.dumps(out), flush=True)


def run_child(size: float, refine: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, __file__, "--child", str(size), str(refine)], capture_output=True,
                       text=True, env=env)
    for line in r.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise SystemExit(f"child {size}/{refine} failed:\n{r.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (medians are reported)")
    args = ap.parse_args()
    if args.child:
        child(float(args.child[0]), int(args.child[1]))
        return
    rows = []
    for size, refine in SIZES:
        runs = []
        for k in range(args.repeat):
            print(f"size {size} um, {refine} refinement(s), run {k + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
            runs.append(run_child(size, refine))
        med = {key: (statistics.median(r[key] for r in runs) if isinstance(runs[0][key], float) else runs[0][key])
               for key in runs[0]}
        rows.append(med)
    print("| gmsh size (um) | refined | tetrahedra | DOFs (P1) | hand-over (s) | hand-over (s per M tets) | "
          "assembly (s) | solve (s) | assembly + solve (s) | CG iter. | current error | peak RSS (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        per_m = r["handover_s"] / r["gmsh_tets"] * 1e6
        print(f"| {r['size_um']} | {r['refine']} | {r['tets']:,} | {r['dofs']:,} | {r['handover_s']:.2f} | "
              f"{per_m:.2f} | {r['assemble_s']:.2f} | {r['solve_s']:.2f} | {r['assemble_s'] + r['solve_s']:.2f} | "
              f"{r['cg']} | {r['error']:+.2e} | {r['rss_mb']:,.0f} |")
    import numpy as np  # noqa: PLC0415

    n = np.array([r["dofs"] for r in rows], float)
    slope_solve = np.polyfit(np.log(n), np.log([r["solve_s"] for r in rows]), 1)[0]
    slope_both = np.polyfit(np.log(n), np.log([r["assemble_s"] + r["solve_s"] for r in rows]), 1)[0]
    big = min(rows, key=lambda r: abs(math.log(r["dofs"] / 1e6)))
    t_big = big["assemble_s"] + big["solve_s"]
    handover = max(r["handover_s"] / r["gmsh_tets"] * 1e6 for r in rows if r["gmsh_tets"] > 5e5)
    print()
    print("| target | figure | holds |")
    print("|---|---|---|")
    print(f"| P1 ~1 M DOFs assembled + solved < 15 s | {t_big:.1f} s at {big['dofs']:,} DOFs | {t_big < 15} |")
    print(f"| ... with peak memory < 6 GB | {big['rss_mb'] / 1024:.2f} GB (whole process) | {big['rss_mb'] < 6144} |")
    print(f"| solve time exponent < 1.15 (50 k - 2 M DOFs) | {slope_solve:.2f} (assembly + solve {slope_both:.2f}) "
          f"| {slope_solve < 1.15} |")
    print(f"| gmsh -> solver hand-over < 1 s per M tets | {handover:.2f} s per M tets | {handover < 1.0} |")
    errors = ", ".join(f"{r['error']:+.1e}" for r in rows)
    print(f"| accuracy kept (current vs closed form) | {errors} | "
          f"{all(abs(r['error']) < 5e-3 for r in rows)} |")
    from bench_unit_cell import machine  # noqa: PLC0415  (same folder: the script's sys.path[0])

    print(f"\n{machine()}; medians of {args.repeat} run(s)")


if __name__ == "__main__":
    main()
