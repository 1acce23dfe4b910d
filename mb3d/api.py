"""The Python API of mb3d: load a case, run it, look at the result; run a study and tabulate it.

The command line (:mod:`mb3d.cli`) is one way in; this module is the other, for scripts and notebooks.
Everything here is also reachable from the package itself (``import mb3d; mb3d.load(...)``); the
package exports these names lazily, so ``import mb3d`` stays light (no gmsh, scikit-fem or pandas until
they are needed).

::

    import mb3d

    case = mb3d.load("cases/planar_lipon.yaml", **{"mesh.size": 2})   # dotted overrides, like --set
    result = mb3d.run(case)
    result.record["solution"]["asr_ohm_cm2"]      # 43.478 (ohm cm2)
    result.save("out/planar")                     # what `mb3d run` writes
    blocks = result.to_pyvista()                  # one block per region + "interfaces", um
    table = mb3d.Study("studies/pillar_pitch_radius.yaml").run().to_dataframe()

* :func:`load` reads a case file (or a mapping) with dotted overrides and validates it: a frozen
  :class:`~mb3d.case.Case`. ``case.with_(**{"geometry.pitch": 45})`` is a validated copy with keys
  changed. Bad input raises :class:`~mb3d.case.CaseError` with the one-line message of the CLI (the
  dotted key, the value and the rule), before any work.
* :func:`run` runs the pipeline (geometry, mesh, solve, metrics) **in this process** and returns a
  :class:`Result`: the results record (``results.json``: every key carries its unit in its name), the
  mesh and the fields, with :meth:`Result.to_dict`, :meth:`Result.save` and :meth:`Result.to_pyvista`.
* :class:`Study` runs a design-of-experiments study file like ``mb3d doe`` (resumable, every case in
  its own process, results in ``<out>/results.sqlite``) and gives its table as a pandas DataFrame.

Processes and threads. ``mb3d run`` isolates gmsh in a child process so that a crash in native code
(gmsh, OpenCASCADE) is one line; :func:`run` does not: it runs in the calling process, so such a crash
ends the process (the notebook kernel). gmsh is not thread-safe and holds one model per process:
:func:`run` therefore runs one case at a time per process (concurrent calls from several threads wait
for each other). To run many cases at once, use a :class:`Study`, whose cases each run in their own
process. Once gmsh has run in a process, mb3d starts the cases of a study from a fork server, which
imports the main module as :mod:`multiprocessing` does: a script (not a notebook) that runs a study
after :func:`run` keeps its code under ``if __name__ == "__main__":``. Runs in one process share a mesh
cache (:data:`mb3d.pipeline.MESH_CACHE`): a case that differs from an earlier one only in materials or
operating point reuses its geometry and mesh (``record["mesh"]["from_cache"]``).

Units. Case values are what a case file holds (bare numbers in the format's units: um, V, mA/cm2, degC,
S/cm ...; or strings with a unit, ``"500 nm"``). Results carry their unit in their key
(``asr_ohm_cm2``, ``capacity_uAh_cm2``); :meth:`Result.to_pyvista` gives coordinates in micrometres and
arrays named as in the VTU outputs (``potential_V``, ``current_density_mA_cm2``,
``normal_current_density_mA_cm2``). :attr:`Result.mesh` and :attr:`Result.fields` are SI.
"""
from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # the heavy modules are imported when they are used, not with the package
    import pandas
    import pyvista

    from geom3d import MeshData
    from geom3d.transparency import Transparency

    from .case import Case
    from .pipeline import Fields, RunResult

__all__ = ["Result", "Study", "load", "run"]

#: one run at a time per process: gmsh keeps a single global model and is not thread-safe
_RUN_LOCK = threading.Lock()


def _plain(obj: Any) -> Any:
    """A deep copy of nested mappings and lists as dicts and lists (read-only mappings included)."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def load(source: str | os.PathLike | Mapping[str, Any] | Case, **overrides: Any) -> Case:
    """Read and validate a case, with dotted keys overridden.

    Parameters
    ----------
    source : str, path-like, mapping or Case
        A case YAML file (``"cases/planar_lipon.yaml"``; read with the file bounds of
        :func:`mb3d.case.read_yaml`), a mapping with the structure of a case file, or a
        :class:`~mb3d.case.Case` (then the same as ``source.with_(**overrides)``).
    **overrides
        Dotted case keys and their values, as a case file holds them:
        ``mb3d.load(path, **{"geometry.pitch": 45, "physics.voltage": "50 mV"})``. Lengths without a
        unit are micrometres, voltages V, current densities mA/cm2, temperatures degC, conductivities
        S/cm. ``None`` removes a key (``**{"physics.voltage": None}`` when switching the model).

    Returns
    -------
    Case
        The validated, frozen case (:meth:`~mb3d.case.Case.normalized` gives it with every default).

    Raises
    ------
    CaseError
        A file that cannot be read, an unknown key or a bad value: one line naming the key, the value
        and the rule (the message ``mb3d validate`` prints).
    """
    from .case import Case, CaseError, load_case, read_yaml, set_keys  # noqa: PLC0415

    if isinstance(source, Case):
        return source.with_(**overrides)
    if isinstance(source, str | os.PathLike):
        raw = read_yaml(source)
    elif isinstance(source, Mapping):
        raw = _plain(source)
    else:
        raise CaseError(f"mb3d.load: expected a path to a case YAML file, a mapping or a Case, not "
                        f"{type(source).__name__}")
    return load_case(set_keys(raw, overrides))


def run(case: Case | str | os.PathLike | Mapping[str, Any], progress: Callable[[str], None] | None = None,
        verbose: bool = False) -> Result:
    """Run one case in this process: geometry, mesh, solve, metrics.

    Parameters
    ----------
    case : Case, str, path-like or mapping
        A validated case (:func:`load`); anything else is first passed to :func:`load`.
    progress : callable, optional
        Called with the name of each stage as it starts: ``"geometry"``, ``"mesh"``,
        ``"transparency"``, ``"solve"``, ``"metrics"``.
    verbose : bool
        Let gmsh print its log.

    Returns
    -------
    Result

    Raises
    ------
    CaseError
        Bad input found once the geometry is built (too many elements, a current the cell cannot
        carry), or a bad ``case`` given as a path or mapping.
    geom3d.GeometryError, solvers.fem.SolverError
        The geometry kernel, the mesher or the solver failed (one-line message).

    Notes
    -----
    gmsh runs in this process and is not thread-safe: one run at a time per process (a second thread
    waits until the first run ends). A crash in native code (gmsh, OpenCASCADE) ends the process; the
    command line ``mb3d run`` and :class:`Study` run each case in a child process instead.
    """
    from .case import Case  # noqa: PLC0415
    from .pipeline import run_case  # noqa: PLC0415

    if not isinstance(case, Case):
        case = load(case)
    with _RUN_LOCK:
        rr = run_case(case, verbose=verbose, progress=progress)
    return Result(case, rr)


def _fmt(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


@dataclass(frozen=True, eq=False, repr=False)
class Result:
    """The outcome of :func:`run`: the case, the results record, the mesh and the fields.

    Attributes
    ----------
    case : Case
        The case that ran.
    run_result : mb3d.pipeline.RunResult
        What the pipeline returned (``record``, ``mesh``, ``fields``, ``optical``).
    """

    case: Case
    run_result: RunResult = field(repr=False)

    @property
    def record(self) -> Mapping[str, Any]:
        """The results record (read-only), the mapping ``results.json`` holds
        (``docs/formats/results.md``): ``case``, ``case_hash``, ``geometry``, ``mesh``, ``solution``,
        ``timing_s``. Every key carries its unit in its name (``solution.asr_ohm_cm2``,
        ``geometry.capacity_uAh_cm2``). Values may be numpy scalars; :meth:`to_dict` is plain."""
        return self.run_result.record

    @property
    def mesh(self) -> MeshData:
        """The tetrahedral mesh of every region (:class:`geom3d.MeshData`, coordinates in metres)."""
        return self.run_result.mesh

    @property
    def fields(self) -> Fields:
        """The output fields (:class:`mb3d.pipeline.Fields`, SI: V, A/m2)."""
        return self.run_result.fields

    @property
    def optical(self) -> Transparency | None:
        """The projected shadow of the opaque parts (:class:`geom3d.transparency.Transparency`, SI)."""
        return self.run_result.optical

    def to_dict(self) -> dict[str, Any]:
        """The results record as plain JSON data.

        Returns
        -------
        dict
            Nested dicts, lists, floats, ints, bools, strings and None (a non-finite float becomes
            None): ``json.dumps(result.to_dict())`` works and ``json.loads`` gives it back. Equal to
            ``json.load`` of the ``results.json`` that :meth:`save` writes. A new copy on each call.
        """
        from .outputs import _clean  # noqa: PLC0415

        return _clean(self.record)

    def save(self, out_dir: str | os.PathLike | None = None, images: bool = True) -> Path:
        """Write the outputs of ``mb3d run``: results.json, the VTK files (solution.vtu, solution.vtm
        with regions/<name>.vtu, interfaces.vtu: :mod:`mb3d.vtkfiles`), report.html.

        The files are written into a hidden ``.mb3d-partial-*`` folder and then moved into place, so
        nothing half-written is left if writing fails; files of an earlier run in ``out_dir`` with the
        same names are replaced.

        Parameters
        ----------
        out_dir : str or path-like, optional
            Output folder (created if needed); default ``out/<case name>`` below the current folder.
        images : bool
            Embed the pictures in report.html (default; three 3D views rendered off screen with VTK,
            unit cells repeated to a few periods, the current density histogram and the transparency
            map; about 2 s). If the 3D views cannot be rendered here a ``RuntimeWarning`` says why and
            the report has the rest; ``False`` skips them.

        Returns
        -------
        Path
            The output folder.

        Raises
        ------
        CaseError
            ``out_dir`` is a file, lies below a file or cannot be written (checked before writing).
        """
        import shutil  # noqa: PLC0415
        import warnings  # noqa: PLC0415

        from .outputs import commit_outputs, staging_dir, write_outputs, write_report  # noqa: PLC0415

        out = Path(out_dir) if out_dir is not None else Path("out") / self.case.name
        staging = staging_dir(out, option="out_dir")
        try:
            write_outputs(self.run_result, staging)
            _, note = write_report(self.run_result, staging, images=images)
            commit_outputs(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if note:
            warnings.warn(f"report.html has no 3D images: {note}", RuntimeWarning, stacklevel=2)
        return out

    def to_pyvista(self) -> pyvista.MultiBlock:
        """The mesh and fields as PyVista datasets, coordinates in micrometres.

        Returns
        -------
        pyvista.MultiBlock
            One :class:`pyvista.UnstructuredGrid` block per region, named as in
            ``record["mesh"]["region_ids"]`` (``cathode``, ``electrolyte``, ``anode``, ``silicon`` ...;
            regions without tetrahedra are left out; quadratic tetrahedra for a P2 solution, as in
            ``solution.vtu``), each with

            * point data ``potential_V`` (V; on nodes shared with the electrolyte, the electrolyte
              potential),
            * cell data ``region_id`` and ``current_density_mA_cm2`` (vector, mA/cm2: the ionic current
              in the electrolyte, the electronic one in conducting electrodes, zero otherwise);

            and a block ``interfaces`` (:class:`pyvista.PolyData`, the electrode|electrolyte triangles)
            with cell data ``normal_current_density_mA_cm2`` (mA/cm2, discharge sign: out of the
            anode, into the cathode), ``electrode_id`` (1 anode, 2 cathode) and ``feature_id`` (pillar
            or wall index in arrays, -1 otherwise). The names are those of ``solution.vtu`` and
            ``interfaces.vtu``.
        """
        import numpy as np  # noqa: PLC0415

        from .vtkfiles import interface_arrays, region_files, volume_grid  # noqa: PLC0415

        pv = _pyvista()
        mesh, f = self.mesh, self.fields
        grid = volume_grid(mesh, f)
        kind = pv.CellType.QUADRATIC_TETRA if grid.quadratic else pv.CellType.TETRA
        blocks: dict[str, Any] = {}
        for name, cells in region_files(grid).items():
            nodes, local = np.unique(grid.cells[cells], return_inverse=True)
            block = pv.UnstructuredGrid({kind: local.reshape(len(cells), -1)}, grid.points_um[nodes])
            for key, values in grid.point_data.items():
                block.point_data[key] = np.asarray(values, float)[nodes]
            for key, values in grid.cell_data.items():
                block.cell_data[key] = values[cells]
            blocks[Path(name).stem] = block
        points, tris, cell_data = interface_arrays(mesh, f)
        ifc = pv.PolyData(points, faces=np.column_stack([np.full(len(tris), 3), tris]).ravel())
        for key, values in cell_data.items():
            ifc.cell_data[key] = values
        blocks["interfaces"] = ifc
        return pv.MultiBlock(blocks)

    def __repr__(self) -> str:
        s, g = self.record["solution"], self.record["geometry"]
        items = {"name": self.case.name, "architecture": self.record["architecture"],
                 "model": s.get("model") or getattr(self.case.model.physics, "model", None),
                 "asr_ohm_cm2": s.get("asr_ohm_cm2"),
                 "capacity_uAh_cm2": g.get("capacity_uAh_cm2")}
        return "Result(" + ", ".join(f"{k}={_fmt(v)}" for k, v in items.items()) + ")"


def _pyvista() -> Any:
    """Import PyVista; without a display, choose VTK's off-screen window first (as :mod:`mb3d.views`
    does) so that plotting the datasets later does not crash. Building datasets needs no renderer, so
    a machine without one still gets them."""
    from .views import ViewError, offscreen_backend  # noqa: PLC0415

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        try:
            offscreen_backend()
        except ViewError:
            pass
    import pyvista  # noqa: PLC0415

    return pyvista


class Study:
    """A design-of-experiments study (``docs/formats/study.md``), run like ``mb3d doe``.

    Parameters
    ----------
    path : str or path-like
        The study YAML file. Its ``base`` case path is relative to the study file.
    out : str or path-like, optional
        The study folder (``results.sqlite``, ``summary.html``, ``study.pvd``, ``cases/<NNNN>-<factor values>/``); default
        ``out/<study name>`` below the current folder. :meth:`run` may name another one.

    Attributes
    ----------
    path : Path
    out : Path
        The study folder :meth:`run` last wrote into (or would write into) and :meth:`to_dataframe`
        reads.
    counts : dict or None
        What the last :meth:`run` did: ``total``, ``skipped`` (already in the store), ``ok``,
        ``failed``, ``mesh_cache_hits``.

    Raises
    ------
    CaseError
        A bad study file (unknown factor keys, empty or reversed ranges, bad constraints): one line,
        before anything runs.
    """

    def __init__(self, path: str | os.PathLike, out: str | os.PathLike | None = None):
        from . import doe  # noqa: PLC0415

        self.path = Path(path)
        self._study = doe.load_study(self.path)
        self.out = Path(out) if out is not None else Path("out") / self._study.name
        self.counts: dict[str, int] | None = None

    @property
    def name(self) -> str:
        """The study's ``name``."""
        return self._study.name

    @property
    def factors(self) -> list[str]:
        """The factor keys (dotted case keys)."""
        return list(self._study.model.factors)

    @property
    def points(self) -> tuple:
        """Every point of the design that meets the constraints (:class:`mb3d.doe.Point`: index,
        factor values, raw case, case hash)."""
        return self._study.points

    def __len__(self) -> int:
        return len(self._study.points)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, points={len(self)}, factors={self.factors}, out={str(self.out)!r})"

    def run(self, out: str | os.PathLike | None = None, workers: int | None = None,
            progress: Callable[[dict[str, Any], int, int], None] | None = None, *,
            scheduler: str | None = None, case_timeout: float | None = None, retry_failed: bool = False,
            connect_timeout: float = 10.0, summary: bool = True, images: bool = False) -> Study:
        """Run the cases not yet in the study's store (resume), as ``mb3d doe`` does.

        Every case runs in its own process; a case that fails (bad geometry, mesher, solver, crash,
        timeout) becomes a ``failed`` row with its reason and the others go on: this method does not
        raise for failed cases (see ``counts["failed"]`` and the ``status`` and ``error`` columns of
        :meth:`to_dataframe`). Each case is stored in ``results.sqlite`` as it ends, so an interrupted
        study (``KeyboardInterrupt``) keeps what it finished and the next run skips it. The folder is
        locked while the study runs.

        Parameters
        ----------
        out : str or path-like, optional
            The study folder; default :attr:`out`.
        workers : int, optional
            Cases run at once on this machine; default the core count.
        progress : callable, optional
            Called as ``progress(row, done, total)`` after each stored case; ``row`` has ``index``,
            ``case_hash``, ``factors``, ``status``, ``seconds`` and ``error`` or ``results``.
        scheduler : str, optional
            ``tcp://HOST:PORT`` of a Dask scheduler to run the cases on instead.
        case_timeout : float, optional
            Seconds after which a case's process is killed and the case recorded as failed.
        retry_failed : bool
            Run the cases that failed in earlier runs again.
        connect_timeout : float
            Seconds to wait for the Dask scheduler.
        summary : bool
            Write ``summary.html`` afterwards (tables and plots of every stored case), as ``mb3d doe``.
        images : bool
            Also write each case's report.html with its pictures (``mb3d doe --images``).

        Returns
        -------
        Study
            This study (so that ``Study(path).run().to_dataframe()`` reads).

        Raises
        ------
        mb3d.doe.StudyError
            The folder is in use by another study, its ``results.sqlite`` is not a results store, or
            the scheduler cannot be reached.
        CaseError
            ``out`` cannot be a study folder.
        """
        from . import doe  # noqa: PLC0415

        if out is not None:
            self.out = Path(out)
        lock = doe.StudyLock(self.out)
        try:
            self.counts = doe.run_study(self._study, self.out, workers=workers, scheduler=scheduler,
                                        case_timeout=case_timeout, on_row=progress, retry_failed=retry_failed,
                                        connect_timeout=connect_timeout, lock=lock, images=images)
            if summary:
                from .outputs import atomic_write  # noqa: PLC0415
                from .summary import summary_html  # noqa: PLC0415

                rows = doe.table(self.out, self._study.model.responses)
                atomic_write(self.out / "summary.html",
                             lambda p: p.write_text(summary_html(self._study, rows), encoding="utf-8"))
        finally:
            lock.release()
        return self

    def to_dataframe(self) -> pandas.DataFrame:
        """The study's table: one row per point of the design, read from ``<out>/results.sqlite``.

        Returns
        -------
        pandas.DataFrame
            Indexed by the point's ``index``; columns ``case_hash``, ``status`` (``ok``, ``failed``, or
            ``pending`` for a point not run yet), one column per factor (values as the study gives
            them, units included), every numeric result flattened to its dotted results.json key
            (``solution.asr_ohm_cm2``, ``geometry.area_gain.anode`` ...; NaN where a case has none),
            ``error`` (the one-line reason of a failed case, else None) and ``seconds`` (the case's
            wall time). Rows of the store that belong to no point of this study (an earlier version of
            the study file) are left out.
        """
        import pandas as pd  # noqa: PLC0415

        from . import doe  # noqa: PLC0415

        stored: dict[str, dict[str, Any]] = {}
        db = self.out / "results.sqlite"
        if db.is_file():
            store = doe.Store(db)
            try:
                stored = {r["case_hash"]: r for r in store.rows()}
            finally:
                store.close()
        factors = self.factors
        result_keys: set[str] = set()
        rows = []
        for p in self._study.points:
            r = stored.get(p.case_hash)
            res = (r or {}).get("results") or {}
            result_keys.update(res)
            err = (r["error"] or None) if r else p.error
            rows.append({"index": p.index, "case_hash": p.case_hash,
                         "status": r["status"] if r else "pending",
                         **{k: p.factors.get(k) for k in factors}, **res, "error": err,
                         "seconds": r["seconds"] if r else math.nan})
        cols = ["index", "case_hash", "status", *factors, *sorted(result_keys - set(factors)), "error", "seconds"]
        return pd.DataFrame(rows, columns=cols).set_index("index")
