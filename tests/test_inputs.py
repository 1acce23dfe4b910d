"""Inputs that cannot crash a run (issue 15): one regression test per class of defect, through the CLI.

Every refused input gives exit code 2 and exactly one line on stderr naming the key, the value and the
rule; a runtime failure (a native crash, a timeout) exit code 1 and one line; nothing is written in
either case (no output folder, no stray temporary folder). Where the issue asks for "refused before
work", the test proves it structurally (the file is not parsed, gmsh is never opened) instead of with
a wall-clock limit.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mb3d import case as case_mod
from mb3d.case import CaseError, load_case, read_yaml
from mb3d.cli import main

ROOT = Path(__file__).parent.parent
GOOD = {"name": "inputs", "architecture": "interdigitated_pillars",
        "geometry": {"pitch": 40, "anode_radius": 10, "cathode_radius": 10, "height": 10},
        "mesh": {"size": 5.0, "interface_size": 2.5}}


def merged(**blocks):
    raw = json.loads(json.dumps(GOOD))
    for k, v in blocks.items():
        if isinstance(v, dict) and isinstance(raw.get(k), dict):
            raw[k].update(v)
        else:
            raw[k] = v
    return raw


def write(tmp_path, raw, name="case.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return p


def nothing_written(tmp_path, out):
    assert not Path(out).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mb3d-partial")]


def run_cli(capsys, *args):
    """``mb3d ARGS`` in this process: exit code and the stderr lines."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip().splitlines()


def one_line(code, lines, expected_code, *fragments):
    assert code == expected_code, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for f in fragments:
        assert f in lines[0], lines[0]


def mb3d(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "mb3d.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, timeout=600)


# --- the file itself ------------------------------------------------------------------------------
def test_encodings(tmp_path, capsys):
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: caf\u00e9\narchitecture: planar\n".encode("latin-1"))
    one_line(*run_cli(capsys, "validate", latin), 2, "not UTF-8 text (byte 0xe9 at line 1)")
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes("name: x\narchitecture: planar\n".encode("utf-16"))
    one_line(*run_cli(capsys, "validate", utf16), 2, "the file is UTF-16; save it as UTF-8")
    bom = tmp_path / "bom.yaml"      # UTF-8 with a byte-order mark is fine
    bom.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(dict(GOOD, name="bom")).encode())
    assert run_cli(capsys, "validate", bom, "--no-geometry")[0] == 0


@pytest.mark.parametrize("text,rule", [
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 levels deep"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
     "more than 100000 values once YAML aliases are expanded"),
    ("n: " + "9" * 5000 + "\n", "invalid YAML"),
    ("name: x\n\x00\n", "invalid YAML"),
    ("- just\n- a list\n", "must be a mapping"),
])
def test_structure_bounded(tmp_path, capsys, text, rule):
    p = tmp_path / "case.yaml"
    p.write_text(text)
    one_line(*run_cli(capsys, "validate", p), 2, rule)


def test_large_file_refused_before_parsing(tmp_path, capsys, monkeypatch):
    big = tmp_path / "big.yaml"
    with open(big, "w") as fh:                  # 40 MB: used to hang in the YAML parser
        fh.write("name: x\n")
        fh.seek(40 * 2 ** 20)
        fh.write("# end\n")

    def never(*a, **k):
        raise AssertionError("the YAML parser was called")

    monkeypatch.setattr(case_mod.yaml, "load", never)
    with pytest.raises(CaseError, match="larger than 256 KiB"):
        read_yaml(big)
    with pytest.raises(CaseError, match="larger than 256 KiB"):
        read_yaml("/dev/zero")                    # endless: read in a bounded chunk
    monkeypatch.undo()
    one_line(*run_cli(capsys, "validate", big), 2, "larger than 256 KiB")
    one_line(*run_cli(capsys, "validate", tmp_path), 2, "cannot read the file")


def test_one_by_one_array_and_endless_file_through_the_cli(tmp_path, capsys):
    p = write(tmp_path, merged(domain="array", array={"nx": 1, "ny": 1}))
    one_line(*run_cli(capsys, "run", p, "--out", tmp_path / "out"), 2,
             "array.nx = 1: an array of nx x ny = 1 x 1 square-lattice sites holds only one anode pillar")
    nothing_written(tmp_path, tmp_path / "out")
    one_line(*run_cli(capsys, "validate", "/dev/zero"), 2, "/dev/zero: larger than 256 KiB")


# --- quantities -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value,rule", [
    ("(40", "geometry.pitch = '(40': not a quantity: expected one number and at most one unit"),
    ("50 um 3", "geometry.pitch = '50 um 3': not a quantity"),
    ("40 um um", "wrong dimension: expected a quantity in um"),   # um um = um2
    ("4 0", "not a quantity"),
    ("nan um", "not a quantity"),
    ("1e999", "must be finite"),
    (".inf", "must be finite"),
])
def test_one_number_one_unit(tmp_path, capsys, value, rule):
    raw = merged(geometry={"pitch": value})
    if value == ".inf":
        p = tmp_path / "case.yaml"
        p.write_text(yaml.safe_dump(merged()).replace("pitch: 40", "pitch: .inf"))
    else:
        p = write(tmp_path, raw)
    one_line(*run_cli(capsys, "run", p, "--out", tmp_path / "out"), 2, rule)
    nothing_written(tmp_path, tmp_path / "out")


# --- value ranges ---------------------------------------------------------------------------------
SECONDARY = {"model": "secondary", "current_density": "0.1 mA/cm2"}
RANGES = [
    ({"materials": {"electrolyte": {"base": "LiPON", "conductivity": 0}}},
     "materials.electrolyte.conductivity = 0: must be in [1e-12, 100] S/cm"),
    ({"materials": {"electrolyte": {"base": "LiPON", "conductivity": "-2 uS/cm"}}},
     "materials.electrolyte.conductivity = '-2 uS/cm': must be in"),
    ({"materials": {"electrolyte": {"base": "LiPON", "transference_number": 7}}},
     "materials.electrolyte.transference_number = 7: must be in (0, 1]"),
    ({"materials": {"electrolyte": {"base": "LiPON", "activation_energy": "30 eV"}}},
     "materials.electrolyte.activation_energy = '30 eV': must be in [0, 2] eV"),
    ({"materials": {"cathode": {"base": "LiCoO2", "exchange_current_density": 0}}, "physics": SECONDARY},
     "materials.cathode.exchange_current_density = 0: must be in [1e-9, 100000] mA/cm2"),
    ({"materials": {"anode": {"base": "Li", "alpha_anodic": -0.5}}, "physics": SECONDARY},
     "materials.anode.alpha_anodic = -0.5: must be in (0, 1]"),
    ({"materials": {"cathode": {"base": "LiCoO2", "density": 0}}},
     "materials.cathode.density = 0: must be in (0, 25] g/cm3"),
    ({"materials": {"cathode": {"base": "LiCoO2", "density": "-5 g/cm3"}}}, "materials.cathode.density"),
    ({"materials": {"cathode": {"base": "LiCoO2", "electronic_conductivity": "1e9 S/cm"}}},
     "materials.cathode.electronic_conductivity = '1e9 S/cm': must be in [1e-16, 1e6] S/cm"),
    ({"physics": {"temperature": "1 K"}}, "physics.temperature = '1 K': must be in [-100, 500] degC"),
    ({"physics": {"temperature": 2000}}, "physics.temperature = 2000: must be in [-100, 500] degC"),
    ({"physics": {"voltage": "1 MV"}}, "physics.voltage = '1 MV': must be nonzero and within +-100 V"),
    ({"physics": {"model": "secondary", "current_density": "1 A/mm2"}},
     "physics.current_density = '1 A/mm2': must be in (0, 10000] mA/cm2"),
    ({"geometry": {"pitch": 1e308}}, "geometry.pitch = 1e+308: a length must be in [0.001, 100000] um"),
    ({"geometry": {"height": 1e-300}}, "geometry.height = 1e-300: a length must be in [0.001, 100000] um"),
    ({"mesh": {"interface_size": "1e-9 um"}}, "mesh.interface_size = '1e-9 um': must be in [0.001, 100000] um"),
    ({"mesh": {"max_elements": 10}}, "mesh.max_elements = 10"),
]


@pytest.mark.parametrize("change,rule", RANGES, ids=[r[:45] for _, r in RANGES])
def test_ranges_checked_at_validation(tmp_path, capsys, change, rule):
    p = write(tmp_path, merged(**change))
    one_line(*run_cli(capsys, "validate", p, "--no-geometry"), 2, rule)
    one_line(*run_cli(capsys, "run", p, "--out", tmp_path / "out"), 2, rule)
    nothing_written(tmp_path, tmp_path / "out")


def test_library_values_lie_in_their_ranges():
    from solvers.materials import PROPERTIES, library  # noqa: PLC0415
    from solvers.units import from_si  # noqa: PLC0415

    for m in library().values():
        for k, v in m.props.items():
            spec = PROPERTIES[m.kind][k]
            assert spec.contains(from_si(v, spec.unit or "dimensionless")), (m.name, k, v)


def test_current_the_cell_cannot_carry(tmp_path, capsys):
    """The Jensen bound on the interface losses refuses the current at validation (geometry built,
    no mesh); a current just below the bound's limit is accepted by validate."""
    slow = {"materials": {"cathode": {"base": "LiCoO2", "exchange_current_density": "1e-6 mA/cm2"}},
            "physics": {"model": "secondary", "kinetics": "linear", "current_density": "100 mA/cm2"}}
    p = write(tmp_path, merged(**slow))
    code, lines = run_cli(capsys, "validate", p)
    one_line(code, lines, 2, "physics.current_density = 100: more than the cell can deliver",
             "the interface kinetics alone need")
    limit = float(lines[0].rsplit("carries less than ", 1)[1].split()[0])
    ok = write(tmp_path, merged(**{**slow, "physics": {**slow["physics"], "current_density": 0.5 * limit}}),
               "ok.yaml")
    assert run_cli(capsys, "validate", ok)[0] == 0


# --- work too large -------------------------------------------------------------------------------
@pytest.mark.parametrize("change,key", [
    ({"domain": "array", "array": {"nx": 200, "ny": 200}}, "mesh.size = 5"),
    ({"geometry": {"pitch": "40 mm"}}, "mesh.size = 5"),
    ({"mesh": {"size": 5.0, "interface_size": 0.02}}, "mesh.size = 5"),
])
def test_too_many_elements_refused_before_meshing(tmp_path, capsys, monkeypatch, change, key):
    import gmsh  # noqa: PLC0415

    def no_mesh(*a, **k):
        raise AssertionError("gmsh meshed")

    monkeypatch.setattr(gmsh.model.mesh, "generate", no_mesh)
    p = write(tmp_path, merged(**change))
    code, lines = run_cli(capsys, "run", p, "--out", tmp_path / "out")
    one_line(code, lines, 2, key, "more than mesh.max_elements = 3000000")
    nothing_written(tmp_path, tmp_path / "out")


def test_estimate_against_real_meshes():
    """The estimate stays below the real count and within a factor 2 of it (committed cases: the
    record of a run gives the real count)."""
    from mb3d.pipeline import run_case  # noqa: PLC0415

    for name in ("interdigitated_pillars_square", "coated_pillars_square", "planar_lipon"):
        case = load_case(read_yaml(ROOT / "cases" / f"{name}.yaml"))
        rec = run_case(case).record
        g = rec["geometry"]
        est = case_mod.estimated_elements(case.model, sum(g["volume_um3"].values()) * 1e-18,
                                          sum(g["interface_area_um2"].values()) * 1e-12)
        n = rec["mesh"]["n_tetrahedra"]
        assert 0.5 * n < est < n, (name, est, n)


# --- output paths and names -----------------------------------------------------------------------
def test_out_paths_checked_first(tmp_path, capsys, monkeypatch):
    import mb3d.pipeline as pipeline  # noqa: PLC0415

    monkeypatch.setattr(pipeline, "run_case", lambda *a, **k: pytest.fail("the run started"))
    p = write(tmp_path, GOOD)
    f = tmp_path / "a-file"
    f.write_text("x")
    one_line(*run_cli(capsys, "run", p, "--out", f), 2, f"--out {f}: exists and is not a folder")
    one_line(*run_cli(capsys, "run", p, "--out", f / "below"), 2, f"{f} is a file, not a folder")
    one_line(*run_cli(capsys, "run", p, "--out", "/proc/mb3d-out"), 2, "--out /proc/mb3d-out: cannot write in /proc")
    assert f.read_text() == "x"


@pytest.mark.parametrize("name", ["..", ".", "../../x", "/abs/path", "a/b", ".hidden", "-flag", "bad[/]name",
                                  "tab\tname", ""])
def test_name_is_a_plain_folder_name(tmp_path, capsys, name):
    p = write(tmp_path, dict(GOOD, name=name))
    one_line(*run_cli(capsys, "run", p), 2, "name = ")
    assert not (ROOT / "out" / name).exists() or name in (".", "..", "")


def test_markup_in_paths_is_printed_as_text(tmp_path, capsys):
    d = tmp_path / "bad[" / "]dir[bold]"
    d.mkdir(parents=True)
    p = write(d, GOOD)
    code = main(["validate", str(p), "--no-geometry"])
    out = capsys.readouterr().out
    assert code == 0 and "bad[/]dir[bold]" in out.replace("\n", "")


# --- crashes in native code -------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["mesh", "outputs"])
def test_native_crash_is_one_line_exit_1(tmp_path, stage):
    """The test hook MB3D_CRASH_AT makes the run's child process kill itself with SIGSEGV."""
    import os  # noqa: PLC0415

    out = tmp_path / "out"
    r = mb3d("run", write(tmp_path, GOOD), "--out", out, env={**os.environ, "MB3D_CRASH_AT": stage})
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "killed by SIGSEGV in the " + stage + " stage" in lines[0], r.stderr
    nothing_written(tmp_path, out)


def _sleeps(stage):
    stage("solve")
    import time  # noqa: PLC0415
    time.sleep(30)


def _bad_input(stage):
    raise CaseError("physics.x = 1: must be 2")


def _bug(stage):
    raise ZeroDivisionError("division by zero")


def _plus_one(a, stage):
    return a + 1


def test_isolate_failures():
    """Module-level work functions: after this process meshed (other tests), children come from a
    fork server and the work is pickled."""
    from mb3d import isolate  # noqa: PLC0415

    with pytest.raises(isolate.Failure, match=r"timeout after 0.5 s in the solve stage") as e:
        isolate.call(_sleeps, timeout=0.5)
    assert e.value.code == 1
    with pytest.raises(isolate.Failure, match="physics.x = 1: must be 2") as e:
        isolate.call(_bad_input)
    assert e.value.code == 2
    with pytest.raises(isolate.Failure, match=r"internal error \(ZeroDivisionError: division by zero\)"):
        isolate.call(_bug)
    assert isolate.call(_plus_one, 41) == 42


# --- documentation -----------------------------------------------------------------------------------
def test_reference_is_generated_from_the_schema():
    """docs/reference.md lists every key's range as the code checks it (regenerate with
    ``python -m mb3d.reference > docs/reference.md``)."""
    from mb3d.reference import markdown  # noqa: PLC0415

    text = markdown()
    assert (ROOT / "docs" / "reference.md").read_text() == text
    for needle in ("`physics.temperature` | degC | 25.0 | [-100, 500]", "`conductivity` | S/cm | required | [1e-12, 100]",
                   "`mesh.max_elements` | - | 3000000", "`geometry.pitch` | um"):
        assert needle in text, needle
