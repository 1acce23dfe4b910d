"""gmsh sessions and the tagged-model record every generator returns.

A generator is a pure function ``build(params, domain) -> Geometry`` that runs inside
:func:`gmsh_session`: it draws OpenCASCADE solids (in micrometres, see
:data:`geom3d.params.MODEL_UNIT_M`), makes them conformal with ``occ.fragment``, and names every volume
(region) and every surface (boundary) with a physical group. :func:`name_boundaries` does the naming
the same way for every architecture:

* a surface shared by the electrolyte and an electrode region is ``<electrode>_interface``;
* a surface between two volumes of the same region is ``internal``, one between two other regions
  is named by both (``cathode_collector``, ``barrier_silicon``);
* any other surface is named by the architecture's ``outer`` callback from its bounding box
  (``substrate``, ``top``, ``symmetry``, ``anode_collector`` ...).

:func:`assert_all_tagged` then checks that every volume belongs to exactly one region and every
surface to one boundary, so that no element can be left untagged.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import gmsh

from .params import Domain

ELECTRODES = ("anode", "cathode")


class GeometryError(RuntimeError):
    """The geometry kernel could not build or tag the model (a bug or a degenerate input)."""


_MESHED = False


def meshed_in_this_process() -> bool:
    """Whether this process has opened a gmsh session. gmsh's OpenMP thread pool does not survive a
    fork: a process forked after meshing hangs in its next mesh (mb3d.isolate starts its children
    differently then)."""
    return _MESHED


@contextlib.contextmanager
def gmsh_session(verbose: bool = False, threads: int = 1) -> Iterator[None]:
    """Initialise gmsh for one model and finalise it afterwards, whatever happens.

    Parameters
    ----------
    verbose : bool
        Let gmsh print its log to the terminal.
    threads : int
        gmsh threads; one thread gives reproducible meshes.
    """
    if gmsh.isInitialized():
        raise GeometryError("a gmsh session is already open in this process; sessions never nest")
    global _MESHED
    _MESHED = True
    # interruptible=False: gmsh installs no signal handler, so Ctrl-C reaches Python and worker
    # threads/processes can open sessions too.
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 1 if verbose else 0)
        gmsh.option.setNumber("General.Verbosity", 5 if verbose else 1)
        gmsh.option.setNumber("General.NumThreads", threads)
        gmsh.option.setNumber("Geometry.OCCParallel", 0)
        gmsh.logger.start()   # keeps gmsh's errors for gmsh_reason, whatever the terminal shows
        gmsh.model.add("mb3d")
        yield
    finally:
        gmsh.finalize()


#: how many of gmsh's last logged errors :func:`gmsh_reason` quotes
REASON_ERRORS = 2


def _gmsh_log() -> tuple[list[str], str]:
    """gmsh's logged messages (since :func:`gmsh_session` started the logger) and its last error."""
    if not gmsh.isInitialized():
        return [], ""
    try:
        return list(gmsh.logger.get()), str(gmsh.logger.getLastError() or "")
    except Exception:  # noqa: BLE001  (the logger itself failed: nothing more to say)
        return [], ""


def gmsh_reason(exc: BaseException | None = None, since: tuple[int, str] = (0, "")) -> str:
    """One line saying why a gmsh call failed, or "" if gmsh said nothing.

    The exception's text first; if it is empty (gmsh sometimes raises with no message), the last
    ``Error`` lines gmsh logged after ``since``, then gmsh's last error if it changed since then.

    Parameters
    ----------
    exc : BaseException, optional
        What the gmsh call raised.
    since : (int, str)
        Length of the log and last error before the call (:func:`_gmsh_log`), so that older errors
        are not quoted.
    """
    text = " ".join(str(exc or "").split())
    if text:
        return text
    log, last = _gmsh_log()
    errors = [" ".join(line.split()) for line in log[since[0]:] if line.lstrip().startswith("Error")]
    if errors:
        return "; ".join(e.removeprefix("Error:").strip() for e in errors[-REASON_ERRORS:])
    return " ".join(last.split()) if last != since[1] else ""


@contextlib.contextmanager
def gmsh_errors(what: str, advice: str) -> Iterator[None]:
    """Turn an exception of the gmsh calls inside into a one-line :class:`GeometryError`.

    gmsh raises a bare ``Exception``; any other exception type passes unchanged.

    Parameters
    ----------
    what : str
        What failed, as the message starts (``gmsh could not mesh the geometry``).
    advice : str
        What to change when gmsh gives no reason (``try a smaller mesh.interface_size``).
    """
    log, last = _gmsh_log()
    try:
        yield
    except Exception as exc:  # noqa: BLE001  (gmsh raises a bare Exception with its last error)
        if type(exc) is not Exception:   # ours (ParameterError, GeometryError) or a bug: unchanged
            raise
        reason = gmsh_reason(exc, (len(log), last))
        raise GeometryError(f"{what}: {reason}" if reason else f"{what} (gmsh gave no reason): {advice}") from None


@dataclass(frozen=True)
class Feature:
    """One electrode feature (a pillar, a wall, a grid line, a film) of the model.

    Attributes
    ----------
    electrode : str
        ``anode`` or ``cathode``.
    x_m, y_m : float
        Position of the feature's axis on the substrate plane, metres.
    fraction : float
        Fraction of the whole feature inside the modelled domain (1/8 for the corner pillar of a
        square mirror cell, 1 in an array).
    volumes : tuple of int
        OCC volume tags of the feature.
    edge : bool
        True for a feature on the outer ring of a finite array.
    """

    electrode: str
    x_m: float
    y_m: float
    fraction: float
    volumes: tuple[int, ...]
    edge: bool = False


@dataclass(frozen=True)
class LayerRecord:
    """One film of a conformal stack as built.

    Attributes
    ----------
    role : str
    material : str
        Material name (for reports).
    thickness_m : float
    volume_m3 : float
        Exact volume of the film in the modelled domain (OCC), whether meshed or collapsed.
    collapsed : bool
        True if the film is thinner than ``mesh.thin_layer_limit`` and modelled as a surface.
    """

    role: str
    material: str
    thickness_m: float
    volume_m3: float
    collapsed: bool


@dataclass(frozen=True)
class Geometry:
    """A tagged gmsh model (lives in the open gmsh session) and what the mesher needs to know of it.

    Attributes
    ----------
    architecture : str
    domain : Domain
    regions : mapping of str to tuple of int
        Region name (``electrolyte``, ``anode``, ``cathode``) -> OCC volume tags.
    boundaries : mapping of str to tuple of int
        Boundary name -> OCC surface tags; every surface of the model is in exactly one.
    features : tuple of Feature
    footprint_area_m2 : float
        Projected area of the modelled domain on the substrate plane.
    singular_edges : bool
        True where an electrode has a sharp convex edge inside the electrolyte (primary current
        density singular there: max and cov do not converge under refinement).
    outline_m : tuple of (float, float)
        The footprint polygon on the substrate plane (counter-clockwise, metres).
    mirror_edges : tuple of bool
        For each outline edge (vertex k to k + 1), True if it lies on a mirror plane of the
        structure (unit cells), False for an outer wall (finite arrays, the coaxial shell).
    feature_surfaces : tuple of tuple of int
        For each feature, its interface surfaces (filled by :func:`name_boundaries`).
    layers : tuple of LayerRecord
        The films of a conformal stack, from the substrate outward (empty for other designs).
    translations_m : tuple of (float, float)
        For a periodic cell, the lattice translations (metres) that map its ``periodic`` faces onto
        each other; empty for mirror cells and arrays.
    """

    architecture: str
    domain: Domain
    regions: Mapping[str, tuple[int, ...]]
    boundaries: Mapping[str, tuple[int, ...]]
    features: tuple[Feature, ...]
    footprint_area_m2: float
    singular_edges: bool
    outline_m: tuple[tuple[float, float], ...] = ()
    mirror_edges: tuple[bool, ...] = ()
    feature_surfaces: tuple[tuple[int, ...], ...] = field(default=())
    layers: tuple[LayerRecord, ...] = ()
    translations_m: tuple[tuple[float, float], ...] = ()

    @property
    def interfaces(self) -> dict[str, tuple[int, ...]]:
        """Electrode name -> its electrode|electrolyte interface surfaces."""
        return {e: self.boundaries.get(f"{e}_interface", ()) for e in ELECTRODES}


def polygon_area(poly: Sequence[tuple[float, float]]) -> float:
    """Area of a simple polygon (shoelace formula), in the square of its coordinates' unit."""
    n = len(poly)
    return 0.5 * abs(sum(poly[k][0] * poly[(k + 1) % n][1] - poly[(k + 1) % n][0] * poly[k][1]
                         for k in range(n)))


def outline_edge(bb: tuple[float, ...], outline: Sequence[tuple[float, float]], tol: float) -> int | None:
    """Index of the outline edge whose vertical plane holds a face with bounding box ``bb`` (model
    units), or None. A vertical face in the plane of an edge has both bbox corners on its line."""
    for k in range(len(outline)):
        (ax, ay), (bx, by) = outline[k], outline[(k + 1) % len(outline)]
        length = math.hypot(bx - ax, by - ay)
        if all(abs((bx - ax) * (y - ay) - (by - ay) * (x - ax)) / length < tol
               for x, y in ((bb[0], bb[1]), (bb[3], bb[4]))):
            return k
    return None


def bbox(dim: int, tag: int) -> tuple[float, float, float, float, float, float]:
    """Bounding box (xmin, ymin, zmin, xmax, ymax, zmax) of an entity, model units."""
    return gmsh.model.occ.getBoundingBox(dim, tag)


def surfaces_of(volume: int) -> set[int]:
    """Surface tags bounding an OCC volume."""
    return {abs(t) for _, t in gmsh.model.getBoundary([(3, volume)], combined=False, oriented=False)}


def name_boundaries(regions: Mapping[str, tuple[int, ...]],
                    outer: Callable[[str, tuple[float, ...]], str],
                    features: tuple[Feature, ...] = (),
                    aliases: Mapping[str, str] | None = None) -> tuple[dict[str, tuple[int, ...]],
                                                                  tuple[tuple[int, ...], ...]]:
    """Name every surface of the model (the OCC model must be synchronised).

    Parameters
    ----------
    regions : mapping
        Region name -> volume tags (must contain ``electrolyte``).
    outer : callable
        ``outer(region, bbox) -> name`` for a surface that bounds only ``region`` (or that lies
        between two regions that are not electrolyte|electrode).
    features : tuple of Feature
        The interface surfaces of each feature are returned in the same order.
    aliases : mapping, optional
        Region -> electrode whose interface a surface between that region and the electrolyte is
        (a film collapsed onto the surface of ``silicon`` makes electrolyte|silicon the anode interface).

    Returns
    -------
    boundaries : dict
        Boundary name -> surface tags.
    feature_surfaces : tuple
        Interface surfaces of every feature.
    """
    owner: dict[int, list[str]] = {}
    for region, vols in regions.items():
        for v in vols:
            for s in surfaces_of(v):
                owner.setdefault(s, []).append(region)
    aliases = dict(aliases or {})
    names: dict[str, list[int]] = {}
    for s, regs in sorted(owner.items()):
        regs_set = set(regs)
        if "electrolyte" in regs_set and len(regs_set) == 2:
            (other,) = regs_set - {"electrolyte"}
            electrode = aliases.get(other, other)
            if electrode not in ELECTRODES:
                raise GeometryError(f"surface {s} lies between the electrolyte and {other}, "
                                    "which is not an electrode")
            name = f"{electrode}_interface"
        elif len(regs) == 1:
            name = outer(regs[0], bbox(2, s))
        elif len(regs) == 2 and len(regs_set) == 1:
            name = "internal"  # between two volumes of one region (pieces of crossing grid lines)
        elif len(regs_set) == 2:
            name = "_".join(sorted(regs_set))  # two solid regions, e.g. cathode_collector
        else:
            raise GeometryError(f"surface {s} lies between regions {sorted(regs_set)}, "
                                "which the model does not allow")
        names.setdefault(name, []).append(s)
    boundaries = {k: tuple(v) for k, v in names.items()}
    feature_surfaces = []
    for f in features:
        iface = set(boundaries.get(f"{f.electrode}_interface", ()))
        own = set().union(*(surfaces_of(v) for v in f.volumes)) if f.volumes else set()
        feature_surfaces.append(tuple(sorted(own & iface)))
    return boundaries, tuple(feature_surfaces)


def collector_boundaries(boundaries: Sequence[str], regions: Sequence[str], electrode: str) -> list[str]:
    """Names of the faces through which an electrode region is wired to its collector.

    They are ``<electrode>_collector`` (the collector face every generator names), ``<electrode>_top``
    (the flat top contact of a conformal stack, z = T) and any face between the electrode and a
    passive conductor region (``silicon``, ``barrier``, ``collector``: ``anode_silicon``,
    ``cathode_collector``), whose conductivity is so much higher than an electrode's that it is
    taken as equipotential.
    """
    passive = {r for r in regions if r not in ("electrolyte", *ELECTRODES)}
    out = []
    for name in boundaries:
        parts = set(name.split("_"))
        if name in (f"{electrode}_collector", f"{electrode}_top") or (
                len(parts) == 2 and electrode in parts and (parts - {electrode}) <= passive):
            out.append(name)
    return sorted(set(out))


def add_physical_groups(regions: Mapping[str, tuple[int, ...]],
                        boundaries: Mapping[str, tuple[int, ...]]) -> None:
    """Create one named physical group per region (3D) and per boundary (2D)."""
    for name, vols in regions.items():
        tag = gmsh.model.addPhysicalGroup(3, list(vols))
        gmsh.model.setPhysicalName(3, tag, name)
    for name, surfs in boundaries.items():
        tag = gmsh.model.addPhysicalGroup(2, list(surfs))
        gmsh.model.setPhysicalName(2, tag, name)


def assert_all_tagged() -> None:
    """Every volume in exactly one physical group and every surface in exactly one; else raise."""
    for dim, what in ((3, "volume"), (2, "surface")):
        count: dict[int, int] = {tag: 0 for _, tag in gmsh.model.getEntities(dim)}
        for _, ptag in gmsh.model.getPhysicalGroups(dim):
            for e in gmsh.model.getEntitiesForPhysicalGroup(dim, ptag):
                count[int(e)] += 1
        bad = {t: c for t, c in count.items() if c != 1}
        if bad:
            raise GeometryError(f"{what}s not in exactly one physical group: {bad}")


def finish(architecture: str, domain: Domain, regions: Mapping[str, list[int] | tuple[int, ...]],
           outer: Callable[[str, tuple[float, ...]], str], features: tuple[Feature, ...],
           footprint_area_m2: float, singular_edges: bool,
           outline_m: Sequence[tuple[float, float]], mirror_edges: Sequence[bool] | bool,
           aliases: Mapping[str, str] | None = None, layers: tuple[LayerRecord, ...] = (),
           translations_m: Sequence[tuple[float, float]] = ()) -> Geometry:
    """Synchronise, name, tag and check a model; return its :class:`Geometry` record.

    ``mirror_edges`` is one flag per outline edge, or one flag for all of them. A periodic cell
    names its lateral faces ``periodic`` and gives its lattice ``translations_m`` (metres).
    """
    outline = tuple((float(x), float(y)) for x, y in outline_m)
    if isinstance(mirror_edges, bool):
        mirror_edges = (mirror_edges,) * len(outline)
    if len(mirror_edges) != len(outline):
        raise GeometryError("one mirror flag per outline edge is needed")
    gmsh.model.occ.synchronize()
    regions_t = {k: tuple(sorted(v)) for k, v in regions.items() if len(v)}
    boundaries, feature_surfaces = name_boundaries(regions_t, outer, features, aliases)
    add_physical_groups(regions_t, boundaries)
    assert_all_tagged()
    return Geometry(architecture=architecture, domain=domain,
                    regions=MappingProxyType(regions_t), boundaries=MappingProxyType(boundaries),
                    features=features, footprint_area_m2=footprint_area_m2,
                    singular_edges=singular_edges, outline_m=outline,
                    mirror_edges=tuple(bool(m) for m in mirror_edges), feature_surfaces=feature_surfaces,
                    layers=layers, translations_m=tuple((float(x), float(y)) for x, y in translations_m))
