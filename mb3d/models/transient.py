"""Transient discharge and charge with Li diffusion in the intercalation electrodes
(``physics.model: transient``); the equations are in :mod:`solvers.transient`, the time integration
in :mod:`solvers.integrator`.

The case gives a ``protocol`` (steps with their ends, :mod:`mb3d.protocol`), the ``initial_state``
(charged, discharged, or the Li fractions), the kinetics (as the secondary model, with
``exchange_current_law``: i0 = i0_ref 2 sqrt(x (1 - x)) or constant) and electrode conduction.
1C is the practical capacity per footprint (the smaller electrode's charge between its
``stoichiometry`` limits; a Li metal reservoir's is its library capacity) in one hour.

Outputs: the ``solution`` block (results.md: steps, delivered capacity and energy of the first
discharge, utilisation, lithiation statistics, the Li balance, step counts), ``timeseries.csv`` and
the lithiation field ``lithiation_x`` at the end in solution.vtu.
"""
from __future__ import annotations

import io
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from pydantic import Field
from skfem import CellBasis

from geom3d import GeometryError
from solvers.cell import CellError
from solvers.constants import A_M2_TO_MA_CM2, C_TO_UAH, FARADAY, M2_TO_CM2
from solvers.integrator import (
    Operation,
    Options,
    Trajectory,
    integrate,
    lithium_balance,
)
from solvers.names import ELECTRODES
from solvers.primary import cell_gradient
from solvers.transient import (
    Storage,
    TransientElectrode,
    TransientSystem,
    assemble_transient,
)
from solvers.units import Range

from ..case import CaseError, PhysicsBase, _quantity
from ..protocol import Protocol, ProtocolError, Step, first_discharge, parse_physics, rate_step_index
from .base import Fields, Model, Setup, interface_fields, p2_midpoints
from .common import electronic_conductivity
from .secondary import kinetics as secondary_kinetics

#: J/m^2 -> uWh/cm^2 and W/m^2 -> uW/cm^2
J_M2_TO_UWH_CM2 = 1e6 / 3600 / M2_TO_CM2
W_M2_TO_UW_CM2 = 1e6 / M2_TO_CM2
WALL_TIMES = Range("s", 0.0, 1e7, low_open=True)


class TransientSpec(PhysicsBase):
    """``physics:`` keys of the transient model."""

    model: Literal["transient"] = Field("transient", description="current distribution model")
    protocol: list[Any] | None = Field(None, description="steps, e.g. [{discharge: 1C, until: 3.0 V}, {rest: 10 min}] "
                                                         "or 'Discharge at 1C until 3.0 V' (required)")
    rates: list[Any] | None = Field(None, description="run the protocol once per rate, e.g. [0.1C, 1C, 10C] or "
                                                      "current densities: each sets the first discharge or "
                                                      "charge step (rate_capability, ragone.csv)")
    planar_equivalent: Any = Field("auto", description="with rates, also run the planar stack of the same "
                                                       "materials: auto (= same_volume: electrode films holding "
                                                       "the design's electrode volumes per footprint), "
                                                       "same_diffusion_length (films as thick as each electrode's "
                                                       "volume / interface area), false, or {films: .., "
                                                       "electrolyte_thickness: 1, cathode_thickness: 2, "
                                                       "anode_thickness: 3} (um; any subset); the electrolyte is "
                                                       "as thick as the smallest anode-cathode distance unless given")
    initial_state: Any = Field("charged", description="charged, discharged or {x_cathode: .., x_anode: ..}")
    output_times: Any = Field(20, description="snapshots in solution.pvd: a count (even in capacity) or a list "
                                              "of times")
    kinetics: Literal["butler_volmer", "linear"] = Field("butler_volmer", description="interface kinetics")
    exchange_current_law: Literal["lithiation", "constant"] = Field(
        "lithiation", description="i0 = i0_ref 2 sqrt(x (1 - x)) (lithiation) or i0_ref (constant)")
    electrode_conduction: bool = Field(False, description="solve the electronic potential in the electrodes")
    step_tolerance: float = Field(1e-3, gt=0, le=0.1, description="local error of the lithiation per time "
                                                                   "step (Li fraction)")
    max_steps: int = Field(20000, ge=10, le=10**6, strict=True, description="time steps before the run stops")
    max_wall_time: Any = Field(3600.0, description="wall-clock limit of the run (s, or with a unit)")
    takes = "protocol, initial_state, kinetics, exchange_current_law, electrode_conduction"

    def complete(self) -> TransientSpec:
        try:
            protocol = parse_physics(self.model_dump())
        except ProtocolError as exc:
            raise CaseError(str(exc)) from None
        if protocol.rates is not None:
            try:
                protocol.runs()
            except ValueError as exc:
                raise CaseError(f"physics.rates: {exc}") from None
        try:
            wall = _quantity_value(self.max_wall_time, WALL_TIMES, "physics.max_wall_time")
        except ValueError as exc:
            raise CaseError(str(exc)) from None
        norm = protocol.normalized()
        return self.model_copy(update={"protocol": norm["protocol"], "initial_state": norm["initial_state"],
                                       "output_times": norm["output_times"], "max_wall_time": wall,
                                       "planar_equivalent": _planar_equivalent_key(self.planar_equivalent)})

    def parsed(self) -> Protocol:
        """The protocol records (:mod:`mb3d.protocol`)."""
        return parse_physics(self.model_dump())

    def check(self, materials: Mapping[str, Any]) -> None:
        """Each electrode is a reservoir or has what diffusion needs; the first discharge's cut-off
        lies below the voltage it starts from."""
        need_cond = ["electronic_conductivity"] if self.electrode_conduction else []
        for role in ELECTRODES:
            m = materials[role]
            need = ["exchange_current_density", *need_cond]
            if not m.reservoir:
                need += ["max_concentration", "diffusivity", "ocp", "stoichiometry"]
            for prop in need:
                if prop not in m.props and m.extras.get(prop) is None:
                    raise CaseError(f"materials.{role}.{prop}: missing for {m.name!r}, required by the transient "
                                    "model" + ("" if m.reservoir else " (an intercalation electrode)"))
        protocol = self.parsed()
        x0 = initial_fractions(protocol, materials)
        ocv = open_circuit_voltage(materials, x0)
        first = first_discharge(protocol.steps)
        if first is not None and first[0] == 0 and first[1].until_voltage_V is not None \
                and first[1].until_voltage_V >= ocv:
            raise CaseError(f"physics.protocol[{first[0]}].until = {first[1].until_voltage_V:g} V: not below the "
                            f"open-circuit voltage at the start ({ocv:.4g} V): the discharge would end at once")


THICKNESSES_UM = Range("um", 0.0, 1e4, low_open=True)


#: the film thicknesses a case may give its planar equivalent (``physics.planar_equivalent: {..}``)
PLANAR_THICKNESS_KEYS = ("electrolyte_thickness", "cathode_thickness", "anode_thickness")
#: how the planar equivalent's electrode films are sized (mb3d.equivalent)
PLANAR_FILMS = ("same_volume", "same_diffusion_length")


def _planar_equivalent_key(value: Any) -> bool | dict[str, Any]:
    """``physics.planar_equivalent`` checked and normalised to False or {films: .., <thickness>: um}:
    auto (true) = same_volume, same_diffusion_length, false, or a mapping of films and one or more
    of electrolyte_thickness, cathode_thickness, anode_thickness (um, or with a unit)."""
    key = "physics.planar_equivalent"
    if value is False:
        return False
    if value is True or value == "auto":
        return {"films": "same_volume"}
    if value in PLANAR_FILMS:
        return {"films": value}
    allowed = {"films", *PLANAR_THICKNESS_KEYS}
    if not isinstance(value, Mapping) or not value or not set(value) <= allowed:
        raise CaseError(f"{key} = {value!r}: must be auto, false, {' or '.join(PLANAR_FILMS)}, or a mapping of "
                        f"films and {', '.join(PLANAR_THICKNESS_KEYS)} (lengths)")
    films = value.get("films", "same_volume")
    if films not in PLANAR_FILMS:
        raise CaseError(f"{key}.films = {films!r}: must be one of {', '.join(PLANAR_FILMS)}")
    out: dict[str, Any] = {"films": films}
    for k in PLANAR_THICKNESS_KEYS:
        if k in value:
            try:
                out[k] = _quantity_value(value[k], THICKNESSES_UM, f"{key}.{k}")
            except ValueError as exc:
                raise CaseError(str(exc)) from None
    return out


def _quantity_value(value: Any, valid: Range, key: str) -> float:
    """A quantity (number in ``valid.unit`` or string with a unit) checked against ``valid``."""
    try:
        return float(_quantity(valid).func(value))
    except ValueError as exc:
        raise ValueError(f"{key} = {value!r}: {exc}") from None


def initial_fractions(protocol: Protocol, materials: Mapping[str, Any]) -> dict[str, float | None]:
    """Initial Li fraction per electrode (None for a reservoir)."""
    st = protocol.initial_state
    out: dict[str, float | None] = {}
    for e in ELECTRODES:
        m = materials[e]
        if m.reservoir:
            out[e] = None
            continue
        given = getattr(st, f"x_{e}", None)
        if st.state == "fractions":
            if given is None:
                raise CaseError(f"physics.initial_state.x_{e}: missing (the {e} is an intercalation electrode)")
            out[e] = float(given)
        else:
            out[e] = float(m.stoichiometry[0 if st.state == "charged" else 1])
    return out


def open_circuit_voltage(materials: Mapping[str, Any], x: Mapping[str, float | None]) -> float:
    """U_cathode(x_c) - U_anode(x_a) (a reservoir's U is its potential), V."""
    def u(e: str) -> float:
        m = materials[e]
        return float(m["potential"]) if m.reservoir or x[e] is None else float(m.ocp(np.array([x[e]]))[0])
    return u("cathode") - u("anode")


# --- solve ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateRun:
    """One run of the protocol at one of ``physics.rates``: its key (the rate as written), steps,
    solver operations and trajectory."""

    key: str | None
    steps: tuple[Step, ...]
    operations: tuple[Operation, ...]
    trajectory: Trajectory


@dataclass(frozen=True)
class TransientRun:
    """What :func:`solve` returns: the system, the (first) run's trajectory and the operating scales;
    with ``physics.rates``, every rate's run in ``rates`` (the first is the main run)."""

    system: TransientSystem
    trajectory: Trajectory
    protocol: Protocol
    operations: tuple[Operation, ...]
    practical_capacity_C: float
    one_C_A: float
    n_dofs: int
    timing_s: Mapping[str, float]
    x_start: Mapping[str, float]
    steps: tuple[Step, ...] = ()
    rates: tuple[RateRun, ...] = ()
    planar: Mapping[str, Any] | None = None
    #: rate_capability computed once for the record and the files
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def practical_capacity_C(setup: Setup, x0: Mapping[str, float | None]) -> dict[str, float]:
    """Charge each electrode holds between its stoichiometry limits (a reservoir: its library
    capacity), C."""
    out = {}
    for e in ELECTRODES:
        m = setup.case.materials[e]
        vol = setup.metrics.volume_m3.get(e, 0.0)
        if m.reservoir:
            out[e] = vol * m["density"] * m["specific_capacity"] if vol > 0 else math.inf
        else:
            lo, hi = m.stoichiometry
            out[e] = FARADAY * m["max_concentration"] * abs(hi - lo) * vol
    return out


def collapsed_thickness(setup: Setup, e: str) -> float | None:
    """Thickness (m) of electrode ``e``'s film when it is collapsed (thinner than
    ``mesh.thin_layer_limit``, trenched silicon), else None."""
    for layer in getattr(setup.geometry, "layers", ()) or ():
        if layer.role == e and layer.collapsed:
            return float(layer.thickness_m)
    return None


def _electrodes(setup: Setup, x0: Mapping[str, float | None]) -> dict[str, TransientElectrode]:
    case, ph = setup.case, setup.physics
    kin = secondary_kinetics(case, setup.geometry)
    out = {}
    for e in ELECTRODES:
        m = case.materials[e]
        storage = None
        if not m.reservoir:
            film = None
            if not setup.cell.has_region(e):
                film = collapsed_thickness(setup, e)
                if film is None:
                    raise CaseError(f"geometry: the {e} is not meshed and is not a collapsed film of geometry.layers")
            storage = Storage(m["max_concentration"], m.diffusivity_at(ph.temperature), m.ocp, x0[e],
                              ph.exchange_current_law, film)
        out[e] = TransientElectrode(kin[e], float(m["potential"]), electronic_conductivity(setup, e), storage)
    return out


def operations(steps: tuple[Step, ...], one_C_A_m2: float, footprint_m2: float) -> tuple[Operation, ...]:
    """The protocol in solver terms: signed currents (discharge positive) and cut-offs, SI."""
    out = []
    for s in steps:
        label = s.text or s.describe()
        if s.kind == "hold":
            cut = s.until_current_A_m2(one_C_A_m2)
            out.append(Operation(label, voltage_V=s.voltage_V, duration_s=s.duration_s,
                                 cutoff_A=None if cut is None else cut * footprint_m2))
        else:
            current = s.sign * s.current_A_m2(one_C_A_m2) * footprint_m2
            out.append(Operation(label, current_A=current, duration_s=s.duration_s, cutoff_V=s.until_voltage_V))
    return tuple(out)


def solve(setup: Setup) -> TransientRun:
    """Integrate the protocol from the initial state (once per rate of ``physics.rates``, each from
    the same initial state on the operators assembled once)."""
    spec = setup.case.model.physics
    protocol = spec.parsed()
    x0 = initial_fractions(protocol, setup.case.materials)
    caps = practical_capacity_C(setup, x0)
    cap = min(caps.values())
    one_C_A = cap / 3600.0
    t0 = time.perf_counter()
    try:
        system = assemble_transient(setup.cell, setup.sigma_S_m, _electrodes(setup, x0))
    except CellError as exc:
        raise GeometryError(str(exc)) from None
    y0 = np.zeros(system.N)
    for e in ELECTRODES:
        if x0[e] is not None:
            y0[system.blocks[e].x] = x0[e]
    t1 = time.perf_counter()
    runs: list[RateRun] = []
    for key, steps in protocol.runs():
        ops = operations(steps, one_C_A / setup.footprint_m2, setup.footprint_m2)
        wall = spec.max_wall_time - (time.perf_counter() - t1)
        # in a rate sweep a rate whose cut-off is met at once delivers nothing: a result, not an error
        options = Options(x_tolerance=spec.step_tolerance, max_steps=spec.max_steps, max_wall_s=max(wall, 1e-3),
                          cutoff_at_start="end" if protocol.rates is not None else "error")
        keep = None if runs else snapshot_rule(protocol, cap)
        runs.append(RateRun(key, steps, ops, integrate(system, y0, list(ops), options, scale_A=one_C_A, keep=keep)))
    t2 = time.perf_counter()
    main = runs[0]
    linear = sum(r.trajectory.linear_solve_s for r in runs)
    timing = {"assemble": t1 - t0, "solve": t2 - t1, "linear_solves": linear}
    planar = None
    if protocol.rates is not None and spec.planar_equivalent is not False:
        planar = run_planar_equivalent(setup)
        timing["planar_equivalent"] = time.perf_counter() - t2
    return TransientRun(system, main.trajectory, protocol, main.operations, cap, one_C_A, system.N, timing,
                        {e: v for e, v in x0.items() if v is not None}, main.steps,
                        tuple(runs) if protocol.rates is not None else (), planar)


def run_planar_equivalent(setup: Setup) -> dict[str, Any]:
    """Run the planar equivalent of the case (:mod:`mb3d.equivalent`) through the pipeline; return
    its geometry (um) and solution block (None for a planar case: it is its own equivalent)."""
    from ..equivalent import interelectrode_distance_m, planar_equivalent_case  # noqa: PLC0415
    from ..pipeline import run_case  # noqa: PLC0415

    case = setup.case
    key = dict(case.model.physics.planar_equivalent)
    films = key.pop("films")
    given = {k: v * 1e-6 for k, v in key.items()}
    distance = interelectrode_distance_m(setup.mesh)
    m = setup.metrics
    per_area = {e: m.volume_m3[e] / m.interface_area_m2[e] for e in ELECTRODES}
    eq = planar_equivalent_case(case, m.volume_m3, setup.footprint_m2, distance, given,
                                per_area if films == "same_diffusion_length" else None)
    planar = case.raw["architecture"] == "planar"
    own = planar and not given
    g = eq.raw["geometry"]
    derived = {"electrolyte_thickness": "case" if planar else "interelectrode_distance",
               **{f"{e}_thickness": "case" if planar else f"volume_per_{'area' if films == 'same_diffusion_length' else 'footprint'}"
                  for e in ELECTRODES}}
    geometry = {f"{k}_um": g[k] for k in PLANAR_THICKNESS_KEYS}
    geometry["interelectrode_distance_um"] = distance * 1e6
    geometry.update({f"{k}_from": f"planar_equivalent.{k}" if k in given else derived[k] for k in PLANAR_THICKNESS_KEYS})
    return {"geometry": geometry, "films": films, "same_as_case": own,
            "solution": None if own else run_case(eq).record["solution"]}


def snapshot_rule(protocol: Protocol, capacity_C: float):
    """Which samples to keep for solution.pvd: with ``output_times`` a count N, the start and end of
    every step and each sample where the charge passed crosses another 1/N of the practical capacity;
    with a list of times, the first sample at or after each time."""
    spec = protocol.output_times
    state = {"next": 0, "last_step": -1, "charge": 0.0}

    if isinstance(spec, int):
        dq = capacity_C / spec

        def keep(sample) -> bool:
            new_step = sample.step != state["last_step"]
            state["last_step"] = sample.step
            moved = abs(sample.charge_C - state["charge"]) >= dq * (1 - 1e-9)
            if new_step or moved:
                state["charge"] = sample.charge_C
                return True
            return False
        return keep
    times = list(spec)

    def keep_times(sample) -> bool:
        if state["next"] < len(times) and sample.t_s >= times[state["next"]] * (1 - 1e-12):
            while state["next"] < len(times) and sample.t_s >= times[state["next"]] * (1 - 1e-12):
                state["next"] += 1
            return True
        return False
    return keep_times


# --- record ----------------------------------------------------------------------------------------------
def lithiation_stats(run: TransientRun, y: np.ndarray, e: str, x_start: float, window: float) -> dict[str, float]:
    """Volume statistics of x over electrode ``e`` (element quadrature): mean, min, max, cov and the
    volume fraction whose x has moved through more than 90 % of the window. A collapsed film uses
    its nodal values with the row sums of its mass matrix as volumes."""
    sysm = run.system
    if e in sysm.films:
        x = y[sysm.blocks[e].x]
        w = np.asarray(sysm.films[e].mass.sum(axis=1)).ravel()
    else:
        er = sysm.cell.electrode_region(e)
        basis = CellBasis(er.region.mesh, er.basis.elem, intorder=2)
        x = np.asarray(basis.interpolate(y[sysm.blocks[e].x]))
        w = np.asarray(basis.dx)
    W = w.sum()
    mean = float((x * w).sum() / W)
    std = math.sqrt(max(float(((x - mean) ** 2 * w).sum() / W), 0.0))
    moved = np.abs(x - x_start) >= 0.9 * window
    return {"mean": mean, "min": float(x.min()), "max": float(x.max()), "cov": std / mean if mean else None,
            "fraction_above_90pct": float(w[moved].sum() / W)}


def step_rows(setup: Setup, run: TransientRun, steps: tuple[Step, ...], ops: tuple[Operation, ...],
              traj: Trajectory) -> list[dict[str, Any]]:
    """One results row per protocol step of a run (per footprint: uAh/cm2, uWh/cm2, uW/cm2)."""
    fp = setup.footprint_m2
    rows = []
    for s, op, end in zip(steps, ops, traj.steps):
        dur = end.duration_s
        cap = abs(end.charge_C) / fp * C_TO_UAH / M2_TO_CM2
        energy = abs(end.energy_J) / fp * J_M2_TO_UWH_CM2
        current = (abs(op.current_A) / fp * A_M2_TO_MA_CM2) if op.galvanostatic else None
        rate = abs(op.current_A) / run.one_C_A if op.galvanostatic and op.current_A else None
        rows.append({"kind": s.kind, "text": end.label, "rate_C": rate,
            "current_density_mA_cm2": current, "ended_by": end.ended_by, "duration_s": dur,
            "capacity_uAh_cm2": cap, "energy_uWh_cm2": energy,
            "mean_voltage_V": (end.energy_J / end.charge_C if abs(end.charge_C) > 1e-9 * run.practical_capacity_C
                               else end.end_voltage_V),
            "mean_power_uW_cm2": abs(end.energy_J) / dur / fp * W_M2_TO_UW_CM2 if dur > 0 else 0.0,
            "end_voltage_V": end.end_voltage_V})
    return rows


def end_losses(system: TransientSystem, y: np.ndarray) -> dict[str, Any] | None:
    """The loss breakdown (V) at the state ``y`` (the end of a discharge): each term of
    :meth:`TransientSystem.losses_W` over the current, the open-circuit voltage at the mean
    lithiation, and how closely the terms add up to it minus the cell voltage; None at zero current."""
    st = system.states(y)
    current = system.current_A(st)
    if abs(current) <= 0:
        return None
    losses = {k: v / current for k, v in system.losses_W(y, st).items()}
    ocv, v = system.open_circuit_voltage(y), system.cell_voltage(y)
    gap = ocv - v
    return {"losses_V": losses, "ocv_at_mean_lithiation_V": ocv,
            "loss_balance_relative_error": abs(sum(losses.values()) - gap) / max(abs(gap), 1e-300)}


def rate_capability(setup: Setup, run: TransientRun) -> dict[str, dict[str, Any]]:
    """Per rate of ``physics.rates`` (keyed as written), the step whose rate it sets: capacity,
    energy, mean power and voltage per footprint, utilisation, duration, why it ended, Li balance
    (computed once per run: the record and the files share it)."""
    if "rate_capability" in run.derived:
        return run.derived["rate_capability"]
    practical = run.practical_capacity_C / setup.footprint_m2 * C_TO_UAH / M2_TO_CM2
    k = rate_step_index(run.protocol.steps)
    out = {}
    for r in run.rates:
        row = step_rows(setup, run, r.steps, r.operations, r.trajectory)[k]
        out[str(r.key)] = {"rate_C": row["rate_C"], "current_density_mA_cm2": row["current_density_mA_cm2"],
                           "capacity_uAh_cm2": row["capacity_uAh_cm2"], "energy_uWh_cm2": row["energy_uWh_cm2"],
                           "mean_power_uW_cm2": row["mean_power_uW_cm2"],
                           "utilisation": row["capacity_uAh_cm2"] / practical,
                           "mean_voltage_V": row["mean_voltage_V"], "duration_s": row["duration_s"],
                           "ended_by": row["ended_by"],
                           "lithium_balance_relative_error": lithium_balance(run.system, r.trajectory),
                           "end_of_discharge": end_losses(run.system, r.trajectory.op_end_states[k])}
    run.derived["rate_capability"] = out
    return out


def planar_record(rates: Mapping[str, Mapping[str, Any]], planar: Mapping[str, Any] | None
                  ) -> dict[str, Any] | None:
    """The ``planar_equivalent`` block: its geometry, its rate capability and, per rate of the
    case, the case's energy over the planar equivalent's at the same mean power per footprint and
    at the same C-rate (each cell's own 1C; a planar case is its own equivalent: ratios 1); None
    when not run (``planar_equivalent: false``)."""
    from ..equivalent import ragone_ratio  # noqa: PLC0415

    if planar is None:
        return None
    eq = rates if planar["same_as_case"] else planar["solution"]["rate_capability"]
    return {"geometry": planar["geometry"], "films": planar["films"], "same_as_case": planar["same_as_case"],
            "rate_capability": eq,
            "energy_ratio_at_equal_power": ragone_ratio(rates, eq),
            "energy_ratio_at_equal_rate": {k: (r["energy_uWh_cm2"] / eq[k]["energy_uWh_cm2"]
                                               if eq[k]["energy_uWh_cm2"] > 0 else None) for k, r in rates.items()}}


def record(setup: Setup, run: TransientRun) -> tuple[dict[str, Any], None]:
    """The ``solution`` block of results.json (results.md, transient model)."""
    traj = run.trajectory
    steps = step_rows(setup, run, run.steps, run.operations, traj)
    fp = setup.footprint_m2
    trajs = [r.trajectory for r in run.rates] or [traj]
    practical = run.practical_capacity_C / fp * C_TO_UAH / M2_TO_CM2
    first = first_discharge(run.steps)
    rec: dict[str, Any] = {
        "model": "transient",
        "practical_capacity_uAh_cm2": practical,
        "one_C_current_density_mA_cm2": run.one_C_A / fp * A_M2_TO_MA_CM2,
        "exchange_current_law": setup.physics.exchange_current_law,
        "kinetics": setup.physics.kinetics,
        "electrode_conduction": setup.physics.electrode_conduction,
        "temperature_degC": setup.case.model.physics.temperature,
        "steps": steps,
        "lithium_balance_relative_error": max(lithium_balance(run.system, t) for t in trajs),
        "time_steps": sum(t.accepted for t in trajs), "rejected_steps": sum(t.rejected for t in trajs),
        "newton_iterations": sum(t.newton_iterations for t in trajs),
        "factorisations": sum(t.factorisations for t in trajs),
        "krylov_iterations": sum(t.krylov_iterations for t in trajs),
    }
    if run.rates:
        rec["rate_capability"] = rate_capability(setup, run)
        rec["planar_equivalent"] = planar_record(rec["rate_capability"], run.planar)
    if first is not None:
        k = first[0]
        d = steps[k]
        rec.update({"delivered_capacity_uAh_cm2": d["capacity_uAh_cm2"], "delivered_energy_uWh_cm2": d["energy_uWh_cm2"],
                    "utilisation": d["capacity_uAh_cm2"] / practical, "mean_power_uW_cm2": d["mean_power_uW_cm2"],
                    "mean_voltage_V": d["mean_voltage_V"], "duration_s": d["duration_s"]})
        y_end = traj.op_end_states[k]
        rec["end_of_discharge"] = end_losses(run.system, y_end)
        rec["lithiation"] = {}
        for e in run.x_start:
            lo, hi = setup.case.materials[e].stoichiometry
            rec["lithiation"][e] = lithiation_stats(run, y_end, e, traj.op_start_x[k][e], abs(hi - lo))
    return rec, None


def fields(setup: Setup, run: TransientRun, per_facet: Any) -> Fields:
    """At the end of the run: potentials (electrolyte; electrodes at their collector or electronic
    potential), ionic current density, the lithiation x of every node of an intercalation electrode
    (``lithiation_x``, NaN elsewhere) and the interface current density. With more than one step,
    also the lithiation at the end of each (``lithiation_x_step1``, ...; report.html maps them with
    ``--images``)."""
    out = fields_at(setup, run, run.trajectory.y)
    ends = run.trajectory.op_end_states
    if len(ends) < 2:
        return out
    steps, mid = {}, out.midpoint_data
    for k, y in enumerate(ends):
        f, name = fields_at(setup, run, y), f"lithiation_x_step{k + 1}"
        steps[name] = f.point_data["lithiation_x"]
        mid += tuple((name, e, v) for n, e, v in f.midpoint_data if n == "lithiation_x")
    return replace(out, point_data={**out.point_data, **steps}, midpoint_data=mid)


def fields_at(setup: Setup, run: TransientRun, y: np.ndarray) -> Fields:
    """The output fields of the state ``y`` (see :func:`fields`)."""
    sysm, mesh, cell = run.system, setup.mesh, setup.cell
    pot = np.zeros(len(mesh.points_m))
    cur = np.zeros((len(mesh.tets), 3))
    lith = np.full(len(mesh.points_m), np.nan)
    mid: tuple = ()
    for e in ELECTRODES:
        if e in sysm.films:         # a collapsed film: its surface lithiation on the interface nodes
            f = sysm.films[e]
            n = len(f.depth_m)
            node = np.full(cell.basis().N, -1)
            node[cell.basis().nodal_dofs[0]] = np.arange(cell.basis().nodal_dofs.shape[1])
            at = node[f.dofs]
            lith[cell.electrolyte.nodes[at[at >= 0]]] = y[sysm.blocks[e].x][::n][at >= 0]
        if not cell.has_region(e):
            continue
        el, b = sysm.electrodes[e], sysm.blocks[e]
        psi = y[b.psi] + el.reference_V
        if el.sigma_S_m is None:
            pot[np.unique(mesh.tets[cell.region_mask(e)])] = psi[0]
        else:
            em = cell.electrode(e)
            pot[em.region.nodes] = psi[em.basis.nodal_dofs[0]]
            mid += p2_midpoints("potential_V", em.basis, em.region.nodes, psi)
        if el.storage is not None:
            er = cell.electrode_region(e)
            lith[er.region.nodes] = y[b.x][er.basis.nodal_dofs[0]]
            mid += p2_midpoints("lithiation_x", er.basis, er.region.nodes, y[b.x])
    basis = cell.basis()
    phi = y[:sysm.n_e]
    pot[cell.electrolyte.nodes] = phi[basis.nodal_dofs[0]]
    mid += p2_midpoints("potential_V", basis, cell.electrolyte.nodes, phi)
    sigma = setup.sigma_S_m
    cur[cell.electrolyte.cells] = -sigma * cell_gradient(basis.mesh, basis, phi)
    states = sysm.states(y)
    per = {e: -(states[e][0] * sysm.dx[e]).sum(axis=1) / sysm.dx[e].sum(axis=1) * (1 if e == "cathode" else -1)
           for e in ELECTRODES}
    return Fields(pot, cur, *interface_fields(setup, per), point_data={"lithiation_x": lith}, midpoint_data=mid)


def files(setup: Setup, run: TransientRun) -> dict[str, str]:
    """``timeseries.csv``: one row per accepted time (per footprint: mA/cm2, uAh/cm2, uWh/cm2), with
    ``physics.rates`` every rate's run with the rate in a first column; ``ragone.csv``: one row per
    rate (:func:`rate_capability`)."""
    fp = setup.footprint_m2
    elec = list(run.x_start)
    cols = ["t_s", "step", "voltage_V", "current_density_mA_cm2", "capacity_uAh_cm2", "energy_uWh_cm2"]
    for e in elec:
        cols += [f"x_mean_{e}", f"x_surface_mean_{e}", f"x_surface_min_{e}", f"x_surface_max_{e}"]
    buf = io.StringIO()
    buf.write(",".join((["rate"] if run.rates else []) + cols) + "\n")
    for r in run.rates or (RateRun(None, run.steps, run.operations, run.trajectory),):
        for s in r.trajectory.samples:
            row = [s.t_s, s.step, s.voltage_V, s.current_A / fp * A_M2_TO_MA_CM2,
                   s.charge_C / fp * C_TO_UAH / M2_TO_CM2, s.energy_J / fp * J_M2_TO_UWH_CM2]
            for e in elec:
                row += [s.x_mean[e], s.x_surface[e]["mean"], s.x_surface[e]["min"], s.x_surface[e]["max"]]
            buf.write(",".join(([_csv_text(r.key)] if run.rates else [])
                               + [f"{v:.10g}" if isinstance(v, float) else str(v) for v in row]) + "\n")
    out: dict[str, str | bytes] = {"timeseries.csv": buf.getvalue()}
    if run.rates:
        rc = rate_capability(setup, run)
        planar = planar_record(rc, run.planar)
        out["ragone.csv"] = ragone_csv(rc, None if planar is None or planar["same_as_case"] else planar["rate_capability"])
    out.update(snapshots(setup, run))
    return out


RAGONE_COLUMNS = ("rate_C", "current_density_mA_cm2", "capacity_uAh_cm2", "energy_uWh_cm2", "mean_power_uW_cm2",
                  "utilisation", "mean_voltage_V", "duration_s", "ended_by")


def _csv_text(text: Any) -> str:
    return '"' + str(text).replace('"', '""') + '"'


def ragone_csv(rates: Mapping[str, Mapping[str, Any]], planar: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """ragone.csv: a row per rate (as written) of the case (``design`` = case) and of its planar
    equivalent (``design`` = planar equivalent), the columns of :data:`RAGONE_COLUMNS`."""
    lines = [",".join(("design", "rate") + RAGONE_COLUMNS)]
    for design, table in (("case", rates), ("planar equivalent", planar or {})):
        for key, row in table.items():
            cells = [_csv_text(design), _csv_text(key)]
            for c in RAGONE_COLUMNS:
                v = row[c]
                cells.append(_csv_text(v) if isinstance(v, str) else "" if v is None else f"{v:.10g}")
            lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def snapshots(setup: Setup, run: TransientRun) -> dict[str, str | bytes]:
    """``solution.pvd`` (a ParaView collection over time) and one ``snapshots/solution_NNN.vtu`` per kept
    state, written as ``solution.vtu`` is (:mod:`mb3d.vtkfiles`): potential_V, lithiation_x,
    current_density_mA_cm2 and region_id, coordinates in um, quadratic cells for P2."""
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from ..vtkfiles import collection_xml, volume_grid, write_volume  # noqa: PLC0415

    out: dict[str, str | bytes] = {}
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (t, y) in enumerate(run.trajectory.states):
            name = f"snapshots/solution_{k:03d}.vtu"
            path = Path(tmp) / f"{k}.vtu"
            write_volume(path, volume_grid(setup.mesh, fields_at(setup, run, y)))
            out[name] = path.read_bytes()
            entries.append(({"timestep": f"{t:.10g}", "group": "", "part": "0"}, name))
    out["solution.pvd"] = collection_xml(entries)
    return out


def headline(s: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Rows of the CLI summary."""
    rows = [("practical capacity (uAh/cm2)", s["practical_capacity_uAh_cm2"], None)]
    if "delivered_capacity_uAh_cm2" in s:
        rows += [("delivered capacity (uAh/cm2)", s["delivered_capacity_uAh_cm2"], None),
                 ("delivered energy (uWh/cm2)", s["delivered_energy_uWh_cm2"], None),
                 ("utilisation", s["utilisation"], None), ("mean voltage (V)", s["mean_voltage_V"], None)]
    pe = s.get("planar_equivalent")
    versus = pe["energy_ratio_at_equal_rate"] if pe and not pe["same_as_case"] else {}
    for key, r in (s.get("rate_capability") or {}).items():
        ratio = versus.get(key)
        rows.append((f"energy at {key} (uWh/cm2)", f"{r['energy_uWh_cm2']:.4g} ({r['utilisation']:.0%} used"
                     + (f", {ratio:.2f} x planar)" if ratio is not None else ")"), None))
    if versus:
        g = pe["geometry"]
        rows.append(("planar equivalent (um)", f"cathode {g['cathode_thickness_um']:.3g}, electrolyte "
                                               f"{g['electrolyte_thickness_um']:.3g}", None))
    rows += [("time steps (rejected)", f"{s['time_steps']} ({s['rejected_steps']})", None)]
    return rows


MODEL = Model("transient", TransientSpec, solve, record, fields, headline=headline, files=files, periodic=True,
              summary="discharge and charge in time: Li diffusion in the electrodes, OCP curves, cut-off voltages")
