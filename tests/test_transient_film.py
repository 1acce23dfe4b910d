"""The collapsed-film sub-model of the transient model (a film thinner than mesh.thin_layer_limit is
not meshed; Li diffuses through it on lines normal to the interface): its operators against exact
integrals, and a discharge through a collapsed Si anode film against the same film meshed."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_transient import planar

from mb3d import pipeline
from mb3d.case import load_case
from mb3d.models import Setup
from mb3d.models import transient as tm
from solvers.cell import build_cell_problem
from solvers.integrator import Options, integrate, lithium_balance
from solvers.transient import assemble_transient, collapsed_film

T_A = 0.2e-6                 # Si film, m


def si_cell(diffusivity: str):
    physics = {"protocol": ["Discharge at 1C until 3.0 V"], "step_tolerance": 2e-4}
    case = load_case(planar(physics, interface=0.1)).with_(**{
        "materials.anode": {"base": "Si", "diffusivity": diffusivity}, "geometry.anode_thickness": T_A * 1e6})
    built, _ = pipeline.build(case)
    return case, built, Setup(case, built.geometry, built.metrics, built.mesh, built.cell)


def collapsed(built) -> object:
    """The same mesh with the anode region renamed: the anode|electrolyte interface stays, the film
    is not meshed (as mesh.thin_layer_limit does on a trench)."""
    m = built.mesh
    names = tuple("silicon" if n == "anode" else n for n in m.region_names)
    return build_cell_problem(m.points_m, m.tets, m.tet_region, names, m.boundary_tris, m.boundary_feature,
                              built.cell.order, {})


def discharge(case, setup, cell, film_m: float | None) -> tuple[float, float, float]:
    """Charge passed (C), surface and mean lithiation of the anode at the end of a 1C discharge to 3 V."""
    protocol = case.model.physics.parsed()
    x0 = tm.initial_fractions(protocol, case.materials)
    one_c = min(tm.practical_capacity_C(setup, x0).values()) / 3600
    els = tm._electrodes(setup, x0)
    if film_m is not None:
        els["anode"] = dataclasses.replace(els["anode"], storage=dataclasses.replace(els["anode"].storage,
                                                                                      film_m=film_m))
    system = assemble_transient(cell, setup.sigma_S_m, els)
    y0 = np.zeros(system.N)
    for e in ("anode", "cathode"):
        y0[system.blocks[e].x] = x0[e]
    ops = tm.operations(protocol.steps, one_c / setup.footprint_m2, setup.footprint_m2)
    traj = integrate(system, y0, list(ops), Options(x_tolerance=2e-4), scale_A=one_c)
    assert lithium_balance(system, traj) < 1e-8
    assert traj.steps[0].ended_by == "voltage"
    end = traj.samples[-1]
    return abs(traj.steps[0].charge_C), end.x_surface["anode"]["mean"], end.x_mean["anode"]


def test_film_operators_are_exact_on_a_flat_interface():
    """Mass = interface area x thickness; the stiffness has constants in its kernel and gives the
    energy area / L of x = depth / L; the surface node of each line traces onto its interface dof."""
    case, built, setup = si_cell("1e-17 m^2/s")
    cell = collapsed(built)
    film = collapsed_film(cell, "anode", T_A, elements=4)
    area = float(np.sum(cell.facet_basis("anode").dx))
    ones = np.ones(film.mass.shape[0])
    assert ones @ film.mass @ ones == pytest.approx(area * T_A, rel=1e-12)
    assert np.max(np.abs(film.stiffness @ ones)) < 1e-12 * np.abs(film.stiffness).max()
    ramp = np.tile(film.depth_m / T_A, len(film.dofs))
    assert ramp @ film.stiffness @ ramp == pytest.approx(area / T_A, rel=1e-10)
    n = len(film.depth_m)
    assert np.array_equal(film.trace_map.indices, film.dofs) and np.array_equal(film.trace_map.nonzero()[0] % n, 0 * film.dofs)


def test_collapsed_film_equals_the_meshed_film():
    """A 0.2 um Si anode with a slow diffusivity (L^2/D = 8000 s, so at 1C the film's surface empties
    long before its inside): the collapsed film's delivered capacity equals the meshed film's within
    0.5 % (the issue's bound; measured 4e-4, and the meshed film's own mesh error is of that size), and
    so do the surface and mean lithiation at the cut-off, 0.2 apart: the check sees the gradient."""
    case, built, setup = si_cell("5e-18 m^2/s")
    q_mesh, xs_mesh, xm_mesh = discharge(case, setup, built.cell, None)
    q_film, xs_film, xm_film = discharge(case, setup, collapsed(built), T_A)
    print(f"delivered: meshed {q_mesh:.6e} C, collapsed {q_film:.6e} C ({q_film / q_mesh - 1:+.1e}); anode x at the"
          f" cut-off, surface and mean: meshed {xs_mesh:.4f} {xm_mesh:.4f}, collapsed {xs_film:.4f} {xm_film:.4f}")
    assert q_film == pytest.approx(q_mesh, rel=5e-3)
    assert xm_mesh - xs_mesh > 0.2
    assert xs_film == pytest.approx(xs_mesh, abs=0.01) and xm_film == pytest.approx(xm_mesh, abs=0.002)
