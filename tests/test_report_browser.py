"""report.html in a real browser: headless Chromium loads it and decodes every embedded image.

Marked ``browser``; skipped where Chromium is not installed (`make test` installs it with apt when it
can, so CI runs it)."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import run_grid_case

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]

PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.dataset.images = imgs.length + ':' + imgs.filter(i => i.complete && i.naturalWidth > 0).length;
});
</script></body>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           *args], capture_output=True, text=True, timeout=120)


def test_report_renders_its_images_in_chromium(tmp_path):
    out = tmp_path / "out"
    r = run_grid_case(out)
    assert r.returncode == 0, r.stderr
    page = (out / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE))
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'data-images="(\d+):(\d+)"', dom)
    assert found, dom[:500]
    total, decoded = map(int, found.groups())
    assert total >= 5 and decoded == total
    shot = tmp_path / "report.png"
    chromium("--window-size=1200,2400", f"--screenshot={shot}", (out / "report.html").as_uri())
    import matplotlib.image as mpimg  # noqa: PLC0415

    img = (mpimg.imread(shot)[:, :, :3] * 255).astype(np.uint8)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500   # the coloured 3D images, not only text


SVG_PROBE = """<script>
window.addEventListener('load', () => {
  const svgs = [...document.querySelectorAll('svg')];
  document.body.dataset.svgs = svgs.map(s => {
    const b = s.getBBox();
    return s.querySelectorAll('polyline').length + 'x' + Math.round(b.width) + 'x' + Math.round(b.height);
  }).join(';');
});
</script></body>"""


def test_rate_plots_render_in_chromium(tmp_path):
    """A pillar cell swept over three rates through `mb3d run`: report.html has the discharge curves,
    the Ragone plot of the design and its planar equivalent, the utilisation against rate and the loss
    bars at the end of discharge, each drawn by Chromium with its curves and units on the axes."""
    out = tmp_path / "rates"
    cmd = [str(ROOT / ".venv" / "bin" / "mb3d") if (ROOT / ".venv" / "bin" / "mb3d").exists() else "mb3d", "run",
           str(ROOT / "cases" / "interdigitated_pillars_transient.yaml"), "--out", str(out), "--quiet",
           "--set", 'physics.rates=["C/2", "1C", "2C"]', "--set", "mesh.order=1", "--set", "mesh.size=6",
           "--set", "mesh.interface_size=3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    page = (out / "report.html").read_text()
    for unit in ("mean power per footprint (uW/cm2)", "energy per footprint (uWh/cm2)", "C-rate (1/h)",
                 "charge passed (uAh/cm2)", "loss at the end of discharge (V)"):
        assert unit in page
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", SVG_PROBE))
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'data-svgs="([^"]+)"', dom)
    assert found, dom[:500]
    svgs = [tuple(map(int, s.split("x"))) for s in found.group(1).split(";")]
    # a curve per rate; this design and the planar one (Ragone, utilisation); the loss bars (no curve)
    assert [n for n, _, _ in svgs] == [3, 2, 2, 0]
    assert all(w > 300 and h > 200 for _, w, h in svgs[:3]) and svgs[3][1] > 300 and svgs[3][2] > 80
