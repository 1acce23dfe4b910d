"""Writing a run's outputs atomically: results.json, the VTK files, report.html.

Every file is written to a temporary name in the output folder and renamed into place, so a reader
never sees a half-written file and a failed run leaves no partial output. The output folder is created
only when the outputs are written, after the run succeeded.

The VTK files (``solution.vtu``, ``solution.vtm`` with ``regions/<name>.vtu``, ``interfaces.vtu``;
coordinates in micrometres) are described in :mod:`mb3d.vtkfiles`.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .pipeline import RunResult


def _clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        writer(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def staging_dir(out_dir: str | Path, option: str = "--out") -> Path:
    """Create the hidden folder a run writes its outputs into before :func:`commit_outputs`.

    It lies in the nearest existing ancestor of ``out_dir`` (so nothing else is created before the
    run succeeds) and its creation is the check that the output folder can be written: an
    ``out_dir`` that is a file, lies below a file or in a folder that cannot be written is refused
    before any work, as bad input (:class:`~mb3d.case.CaseError`).
    """
    from .case import CaseError  # noqa: PLC0415

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CaseError(f"{option} {out}: exists and is not a folder")
    anchor = out if out.exists() else out.parent
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    if not anchor.is_dir():
        raise CaseError(f"{option} {out}: {anchor} is a file, not a folder")
    try:
        path = Path(tempfile.mkdtemp(dir=anchor, prefix=f".mb3d-partial-{out.name}-"))
    except OSError as exc:
        raise CaseError(f"{option} {out}: cannot write in {anchor} ({exc.strerror})") from None
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o777 & ~umask)    # mkdtemp makes 0700; the output folder is an ordinary folder
    return path


def commit_outputs(staging: Path, out_dir: str | Path) -> None:
    """Move every file of ``staging`` into ``out_dir`` (created if needed) and remove ``staging``.

    A new folder is renamed into place at once; into an existing one each file is renamed (replacing
    the previous run's file of the same name)."""
    out = Path(out_dir)
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging, out)
            return
        except OSError:       # another file system or a race: fall back to moving the files
            out.mkdir(parents=True, exist_ok=True)
    for f in sorted(staging.iterdir()):
        target = out / f.name
        if f.is_dir() and target.is_dir():      # a folder of the previous run (snapshots/): replaced whole
            shutil.rmtree(target)
        os.replace(f, target)
    staging.rmdir()


def results_json(record: Any) -> str:
    """The results record as JSON text."""
    return json.dumps(_clean(record), indent=2, allow_nan=False) + "\n"


def write_outputs(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write results.json, the VTK files (solution.vtu, regions/<name>.vtu, solution.vtm,
    interfaces.vtu: :mod:`mb3d.vtkfiles`) and the model's own files (e.g. timeseries.csv) into
    ``out_dir``; return the paths."""
    from .vtkfiles import (multiblock_xml, region_files, volume_grid,  # noqa: PLC0415
                           write_interfaces, write_volume)

    out = Path(out_dir)
    grid = volume_grid(result.mesh, result.fields)
    paths = [out / "solution.vtu", out / "interfaces.vtu"]
    atomic_write(paths[0], lambda p: write_volume(p, grid))
    atomic_write(paths[1], lambda p: write_interfaces(p, result.mesh, result.fields))
    regions = region_files(grid)
    for name, cells in regions.items():
        paths.append(out / name)
        atomic_write(paths[-1], lambda p, c=cells: write_volume(p, grid, c))
    blocks = {Path(f).stem: f for f in regions}
    paths.append(out / "solution.vtm")
    atomic_write(paths[-1], lambda p: p.write_text(multiblock_xml(blocks)))
    paths.append(out / "results.json")
    atomic_write(paths[-1], lambda p: p.write_text(results_json(result.record)))
    for name, content in getattr(result, "files", {}).items():   # a model's own files (timeseries.csv)
        paths.append(out / name)
        if isinstance(content, bytes):
            atomic_write(paths[-1], lambda p, data=content: p.write_bytes(data))
        else:
            atomic_write(paths[-1], lambda p, text=content: p.write_text(text))
    return paths


def write_report(result: RunResult, out_dir: str | Path, images: bool = False) -> tuple[Path, str | None]:
    """Write report.html; with ``images`` also the pictures (three 3D views rendered off screen with
    VTK, the histogram and the transparency map with matplotlib). Return its path and, if the 3D images
    could not be rendered, the reason. Without ``images`` nothing heavier than the standard library is
    imported: a plain run stays fast."""
    from .report import render_images, report_html  # noqa: PLC0415

    pictures, note = render_images(result) if images else ({}, None)
    path = Path(out_dir) / "report.html"
    atomic_write(path, lambda p: p.write_text(report_html(result, pictures, note, figures=images),
                                              encoding="utf-8"))
    return path, note
