"""Registry of architectures: name -> parameter class, generator and description.

The CLI lists and describes architectures from here; the case schema validates ``architecture`` and
``geometry`` against it. Adding an architecture is one module with ``NAME``, ``SUMMARY``, a frozen
parameter dataclass and ``build(params, domain) -> Geometry``, plus one line below. A module may
declare ``BUILD_OPTIONS`` (e.g. ``("thin_layer_limit",)``): case settings passed to ``build`` as
keyword arguments in SI units. An implicit architecture (``IMPLICIT = True``, the sponge) meshes
itself: its ``build(params, domain, size, interface_size)`` returns the mesh and metrics at once.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from .model import gmsh_errors
from .params import Params

#: what to change when OpenCASCADE fails to build a model without saying why
BUILD_ADVICE = "check the geometry for faces that nearly touch (gaps or overlaps far below a micrometre)"

_MODULES = ("planar", "interdigitated_pillars", "coated_pillars", "interdigitated_plates",
            "trenched_silicon", "sponge", "transparent_mesh", "coaxial")


@dataclass(frozen=True)
class Architecture:
    """One registered architecture."""

    name: str
    summary: str
    params: type[Params]
    build: Callable
    domains: tuple[str, ...]
    module: str
    options: tuple[str, ...] = ()
    implicit: bool = False

    def __reduce__(self) -> tuple:
        """Pickled by name (a child process looks it up in its own registry)."""
        return get, (self.name,)

    @property
    def doc(self) -> str:
        """The module docstring: the geometry, its unit cell and its boundaries."""
        return import_module(self.module).__doc__ or ""


def _load() -> dict[str, Architecture]:
    out = {}
    for m in _MODULES:
        mod = import_module(f"{__package__}.{m}")
        params = next(v for k, v in vars(mod).items()
                      if isinstance(v, type) and issubclass(v, Params) and v is not Params
                      and v.__module__ == mod.__name__)
        domains = getattr(mod, "DOMAINS", ("unit_cell", "array"))
        options = getattr(mod, "BUILD_OPTIONS", ())
        implicit = bool(getattr(mod, "IMPLICIT", False))
        build = mod.build if implicit else _guarded(mod.build, mod.NAME)
        out[mod.NAME] = Architecture(mod.NAME, mod.SUMMARY, params, build, domains, mod.__name__, options,
                                     implicit)
    return out


def _guarded(build: Callable, name: str) -> Callable:
    """``build`` with a failure of a gmsh/OpenCASCADE call turned into a one-line GeometryError
    (see :func:`geom3d.model.gmsh_errors`)."""
    @functools.wraps(build)
    def guarded(*args, **kwargs):
        with gmsh_errors(f"gmsh could not build the {name} geometry", BUILD_ADVICE):
            return build(*args, **kwargs)
    return guarded


ARCHITECTURES: dict[str, Architecture] = _load()


def get(name: str) -> Architecture:
    """The architecture called ``name``; KeyError lists the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None
