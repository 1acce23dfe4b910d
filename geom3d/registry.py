"""Registry of architectures: name -> parameter class, generator and description.

The CLI lists and describes architectures from here; the case schema validates ``architecture`` and
``geometry`` against it. Adding an architecture is one module with ``NAME``, ``SUMMARY``, a frozen
parameter dataclass and ``build(params, domain) -> Geometry``, declared in the entry-point group
``mb3d.architectures`` (``name = "package.module"``, as mb3d's own are in pyproject.toml) or
registered at run time with :func:`register`. Modules are imported when an architecture is first
used, not when the registry is. A module may
declare ``BUILD_OPTIONS`` (e.g. ``("thin_layer_limit",)``): case settings passed to ``build`` as
keyword arguments in SI units. An implicit architecture (``IMPLICIT = True``, the sponge) meshes
itself: its ``build(params, domain, size, interface_size)`` returns the mesh and metrics at once.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module, metadata

from .model import gmsh_errors
from .params import Params

#: what to change when OpenCASCADE fails to build a model without saying why
BUILD_ADVICE = "check the geometry for faces that nearly touch (gaps or overlaps far below a micrometre)"

GROUP = "mb3d.architectures"
#: mb3d's own architectures (also declared as entry points in pyproject.toml; this table serves a
#: source tree that is not installed, and a test checks that the two agree)
BUILTIN = {m: f"{__package__}.{m}" for m in ("planar", "interdigitated_pillars", "coated_pillars",
                                               "interdigitated_plates", "trenched_silicon", "sponge",
                                               "transparent_mesh", "coaxial")}


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
    unit_cell: str = "a mirror cell"

    def __reduce__(self) -> tuple:
        """Pickled by name (a child process looks it up in its own registry)."""
        return get, (self.name,)

    @property
    def doc(self) -> str:
        """The module docstring: the geometry, its unit cell and its boundaries."""
        return import_module(self.module).__doc__ or ""


def from_module(module: str) -> Architecture:
    """The architecture a module defines (``NAME``, ``SUMMARY``, its Params subclass, ``build``)."""
    mod = import_module(module)
    params = next(v for k, v in vars(mod).items()
                  if isinstance(v, type) and issubclass(v, Params) and v is not Params
                  and v.__module__ == mod.__name__)
    domains = getattr(mod, "DOMAINS", ("unit_cell", "array"))
    options = getattr(mod, "BUILD_OPTIONS", ())
    implicit = bool(getattr(mod, "IMPLICIT", False))
    build = mod.build if implicit else _guarded(mod.build, mod.NAME)
    return Architecture(mod.NAME, mod.SUMMARY, params, build, domains, mod.__name__, options, implicit,
                        getattr(mod, "UNIT_CELL", "a mirror cell"))


class _Registry(Mapping):
    """Name -> :class:`Architecture`, importing each module on first access."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, str] | None = None
        self._loaded: dict[str, Architecture] = {}

    def targets(self) -> dict[str, str]:
        with self._lock:
            if self._targets is None:
                found = dict(BUILTIN)
                for ep in metadata.entry_points(group=GROUP):
                    found.setdefault(ep.name, ep.value)
                self._targets = found
            return self._targets

    def __getitem__(self, name: str) -> Architecture:
        if name in self._loaded:
            return self._loaded[name]
        module = self.targets()[name]
        arch = from_module(module)
        if arch.name != name:
            raise TypeError(f"entry point {name} = {module!r} defines NAME = {arch.name!r}")
        with self._lock:
            self._loaded[name] = arch
        return arch

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.targets(), *self._loaded]))

    def __len__(self) -> int:
        return len(list(iter(self)))

    def add(self, arch: Architecture) -> None:
        with self._lock:
            self._loaded[arch.name] = arch


def _guarded(build: Callable, name: str) -> Callable:
    """``build`` with a failure of a gmsh/OpenCASCADE call turned into a one-line GeometryError
    (see :func:`geom3d.model.gmsh_errors`)."""
    @functools.wraps(build)
    def guarded(*args, **kwargs):
        with gmsh_errors(f"gmsh could not build the {name} geometry", BUILD_ADVICE):
            return build(*args, **kwargs)
    return guarded


ARCHITECTURES: Mapping[str, Architecture] = _Registry()


def register(module: str) -> Architecture:
    """Register the architecture defined by ``module`` (importable name) for this process."""
    arch = from_module(module)
    ARCHITECTURES.add(arch)
    return arch


def get(name: str) -> Architecture:
    """The architecture called ``name``; KeyError lists the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None
