"""Views and reports: every preset renders off screen for one case per architecture, the report's
numbers are those of results.json, `mb3d view` on runs and on case files, and a clear error where
off-screen rendering is impossible."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import case_dict, run, run_grid_case
from mb3d import views
from mb3d.pipeline import lookup

ROOT = Path(__file__).parent.parent
LAYERS = [{"role": "anode", "material": "Si", "thickness": "50 nm"},
          {"role": "electrolyte", "material": "LiPON", "thickness": 1.0},
          {"role": "cathode", "material": "LiCoO2", "thickness": 1.0}]
ONE_PER_ARCHITECTURE = {
    "planar": ({}, {"size": 3.0}),
    "interdigitated_pillars": ({"height": 20}, {"size": 5.0, "interface_size": 2.5}),
    "coated_pillars": ({"height": 15, "fill_height": 18}, {"size": 3.0, "interface_size": 0.5}),
    "interdigitated_plates": ({"height": 20}, {"size": 5.0}),
    "trenched_silicon": ({"depth": 10, "layers": LAYERS}, {"size": 3.0, "interface_size": 0.5}),
    "sponge": ({"web_height": 10, "height": 12}, {"size": 2.0, "interface_size": 0.5}),
    "transparent_mesh": ({"pitch": 60, "line_width": 8, "offset": [30, 30]}, {"size": 5.0, "interface_size": 1.5}),
    "coaxial": ({}, {"size": 2.0}),
}


def non_blank(img: np.ndarray) -> tuple[float, int]:
    """Pixel standard deviation and the number of distinct colours."""
    colours = len(np.unique(img.reshape(-1, img.shape[-1]), axis=0))
    return float(img.std()), colours


@pytest.mark.parametrize("arch", list(ONE_PER_ARCHITECTURE))
def test_every_preset_renders_off_screen(arch):
    geo, mesh = ONE_PER_ARCHITECTURE[arch]
    res = run(case_dict(arch, geo, mesh=mesh))
    m, f = res.mesh, res.fields
    vol, ifc = views.grids_from_arrays(m.points_m * 1e6, m.tets, m.tet_region, f.potential_V, f.interface_tris,
                                       f.interface_j_A_m2 * 0.1, f.interface_electrode)
    ids = {n: k for k, n in enumerate(m.region_names)}
    for preset in views.PRESETS:
        img = views.screenshot(vol, ifc, ids, preset)
        assert img.shape == (views.WINDOW[1], views.WINDOW[0], 3)
        std, colours = non_blank(img)
        assert std > 10 and colours > 50, (arch, preset, std, colours)


def test_report_numbers_are_the_results(tmp_path):
    out = tmp_path / "out"
    r = run_grid_case(out)
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "results.json").read_text())
    page = (out / "report.html").read_text()
    cells = dict(re.findall(r'<td data-key="([^"]+)">([^<]+)</td>', page))
    assert len(cells) >= 15 and "solution.asr_ohm_cm2" in cells and "geometry.transparency_fraction" in cells
    for key, text in cells.items():
        assert float(text) == pytest.approx(lookup(record, key), rel=1e-5), key
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert set(images) >= {"Regions (electrolyte cut away)", "Normal current density on the interfaces",
                           "Electrolyte potential on a slice", "histogram", "transparency map"}
    assert yaml.safe_load(re.search(r"<pre>(.*?)</pre>", page, re.S).group(1).replace("&#x27;", "'"))["name"] \
        == record["case"]["name"]


def test_view_command(tmp_path):
    out = tmp_path / "run"
    case = ROOT / "cases" / "interdigitated_plates.yaml"
    cli = [sys.executable, "-m", "mb3d.cli"]
    assert subprocess.run([*cli, "run", str(case), "--out", str(out), "--quiet", "--no-images"], cwd=ROOT).returncode == 0
    for preset in views.PRESETS:
        png = tmp_path / f"{preset}.png"
        r = subprocess.run([*cli, "view", str(out), "--screenshot", str(png), "--preset", preset],
                           capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0 and png.stat().st_size > 10_000, r.stderr
    png = tmp_path / "case.png"
    r = subprocess.run([*cli, "view", str(case), "--screenshot", str(png)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and png.stat().st_size > 10_000, r.stderr
    r = subprocess.run([*cli, "view", str(case), "--screenshot", str(png), "--preset", "current"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "a case file has no solution yet" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*cli, "view", str(tmp_path / "nothing")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "neither an output folder nor a case file" in r.stderr


def test_missing_renderer_is_a_clear_error(monkeypatch):
    def no_lib(name, *a, **k):
        raise OSError(name)

    monkeypatch.setattr(views.ctypes, "CDLL", no_lib)
    with pytest.raises(views.ViewError, match="install libegl1"):
        views.offscreen_backend()


def test_lithiation_maps_of_a_transient_run():
    """A two-step transient run carries the lithiation at the end of each step (the last one is the
    end state) and report.html maps each of them, off screen, with its step in the caption."""
    from test_transient import planar  # noqa: PLC0415

    from mb3d.case import load_case  # noqa: PLC0415
    from mb3d.pipeline import run_case  # noqa: PLC0415
    from mb3d.report import render_images, report_html  # noqa: PLC0415

    physics = {"protocol": ["Discharge at 2C for 10 minutes", "Rest for 10 minutes"], "step_tolerance": 2e-3}
    res = run_case(load_case(planar(physics, size=0.5, order=1)))
    pd = res.fields.point_data
    assert set(pd) == {"lithiation_x", "lithiation_x_step1", "lithiation_x_step2"}
    np.testing.assert_array_equal(pd["lithiation_x_step2"], pd["lithiation_x"])
    assert np.nanmax(pd["lithiation_x_step1"]) > np.nanmax(pd["lithiation_x_step2"])   # the rest evens it out
    images, note = render_images(res)
    assert note is None and {"lithiation_x_step1", "lithiation_x_step2"} <= set(images)
    page = report_html(res, images)
    assert "Li fraction x at the end of step 1 (discharge at 2C for 10 min)" in page
    assert "Li fraction x at the end of step 2 (rest for 10 min)" in page
