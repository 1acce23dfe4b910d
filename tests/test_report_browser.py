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
