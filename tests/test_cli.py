"""The command line as a user runs it: run, validate, list, describe, materials, bad input."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
GOOD = {
    "name": "cli-pillars", "architecture": "interdigitated_pillars",
    "geometry": {"pitch": 40, "anode_radius": 10, "cathode_radius": 10, "height": 10},
    "mesh": {"size": 5.0, "interface_size": 2.5},
}


def mb3d(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mb3d.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT)


def run_in_process(capsys, *args):
    """``mb3d ARGS`` through :func:`mb3d.cli.main` in this process (bad input is refused before any
    child process starts; the tests that need a fresh process use :func:`mb3d`)."""
    from mb3d.cli import main

    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip().splitlines()


def write_case(tmp_path, raw, name="case.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw))
    return p


def test_run_writes_outputs_and_set_overrides(tmp_path):
    case = write_case(tmp_path, GOOD)
    out = tmp_path / "out"
    r = mb3d("run", case, "--out", out, "--set", "geometry.pitch=45", "--set", "physics.voltage=200 mV")
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"results.json", "solution.vtu", "solution.vtm", "regions",
                                               "interfaces.vtu", "report.html"}
    assert r.stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    assert 'src="data:image/png;base64,' in (out / "report.html").read_text()     # pictures by default
    assert all(p.stat().st_mode & 0o044 for p in out.rglob("*"))   # readable by others, like any file
    rec = json.loads((out / "results.json").read_text())
    assert rec["case"]["geometry"]["pitch"] == 45.0
    assert rec["solution"]["voltage_V"] == pytest.approx(0.2)
    assert "ASR" in r.stdout and "capacity" in r.stdout
    import meshio
    sol = meshio.read(out / "solution.vtu")
    assert set(sol.point_data) == {"potential_V"}
    assert set(sol.cell_data) == {"region_id", "current_density_mA_cm2"}
    ifc = meshio.read(out / "interfaces.vtu")
    assert "normal_current_density_mA_cm2" in ifc.cell_data


def test_default_out_dir(tmp_path):
    case = write_case(tmp_path, dict(GOOD, name="named-run"))
    r = mb3d("run", case, "--quiet", "--no-images", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "named-run" / "results.json").exists()


def test_validate_list_describe_materials(tmp_path):
    r = mb3d("validate", write_case(tmp_path, GOOD), "--show")
    assert r.returncode == 0 and "ok:" in r.stdout and "electrolyte_height: 10.0" in r.stdout
    r = mb3d("list")
    assert r.returncode == 0 and "interdigitated_pillars" in r.stdout and "LiPON" in r.stdout
    r = mb3d("describe", "interdigitated_pillars")
    assert r.returncode == 0
    for key in ("lattice", "pitch", "anode_radius", "electrolyte_height", "um", "unit cell: the mirror triangle"):
        assert key in r.stdout
    r = mb3d("describe", "sponge")
    assert r.returncode == 0 and "unit cell: the periodic block" in " ".join(r.stdout.split())
    r = mb3d("materials")
    assert r.returncode == 0 and "Li7P3S11" in r.stdout
    r = mb3d("materials", "LiPON")
    assert r.returncode == 0 and "source" in r.stdout


BAD = [
    ({"geometry": {"pitch": -40}}, "geometry.pitch = -40: must be a finite length > 0"),
    ({"geometry": {"pitch": "40 V"}}, "geometry.pitch = '40 V': wrong dimension"),
    ({"geometry": {"pitchh": 40}}, "geometry.pitchh: unknown key for interdigitated_pillars"),
    ({"geometry": {"anode_radius": 25, "cathode_radius": 20}}, "pillars overlap or touch"),
    ({"geometry": {"anode_radius": 20, "cathode_radius": 20}}, "pillars overlap or touch"),
    ({"geometry": {"electrolyte_height": 5}}, "geometry.electrolyte_height = 5: must be >= geometry.height"),
    ({"geometry": {"lattice": "hexagonal"}}, "geometry.lattice = 'hexagonal': one of square, triangular"),
    ({"colour": "red"}, "colour: unknown key (allowed: name, architecture"),
    ({"physics": {"voltage": "0.1 m"}}, "physics.voltage = '0.1 m': wrong dimension"),
    ({"physics": {"temperature": "twenty"}}, "physics.temperature = 'twenty'"),
    ({"mesh": {"order": 3}}, "mesh.order = 3"),
    ({"mesh": {"size": 0}}, "mesh.size = 0: must be in [0.001, 100000] um"),
    ({"architecture": "sponge-cake"}, "architecture = 'sponge-cake': unknown"),
    ({"materials": {"electrolyte": "unobtainium"}}, "materials.electrolyte = 'unobtainium': unknown electrolyte"),
    ({"materials": {"electrolyte": {"base": "LiPON", "conductivity": "1 V"}}},
     "materials.electrolyte.conductivity = '1 V': wrong dimension"),
    ({"domain": "galaxy"}, "domain = 'galaxy'"),
    ({"materials": {"anode": 5}}, "materials.anode = 5: must be a library name or a mapping"),
    ({"domain": "array", "array": {"nx": 0}}, "array.nx = 0"),
    ({"array": {"nx": 2, "ny": 2}}, "array: only allowed with domain: array"),
    ({"geometry": {"shape": "square", "lattice": "triangular"}}, "square pillars need lattice: square"),
    ({"physics": {"model": "secondary", "voltage": "0.1 V"}},
     "physics.voltage = 0.1: only used by the primary model (physics.model: primary)"),
    ({"physics": {"model": "secondary", "cell_voltage": "5 V"}},
     "physics.cell_voltage = 5.0: must lie between 0 and the open-circuit voltage 3.9 V"),
    ({"physics": {"model": "secondary", "kinetics": "tafel"}}, "physics.kinetics = 'tafel'"),
    ({"physics": {"current_density": "1 mA/cm2"}}, "physics.current_density = 1.0: only used by the secondary"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_input_one_line_exit_2_no_output(tmp_path, capsys, change, message):
    raw = json.loads(json.dumps(GOOD))
    for k, v in change.items():
        if isinstance(v, dict) and isinstance(raw.get(k), dict):
            raw[k].update(v)
        else:
            raw[k] = v
    out = tmp_path / "out"
    code, lines = run_in_process(capsys, "run", write_case(tmp_path, raw), "--out", out)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert message in lines[0], lines[0]
    assert not out.exists()


def arch_case(architecture, geometry, **blocks):
    raw = {"name": "cli-bad", "architecture": architecture, "geometry": geometry}
    raw.update(blocks)
    return raw


BAD_ARCH = [
    (arch_case("coated_pillars", {"pitch": 10, "radius": 4, "electrolyte_thickness": 1}),
     "geometry.pitch = 10: coated pillars touch or overlap: pitch must be > 2 x (radius + "
     "electrolyte_thickness) = 10 um"),
    (arch_case("coated_pillars", {"height": 50, "electrolyte_thickness": 1, "fill_height": 51}),
     "geometry.fill_height = 51: the fill must cover the coated pillar tops"),
    (arch_case("coated_pillars", {"pitch": 200, "height": 50, "electrolyte_thickness": 60}),
     "geometry.electrolyte_thickness = 60: must be < geometry.height"),
    (arch_case("coated_pillars", {"lattice": "triangular"}),
     "geometry.lattice = 'triangular': one of square, hexagonal"),
    (arch_case("interdigitated_plates", {"gap": 0}),
     "geometry.gap = 0: must be a finite length > 0 (walls must be thinner than their centre distance"),
    (arch_case("interdigitated_plates", {"height": 50, "electrolyte_height": 40}),
     "geometry.electrolyte_height = 40: must be >= geometry.height"),
    (arch_case("interdigitated_plates", {"n_pairs": 1.5}, domain="array"),
     "geometry.n_pairs = 1.5: must be an integer >= 1"),
    (arch_case("transparent_mesh", {"pitch": 50, "line_width": 60}),
     "geometry.line_width = 60: a grid wider than its pitch is a solid plate"),
    (arch_case("transparent_mesh", {"pitch": 50, "offset": [30, 0]}),
     "geometry.offset = [30.0, 0.0]: each component must be in [0, pitch/2] = [0, 25] um"),
    (arch_case("transparent_mesh", {"pitch": 50, "offset": [10, 0], "cell": "mirror"}),
     "geometry.offset = [10.0, 0.0]: the mirror cell (cell: mirror) needs each component 0 or pitch/2"),
    (arch_case("transparent_mesh", {"offset": 10}),
     "geometry.offset = 10: must be a list [x, y]"),
    (arch_case("transparent_mesh", {"substrate_transmittance": 1.5}),
     "geometry.substrate_transmittance = 1.5: must be in [0, 1]"),
    (arch_case("trenched_silicon", {"width": 4}),
     "the stack closes the trench: its total thickness 2.1 um must be < width/2 = 2 um"),
    (arch_case("trenched_silicon", {"width": 20, "pitch": 20}),
     "geometry.width = 20: the walls between trenches would be thinner than zero"),
    (arch_case("trenched_silicon", {"depth": -5}),
     "geometry.depth = -5: must be a finite length >= 0"),
    (arch_case("trenched_silicon", {"layers": [{"role": "anode", "material": "Si", "thickness": 0.1},
                                               {"role": "cathode", "material": "LiCoO2", "thickness": 1},
                                               {"role": "electrolyte", "material": "LiPON", "thickness": 1}]}),
     "the electrolyte must lie between the anode and the cathode"),
    (arch_case("trenched_silicon", {"layers": [{"role": "anode", "material": "Si", "thickness": 0.1},
                                               {"role": "separator", "material": "LiPON", "thickness": 1},
                                               {"role": "cathode", "material": "LiCoO2", "thickness": 1}]}),
     "geometry.layers[1].role = 'separator': one of barrier, anode, electrolyte, cathode, collector"),
    (arch_case("trenched_silicon", {"layers": [{"role": "anode", "material": "Si", "thickness": 0.1},
                                               {"role": "electrolyte", "material": "LiPON", "thickness": "50 nm"},
                                               {"role": "cathode", "material": "LiCoO2", "thickness": 1}]}),
     "mesh.thin_layer_limit = 0.1: the electrolyte (0.05 um) is the solved domain and cannot be collapsed"),
    (arch_case("trenched_silicon", {"layers": [{"role": "anode", "material": "Si"}]}),
     "geometry.layers[0].thickness: missing"),
    (arch_case("trenched_silicon", {}, materials={"anode": "Li"}),
     "materials.anode = 'Li': conflicts with geometry.layers[1].material = 'Si'"),
    (arch_case("trenched_silicon", {"layers": [{"role": "barrier", "material": "Kryptonite", "thickness": 0.05},
                                               {"role": "anode", "material": "Si", "thickness": 0.05},
                                               {"role": "electrolyte", "material": "LiPON", "thickness": 1},
                                               {"role": "cathode", "material": "LiCoO2", "thickness": 1}]}),
     "geometry.layers[0].material = 'Kryptonite': unknown material"),
    (arch_case("sponge", {"electrolyte_thickness": 1}, mesh={"size": 2.0, "interface_size": 0.8}),
     "mesh.interface_size = 0.8: must be <= electrolyte_thickness / 2 = 0.5 um to resolve the film"),
    (arch_case("sponge", {"width": 15}),
     "geometry.width = 15: must be a whole number of gyroid cells"),
    (arch_case("sponge", {"electrolyte_thickness": 3, "height": 25}, mesh={"size": 2.0, "interface_size": 1.5}),
     "geometry.electrolyte_thickness = 3: film closes the pores"),
    (arch_case("sponge", {"web_height": 20, "height": 20.5}),
     "geometry.height = 20.5: the film would reach the anode collector"),
    (arch_case("sponge", {}, domain="array"),
     "domain = 'array': sponge supports unit_cell"),
    (arch_case("trenched_silicon", {}, domain="array", array={"nx": 2, "ny": 2}),
     "array.ny = 2: trenches run along y: use ny: 1"),
]


@pytest.mark.parametrize("raw,message", BAD_ARCH, ids=[m[9:45] for _, m in BAD_ARCH])
def test_bad_geometry_of_new_architectures(tmp_path, capsys, raw, message):
    out = tmp_path / "out"
    code, lines = run_in_process(capsys, "run", write_case(tmp_path, raw), "--out", out)
    assert code == 2, lines
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()


def test_bad_yaml_and_missing_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: x\ngeometry: {pitch: 40\n")
    r = mb3d("validate", p)
    assert r.returncode == 2 and "invalid YAML" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = mb3d("validate", tmp_path / "nope.yaml")
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_bad_thread_count(tmp_path, monkeypatch):
    out = tmp_path / "out"
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("MB3D_THREADS", bad)
        r = mb3d("run", write_case(tmp_path, GOOD), "--out", out)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip() == f"error: MB3D_THREADS={bad!r}: must be a positive integer"
        assert not out.exists()


def test_bad_set_override(tmp_path):
    r = mb3d("validate", write_case(tmp_path, GOOD), "--set", "geometry.pitch")
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr


def test_set_keeps_yaml_1_1_words_as_strings():
    """``--set name=no``: YAML 1.1 reads yes/no/on/off as booleans; a case key set to one of those
    words stays the word (pydantic still reads "yes" as true where a key is a boolean); true and
    false stay booleans."""
    from mb3d.case import apply_overrides  # noqa: PLC0415

    out = apply_overrides({"name": "x"}, ["name=no", "geometry.kind=on", "physics.electrode_conduction=true"])
    assert out["name"] == "no" and out["geometry"]["kind"] == "on"
    assert out["physics"]["electrode_conduction"] is True


def test_python_dash_m_and_a_closed_pipe():
    """``python -m mb3d`` is the command; ``mb3d describe transient | head -1`` ends without a traceback
    when the reader leaves (exit 1, as Python and rich do for a broken pipe)."""
    r = subprocess.run([sys.executable, "-m", "mb3d", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "describe" in r.stdout
    import fcntl  # noqa: PLC0415
    import os  # noqa: PLC0415

    read, write = os.pipe()
    fcntl.fcntl(read, 1031, 4096)             # F_SETPIPE_SZ: a 4 KiB pipe, less than the 10 KB written
    proc = subprocess.Popen([sys.executable, "-m", "mb3d", "describe", "transient"], stdout=write,
                            stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read, "rb") as reader:
        reader.readline()                     # the reader leaves after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_json_output_for_scripts(tmp_path):
    """``--json``: validate prints one object with the normalised case; run prints one object with
    the output folder, its files and the record (the same as results.json); bad input stays one line
    on stderr with exit 2 and nothing on stdout."""
    import json  # noqa: PLC0415

    case = ROOT / "cases" / "planar_lipon.yaml"
    r = mb3d("validate", case, "--json", "--no-geometry")
    v = json.loads(r.stdout)
    assert r.returncode == 0 and v["ok"] is True and v["architecture"] == "planar" and len(v["case_hash"]) == 64
    assert v["normalized"]["name"] == v["name"] and v["estimated_tetrahedra"] is None
    r = mb3d("run", case, "--out", tmp_path / "o", "--json", "--no-images")
    got = json.loads(r.stdout)
    assert r.returncode == 0 and sorted(got["files"]) == ["interfaces.vtu", "regions/anode.vtu", "regions/cathode.vtu",
                                                          "regions/electrolyte.vtu", "report.html", "results.json",
                                                          "solution.vtm", "solution.vtu"]
    assert 'src="data:image/png' not in (tmp_path / "o" / "report.html").read_text()
    assert got["record"] == json.loads((tmp_path / "o" / "results.json").read_text())
    r = mb3d("run", case, "--json", "--set", "geometry.electrolyte_thickness=-1")
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1


def test_examples_copies_the_shipped_cases(tmp_path):
    """``mb3d examples DIR`` copies the example cases shipped in the package (``cases/`` is a link to
    ``mb3d/examples``, declared as package data) byte for byte; a copied case validates; a second copy
    into the same folder is refused in one line (exit 2) and overwrites nothing."""
    target = tmp_path / "ex"
    r = mb3d("examples", target)
    assert r.returncode == 0 and "copied" in r.stdout
    shipped = sorted(p.name for p in (ROOT / "cases").glob("*.yaml"))
    assert sorted(p.name for p in target.iterdir()) == shipped and len(shipped) > 30
    for name in shipped:
        assert (target / name).read_bytes() == (ROOT / "cases" / name).read_bytes()
    assert (ROOT / "cases").resolve() == (ROOT / "mb3d" / "examples").resolve()
    r = mb3d("validate", target / "planar_lipon.yaml", "--no-geometry")
    assert r.returncode == 0
    (target / "planar_lipon.yaml").write_text("mine")
    r = mb3d("examples", target)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "exists" in r.stderr
    assert (target / "planar_lipon.yaml").read_text() == "mine"
