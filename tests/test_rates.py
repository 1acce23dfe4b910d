"""Rate capability (issue 19): the planar cell swept over rates with ``physics.rates`` against the
closed form of a slab with a vertical OCP, and the approach to the practical window at low rate."""
from __future__ import annotations

import numpy as np
import pytest
from test_transient import planar

from mb3d.case import load_case
from mb3d.pipeline import run_case
from solvers.closedforms import utilisation_limit

L_C = 1.0e-6                                    # cathode film, m (test_transient.planar)
#: an OCP that is flat (0.3 V over the window) and then vertical at the window's end, x = 0.99
VERTICAL = {"base": "LiCoO2", "ocp": {"x": [0.0, 0.99, 0.9905, 1.0], "U": [4.2, 3.9, 2.5, 2.0]},
            "exchange_current_density": "10 mA/cm2"}


def test_vertical_ocp_utilisation_is_the_slab_closed_form():
    """A steep OCP and fast kinetics: the discharge ends when the surface reaches the end of the
    window, so the utilisation is the slab's t_cut / t_nom with c_s(t_cut) = window (Carslaw-Jaeger;
    1 - nu/3 for nu <= 1, pi / (4 nu) for large nu), nu = L^2 / (D t_nom), t_nom = 3600 s / C-rate.
    Within 2 % at nu = 0.1, 0.5, 1, 5 (one run of four rates)."""
    case = load_case(planar({"protocol": ["Discharge at 1C until 3.0 V"], "exchange_current_law": "constant",
                             "step_tolerance": 1e-3}, VERTICAL, interface=0.1))
    D = case.materials["cathode"].diffusivity_at(298.15)
    nus = [0.1, 0.5, 1.0, 5.0]
    rates = [3600.0 * D * nu / L_C**2 for nu in nus]            # C-rate: t_nom = 3600 s / C = L^2 / (D nu)
    s = run_case(case.with_(**{"physics.rates": [f"{c:.8g}C" for c in rates]})).record["solution"]
    got = [r["utilisation"] for r in s["rate_capability"].values()]
    exact = [utilisation_limit(nu, exact=True) for nu in nus]
    print("nu, utilisation, closed form:", [(nu, round(g, 5), round(e, 5)) for nu, g, e in zip(nus, got, exact)])
    assert np.allclose(got, exact, rtol=0.02, atol=0)
    assert got == sorted(got, reverse=True)
    assert [r["ended_by"] for r in s["rate_capability"].values()] == ["voltage"] * 4
