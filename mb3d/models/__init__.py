"""Physics models as registered plug-ins.

A model is one module that defines a :class:`~mb3d.models.base.Model` record: the spec of its
``physics:`` keys, a solve function, its results record and its output fields. mb3d finds models
by name, like PyBaMM finds parameter sets:

* the entry-point group ``mb3d.models`` (a package declares
  ``[project.entry-points."mb3d.models"] mymodel = "mypackage.mymodel:MODEL"``); mb3d's own
  ``primary``, ``secondary`` and ``transient`` are declared there too, and loaded only when first used;
* :func:`register` at run time (a script, a notebook, a test).

``physics.model`` in a case picks the model; nothing else in mb3d branches on it.
"""
from __future__ import annotations

import threading
from importlib import import_module, metadata

from .base import SI, Fields, Model, PhysicsBase, Setup, empty_fields, interface_fields

__all__ = ["SI", "Fields", "Model", "PhysicsBase", "Setup", "empty_fields", "get", "interface_fields", "names",
           "register"]

GROUP = "mb3d.models"
#: mb3d's own models (also declared as entry points in pyproject.toml; this table serves a source
#: tree that is not installed, and a test checks that the two agree)
BUILTIN = {"primary": "mb3d.models.primary:MODEL", "secondary": "mb3d.models.secondary:MODEL",
           "transient": "mb3d.models.transient:MODEL"}

_LOCK = threading.Lock()
_TARGETS: dict[str, str] | None = None
_LOADED: dict[str, Model] = {}


def _targets() -> dict[str, str]:
    """Model name -> ``module:attribute``, from the entry points (read once)."""
    global _TARGETS
    with _LOCK:
        if _TARGETS is None:
            found = dict(BUILTIN)
            for ep in metadata.entry_points(group=GROUP):
                found.setdefault(ep.name, ep.value)
            _TARGETS = found
        return _TARGETS


def names() -> list[str]:
    """Names of every known model (registered or declared), without loading them."""
    return list(dict.fromkeys([*_targets(), *_LOADED]))


def get(name: str) -> Model:
    """The model called ``name`` (its module is imported on first use).

    Raises
    ------
    KeyError
        If no model has that name.
    """
    if name in _LOADED:
        return _LOADED[name]
    target = _targets().get(name)
    if target is None:
        raise KeyError(f"unknown physics model {name!r}; known: {', '.join(names())}")
    module, _, attr = target.partition(":")
    model = getattr(import_module(module), attr)
    if not isinstance(model, Model) or model.name != name:
        raise TypeError(f"entry point {name} = {target!r} is not an mb3d.models.Model named {name!r}")
    with _LOCK:
        _LOADED[name] = model
    return model


def register(model: Model, replace: bool = False) -> Model:
    """Register ``model`` under its name (for this process); returns it.

    Raises
    ------
    ValueError
        If a different model of that name exists and ``replace`` is false.
    """
    if not isinstance(model, Model):
        raise TypeError("register() takes an mb3d.models.Model")
    existing = _LOADED.get(model.name)
    if not replace and (model.name in _targets() or existing is not None) and existing is not model:
        raise ValueError(f"a physics model called {model.name!r} exists; pass replace=True to replace it")
    with _LOCK:
        _LOADED[model.name] = model
    return model


def unregister(name: str) -> None:
    """Forget a model registered with :func:`register` (built-in and entry-point models stay)."""
    with _LOCK:
        _LOADED.pop(name, None)
