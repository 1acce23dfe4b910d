"""Property-based test of the CLI promise, one test per architecture (hypothesis).

The property: for every *valid* design (a case that respects the format of
``docs/formats/case.md`` and the architecture's rules, see ``mb3d describe ARCH``),
``mb3d run CASE.yaml --out DIR --quiet``, run as a user runs it (``python -m mb3d.cli`` in its own
process; forked from an interpreter that has already imported what every ``mb3d`` command imports first,
which saves about 1.5 s an example: ``CLI`` in test_doe.py, checked against a fresh interpreter there), either

* exits 0 and writes ``results.json`` with a finite ``solution.asr_ohm_cm2 > 0``, a finite
  ``solution.current_A > 0`` and ``geometry.capacity_uAh_cm2 > 0``, or
* exits 1 (a failure while running) or 2 (bad input, e.g. a secondary current the cell cannot deliver,
  a feature the mesh cannot resolve, too many elements) with exactly one non-empty line on stderr,
  starting with ``error:``, and writes nothing into DIR;

never a traceback, never a signal (negative return code), never a hang (a subprocess timeout fails the
example).

The strategies below only draw designs that are valid by the documented rules: pillars that neither
overlap nor touch, ``electrolyte_height >= height``, ``fill_height > height + electrolyte_thickness``,
stacks thinner than half the trench, gyroid widths of whole cells, unit-cell offsets of 0 or pitch/2 ...
They cover both domains where the architecture has ``array`` (2..3 repeat units a side), both physics
models (primary with a voltage; secondary with a small current density or a cell voltage just under the
open-circuit voltage, ``butler_volmer`` or ``linear`` kinetics, ``electrode_conduction`` when both
electrodes conduct), and COARSE meshes sized from the smallest feature so that every example takes
seconds.

Run::

    .venv/bin/python -m pytest -q tests/test_properties.py -p no:cacheprovider
    MB3D_HYPOTHESIS_EXAMPLES=50 .venv/bin/python -m pytest -q tests/test_properties.py   # longer

``MB3D_HYPOTHESIS_EXAMPLES`` sets the number of examples per architecture (default ``DEFAULT_EXAMPLES``;
the whole file then takes about 1.5 minutes on 2 cores). Examples are derandomised (the same ones on
every run); ``MB3D_HYPOTHESIS_SEED=N`` draws another fixed set. On a failure hypothesis shrinks the
design and the assertion message shows the case YAML, the exit code and stderr.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, note, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_doe import CLI  # noqa: E402  (`python -m mb3d.cli ...` forked from a warm interpreter)

ROOT = Path(__file__).parent.parent
DEFAULT_EXAMPLES = 3
EXAMPLES = int(os.environ.get("MB3D_HYPOTHESIS_EXAMPLES", DEFAULT_EXAMPLES))
SEED = os.environ.get("MB3D_HYPOTHESIS_SEED")
TIMEOUT_S = 300

# Library values the strategies need (``mb3d materials``): potential (V vs Li/Li+) and whether the
# electrode conducts electrons (electronic_conductivity > 0, required by electrode_conduction).
ANODES = {"Li": (0.0, True), "Si": (0.4, True), "Li4Ti5O12": (1.55, False)}
CATHODES = {"LiCoO2": (3.9, True), "NMC111": (3.7, True), "NCA": (3.7, True), "LiMn2O4": (4.05, True),
            "V2O5": (3.0, True), "LiFePO4": (3.45, True)}
ELECTROLYTES = ("LiPON", "LiSON", "Li7P3S11", "Li6PS5Cl", "LLZO-Ga", "LATP")


def prop_settings(f):
    """Bounded, reproducible, no example database, no deadline (each example is a subprocess)."""
    f = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
                 suppress_health_check=list(HealthCheck), print_blob=False)(f)
    if SEED is not None:
        f = seed(int(SEED))(f)
    return pytest.mark.slow(f)


# --- helpers ------------------------------------------------------------------------------------
def r3(x: float) -> float:
    """Round to 3 significant digits (readable YAML; constraints are checked after rounding)."""
    return float(f"{x:.3g}")


def frac(draw, lo: float, hi: float) -> float:
    return draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def logu(draw, lo: float, hi: float) -> float:
    """Log-uniform number in [lo, hi]."""
    return math.exp(frac(draw, math.log(lo), math.log(hi)))


def coarse_mesh(draw, feature: float, extent: tuple[float, float, float], *, cells: float = 18.0,
                volume_elements: float = 15000.0) -> dict[str, Any]:
    """A coarse mesh block: interface_size about the smallest feature (never finer than the largest
    extent / ``cells``), size a few interface sizes (never finer than a bulk budget of
    ``volume_elements`` tetrahedra). order 2 for one example in four."""
    lx, ly, lz = extent
    order = draw(st.sampled_from([1, 1, 1, 2]))
    if order == 2:                                 # P2 has ~8x the unknowns per element
        cells, volume_elements = cells / 1.5, volume_elements / 4
    isize = feature * frac(draw, 0.5, 1.25)
    isize = max(isize, max(extent) / cells)
    size = isize * frac(draw, 1.0, 4.0)
    size = max(size, (lx * ly * lz / (0.118 * volume_elements)) ** (1 / 3))
    out: dict[str, Any] = {"size": r3(size), "interface_size": r3(isize)}
    if order == 2:
        out["order"] = 2
    assert out["interface_size"] <= out["size"]
    return out


@st.composite
def materials(draw) -> dict[str, str]:
    return {"electrolyte": draw(st.sampled_from(ELECTROLYTES)),
            "anode": draw(st.sampled_from(sorted(ANODES))),
            "cathode": draw(st.sampled_from(sorted(CATHODES)))}


def physics(draw, anode: str, cathode: str) -> dict[str, Any]:
    """Primary with a voltage, or secondary: a small current density (or a cell voltage just under the
    open-circuit voltage), either kinetics, electrode_conduction when both electrodes conduct."""
    ph: dict[str, Any] = {}
    t = draw(st.sampled_from([None, None, 25, 60, "80 degC", -10]))
    if t is not None:
        ph["temperature"] = t
    if draw(st.booleans()):
        ph["model"] = "primary"
        v = r3(logu(draw, 0.005, 0.5))
        ph["voltage"] = draw(st.sampled_from([v, f"{r3(v * 1000):g} mV"]))
        return ph
    ph["model"] = "secondary"
    if draw(st.integers(0, 3)) == 0:
        ocv = CATHODES[cathode][0] - ANODES[anode][0]
        ph["cell_voltage"] = round(ocv - logu(draw, 0.002, 0.05), 4)   # < the open-circuit voltage
    else:
        ph["current_density"] = f"{r3(logu(draw, 1e-4, 0.2)):g} mA/cm2"
    k = draw(st.sampled_from([None, "butler_volmer", "linear"]))
    if k is not None:
        ph["kinetics"] = k
    if ANODES[anode][1] and CATHODES[cathode][1]:
        c = draw(st.sampled_from([None, False, True]))
        if c is not None:
            ph["electrode_conduction"] = c
    return ph


def domain_block(draw, arch_has_array: bool, nx_range=(2, 3), ny_range=(2, 3)) -> dict[str, Any]:
    if not arch_has_array or draw(st.booleans()):
        return {"domain": "unit_cell"} if draw(st.booleans()) else {}
    return {"domain": "array", "array": {"nx": draw(st.integers(*nx_range)), "ny": draw(st.integers(*ny_range))}}


def case(architecture: str, dom: dict, geometry: dict, mats: dict | None, ph: dict, mesh: dict) -> dict:
    raw: dict[str, Any] = {"name": f"prop-{architecture.replace('_', '-')}", "architecture": architecture}
    raw.update(dom)
    raw["geometry"] = geometry
    if mats is not None:
        raw["materials"] = mats
    raw["physics"] = ph
    raw["mesh"] = mesh
    return raw


# --- strategies: valid designs per architecture -------------------------------------------------
@st.composite
def planar_cases(draw):
    s = logu(draw, 0.2, 3.0)                       # the scale of the films
    tc, te, ta = (r3(s * frac(draw, 1.0, 5.0)) for _ in range(3))
    width = r3(s * frac(draw, 2.0, 12.0))
    geo = {"width": width, "cathode_thickness": tc, "electrolyte_thickness": te, "anode_thickness": ta}
    mats = draw(materials())
    mesh = coarse_mesh(draw, min(tc, te, ta), (width, width, tc + te + ta))
    return case("planar", draw(st.sampled_from([{}, {"domain": "unit_cell"}])), geo, mats,
                physics(draw, mats["anode"], mats["cathode"]), mesh)


@st.composite
def interdigitated_pillars_cases(draw):
    lattice = draw(st.sampled_from(["square", "triangular"]))
    shape = draw(st.sampled_from(["circle", "square"])) if lattice == "square" else "circle"
    p = r3(logu(draw, 5.0, 60.0))
    ra = r3(p * frac(draw, 0.08, 0.62))
    rc = r3(p * frac(draw, 0.08, 0.62))
    # the rules of InterdigitatedPillarsParams.check, with a margin of 5 % of the pitch
    assume(ra + rc <= 0.95 * p)
    if lattice == "square":
        same = p if shape == "square" else p * math.sqrt(2)
        assume(2 * ra <= same - 0.05 * p and 2 * rc <= same - 0.05 * p)
    else:
        assume(2 * ra <= 0.95 * p and 2 * rc <= p * math.sqrt(3) - 0.05 * p)
    h = r3(p * frac(draw, 0.2, 1.5))
    geo: dict[str, Any] = {"lattice": lattice, "shape": shape, "pitch": p, "anode_radius": ra,
                           "cathode_radius": rc, "height": h}
    H = electrolyte_height(draw, geo, h)
    dom = domain_block(draw, True)
    gap = p - ra - rc
    if dom.get("domain") == "array":
        n = dom["array"]["nx"] * dom["array"]["ny"]
        mesh = coarse_mesh(draw, min(gap, ra, rc, h) / 2, (p * (dom["array"]["nx"]), p * dom["array"]["ny"], H),
                           cells=9 * math.sqrt(n), volume_elements=25000)
    else:
        mesh = coarse_mesh(draw, min(gap, ra, rc, h) / 2, (p, p / 2, H))
    mats = draw(materials())
    return case("interdigitated_pillars", dom, geo, mats, physics(draw, mats["anode"], mats["cathode"]), mesh)


@st.composite
def coated_pillars_cases(draw):
    lattice = draw(st.sampled_from(["square", "hexagonal"]))
    core = draw(st.sampled_from(["cathode", "anode"]))
    p = r3(logu(draw, 6.0, 30.0))
    r = r3(p * frac(draw, 0.08, 0.35))
    t = r3(p * frac(draw, 0.04, 0.12))
    assume(2 * (r + t) <= 0.95 * p)                # coated pillars do not touch
    h = r3(p * frac(draw, 0.3, 2.0))
    assume(t < h)
    geo: dict[str, Any] = {"lattice": lattice, "core": core, "pitch": p, "radius": r, "height": h,
                           "electrolyte_thickness": t}
    if draw(st.booleans()):
        geo["fill_height"] = r3(h + t + t * frac(draw, 0.3, 4.0))
        assume(geo["fill_height"] > (h + t) * 1.001)
    H = geo.get("fill_height", h + 2 * t)
    dom = domain_block(draw, True)
    if dom.get("domain") == "array":
        n = dom["array"]["nx"] * dom["array"]["ny"]
        mesh = coarse_mesh(draw, t, (p * dom["array"]["nx"], p * dom["array"]["ny"], H),
                           cells=10 * math.sqrt(n), volume_elements=25000)
    else:
        mesh = coarse_mesh(draw, t, (p / 2, p / 2, H), cells=24)
    mats = draw(materials())
    return case("coated_pillars", dom, geo, mats, physics(draw, mats["anode"], mats["cathode"]), mesh)


def electrolyte_height(draw, geo: dict[str, Any], h: float) -> float:
    """Leave ``electrolyte_height`` at its default (= height), equal to it, or above; return it."""
    eh = draw(st.sampled_from(["default", "equal", "above"]))
    if eh == "equal":
        geo["electrolyte_height"] = h
    elif eh == "above":
        geo["electrolyte_height"] = r3(h * frac(draw, 1.05, 1.6))
    return geo.get("electrolyte_height", h)


@st.composite
def interdigitated_plates_cases(draw):
    aw, cw, gap = (r3(logu(draw, 2.0, 20.0)) for _ in range(3))
    h = r3(logu(draw, 3.0, 60.0))
    geo: dict[str, Any] = {"anode_width": aw, "cathode_width": cw, "gap": gap, "height": h}
    H = electrolyte_height(draw, geo, h)
    period = aw + cw + 2 * gap
    if draw(st.booleans()):
        dom: dict[str, Any] = {"domain": "array"}
        if draw(st.booleans()):   # array.nx/ny are not used by the plates, but allowed
            dom["array"] = {"nx": draw(st.integers(2, 3)), "ny": draw(st.integers(2, 3))}
        geo["length"] = r3(period * frac(draw, 0.5, 3.0))
        geo["n_pairs"] = draw(st.integers(1, 3))
        ext = (geo["n_pairs"] * period + period, geo["length"] + period, H)
        mesh = coarse_mesh(draw, min(aw, cw, gap, h) / 2, ext, cells=30, volume_elements=25000)
    else:
        dom = draw(st.sampled_from([{}, {"domain": "unit_cell"}]))
        mesh = coarse_mesh(draw, min(aw / 2, cw / 2, gap, h) / 2, (period / 2, period / 2, H))
    mats = draw(materials())
    return case("interdigitated_plates", dom, geo, mats, physics(draw, mats["anode"], mats["cathode"]), mesh)


@st.composite
def trenched_silicon_cases(draw):
    feature = draw(st.sampled_from(["trench", "pore"]))
    p = r3(logu(draw, 4.0, 24.0))
    w = r3(p * frac(draw, 0.3, 0.85))
    assume(w < 0.98 * p)
    depth = draw(st.sampled_from([0.0, None, None, None]))
    depth = r3(p * frac(draw, 0.1, 2.0)) if depth is None else depth
    # the stack: [barrier] near-electrode, electrolyte, far-electrode [collector]
    notten = draw(st.booleans())                   # anode on the silicon (Notten) or cathode on it
    anode = draw(st.sampled_from(["Si", "Li", "Li4Ti5O12"]))
    cathode = draw(st.sampled_from(sorted(CATHODES)))
    te = max(r3(w / 2 * frac(draw, 0.06, 0.2)), 0.15)   # above the default thin_layer_limit 0.1

    def film() -> Any:
        """A film either thin (collapsed by the default thin_layer_limit) or comparable to the
        electrolyte (meshed with it): never a meshed film far thinner than interface_size."""
        if draw(st.booleans()):
            return draw(st.sampled_from(["50 nm", 0.05, 0.08, "20 nm"]))
        return r3(te * frac(draw, 0.5, 1.2))

    near, far = (("anode", anode), ("cathode", cathode)) if notten else (("cathode", cathode), ("anode", anode))
    layers = []
    if draw(st.booleans()):
        layers.append({"role": "barrier", "material": draw(st.sampled_from(["TiN", "Pt", "Ti"])),
                       "thickness": film()})
    layers.append({"role": near[0], "material": near[1], "thickness": film()})
    layers.append({"role": "electrolyte", "material": draw(st.sampled_from(ELECTROLYTES)), "thickness": te})
    layers.append({"role": far[0], "material": far[1], "thickness": film()})
    if draw(st.booleans()):
        layers.append({"role": "collector", "material": draw(st.sampled_from(["Cu", "Au", "Pt"])),
                       "thickness": film()})

    def um(v: Any) -> float:
        return float(v.split()[0]) * 1e-3 if isinstance(v, str) else v

    total = sum(um(layer["thickness"]) for layer in layers)
    assume(total <= 0.9 * w / 2)                   # the stack does not close the trench
    geo: dict[str, Any] = {"feature": feature, "width": w, "depth": depth, "pitch": p, "layers": layers}
    if draw(st.booleans()):
        geo["fill"] = draw(st.sampled_from(["collector", "void"]))
    dom = domain_block(draw, True, ny_range=(2, 3))
    if dom.get("domain") == "array" and feature == "trench":
        dom["array"]["ny"] = 1                      # trenches run along y: nx trenches
    height = depth + total + 1.0
    if dom.get("domain") == "array":
        ext = (p * dom["array"]["nx"], p * dom["array"]["ny"] if feature == "pore" else p / 2, height)
        mesh = coarse_mesh(draw, te, ext, cells=14 * dom["array"]["nx"], volume_elements=25000)
    else:
        mesh = coarse_mesh(draw, te, (p / 2, p / 2, height), cells=20)
    if draw(st.integers(0, 3)) == 0:
        # between the thin films (<= 0.08 um) and the thick ones (>= te / 2)
        mesh["thin_layer_limit"] = r3(frac(draw, 0.09, max(0.09, 0.45 * te)))
    ph = physics(draw, anode, cathode)
    return case("trenched_silicon", dom, geo, None, ph, mesh)


@st.composite
def sponge_cases(draw):
    kind = draw(st.sampled_from(["gyroid", "random"]))
    geo: dict[str, Any] = {"kind": kind, "solid_fraction": r3(frac(draw, 0.05, 0.95))}
    if kind == "gyroid":
        c = r3(logu(draw, 4.0, 12.0))
        geo["cell_size"] = c
        if draw(st.integers(0, 3)) == 0:
            geo["width"] = r3(2 * c)
            assume(abs(geo["width"] / c - 2) < 1e-9)   # a whole number of cells after rounding
        scale, width = c, geo.get("width", c)
    else:
        corr = r3(logu(draw, 2.0, 6.0))
        geo["correlation_length"] = corr
        geo["seed"] = draw(st.integers(0, 10_000))
        width = r3(corr * frac(draw, 2.0, 2.6))
        assume(width >= 2 * corr)
        geo["width"] = width
        scale = corr
    te = r3(scale * frac(draw, 0.14, 0.24))         # < scale / 4: the film does not close the pores
    assume(te < 0.25 * scale)
    wh = r3(scale * frac(draw, 0.5, 1.3))
    height = r3(wh + te + te * frac(draw, 0.5, 3.0))
    assume(height > (wh + te) * 1.001)
    geo.update({"electrolyte_thickness": te, "web_height": wh, "height": height})
    isize = r3(te / 2 * frac(draw, 0.75, 1.0))     # <= electrolyte_thickness / 2 (sponge rule)
    assume(isize <= te / 2)
    order = draw(st.sampled_from([1, 1, 1, 2]))
    # the level-set mesher fills the box with cubes of interface_size, six tetrahedra each
    assume(6 * (width / isize) ** 2 * (height / isize) <= (120_000 if order == 1 else 40_000))
    mesh: dict[str, Any] = {"size": r3(isize * frac(draw, 1.0, 4.0)), "interface_size": isize}
    if order == 2:
        mesh["order"] = 2
    mats = draw(materials())
    ph = physics(draw, mats["anode"], mats["cathode"])
    if draw(st.booleans()):
        geo["lateral"] = "insulating"
    return case("sponge", draw(st.sampled_from([{}, {"domain": "unit_cell"}])), geo, mats, ph, mesh)


@st.composite
def transparent_mesh_cases(draw):
    p = r3(logu(draw, 8.0, 60.0))
    dom = domain_block(draw, True)
    lo = 0.1 if dom.get("domain") == "array" else 0.04   # coarser arrays need wider features
    w = r3(p * frac(draw, lo, 0.6))
    te = r3(p * frac(draw, lo, 0.3))
    geo: dict[str, Any] = {"pitch": p, "line_width": w, "electrolyte_thickness": te}
    for key in ("cathode_thickness", "anode_thickness"):
        if draw(st.booleans()):
            geo[key] = r3(logu(draw, 0.2, 5.0))
    if draw(st.booleans()):
        geo["substrate_transmittance"] = r3(frac(draw, 0.0, 1.0))
    if dom.get("domain") == "array":
        half = p / 2
        geo["offset"] = [draw(st.one_of(st.sampled_from([0.0, half, w / 2, half - w / 2]),
                                        st.floats(0.0, half))) for _ in range(2)]
        geo["offset"] = [min(r3(v), half) if v != half else half for v in geo["offset"]]
        nx, ny = dom["array"]["nx"], dom["array"]["ny"]
        mesh = coarse_mesh(draw, min(w, te) / 2, ((nx + 1) * p, (ny + 1) * p, te), cells=12 * (nx + ny),
                           volume_elements=30000)
    else:
        if draw(st.booleans()):
            geo["offset"] = [draw(st.sampled_from([0, p / 2])) for _ in range(2)]
        mesh = coarse_mesh(draw, min(w, te) / 2, (p / 2, p / 2, te), cells=20)
    mats = draw(materials())
    return case("transparent_mesh", dom, geo, mats, physics(draw, mats["anode"], mats["cathode"]), mesh)


@st.composite
def coaxial_cases(draw):
    a = r3(logu(draw, 0.5, 20.0))
    b = r3(a * frac(draw, 1.15, 4.0))
    assume(b > a * 1.05)
    h = r3(logu(draw, 0.5, 20.0))
    geo = {"inner_radius": a, "outer_radius": b, "height": h}
    c = b + (b - a) / 2
    mesh = coarse_mesh(draw, min(b - a, h, a) / 2, (c, c, h), cells=20)
    mats = draw(materials())
    return case("coaxial", draw(st.sampled_from([{}, {"domain": "unit_cell"}])), geo, mats,
                physics(draw, mats["anode"], mats["cathode"]), mesh)


# --- the property -------------------------------------------------------------------------------
def run_cli(raw: dict[str, Any]) -> None:
    """Run ``mb3d run`` on the case in a fresh interpreter and check the promise."""
    text = yaml.safe_dump(raw, sort_keys=False)
    note(f"case:\n{text}")
    with tempfile.TemporaryDirectory(prefix="mb3d-prop-") as tmp:
        path = Path(tmp) / "case.yaml"
        path.write_text(text)
        out = Path(tmp) / "out"
        try:
            r = CLI.run(["run", path, "--out", out, "--quiet", "--no-images"], cwd=ROOT, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"mb3d run did not finish in {TIMEOUT_S} s (a hang) on the case:\n{text}")
        where = f"case:\n{text}\nexit code {r.returncode}\nstderr:\n{r.stderr}"
        assert r.returncode >= 0, f"killed by signal {-r.returncode}; {where}"
        assert "Traceback" not in r.stderr, f"a traceback; {where}"
        if r.returncode == 0:
            assert (out / "results.json").is_file(), f"exit 0 without results.json; {where}"
            rec = json.loads((out / "results.json").read_text())
            asr = rec["solution"]["asr_ohm_cm2"]
            current = rec["solution"]["current_A"]
            capacity = rec["geometry"]["capacity_uAh_cm2"]
            for key, v in (("solution.asr_ohm_cm2", asr), ("solution.current_A", current),
                           ("geometry.capacity_uAh_cm2", capacity)):
                assert isinstance(v, (int, float)) and math.isfinite(v) and v > 0, \
                    f"{key} = {v!r}: not a finite positive number; {where}"
            return
        assert r.returncode in (1, 2), f"exit code neither 0, 1 nor 2; {where}"
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].strip(), f"stderr is not exactly one line; {where}"
        assert lines[0].startswith("error:"), f"the stderr line does not start with 'error:'; {where}"
        assert not (out / "results.json").exists(), f"a failed run wrote results.json; {where}"
        assert not out.exists() or not any(out.iterdir()), \
            f"a failed run wrote into the output folder: {sorted(p.name for p in out.iterdir())}; {where}"
        note(f"refused or failed (exit {r.returncode}): {lines[0]}")


@prop_settings
@given(planar_cases())
def test_planar(raw):
    run_cli(raw)


@prop_settings
@given(interdigitated_pillars_cases())
def test_interdigitated_pillars(raw):
    run_cli(raw)


@prop_settings
@given(coated_pillars_cases())
def test_coated_pillars(raw):
    run_cli(raw)


@prop_settings
@given(interdigitated_plates_cases())
def test_interdigitated_plates(raw):
    run_cli(raw)


@prop_settings
@given(trenched_silicon_cases())
def test_trenched_silicon(raw):
    run_cli(raw)


@prop_settings
@given(sponge_cases())
def test_sponge(raw):
    run_cli(raw)


@prop_settings
@given(transparent_mesh_cases())
def test_transparent_mesh(raw):
    run_cli(raw)


@prop_settings
@given(coaxial_cases())
def test_coaxial(raw):
    run_cli(raw)
