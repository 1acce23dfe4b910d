"""Benchmark: constant-flux Li diffusion into a solid sphere and a solid cylinder on meshes, against the
Carslaw-Jaeger series (issue 18; the test suite checks the slab through the planar cell).

What it measures
----------------
An octant of a sphere (radius R = 1 um; or a quarter cylinder of height 0.5 um, insulated ends) of an
intercalation electrode with a flat OCP and constant linear kinetics, inside a 0.1 um electrolyte
shell and a Li shell: by symmetry the flux is uniform. The surface lithiation rise at
tau = D t / R^2 = 0.01, 0.1, 0.5 against the series (target: within 0.2 %), the unknowns, the steps,
the factorisations and the wall time.

How to run
----------
``python bench/bench_transient_curved.py sphere|cylinder SIZE_UM INTERFACE_UM ORDER [STEP_TOL]``,
e.g. ``sphere 0.3 0.05 2`` (measured 2026-12-01 on the 2-core VM, busy: 17.8 k unknowns, 66 steps,
45 factorisations, 106 s; errors +0.28 %, +0.16 %, +0.035 %).
"""
import time, sys, numpy as np
import gmsh
from geom3d import Domain, gmsh_session, mesh_geometry
from geom3d.model import Feature, finish
from geom3d.params import MODEL_UNIT_M
from solvers.cell import build_cell_problem
from solvers.kinetics import Kinetics
from solvers.transient import Storage, TransientElectrode, assemble_transient
from solvers.integrator import Operation, Options, integrate
from solvers.closedforms import surface_concentration
R, TE, TA = 1.0, 0.1, 0.1    # um
def build(shape, size, isize):
    occ = gmsh.model.occ
    s = 1e-6 / MODEL_UNIT_M
    def body(r):
        if shape == "sphere":
            return occ.addSphere(0, 0, 0, r * s)
        return occ.addCylinder(0, 0, 0, 0, 0, H * s, r * s)
    H = 0.5
    top = R + TE + TA
    box = occ.addBox(0, 0, 0, top * s * 1.01, top * s * 1.01, (top * 1.01 if shape == "sphere" else H) * s)
    b1, b2, b3 = body(R), body(R + TE), body(top)
    e = occ.cut([(3, b2)], [(3, b1)], removeTool=False)[0]
    a = occ.cut([(3, b3)], [(3, b2)], removeTool=False)[0]
    out = []
    for part in ([(3, b1)], e, a):
        box_copy = occ.copy([(3, box)])
        out.append(occ.intersect(part, box_copy)[0])
    occ.remove([(3, box)], recursive=True)
    _, children = occ.fragment(out[0], out[1] + out[2])
    occ.synchronize()
    vols = [v for _, v in occ.getEntities(3)]
    def rad(v):
        x0, y0, z0, x1, y1, z1 = occ.getBoundingBox(3, v)
        return x1
    regions = {"cathode": [], "electrolyte": [], "anode": []}
    for v in vols:
        r = rad(v) / s
        regions["cathode" if r < R + 1e-6 else "electrolyte" if r < R + TE + 1e-6 else "anode"].append(v)
    def outer(region, bb):
        return "symmetry" if region != "anode" else "anode_collector_or_symmetry"
    features = (Feature("cathode", 0.0, 0.0, 1.0, tuple(regions["cathode"])),
                Feature("anode", 0.0, 0.0, 1.0, tuple(regions["anode"])))
    geo = finish("test", Domain(), regions, outer, features, footprint_area_m2=1e-12, singular_edges=False,
                 outline_m=[(0, 0), (1e-6, 0), (1e-6, 1e-6), (0, 1e-6)], mirror_edges=True)
    return mesh_geometry(geo, size * 1e-6, isize * 1e-6)

class Flat:
    def __call__(self, x): return np.full_like(np.asarray(x, float), 4.0)
    def derivative(self, x): return np.zeros_like(np.asarray(x, float))

shape = sys.argv[1]; size = float(sys.argv[2]); isize = float(sys.argv[3]); order = int(sys.argv[4])
t0 = time.time()
with gmsh_session():
    mesh = build(shape, size, isize)
cell = build_cell_problem(mesh.points_m, mesh.tets, mesh.tet_region, tuple(mesh.region_names), mesh.boundary_tris,
                          mesh.boundary_feature, order, {})
D, cmax, x0 = 1e-15, 5e4, 0.5
kin = Kinetics(10.0, 0.5, 0.5, 298.15, linear=True)
els = {"anode": TransientElectrode(kin, 0.0), "cathode": TransientElectrode(kin, storage=Storage(cmax, D, Flat(), x0, "constant"))}
sysm = assemble_transient(cell, 1e-3, els)
A = float(sysm.dx["cathode"].sum())
q = 0.1 * D * cmax / (R * 1e-6)     # mol/m2/s
I = q * 96485.33212 * A
print("mesh", time.time() - t0, "N", sysm.N, "tets", len(mesh.tets), "A", A)
y0 = np.zeros(sysm.N); y0[sysm.blocks["cathode"].x] = x0
taus = [0.01, 0.1, 0.5]; ts = [tau * (R * 1e-6) ** 2 / D for tau in taus]
ops = [Operation(f"to tau {tau}", current_A=I, duration_s=ts[k] - (ts[k - 1] if k else 0)) for k, tau in enumerate(taus)]
t1 = time.time()
tr = integrate(sysm, y0, ops, Options(x_tolerance=float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4, first_step_s=1e-3), scale_A=I)
print("integrate", time.time() - t1, tr.accepted, tr.rejected, tr.factorisations)
for k in range(3):
    smp = [s for s in tr.samples if s.step == k][-1]
    rise = smp.x_surface["cathode"]["mean"] - x0
    exact = (surface_concentration(smp.t_s, q, D, R * 1e-6, 0.0, shape) ) / cmax
    err = rise / float(exact) - 1
    print(f"tau {taus[k]}: t {smp.t_s:.3f} s, rise {rise:.6g}, series {float(exact):.6g}, error {err:+.2e} "
          f"(target 0.2 %: {abs(err) < 2e-3})")
