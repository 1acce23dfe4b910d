"""Registry of architectures: name -> parameter class, generator and description.

The CLI lists and describes architectures from here; the case schema validates ``architecture`` and
``geometry`` against it. Adding an architecture is one module with ``NAME``, ``SUMMARY``, a frozen
parameter dataclass and ``build(params, domain) -> Geometry``, plus one line below. A module may
declare ``BUILD_OPTIONS`` (e.g. ``("thin_layer_limit",)``): case settings passed to ``build`` as
keyword arguments in SI units. An implicit architecture (``IMPLICIT = True``, the sponge) meshes
itself: its ``build(params, domain, size, interface_size)`` returns the mesh and metrics at once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from .params import Params

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
        out[mod.NAME] = Architecture(mod.NAME, mod.SUMMARY, params, mod.build, domains, mod.__name__, options,
                                     bool(getattr(mod, "IMPLICIT", False)))
    return out


ARCHITECTURES: dict[str, Architecture] = _load()


def get(name: str) -> Architecture:
    """The architecture called ``name``; KeyError lists the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None
