"""The transient model against closed forms: the planar Li | LiPON | cathode-film cell, whose flux is
fixed by the current (the slab series of Carslaw & Jaeger gives the surface lithiation and V is then
exact); the Li balance; a rest relaxes to U(mean x); a charge undoes a discharge; bad input."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from conftest import SIGMA_LIPON_S_M, case_dict

from mb3d.case import CaseError, load_case
from mb3d.pipeline import run_case
from solvers.closedforms import PlanarCell, planar_cutoff_time, planar_discharge, planar_overpotentials
from solvers.constants import FARADAY
from solvers.materials import library

L_C, T_E = 1.0e-6, 1.0e-6          # cathode and electrolyte thickness, m
LINEAR_OCP = {"x": [0.0, 1.0], "U": [4.5, 3.5]}


def planar(physics: dict, cathode: dict | str = "LiCoO2", size: float = 0.25, order: int = 2,
           interface: float | None = None) -> dict:
    return case_dict("planar", {"width": 0.5, "cathode_thickness": L_C * 1e6, "electrolyte_thickness": T_E * 1e6,
                                "anode_thickness": 0.5},
                     materials={"cathode": cathode}, physics={"model": "transient", **physics},
                     mesh={"size": size, "interface_size": interface or size, "order": order})


def timeseries(result) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(io.StringIO(result.files["timeseries.csv"])))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def closed_form(cathode: dict | str, law: str) -> tuple[PlanarCell, object]:
    m = library()["LiCoO2"]
    case = load_case(planar({"protocol": [{"discharge": "1C", "until": "3 V"}]}, cathode))
    c = case.materials["cathode"]
    cell = PlanarCell(electrolyte_thickness_m=T_E, electrolyte_conductivity_S_m=SIGMA_LIPON_S_M,
                      cathode_thickness_m=L_C, cathode_diffusivity_m2_s=c.diffusivity_at(298.15),
                      cathode_c_max_mol_m3=c["max_concentration"], x0=c.stoichiometry[0],
                      cathode_i0_A_m2=c["exchange_current_density"],
                      anode_i0_A_m2=library()["Li"]["exchange_current_density"], exchange_current_law=law)
    assert m["alpha_anodic"] == m["alpha_cathodic"] == 0.5
    return cell, c.ocp


@pytest.mark.parametrize("ocp,law", [("linear", "constant"), ("library", "lithiation")])
@pytest.mark.parametrize("rate", [0.5, 2.0, 5.0])
def test_planar_discharge_is_the_closed_form(ocp, law, rate):
    """Voltage within 1 mV of V = U(x_s) - |eta_c(x_s)| - eta_a - j t_e / sigma all along, cut-off time
    within 0.2 %, Li balance within 1e-8."""
    cathode = {"base": "LiCoO2", "ocp": LINEAR_OCP} if ocp == "linear" else "LiCoO2"
    physics = {"protocol": [{"discharge": f"{rate}C", "until": "3.6 V" if ocp == "linear" else "3.0 V"}],
               "exchange_current_law": law, "step_tolerance": 2e-4}
    result = run_case(load_case(planar(physics, cathode, interface=0.1)))
    s = result.record["solution"]
    ts = timeseries(result)
    cell, U = closed_form(cathode, law)
    j = s["one_C_current_density_mA_cm2"] * 10 * rate             # A/m2
    err = np.abs(ts["voltage_V"][1:] - planar_discharge(ts["t_s"][1:], j, cell, U).V)
    # before diffusion has crossed one interface element (t < h_i^2 / D, a few seconds) the boundary
    # layer sqrt(D t) is thinner than the element and no mesh of this size resolves it
    resolved = ts["t_s"][1:] >= (0.1e-6) ** 2 / cell.cathode_diffusivity_m2_s
    # where the library OCP plunges to the cut-off (the last 0.3 V, dU/dx ~ -100 V), a voltage error is
    # a time error: that end is the cut-off time, checked below
    if ocp == "library":
        resolved &= ts["voltage_V"][1:] > 3.3
    assert np.max(err[resolved]) < 1e-3 and np.max(err) < 3e-3
    t_cut = planar_cutoff_time(j, 3.6 if ocp == "linear" else 3.0, cell, U)
    assert s["steps"][0]["ended_by"] == "voltage"
    assert s["steps"][0]["duration_s"] == pytest.approx(t_cut, rel=2e-3)
    assert s["lithium_balance_relative_error"] < 1e-8
    # the delivered capacity is the current times the time (uAh/cm2)
    assert s["delivered_capacity_uAh_cm2"] == pytest.approx(j * s["duration_s"] / 3.6 / 10, rel=1e-6)


def test_rest_relaxes_and_charge_undoes_discharge():
    """After a discharge a long rest (many L^2/D) leaves x uniform and V = U(mean x); a charge at the
    same current for the same time brings the Li back: the charge passed agrees within 1e-6."""
    physics = {"protocol": [{"discharge": "2C", "for": "15 min"}, {"rest": "2 h"},
                            {"charge": "2C", "for": "15 min"}], "step_tolerance": 5e-4}
    result = run_case(load_case(planar(physics, size=0.34)))
    s = result.record["solution"]
    ts = timeseries(result)
    c = load_case(planar({"protocol": ["Rest for 1 s"]})).materials["cathode"]
    at_rest_end = np.flatnonzero(ts["step"] == 1)[-1]
    x_mean = ts["x_mean_cathode"][at_rest_end]
    assert ts["x_surface_max_cathode"][at_rest_end] - ts["x_surface_min_cathode"][at_rest_end] < 1e-6
    assert abs(ts["x_surface_mean_cathode"][at_rest_end] - x_mean) < 1e-5
    assert ts["voltage_V"][at_rest_end] == pytest.approx(float(c.ocp(np.array([x_mean]))[0]), abs=1e-5)
    # at rest the current is zero to Newton's tolerance (1e-10 of the 1C current): over the 2 h rest
    # at most 2e-10 of the practical capacity passes
    rest_bound = 1e-10 * 2 * s["practical_capacity_uAh_cm2"]
    assert s["steps"][1]["ended_by"] == "time" and abs(s["steps"][1]["capacity_uAh_cm2"]) < rest_bound
    d, ch = s["steps"][0]["capacity_uAh_cm2"], s["steps"][2]["capacity_uAh_cm2"]
    assert ch == pytest.approx(d, rel=1e-6)
    assert ts["x_mean_cathode"][-1] == pytest.approx(c.stoichiometry[0], abs=1e-9)
    assert s["lithium_balance_relative_error"] < 1e-8


def test_lithium_balance_and_fields_of_a_run():
    """timeseries.csv and the lithiation field of solution.vtu, the Li balance, Faraday's law for the
    mean lithiation: x_mean - x0 = j t / (F c_max L)."""
    result = run_case(load_case(planar({"protocol": ["Discharge at 1C for 20 minutes"]}, size=0.5)))
    s = result.record["solution"]
    ts = timeseries(result)
    c = load_case(planar({"protocol": ["Rest for 1 s"]})).materials["cathode"]
    j = s["one_C_current_density_mA_cm2"] * 10
    expect = c.stoichiometry[0] + j * ts["t_s"] / (FARADAY * c["max_concentration"] * L_C)
    assert np.max(np.abs(ts["x_mean_cathode"] - expect)) < 1e-9
    assert s["steps"][0]["ended_by"] == "time" and s["steps"][0]["duration_s"] == pytest.approx(1200, rel=1e-12)
    from mb3d.report import report_html  # noqa: PLC0415

    page = report_html(result, {}, figures=False)
    assert page.count("<polyline") == 1 and "delivered capacity, first discharge" in page
    assert 'data-key="solution.practical_capacity_uAh_cm2"' in page
    x = result.fields.point_data["lithiation_x"]
    assert np.nanmin(x) >= expect[0] and np.nanmax(x) <= expect[-1] + 0.05
    assert np.isnan(x).sum() > 0       # no lithiation outside the cathode


BAD = [
    ({"protocol": [{"discharge": "1C", "until": "4.5 V"}]}, "LiCoO2",
     "physics.protocol[0].until = 4.5 V: not below the open-circuit voltage at the start"),
    ({"protocol": [{"discharge": "0C", "until": "3 V"}]}, "LiCoO2", "physics.protocol[0].discharge"),
    ({"protocol": [{"explode": "1C"}]}, "LiCoO2", "physics.protocol[0]"),
    ({"protocol": [{"discharge": "1C", "until": "3 V"}]}, {"base": "LiCoO2", "ocp": {"x": [0, 0.5, 1], "U": [4, 4.2, 3]}},
     "materials.cathode.ocp.U"),
    ({"protocol": [{"discharge": "1C", "until": "3 V"}]}, {"base": "LiCoO2", "ocp": {"x": [0, 1.5], "U": [4, 3]}},
     "materials.cathode.ocp.x"),
    ({"protocol": [{"discharge": "1C", "until": "3 V"}]},
     {"name": "my-oxide", "specific_capacity": "140 mAh/g", "density": "5 g/cm3", "potential": "3.9 V",
      "exchange_current_density": "0.1 mA/cm2", "max_concentration": 5e4, "ocp": "LiCoO2_Ramadass2004",
      "stoichiometry": [0.5, 0.99]},
     "materials.cathode.diffusivity: missing for 'my-oxide', required by the transient model"),
    ({}, "LiCoO2", "physics.protocol: missing"),
    ({"protocol": ["Rest for 1 h"], "rates": ["1C", "2C"]}, "LiCoO2",
     'physics.rates = ["1C", "2C"]: needs a discharge or charge step in physics.protocol'),
    ({"protocol": ["Discharge at 1C until 3 V"], "rates": ["1C", "0C"]}, "LiCoO2", "physics.rates[1]"),
]


@pytest.mark.parametrize("physics,cathode,message", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_transient_input(physics, cathode, message):
    with pytest.raises(CaseError, match=message.replace("(", r"\(").replace(".", r"\.").replace("[", r"\[")):
        load_case(planar(physics, cathode))


def _fixed_step_voltage(h: float) -> float:
    """The planar cell (P2, 0.25 um) after 4 min at 2C, integrated with constant steps h (s)."""
    from mb3d import pipeline  # noqa: PLC0415
    from mb3d.models import Setup  # noqa: PLC0415
    from mb3d.models import transient as tm  # noqa: PLC0415
    from solvers.integrator import Options, integrate  # noqa: PLC0415
    from solvers.transient import assemble_transient  # noqa: PLC0415

    case = load_case(planar({"protocol": ["Discharge at 2C for 4 minutes"]}))
    built, _ = pipeline.build(case)
    setup = Setup(case, built.geometry, built.metrics, built.mesh, built.cell)
    protocol = case.model.physics.parsed()
    x0 = tm.initial_fractions(protocol, case.materials)
    one_c = min(tm.practical_capacity_C(setup, x0).values()) / 3600
    system = assemble_transient(built.cell, setup.sigma_S_m, tm._electrodes(setup, x0))
    y0 = np.zeros(system.N)
    y0[system.blocks["cathode"].x] = x0["cathode"]
    ops = tm.operations(protocol.steps, one_c / setup.footprint_m2, setup.footprint_m2)
    traj = integrate(system, y0, list(ops), Options(fixed_step_s=h, first_step_s=h), scale_A=one_c)
    assert traj.steps[0].duration_s == pytest.approx(240.0, rel=1e-12)
    return traj.steps[0].end_voltage_V


def test_time_integration_is_second_order():
    """Constant steps h = 12, 6, 3, 1.5 s (an implicit Euler start, then BDF2; the diffusion time
    L^2/D is 570 s, so the transient is still on at 4 min): the differences of the end voltage fall by
    4 per halving, the fitted order is 2."""
    hs = np.array([12.0, 6.0, 3.0, 1.5])
    V = np.array([_fixed_step_voltage(h) for h in hs])
    diffs = np.abs(np.diff(V))
    order = np.polyfit(np.log(hs[:-1]), np.log(diffs), 1)[0]
    print(f"BDF2 fitted order {order:.2f} (differences {diffs})")
    assert 1.9 < order < 2.4


def test_a_singular_newton_matrix_shortens_the_step(monkeypatch):
    """A Newton matrix SuperLU finds singular (a zero pivot; met at a wild Newton iterate of the
    12 um pillar cell) rejects the step like a diverging Newton iteration: the run retries shorter
    steps and ends where the undisturbed run does. Here every fifth factorisation is made singular."""
    from solvers import integrator, linsolve  # noqa: PLC0415

    case = load_case(planar({"protocol": [{"discharge": "2C", "until": "3.6 V"}]},
                            {"base": "LiCoO2", "ocp": LINEAR_OCP}))
    clean = run_case(case).record["solution"]
    calls = [0]

    def every_fifth_singular(A):
        calls[0] += 1
        if calls[0] % 5 == 0:
            A = A.tolil()
            A[0, :] = 0.0               # an exactly zero row: SuperLU's "Factor is exactly singular"
            A = A.tocsc()
        return linsolve.factorize(A)

    monkeypatch.setattr(integrator, "factorize", every_fifth_singular)
    hit = run_case(case).record["solution"]
    assert calls[0] >= 5
    assert hit["rejected_steps"] > clean["rejected_steps"]
    assert hit["steps"][0]["ended_by"] == "voltage"
    assert hit["duration_s"] == pytest.approx(clean["duration_s"], rel=1e-3)
    assert hit["lithium_balance_relative_error"] < 1e-8


def test_singular_matrices_raise_a_solver_error():
    """Both direct solvers name a singular matrix with a SolverError (one line from mb3d, exit 1),
    not SuperLU's bare RuntimeError."""
    import scipy.sparse as sp  # noqa: PLC0415

    from solvers.fem import SolverError, spd_solver  # noqa: PLC0415
    from solvers.linsolve import SingularMatrix, factorize  # noqa: PLC0415

    # a pure-Neumann Laplacian (a floating potential): elimination leaves an exactly zero pivot
    A = sp.csc_matrix(np.array([[1.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 1.0]]))
    with pytest.raises(SingularMatrix, match="exactly singular"):
        factorize(A)
    assert issubclass(SingularMatrix, SolverError)
    # a zero diagonal of a regular matrix: the diagonal pivot is zero, threshold pivoting solves it
    P = sp.csc_matrix(np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]]))
    assert np.allclose(factorize(P).solve(np.array([2.0, 1.0, 3.0])), [1.0, 1.0, 1.0])
    with pytest.raises(SolverError, match="system matrix is singular"):
        spd_solver(A, method="direct")


def test_loss_breakdown_at_the_end_of_discharge():
    """The planar cell after 10 min at 2C: the losses add up to U_c(mean x) - V (to 1e-9), and each is
    the closed form's: the electrolyte drop j t / sigma, the anode and cathode overpotentials at the
    (uniform) surface lithiation, no diffusion loss in the Li reservoir, and the cathode's diffusion
    loss U(x_s) - U(mean x)."""
    result = run_case(load_case(planar({"protocol": ["Discharge at 2C for 10 minutes"]}, interface=0.1)))
    s = result.record["solution"]
    end = s["end_of_discharge"]
    losses = end["losses_V"]
    assert end["loss_balance_relative_error"] < 1e-9
    cell, U = closed_form("LiCoO2", "lithiation")
    j = s["one_C_current_density_mA_cm2"] * 10 * 2.0
    ts = timeseries(result)
    xs, xm = ts["x_surface_mean_cathode"][-1], ts["x_mean_cathode"][-1]
    eta_c, eta_a, ohmic = planar_overpotentials(j, np.array([xs]), cell)
    assert losses["electrolyte_ohmic"] == pytest.approx(ohmic, rel=1e-6)
    assert losses["anode_kinetic"] == pytest.approx(eta_a, rel=1e-6)
    assert losses["cathode_kinetic"] == pytest.approx(float(eta_c[0]), rel=1e-4)
    assert losses["anode_diffusion"] == 0 and losses["anode_ohmic"] == 0 == losses["cathode_ohmic"]
    diffusion = float(U(np.array([xm]))[0] - U(np.array([xs]))[0])
    assert losses["cathode_diffusion"] == pytest.approx(diffusion, rel=1e-4)
    assert end["ocv_at_mean_lithiation_V"] == pytest.approx(float(U(np.array([xm]))[0]), abs=1e-9)


def test_rates_run_the_protocol_from_the_same_state():
    """``physics.rates`` runs the protocol once per rate from the same initial state: the 1C entry of
    rate_capability is the plain 1C run (same operators and steps), the utilisation falls with the
    rate, ragone.csv has a row per rate and timeseries.csv every run, and each run's Li balance closes."""
    physics = {"protocol": ["Discharge at 1C until 3 V"], "step_tolerance": 1e-3}
    plain = run_case(load_case(planar(physics, size=0.5, order=1))).record["solution"]
    result = run_case(load_case(planar({**physics, "rates": ["2C", "1C", "C/2"]}, size=0.5, order=1)))
    s = result.record["solution"]
    rc = s["rate_capability"]
    assert list(rc) == ["2C", "1C", "C/2"]
    # the same to Newton's tolerance (1e-10 of the 1C current): when to refactorise is decided from the
    # measured solve times, so two runs may take different Newton paths to the same solution
    assert rc["1C"]["capacity_uAh_cm2"] == pytest.approx(plain["delivered_capacity_uAh_cm2"], rel=1e-8)
    assert rc["1C"]["energy_uWh_cm2"] == pytest.approx(plain["delivered_energy_uWh_cm2"], rel=1e-8)
    assert rc["2C"]["utilisation"] < rc["1C"]["utilisation"] < rc["C/2"]["utilisation"]
    assert [rc[k]["rate_C"] for k in rc] == pytest.approx([2.0, 1.0, 0.5], rel=1e-12)
    assert all(r["lithium_balance_relative_error"] < 1e-8 and r["ended_by"] == "voltage" for r in rc.values())
    assert s["delivered_capacity_uAh_cm2"] == rc["2C"]["capacity_uAh_cm2"]        # the first rate is the main run
    rows = list(csv.DictReader(io.StringIO(result.files["ragone.csv"])))
    assert [r["rate"] for r in rows] == ["2C", "1C", "C/2"]
    assert float(rows[2]["energy_uWh_cm2"]) == pytest.approx(rc["C/2"]["energy_uWh_cm2"], rel=1e-9)
    ts = list(csv.DictReader(io.StringIO(result.files["timeseries.csv"])))
    assert list(dict.fromkeys(r["rate"] for r in ts)) == ["2C", "1C", "C/2"]


def test_mesh_convergence_of_the_delivered_capacity():
    """P1 meshes of 0.25, 0.125, 0.0625 um (steps tight enough, 1e-5, that the time error is 100x
    smaller): the delivered capacity at 2C to 3.0 V against the closed form (j times the closed-form
    cut-off time) converges at a fitted order of about 2 (measured 1.82; the next halving, 14 k
    unknowns, gives 1.84). P2 meshes are within 1e-6 already at 0.5 um: no order can be fitted."""
    cell, U = closed_form("LiCoO2", "lithiation")
    sizes = np.array([0.25, 0.125, 0.0625])
    errors = []
    for h in sizes:
        physics = {"protocol": [{"discharge": "2C", "until": "3 V"}], "step_tolerance": 1e-5}
        s = run_case(load_case(planar(physics, size=h, order=1))).record["solution"]
        j = s["one_C_current_density_mA_cm2"] * 10 * 2.0
        exact = j * planar_cutoff_time(j, 3.0, cell, U) / 3.6 / 10          # uAh/cm2
        errors.append(abs(s["delivered_capacity_uAh_cm2"] / exact - 1))
    order = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    print(f"mesh convergence (P1): errors {errors}, fitted order {order:.2f}")
    assert 1.6 < order < 2.4 and errors[-1] < 3e-4


def test_charge_then_hold_until_the_current_falls():
    """A discharged cell charged at 2C to 4.1 V, then held at 4.1 V until C/20: the hold keeps the
    voltage, its current falls monotonically to the cut-off, and the Li balance closes."""
    physics = {"protocol": ["Charge at 2C until 4.1 V", "Hold at 4.1 V until C/20"],
               "initial_state": "discharged", "step_tolerance": 5e-4}
    result = run_case(load_case(planar(physics, size=0.34)))
    s = result.record["solution"]
    ts = timeseries(result)
    assert [st["ended_by"] for st in s["steps"]] == ["voltage", "current"]
    hold = ts["step"] == 1
    assert np.max(np.abs(ts["voltage_V"][hold] - 4.1)) < 1e-9
    one_c = s["one_C_current_density_mA_cm2"]
    i = -ts["current_density_mA_cm2"][hold]                   # charging: negative discharge current
    assert np.all(np.diff(i) < 0) and i[-1] == pytest.approx(one_c / 20, rel=1e-3)
    assert ts["voltage_V"][np.flatnonzero(ts["step"] == 0)[-1]] == pytest.approx(4.1, abs=1e-4)
    assert s["lithium_balance_relative_error"] < 1e-8


def test_snapshots_through_mb3d_run(tmp_path):
    """``mb3d run`` of the reference transient case writes timeseries.csv, solution.pvd and its
    snapshots (the start and end of each step and every 1/N of the capacity), and a second run into the
    same folder replaces the snapshots."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    import meshio  # noqa: PLC0415

    from conftest import ROOT  # noqa: PLC0415
    from mb3d.cli import main  # noqa: PLC0415

    out = tmp_path / "run"
    case = ROOT / "cases" / "planar_lipon_transient.yaml"
    quick = ["--set", "mesh.order=1", "--set", "mesh.size=0.5", "--set", "mesh.interface_size=0.5",
             "--set", "physics.step_tolerance=0.002"]
    for count in (5, 3):
        assert main(["run", str(case), "--out", str(out), "--quiet", "--no-images", *quick,
                     "--set", f"physics.output_times={count}"]) == 0
        sets = ET.parse(out / "solution.pvd").getroot().findall("./Collection/DataSet")
        times = [float(d.get("timestep")) for d in sets]
        assert times == sorted(times) and times[0] == 0.0
        assert {d.get("file") for d in sets} == {f"snapshots/{p.name}" for p in (out / "snapshots").iterdir()}
        x = meshio.read(out / sets[-1].get("file")).point_data["lithiation_x"]
        assert np.nanmax(x) > 0.9 and np.nanmin(x) >= 0.51 - 1e-12
    assert count + 1 <= len(times) <= count + 4       # every 1/3 of the capacity, plus the step ends
