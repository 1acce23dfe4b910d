"""mb3d: design 3D all-solid-state thin-film microbatteries.

The application layer: case schema (:mod:`mb3d.case`), pipeline (:mod:`mb3d.pipeline`), outputs
(:mod:`mb3d.outputs`) and the command line (:mod:`mb3d.cli`). It wires :mod:`geom3d` (geometry and
meshing) to :mod:`solvers` (physics).
"""
__version__ = "0.1.0"

import copyreg as _copyreg
import types as _types


def _proxy(items: dict) -> _types.MappingProxyType:
    return _types.MappingProxyType(items)


# Cases, geometry and mesh records hold read-only mappings; let them travel to and from the
# processes that run cases (mb3d.isolate, Dask workers).
_copyreg.pickle(_types.MappingProxyType, lambda m: (_proxy, (dict(m),)))


# --- the Python API (mb3d.api), exported lazily --------------------------------------------------
# ``import mb3d`` imports nothing heavy; ``mb3d.load`` (or ``from mb3d import run``) imports the module
# that defines the name on first use: mb3d.api itself is light, gmsh comes with mb3d.case, scikit-fem
# with the first run, pandas with Study.to_dataframe.
__all__ = ["Case", "CaseError", "Result", "Study", "__version__", "load", "run"]

_LAZY = {"load": "api", "run": "api", "Result": "api", "Study": "api", "Case": "case", "CaseError": "case"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
