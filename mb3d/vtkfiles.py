"""The VTK files of a run, as ParaView reads them: the volume, its named regions and the interfaces.

``solution.vtu``
    Every tetrahedron of the cell. A P2 solution is written with quadratic tetrahedra
    (``VTK_QUADRATIC_TETRA``: four vertices, then the midpoints of the edges 0-1, 1-2, 2-0, 0-3, 1-3,
    2-3), so the file has one point per P2 degree of freedom and ParaView interpolates the field as
    the solver did; a P1 solution with linear tetrahedra. Cell data ``region_id`` and
    ``current_density_mA_cm2``; point data ``potential_V`` and the model's nodal fields
    (``lithiation_x``). Field data: ``coordinate_unit_m`` = 1e-6 (coordinates are in micrometres) and
    ``region_<name>`` = its ``region_id`` for every region.
``regions/<name>.vtu`` and ``solution.vtm``
    The same cells, one file per named region (``electrolyte``, ``anode``, ``cathode``, ``silicon``
    ...), gathered with ``interfaces.vtu`` in a multiblock file whose blocks carry the region names:
    open ``solution.vtm`` in ParaView and pick regions in the block tree.
``interfaces.vtu``
    The electrode|electrolyte triangles with ``normal_current_density_mA_cm2``, ``electrode_id``
    (1 anode, 2 cathode) and ``feature_id``.

The files are written with meshio (no VTK import on a run without pictures); the field data, which
meshio's writer drops, is added to its XML.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import numpy as np

from solvers.constants import A_M2_TO_MA_CM2

if TYPE_CHECKING:
    from geom3d import MeshData

    from .models.base import Fields

#: the edges of VTK_QUADRATIC_TETRA, in the order of its points 4..9
QUADRATIC_EDGES = np.array([[0, 1], [1, 2], [2, 0], [0, 3], [1, 3], [2, 3]])


@dataclass(frozen=True)
class VolumeGrid:
    """The volume mesh with its fields, as written to ``solution.vtu``.

    Attributes
    ----------
    points_um : ndarray (n_points, 3)
        Coordinates, um (vertices, then edge midpoints for quadratic cells).
    cells : ndarray (n_tets, 4 or 10)
    cell_type : str
        meshio's name: ``tetra`` or ``tetra10``.
    point_data, cell_data : mapping str -> ndarray
    region : ndarray (n_tets,)
        Index into ``region_names`` of every cell.
    region_names : tuple of str
    """

    points_um: np.ndarray
    cells: np.ndarray
    cell_type: str
    point_data: Mapping[str, np.ndarray]
    cell_data: Mapping[str, np.ndarray]
    region: np.ndarray
    region_names: tuple[str, ...]

    @property
    def quadratic(self) -> bool:
        return self.cell_type == "tetra10"


def mesh_edges(tets: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The edges of a tetrahedral mesh: ``(edges (k, 2) sorted node pairs, tet_edges (n_tets, 6))``
    with ``tet_edges`` in the order of :data:`QUADRATIC_EDGES`."""
    pairs = np.sort(tets[:, QUADRATIC_EDGES].reshape(-1, 2), axis=1).astype(np.int64)
    keys, inverse = np.unique(pairs[:, 0] * n_points + pairs[:, 1], return_inverse=True)
    return np.stack([keys // n_points, keys % n_points], axis=1), inverse.reshape(-1, 6)


def _midpoint_values(values: np.ndarray, edges: np.ndarray, n_points: int,
                     given: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """A nodal field at the edge midpoints: the mean of its ends, replaced by a P2 solution's own
    midpoint values where one is given (later entries win)."""
    mid = 0.5 * (values[edges[:, 0]] + values[edges[:, 1]])
    keys = edges[:, 0] * n_points + edges[:, 1]
    for pairs, vals in given:
        p = np.sort(np.asarray(pairs, dtype=np.int64), axis=1)
        at = np.searchsorted(keys, p[:, 0] * n_points + p[:, 1])
        mid[at] = vals
    return mid


def volume_grid(mesh: MeshData, fields: Fields) -> VolumeGrid:
    """The volume grid of a solution: quadratic cells when the model gave P2 midpoint values
    (:attr:`~mb3d.models.base.Fields.midpoint_data`), linear ones otherwise."""
    point_data = {"potential_V": np.asarray(fields.potential_V), **dict(fields.point_data)}
    cell_data = {"region_id": mesh.tet_region.astype(np.int32),
                 "current_density_mA_cm2": fields.current_density_A_m2 * A_M2_TO_MA_CM2}
    pts_um = mesh.points_m * 1e6
    if not fields.midpoint_data:
        return VolumeGrid(pts_um, mesh.tets, "tetra", point_data, cell_data, mesh.tet_region,
                          tuple(mesh.region_names))
    n = len(pts_um)
    edges, tet_edges = mesh_edges(mesh.tets, n)
    given: dict[str, list] = {}
    for name, pairs, vals in fields.midpoint_data:
        given.setdefault(name, []).append((pairs, vals))
    point_data = {k: np.concatenate([v, _midpoint_values(v, edges, n, given.get(k, []))])
                  for k, v in point_data.items()}
    points = np.concatenate([pts_um, 0.5 * (pts_um[edges[:, 0]] + pts_um[edges[:, 1]])])
    return VolumeGrid(points, np.hstack([mesh.tets, n + tet_edges]), "tetra10", point_data, cell_data,
                      mesh.tet_region, tuple(mesh.region_names))


def unit_and_region_data(region_names: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Field data that says what the numbers mean: ``coordinate_unit_m`` (1e-6: coordinates are in
    micrometres) and ``region_<name>`` = the ``region_id`` of each region. Numeric arrays, so that
    every VTK reader (meshio's too, which refuses string arrays) reads them."""
    data = {"coordinate_unit_m": np.array([1e-6])}
    data.update({f"region_{name}": np.array([k], dtype=np.int32) for k, name in enumerate(region_names)})
    return data


def _write_vtu(path: Path, mesh: Any, field_data: Mapping[str, np.ndarray]) -> None:
    """Write a meshio mesh as VTU with ``field_data`` (meshio's VTU writer drops field data: it is
    added to the XML as ASCII arrays, which meshio and VTK read back)."""
    import meshio  # noqa: PLC0415

    meshio.write(path, mesh, file_format="vtu")
    arrays = "".join(
        f'<DataArray type="{"Int32" if v.dtype.kind == "i" else "Float64"}" Name={quoteattr(k)} '
        f'NumberOfTuples="{v.size}" format="ascii">{" ".join(repr(x) for x in v.ravel().tolist())}</DataArray>'
        for k, v in field_data.items())
    text = path.read_text()
    at = text.index("<UnstructuredGrid>") + len("<UnstructuredGrid>")
    path.write_text(f"{text[:at]}\n<FieldData>{arrays}</FieldData>{text[at:]}")


def write_volume(path: Path, grid: VolumeGrid, select: np.ndarray | None = None) -> None:
    """Write ``grid`` (or its cells ``select``, with their points only) as a VTU file."""
    import meshio  # noqa: PLC0415

    cells, cell_data, point_data, points = grid.cells, grid.cell_data, grid.point_data, grid.points_um
    if select is not None:
        used, inverse = np.unique(cells[select], return_inverse=True)
        cells = inverse.reshape(-1, cells.shape[1])
        points = points[used]
        point_data = {k: v[used] for k, v in point_data.items()}
        cell_data = {k: v[select] for k, v in cell_data.items()}
    m = meshio.Mesh(points, [(grid.cell_type, cells)], point_data=dict(point_data),
                    cell_data={k: [v] for k, v in cell_data.items()})
    _write_vtu(path, m, unit_and_region_data(grid.region_names))


def interface_arrays(mesh: MeshData, fields: Fields) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The interface triangles on their own points: ``(points_um, tris, cell_data)`` with
    ``normal_current_density_mA_cm2``, ``electrode_id`` and ``feature_id``."""
    used, inverse = np.unique(np.asarray(fields.interface_tris, dtype=np.int64), return_inverse=True)
    cell_data = {"normal_current_density_mA_cm2": np.asarray(fields.interface_j_A_m2, float) * A_M2_TO_MA_CM2,
                 "electrode_id": np.asarray(fields.interface_electrode, dtype=np.int32),
                 "feature_id": np.asarray(fields.interface_feature, dtype=np.int32)}
    return np.asarray(mesh.points_m, float)[used] * 1e6, inverse.reshape(-1, 3), cell_data


def write_interfaces(path: Path, mesh: MeshData, fields: Fields) -> None:
    """Write the interface triangles (their points only) with their facet values as a VTU file."""
    import meshio  # noqa: PLC0415

    points, tris, cell_data = interface_arrays(mesh, fields)
    m = meshio.Mesh(points, [("triangle", tris)], cell_data={k: [v] for k, v in cell_data.items()})
    _write_vtu(path, m, unit_and_region_data())


def region_files(grid: VolumeGrid) -> dict[str, np.ndarray]:
    """``regions/<name>.vtu`` -> the cells of that region, for every region that has cells."""
    return {f"regions/{name}.vtu": np.flatnonzero(grid.region == k)
            for k, name in enumerate(grid.region_names) if np.any(grid.region == k)}


def multiblock_xml(regions: Mapping[str, str], interfaces: str | None = "interfaces.vtu") -> str:
    """A ``.vtm`` file: a block ``regions`` with one named dataset per region file, and the
    interfaces (``regions`` maps region name -> relative file name)."""
    lines = ['<?xml version="1.0"?>', '<VTKFile type="vtkMultiBlockDataSet" version="1.0">',
             "  <vtkMultiBlockDataSet>", '    <Block index="0" name="regions">']
    lines += [f'      <DataSet index="{k}" name={quoteattr(name)} file={quoteattr(f)}/>'
              for k, (name, f) in enumerate(regions.items())]
    lines.append("    </Block>")
    if interfaces:
        lines.append(f'    <DataSet index="1" name="interfaces" file={quoteattr(interfaces)}/>')
    lines += ["  </vtkMultiBlockDataSet>", "</VTKFile>", ""]
    return "\n".join(lines)


def collection_xml(entries: list[tuple[dict[str, Any], str]]) -> str:
    """A ``.pvd`` collection: one ``DataSet`` per ``(attributes, file)``; attributes such as
    ``timestep`` or a study's factor values become XML attributes (ParaView lists them)."""
    rows = []
    for attrs, f in entries:
        a = " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items())
        rows.append(f"    <DataSet {a} file={quoteattr(f)}/>")
    return ('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
            + "\n".join(rows) + "\n  </Collection>\n</VTKFile>\n")
