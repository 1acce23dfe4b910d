"""Benchmark: constant-flux Li diffusion into a solid sphere and a solid cylinder on meshes, against the
Carslaw-Jaeger series (issue 18; the test suite checks the slab through the planar cell and these two
bodies in ``tests/test_transient_curved.py``, at that module's settings).

What it measures
----------------
A sector of a sphere or of a cylinder (radius R = 1 um) of an intercalation electrode with a flat OCP
and constant linear kinetics, inside a 0.1 um electrolyte shell and a Li shell, run at I = q F A so
that the flux is uniform (``sector_mesh`` and ``constant_flux_run`` of the test module: the sphere is
a square pyramid with its apex at the centre, the cylinder a wedge with insulated ends; every cut face
is a symmetry plane; elements graded as h_s + g |r - R|). Printed: the surface lithiation rise at
tau = D t / R^2 = 0.01, 0.1, 0.5 against the series at the exact radius (target: within 0.2 %) and at
the mesh's R_eff = k V/A, the unknowns, the steps, the factorisations and the times.

How to run
----------
``python bench/bench_transient_curved.py sphere|cylinder [--size H_S] [--grading G] [--angle DEG]
[--order P] [--tol X_TOL]`` (defaults: the test's settings, 0.03 um, 0.3, 5 deg, P2, 1e-6).

Measured (2026-12-01, 2-core VM shared with other jobs, so the times are upper bounds; errors at
tau = 0.01 / 0.1 / 0.5 against the series at the exact R)
--------------------------------------------------------------------------------------------------
Test settings (h_s 0.03, g 0.3, +-5 deg, P2, x_tolerance 1e-6):

* sphere   1.7 k unknowns, 960 tets, ~180 steps, 17-19 factorisations, 2.5-4 s: +0.025 %, +0.013 %,
  +0.010 % (R_eff / R - 1 = -1.2e-4)
* cylinder 1.7 k unknowns, 930 tets, ~170 steps, 17 factorisations, 2.4 s: +0.024 %, +0.013 %, +0.005 %

Time step (sphere, h_s 0.03): x_tolerance 1e-4: 69 steps, +0.26 %, +0.11 %, +0.011 %; 1e-5: 103
steps, +0.081 %, +0.035 %, +0.011 %; 1e-7: 330 steps, +0.010 %, +0.008 %, +0.010 %. Cylinder 1e-5:
+0.088 %, +0.042 %, +0.007 %.

Mesh (x_tolerance 1e-7): sphere h_s 0.06 (770 unknowns) +0.023 %, +0.027 %, +0.039 % (the series at
R_eff: +0.018 %, +0.010 %, +0.003 %, so the rest is the faceted A/V, R_eff / R - 1 = -4.7e-4); h_s 0.015
(5.1 k, 17 s) +0.005 %, +0.003 %, +0.003 %; at x_tolerance 1e-5, h_s 0.0075 (g 0.2, 21.7 k, 141 s)
gives the same +0.081 %, +0.029 %, +0.001 % as h_s 0.03. Cylinder h_s 0.06 (750) +0.015 %, +0.014 %,
+0.018 %; 0.015 (5.1 k, 14 s) +0.006 %, +0.003 %, +0.002 %. A +-10 deg sphere sector (4.6 k unknowns)
gives the +-5 deg one's errors.

So the time step limits the accuracy (about x_tolerance^(2/3), BDF2), then the faceted interface
(A/V), not the resolution of the boundary layer: the earlier octant of a sphere (gmsh's size 0.3,
interface 0.05, 17.8 k unknowns) was off by +0.28 %, +0.16 %, +0.035 % at x_tolerance 1e-4 (106 s)
and by +0.083 %, +0.049 %, +0.034 % at 1e-5 (104 steps, 20 factorisations, 79 s), the thin sector's
errors at those tolerances plus its A/V error at tau = 0.5. Same with ``sphere --angle 45 --size 0.05
--tol 1e-5`` (a +-45 deg pyramid, 20.4 k unknowns, 100 s): +0.085 %, +0.049 %, +0.034 %, and +0.081 %,
+0.035 %, +0.003 % against the series at R_eff (R_eff / R - 1 = -4.0e-4).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_transient_curved import (
    GRADING,
    HALF_ANGLE_DEG,
    ORDER,
    SURFACE_SIZE,
    TARGET,
    X_TOLERANCE,
    constant_flux_run,
    describe,
    sector_mesh,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shape", choices=["sphere", "cylinder"])
    ap.add_argument("--size", type=float, default=SURFACE_SIZE, help="element size at the surface, um")
    ap.add_argument("--grading", type=float, default=GRADING, help="size growth per um from the surface")
    ap.add_argument("--angle", type=float, default=HALF_ANGLE_DEG, help="half angle of the sector, deg")
    ap.add_argument("--order", type=int, default=ORDER, choices=[1, 2])
    ap.add_argument("--tol", type=float, default=X_TOLERANCE, help="x_tolerance of the time steps")
    ap.add_argument("--first-step", type=float, default=1e-3, help="first step of each operation, s")
    a = ap.parse_args()
    t0 = time.perf_counter()
    mesh = sector_mesh(a.shape, a.size, a.grading, a.angle)
    t_mesh = time.perf_counter() - t0
    res = constant_flux_run(a.shape, mesh, a.order, a.tol, a.first_step)
    print(f"mesh {t_mesh:.1f} s; " + describe(a.shape, res))
    print(f"within 0.2 % at every tau: {max(abs(e) for e in res['errors']) < TARGET}")


if __name__ == "__main__":
    main()
