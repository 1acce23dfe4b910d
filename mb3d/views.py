"""Views of a run with PyVista: an interactive window and off-screen images (presets).

Presets (the same scene in the window and in screenshots):

* ``geometry``: every region in its own colour (legend), the electrolyte cut away along a vertical
  plane through the centre so the electrodes inside show;
* ``current``: the electrode|electrolyte interfaces coloured by the normal current density (colour bar
  in mA/cm2, discharge sign; the colour range spans the 2nd to 98th percentile so that singular edges
  do not wash out the rest), the electrodes as faint context;
* ``potential``: the electrolyte potential on a vertical slice through the centre (colour bar in V)
  and on the interfaces.

Off-screen rendering needs no display: VTK renders through EGL (``libegl1``) or OSMesa
(``libosmesa6``). Without either, VTK crashes the process with a segmentation fault instead of an
error, so :func:`offscreen_backend` looks for the libraries first and :class:`ViewError` says what is
missing. Images have a fixed size (``WINDOW``), so they are the same size on every machine.
"""
from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

PRESETS = ("geometry", "current", "potential")
WINDOW = (1024, 768)
COLOURS = {"anode": "#3b6fb6", "cathode": "#d1495b", "electrolyte": "#f2c14e", "silicon": "#8a8f94",
           "collector": "#b08d57", "barrier": "#7d5ba6"}
FALLBACK = ("#2a9d8f", "#e76f51", "#264653", "#e9c46a")


class ViewError(RuntimeError):
    """A view cannot be made here (no renderer, no display); the message says what is missing."""


def offscreen_backend() -> str:
    """Choose VTK's off-screen window class before VTK is imported: EGL, else OSMesa.

    Returns
    -------
    str
        ``"egl"`` or ``"osmesa"``.

    Raises
    ------
    ViewError
        If neither libEGL nor libOSMesa can be loaded.
    """
    for lib, window, name in (("libEGL.so.1", "vtkEGLRenderWindow", "egl"),
                              ("libOSMesa.so.8", "vtkOSOpenGLRenderWindow", "osmesa"),
                              ("libOSMesa.so.6", "vtkOSOpenGLRenderWindow", "osmesa")):
        try:
            ctypes.CDLL(lib)
        except OSError:
            continue
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", window)
        return name
    raise ViewError("off-screen rendering needs libEGL or OSMesa: install libegl1 (apt-get install "
                    "libegl1) or libosmesa6; `make` installs libegl1 when apt is available")


def _pv(offscreen: bool):
    if offscreen or not os.environ.get("DISPLAY"):
        offscreen_backend()
    import pyvista  # noqa: PLC0415

    return pyvista


def grids_from_arrays(points_um: np.ndarray, tets: np.ndarray, region_id: np.ndarray,
                      potential_V: np.ndarray | None = None, tris: np.ndarray | None = None,
                      j_mA_cm2: np.ndarray | None = None, electrode_id: np.ndarray | None = None,
                      offscreen: bool = True, point_data: Mapping[str, np.ndarray] | None = None
                      ) -> tuple[Any, Any]:
    """PyVista grids (volume, interfaces) from arrays (coordinates in um); ``point_data`` (nodal
    fields such as ``lithiation_x``) goes on both."""
    pv = _pv(offscreen)
    vol = pv.UnstructuredGrid({pv.CellType.TETRA: np.asarray(tets, dtype=np.int64)}, np.asarray(points_um, float))
    vol.cell_data["region_id"] = np.asarray(region_id, dtype=np.int32)
    if potential_V is not None:
        vol.point_data["potential_V"] = np.asarray(potential_V, float)
    for name, values in (point_data or {}).items():
        vol.point_data[name] = np.asarray(values, float)
    ifc = None
    if tris is not None and len(tris):
        faces = np.column_stack([np.full(len(tris), 3), tris]).ravel()
        ifc = pv.PolyData(np.asarray(points_um, float), faces=faces)
        for name, values in (point_data or {}).items():
            ifc.point_data[name] = np.asarray(values, float)
        if j_mA_cm2 is not None:
            ifc.cell_data["normal_current_density_mA_cm2"] = np.asarray(j_mA_cm2, float)
        if electrode_id is not None:
            ifc.cell_data["electrode_id"] = np.asarray(electrode_id, dtype=np.int32)
        ifc = ifc.clean()
    return vol, ifc


#: the most cells a tiled picture may have (the unit cell is repeated fewer times above it)
MAX_TILED_CELLS = 1_500_000


def _joined(grid, other):
    """``grid`` and ``other`` in one dataset (points not merged; PolyData stays PolyData)."""
    return grid.merge(other, merge_points=False)


def _mirror_image(grid, normal: np.ndarray, point: tuple[float, float, float]):
    """``grid`` reflected across a plane, its tetrahedra and triangles reoriented (two vertices
    swapped) so that volumes stay positive and surface normals point outward."""
    image = grid.reflect(normal, point=point)
    if hasattr(image, "faces"):
        faces = image.faces.reshape(-1, 4).copy()
        faces[:, [2, 3]] = faces[:, [3, 2]]
        image.faces = faces.ravel()
        return image
    tets = image.cells_dict[10].copy()             # VTK_TETRA: the grids of grids_from_arrays
    tets[:, [1, 2]] = tets[:, [2, 1]]
    out = type(image)({10: tets}, image.points)
    out.point_data.update(image.point_data)
    out.cell_data.update(image.cell_data)
    return out


def _reflected(grids: list, point: tuple[float, float], normal: tuple[float, float]) -> list:
    n = np.array([normal[0], normal[1], 0.0]) / np.hypot(*normal)
    return [None if g is None else _joined(g, _mirror_image(g, n, (point[0], point[1], 0.0))) for g in grids]


def tile_unit_cell(vol, ifc, outline_um=(), mirror_edges=(), translations_um=(), periods: int = 3):
    """The picture of a unit cell as the structure it repeats: a mirror cell (every outline edge a
    mirror plane) is unfolded by reflections into its periodic cell (the reflections of
    :func:`geom3d.unfold.reflections_to_box`, then across its high x and y faces), and a periodic
    cell (``translations_um``, its lattice vectors) or the unfolded one is repeated ``periods`` x
    ``periods`` times, fewer if that would exceed :data:`MAX_TILED_CELLS`. Anything else (an array,
    a cell with walls) comes back unchanged. Fields ride along (scalar fields; vectors are not
    reflected: the pictures show none).

    Parameters
    ----------
    vol, ifc : pyvista datasets
        Volume and interfaces (coordinates in um), as :func:`grids_from_arrays` makes them.
    outline_um : sequence of (x, y)
        The cell's footprint polygon, um.
    mirror_edges : sequence of bool
        Per outline edge, whether it is a mirror plane.
    translations_um : sequence of (x, y[, z])
        A periodic cell's lattice translations, um.
    periods : int
        Copies per lattice direction at most.
    """
    from geom3d.unfold import reflections_to_box  # noqa: PLC0415

    grids = [vol, ifc]
    if translations_um:
        lattice = [np.array([t[0], t[1]], float) for t in translations_um[:2]]
    elif len(outline_um) and mirror_edges and all(mirror_edges):
        for (ax, ay), (bx, by) in reflections_to_box(outline_um):
            grids = _reflected(grids, (ax, ay), (by - ay, ax - bx))
        lo, hi = np.array(grids[0].bounds).reshape(3, 2)[:2].T
        grids = _reflected(_reflected(grids, (hi[0], 0.0), (1.0, 0.0)), (0.0, hi[1]), (0.0, 1.0))
        lattice = [np.array([2 * (hi[0] - lo[0]), 0.0]), np.array([0.0, 2 * (hi[1] - lo[1])])]
    else:
        return vol, ifc
    n = periods
    while n > 1 and n * n * grids[0].n_cells > MAX_TILED_CELLS:
        n -= 1
    shifts = [i * lattice[0] + j * lattice[1] for i in range(n) for j in range(n) if i or j]
    tiled = [g if g is None or not shifts else
             g.merge([g.translate((s[0], s[1], 0.0), inplace=False) for s in shifts], merge_points=False)
             for g in grids]
    return tiled[0], tiled[1]


def load_outputs(out_dir: str | Path, offscreen: bool = True) -> tuple[Any, Any, dict]:
    """Read ``solution.vtu``, ``interfaces.vtu`` and ``results.json`` of an output folder."""
    import json  # noqa: PLC0415

    out = Path(out_dir)
    for name in ("solution.vtu", "interfaces.vtu", "results.json"):
        if not (out / name).is_file():
            raise ViewError(f"{out}: no {name} here (expected the output folder of `mb3d run`)")
    pv = _pv(offscreen)
    record = json.loads((out / "results.json").read_text())
    return pv.read(out / "solution.vtu"), pv.read(out / "interfaces.vtu"), record


def _region_grids(vol, region_ids: Mapping[str, int]) -> dict[str, Any]:
    ids = np.asarray(vol.cell_data["region_id"])
    return {name: vol.extract_cells(np.flatnonzero(ids == k)) for name, k in region_ids.items()
            if (ids == k).any()}


def _colour(name: str, k: int) -> str:
    return COLOURS.get(name, FALLBACK[k % len(FALLBACK)])


def build_scene(plotter, vol, ifc, region_ids: Mapping[str, int], preset: str) -> dict[str, list]:
    """Add the actors of ``preset`` to a plotter; return the actors of each region (for toggles)."""
    if preset not in PRESETS:
        raise ViewError(f"preset {preset!r}: one of {', '.join(PRESETS)}")
    regions = _region_grids(vol, region_ids)
    bounds = np.array(vol.bounds).reshape(3, 2)
    centre = bounds.mean(axis=1)
    actors: dict[str, list] = {}
    if preset == "geometry":
        for k, (name, grid) in enumerate(regions.items()):
            if name == "electrolyte":
                grid = grid.clip(normal=(1, -1, 0), origin=centre, invert=False)
                opts = {"opacity": 0.55}
            else:
                opts = {}
            if grid.n_cells:
                actors[name] = [plotter.add_mesh(grid, color=_colour(name, k), label=name, show_edges=False,
                                                 **opts)]
        plotter.add_legend(bcolor="white", face="rectangle", size=(0.22, 0.05 * (len(actors) + 1)))
    elif preset == "current":
        for k, (name, grid) in enumerate(regions.items()):
            if name != "electrolyte":
                actors[name] = [plotter.add_mesh(grid, color=_colour(name, k), opacity=0.12)]
        if ifc is not None and "normal_current_density_mA_cm2" in ifc.cell_data:
            j = np.asarray(ifc.cell_data["normal_current_density_mA_cm2"])
            lo, hi = np.percentile(j, [2, 98]) if len(j) else (0.0, 1.0)
            actors["interfaces"] = [plotter.add_mesh(
                ifc, scalars="normal_current_density_mA_cm2", cmap="viridis",
                clim=(lo, hi) if hi > lo else None,
                scalar_bar_args={"title": "j_n (mA/cm2)", "vertical": True, "fmt": "%.3g",
                                 "position_x": 0.84, "width": 0.06})]
    else:
        grid = regions.get("electrolyte")
        if grid is not None and "potential_V" in grid.point_data:
            normal = (0, 1, 0) if (bounds[1, 1] - bounds[1, 0]) >= 0.2 * (bounds[0, 1] - bounds[0, 0]) else (1, 0, 0)
            sl = grid.slice(normal=normal, origin=centre)
            if sl.n_points == 0:
                sl = grid.extract_surface()
            actors["electrolyte"] = [plotter.add_mesh(sl, scalars="potential_V", cmap="coolwarm",
                                                      scalar_bar_args={"title": "potential (V)", "vertical": True,
                                                                       "fmt": "%.3g", "position_x": 0.84,
                                                                       "width": 0.06})]
        if ifc is not None:
            actors["interfaces"] = [plotter.add_mesh(ifc, color="#dddddd", opacity=0.35)]
    plotter.add_axes()
    plotter.view_isometric()
    plotter.reset_camera()
    return actors


def lithiation_scene(plotter, vol, ifc, region_ids: Mapping[str, int], key: str) -> None:
    """The intercalation electrodes coloured by the nodal field ``key`` (a lithiation x, 0..1), and
    the interfaces by it where they carry it (a collapsed film's surface lithiation)."""
    regions = _region_grids(vol, region_ids)
    bar = {"title": "Li fraction x", "vertical": True, "fmt": "%.2f", "position_x": 0.84, "width": 0.06}
    shown = False
    for k, (name, grid) in enumerate(regions.items()):
        values = np.asarray(grid.point_data.get(key, np.full(grid.n_points, np.nan)))
        if name == "electrolyte" or not np.isfinite(values).all():
            if name != "electrolyte":
                plotter.add_mesh(grid, color=_colour(name, k), opacity=0.15)
            continue
        plotter.add_mesh(grid, scalars=key, cmap="plasma", clim=(0.0, 1.0), scalar_bar_args=bar, lighting=False,
                         show_scalar_bar=not shown)
        shown = True
    if ifc is not None and key in ifc.point_data:
        values = np.asarray(ifc.point_data[key])
        cells = np.flatnonzero(np.isfinite(values[ifc.faces.reshape(-1, 4)[:, 1:]]).all(axis=1))
        if len(cells) and not shown:
            plotter.add_mesh(ifc.extract_cells(cells), scalars=key, cmap="plasma", clim=(0.0, 1.0), lighting=False,
                             scalar_bar_args=bar)
    plotter.add_axes()
    plotter.view_isometric()
    plotter.reset_camera()


def _render(scene: Callable[[Any], object], path: str | Path | None, title: str) -> np.ndarray:
    """Draw ``scene(plotter)`` off screen; write a PNG to ``path`` if given; return the RGB image."""
    pv = _pv(True)
    plotter = pv.Plotter(off_screen=True, window_size=WINDOW)
    try:
        plotter.set_background("white")
        scene(plotter)
        if title:
            plotter.add_text(title, font_size=10, color="black")
        img = plotter.screenshot(str(path) if path else None, return_img=True)
    finally:
        plotter.close()
    return np.asarray(img)


def lithiation_screenshot(vol, ifc, region_ids: Mapping[str, int], key: str, title: str = "") -> np.ndarray:
    """Render :func:`lithiation_scene` off screen; return the RGB image."""
    return _render(lambda p: lithiation_scene(p, vol, ifc, region_ids, key), None, title)


def screenshot(vol, ifc, region_ids: Mapping[str, int], preset: str, path: str | Path | None = None,
               title: str = "") -> np.ndarray:
    """Render ``preset`` off screen; write a PNG to ``path`` if given; return the RGB image."""
    return _render(lambda p: build_scene(p, vol, ifc, region_ids, preset), path, title)


def show(vol, ifc, region_ids: Mapping[str, int], preset: str = "current", title: str = "") -> None:
    """Open an interactive window: the chosen preset, and a check box per region to toggle it."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise ViewError("no display for a window here: use --screenshot FILE.png to render off screen")
    pv = _pv(False)
    plotter = pv.Plotter(window_size=WINDOW, title=title or "mb3d")
    plotter.set_background("white")
    actors = build_scene(plotter, vol, ifc, region_ids, preset)
    for k, (name, acts) in enumerate(actors.items()):
        def toggle(state: bool, acts=acts) -> None:
            for a in acts:
                a.SetVisibility(state)
        plotter.add_checkbox_button_widget(toggle, value=True, position=(10, 10 + 45 * k), size=35,
                                           color_on=_colour(name, k))
        plotter.add_text(name, position=(52, 16 + 45 * k), font_size=9, color="black")
    plotter.show()
