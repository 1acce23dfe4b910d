"""Trenched or porous silicon with a conformal thin-film stack (seed ref. 21; Notten et al. 2007).

A silicon substrate (the anode-side collector; top face z = 0) is etched with straight trenches
(``feature: trench``, width w along x, running along y) or cylindrical pores (``feature: pore``,
diameter w, square lattice) of ``depth`` D on a ``pitch`` p. A stack of films (``layers``, listed from
the silicon outward: e.g. TiN barrier, Si anode, LiPON, LiCoO2) covers the etched surface and the mesa
tops conformally; ``fill: collector`` fills the rest of the trench up to the top of the stack over the
mesas (z = T, the total stack thickness), ``fill: void`` leaves it empty.

Every film boundary is an exact offset surface: the region within distance d of the silicon,
S(d). Offsetting rounds the convex mesa corners with radius d and keeps the concave trench-bottom
corners sharp. In a cross-section (s across the trench or radially across the pore, a = w/2):

    S(d) boundary: bottom z = -D + d for |s| < a - d, walls |s| = a - d, quarter-circle rims of
    radius d about (|s| = a, z = 0), mesa tops z = d.

Trenches are the extrusion of that profile along y; pores its revolution about the pore axis. Each
film is S(d_out) - S(d_in). Closed forms of the offset surface area per repeat unit (used by the
tests): trench, per unit length, L(d) = p + 2 D - 4 d + pi d; pore, per pore,
A(d) = p^2 - pi a^2 + pi (a-d)^2 + 2 pi (a-d)(D-d) + pi^2 a d - 2 pi d^2 (for d < D and d < a). A
film's volume is the integral of the area over its offsets.

Thin films. A film thinner than ``mesh.thin_layer_limit`` is not meshed: it is collapsed into the
surface where the next meshed region begins (films below the electrolyte into the surface of the
region under them, films above into the surface of the region over them), so every meshed film keeps
its exact geometry (the anode|electrolyte interface is the offset of the silicon by barrier + anode
thickness). Collapsed films keep their exact volume (hence capacity), computed by OpenCASCADE from
their offset solids, and are listed in results.json. Meshing a 50 nm film of a 50 um trench would need
either 10^7 isotropic tetrahedra or anisotropic prisms; the primary model needs neither, since its
solution lives in the electrolyte. The electrolyte is never collapsed.

Regions: ``silicon`` (with the films collapsed onto it), each meshed film by its role (``barrier``,
``anode``, ``electrolyte``, ``cathode``, ``collector``), ``collector`` (the fill). Boundaries:
``anode_interface`` and ``cathode_interface`` (the electrolyte's two faces, whichever region carries a
collapsed electrode), surfaces between two solid regions by both names (``cathode_collector``),
``silicon_bottom`` (back contact, 1 um under the deepest etch), ``<region>_top`` (the flat top
z = T: ``collector_top`` over the trench, ``cathode_top`` over the mesas), ``free_surface`` (the
stack surface inside the trench with ``fill: void``), ``symmetry`` or ``outer``.

Domains: ``unit_cell`` is x in [0, p/2], y in [0, p/2] with the trench centred on x = 0 (mirror
planes all round), or the triangle (0, 0), (p/2, 0), (p/2, p/2) with 1/8 of a pore at the origin.
``array``: nx trenches side by side (trenches run along y, so ``ny`` must be 1; y spans p/2 between
mirror planes), or nx x ny pores, with half a pitch of mesa around them.

The concave corners of the cathode interface at the trench bottom are sharp (the electrolyte occupies
270 degrees there): the primary current density is singular there (``singular_edges`` for D > 0).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import gmsh

from .model import Feature, Geometry, GeometryError, LayerRecord, finish, outline_edge, polygon_area
from .params import Domain, Layer, MODEL_UNIT_M, ParameterError, Params, choice, layers, length

NAME = "trenched_silicon"
SUMMARY = "etched silicon (trenches or pores) with a conformal thin-film stack (Notten et al. 2007)"
BUILD_OPTIONS = ("thin_layer_limit",)
#: the unit cell(s) this architecture models (``mb3d describe``)
UNIT_CELL = "the mirror cell [0, p/2]^2 (half a trench or a quarter of a pore)"

ROLES = ("barrier", "anode", "electrolyte", "cathode", "collector")
ELECTRODES = ("anode", "cathode")
SILICON_BELOW_M = 1e-6  # silicon modelled under the deepest etch

NOTTEN_STACK = (Layer("barrier", "TiN", 50e-9), Layer("anode", "Si", 50e-9),
                Layer("electrolyte", "LiPON", 1e-6), Layer("cathode", "LiCoO2", 1e-6))


@dataclass(frozen=True)
class TrenchedSiliconParams(Params):
    """Geometry of etched silicon with a conformal stack (lengths in metres)."""

    feature: str = choice("trench", ("trench", "pore"), "trench: straight trenches along y; pore: "
                                                        "cylindrical pores on a square lattice")
    width: float = length(10.0, "trench width or pore diameter", rule="< pitch")
    depth: float = length(20.0, "etch depth (0: the flat reference)", rule=">= 0", allow_zero=True)
    pitch: float = length(20.0, "centre distance of neighbouring trenches or pores")
    layers: tuple[Layer, ...] = layers(NOTTEN_STACK, "the stack from the silicon outward: "
                                       "[{role, material, thickness}, ...]",
                                       "roles [barrier] anode|cathode, electrolyte, cathode|anode "
                                       "[collector]; total < width/2")
    fill: str = choice("collector", ("collector", "void"), "what fills the rest of the trench")

    def check(self) -> None:
        w, p = self.width, self.pitch
        if w >= p * (1 - 1e-12):
            plural = "trenches" if self.feature == "trench" else "pores"
            self.fail("width", f"the walls between {plural} would be thinner than zero: width must "
                               f"be < pitch ({self.show('pitch'):g} um)")
        roles = [layer.role for layer in self.layers]
        for i, layer in enumerate(self.layers):
            key = f"geometry.layers[{i}]"
            if layer.role not in ROLES:
                raise ParameterError(f"{key}.role", layer.role, f"one of {', '.join(ROLES)}")
            if not (layer.thickness > 0 and math.isfinite(layer.thickness)):
                raise ParameterError(f"{key}.thickness", layer.thickness / 1e-6, "must be a finite length > 0")
        self._check_order(roles)
        total = self.total_thickness
        if total >= w / 2 * (1 - 1e-12):
            raise ParameterError("geometry.layers", self._summary(),
                                 f"the stack closes the {self.feature}: its total thickness "
                                 f"{total / 1e-6:.6g} um must be < width/2 = {w / 2 / 1e-6:.6g} um")

    def _summary(self) -> str:
        return "[" + ", ".join(f"{layer.role} {layer.thickness / 1e-6:.6g} um" for layer in self.layers) + "]"

    def _check_order(self, roles: list[str]) -> None:
        shown = self._summary()
        for r in ("anode", "electrolyte", "cathode"):
            if roles.count(r) != 1:
                raise ParameterError("geometry.layers", shown, f"needs exactly one {r} layer")
        e = roles.index("electrolyte")
        if e == 0 or e == len(roles) - 1 or {roles[e - 1], roles[e + 1]} != set(ELECTRODES):
            raise ParameterError("geometry.layers", shown, "the electrolyte must lie between the anode "
                                                           "and the cathode, each directly against it")
        for i, r in enumerate(roles):
            if r == "barrier" and i > e:
                raise ParameterError("geometry.layers", shown, "a barrier belongs under the electrodes")
            if r == "collector" and i < e:
                raise ParameterError("geometry.layers", shown, "a collector layer belongs on top")

    def check_build(self, domain: Domain, options: dict[str, float]) -> None:
        limit = options.get("thin_layer_limit", 0.0)
        electrolyte = next(layer for layer in self.layers if layer.role == "electrolyte")
        if electrolyte.thickness < limit:
                raise ParameterError("mesh.thin_layer_limit", limit / 1e-6,
                                 f"the electrolyte ({electrolyte.thickness / 1e-6:.6g} um) is the solved "
                                 "domain and cannot be collapsed: set mesh.thin_layer_limit below it")
        if domain.kind == "array" and self.feature == "trench" and domain.ny != 1:
                raise ParameterError("array.ny", domain.ny, "trenches run along y: use ny: 1 (nx trenches)")
        self.check_resolved(options)

    def check_resolved(self, options: dict[str, float]) -> None:
        """The interface mesh resolves the silicon between the etches and the space the stack leaves
        in them (``options["interface_size"]``, metres). The films are conformal layers, which gmsh
        meshes however thin (``mesh.thin_layer_limit`` decides which are meshed)."""
        plural = "trenches" if self.feature == "trench" else "pores"
        self.require_gap(self.pitch - self.width, "pitch - width", options, f"the silicon between the {plural}")
        if self.depth > 0:
            self.require_gap(self.width - 2 * self.total_thickness, "width - 2 x the stack thickness",
                             options, f"the space the stack leaves in the {plural}")

    def outline(self, domain: Domain) -> list[tuple[float, float]]:
        """Footprint polygon of the modelled cell or array, metres (trench or pore centred on x = 0)."""
        p = self.pitch
        if domain.kind == "unit_cell":
            if self.feature == "trench":
                return [(0.0, 0.0), (p / 2, 0.0), (p / 2, p / 2), (0.0, p / 2)]
            return [(0.0, 0.0), (p / 2, 0.0), (p / 2, p / 2)]
        x0, x1 = -p / 2, (domain.nx - 0.5) * p
        y0, y1 = (0.0, p / 2) if self.feature == "trench" else (-p / 2, (domain.ny - 0.5) * p)
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

    def void_volume(self, domain: Domain) -> float:
        """Volume of the unfilled trench or pore space (``fill: void``; 0 with ``fill: collector``)
        in the modelled domain, m^3: the points farther than the stack thickness T from the silicon,
        below z = T (exact: walls at a - T, bottom at -depth + T, quarter-circle rims of radius T)."""
        a, D, T, p = self.width / 2, self.depth, self.total_thickness, self.pitch
        if self.fill != "void" or D == 0:
            return 0.0
        zb = T - D                           # bottom of the void

        def prim(z: float, k: int) -> float:
            """Antiderivative of (a - sqrt(T^2 - z^2))^k (k = 1 trench half-width, 2 pore radius^2)."""
            root = math.sqrt(max(T * T - z * z, 0.0))
            circ = (z * root + T * T * math.asin(min(z / T, 1.0))) / 2      # integral of sqrt(T^2 - z^2)
            if k == 1:
                return a * z - circ
            return a * a * z - 2 * a * circ + T * T * z - z ** 3 / 3

        k = 1 if self.feature == "trench" else 2
        lo = max(zb, 0.0)
        section = (a - T) ** k * max(-zb, 0.0) + prim(T, k) - prim(lo, k)   # half-width x z, or radius^2 x z
        if self.feature == "trench":      # both halves, over the modelled length p / 2
            per = 2 * section * p / 2
            count = 0.5 if domain.kind == "unit_cell" else domain.nx
        else:
            per = math.pi * section
            count = 1 / 8 if domain.kind == "unit_cell" else domain.nx * domain.ny
        return per * count

    def box(self, domain: Domain) -> tuple[float, float]:
        """Footprint (m^2) and mean meshed height (m) of the modelled cell or array: the silicon
        ``SILICON_BELOW_M`` under the deepest etch up to the top of the stack, minus the unfilled
        trench space of ``fill: void`` (see :meth:`Params.box`)."""
        area = polygon_area(self.outline(domain))
        height = SILICON_BELOW_M + self.depth + self.total_thickness
        return area, height - self.void_volume(domain) / area

    @property
    def total_thickness(self) -> float:
        """Thickness of the whole stack, metres."""
        return sum(layer.thickness for layer in self.layers)

    def regions_and_offsets(self, limit: float) -> tuple[list[str], list[float], dict[str, str], list[bool]]:
        """Meshed regions from the silicon up, the offset where each one after the silicon begins
        (and where the fill begins), interface aliases, and which films are collapsed.

        Returns
        -------
        names : list of str
            ``silicon``, the meshed films by role, then the fill (``collector``) region.
        starts : list of float
            Offset (metres) at which each region after the silicon begins.
        aliases : dict
            Region -> electrode whose collapsed film lies on that region's face to the electrolyte.
        collapsed : list of bool
            Per film.
        """
        ts = [layer.thickness for layer in self.layers]
        cum = [0.0]
        for t in ts:
            cum.append(cum[-1] + t)
        e = [layer.role for layer in self.layers].index("electrolyte")
        collapsed = [t < limit and i != e for i, t in enumerate(ts)]
        names, starts = ["silicon"], []
        last_upper = None
        for i, layer in enumerate(self.layers):
            if collapsed[i]:
                continue
            start = cum[i] if i <= e else last_upper   # films above the electrolyte keep their tops
            names.append(layer.role)
            starts.append(start)
            last_upper = cum[i + 1] if i >= e else None
        names.append("collector")
        starts.append(last_upper)
        aliases = {}
        below, above = self.layers[e - 1], self.layers[e + 1]
        k = names.index("electrolyte")
        if collapsed[e - 1]:
            aliases[names[k - 1]] = below.role
        if collapsed[e + 1]:
            aliases[names[k + 1]] = above.role
        return names, starts, aliases, collapsed


def _profile_face(s0: float, y: float, a: float, d: float, depth: float, ztop: float,
                  half: bool) -> int:
    """Plane face (in the plane y = const) of the open region H(d) around one trench or pore axis
    x = s0, model units: the points farther than d from the silicon, up to ``ztop``. ``half`` gives the
    part x >= s0 (to be revolved), else both sides (to be extruded)."""
    occ = gmsh.model.occ
    zb = -depth + d
    if d == 0:
        right = [(a, -depth), (a, ztop)]
    elif zb < 0:   # bottom, wall, rim, mesa
        right = [(a - d, zb), (a - d, 0.0), (a, d), (a, ztop)]
    else:          # offset deeper than the etch: the bottom meets the rims
        right = [(a - math.sqrt(d * d - zb * zb), zb), (a, d), (a, ztop)]
    if half:
        loop = [(0.0, right[0][1])] + right + [(0.0, ztop)]
    else:
        loop = right + [(-x, z) for x, z in reversed(right)]
    tags = [occ.addPoint(s0 + x, y, z) for x, z in loop]
    centres = {}
    curves = []
    n = len(loop)
    for k in range(n):
        (x1, z1), (x2, z2) = loop[k], loop[(k + 1) % n]
        rim = d > 0 and ((x2, z2) == (a, d) and x1 < a or (x1, z1) == (-a, d) and x2 > -a)
        if rim:
            side = 1.0 if x2 == a else -1.0
            centres.setdefault(side, occ.addPoint(s0 + side * a, y, 0.0))
            curves.append(occ.addCircleArc(tags[k], centres[side], tags[(k + 1) % n]))
        else:
            curves.append(occ.addLine(tags[k], tags[(k + 1) % n]))
    face = occ.addPlaneSurface([occ.addCurveLoop(curves)])
    occ.remove([(0, c) for c in centres.values()])
    return face


def _hole(feature: str, xc: float, yc: float, a: float, d: float, depth: float, ztop: float,
          y0: float, y1: float) -> int:
    """Solid H(d): the points farther than d from the silicon around one trench (spanning y0..y1 and
    beyond) or one pore, model units."""
    occ = gmsh.model.occ
    if feature == "trench":
        face = _profile_face(xc, y0 - 1.0, a, d, depth, ztop, half=False)
        out = occ.extrude([(2, face)], 0, y1 - y0 + 2.0, 0)
    else:
        face = _profile_face(xc, yc, a, d, depth, ztop, half=True)
        out = occ.revolve([(2, face)], xc, yc, 0, 0, 0, 1, 2 * math.pi)
        occ.remove([(2, face)], recursive=True)
    return [t for dim, t in out if dim == 3][0]


def build(p: TrenchedSiliconParams, domain: Domain, thin_layer_limit: float = 0.1e-6) -> Geometry:
    """Draw and tag etched silicon with its conformal stack in the open gmsh session.

    Parameters
    ----------
    p : TrenchedSiliconParams
    domain : Domain
        ``unit_cell`` (mirror cell) or ``array`` (nx trenches, or nx x ny pores).
    thin_layer_limit : float
        Films thinner than this (metres) are collapsed into surfaces (``mesh.thin_layer_limit``).
    """
    p.check_build(domain, {"thin_layer_limit": thin_layer_limit})
    occ = gmsh.model.occ
    s = 1.0 / MODEL_UNIT_M
    a, D, T = p.width / 2 * s, p.depth * s, p.total_thickness * s
    pitch = p.pitch * s
    zbot = -D - SILICON_BELOW_M * s
    names, starts, aliases, collapsed = p.regions_and_offsets(thin_layer_limit)

    outline = [(x * s, y * s) for x, y in p.outline(domain)]
    if domain.kind == "unit_cell":
        if p.feature == "trench":
            centres = [(0.0, pitch / 4)]
            frac = 0.25          # of a p x p piece of trench
        else:
            centres = [(0.0, 0.0)]
            frac = 1 / 8
        mirror: list[bool] | bool = True
    else:
        if p.feature == "trench":
            centres = [(i * pitch, pitch / 4) for i in range(domain.nx)]
            mirror = [True, False, True, False]
        else:
            centres = [(i * pitch, j * pitch) for j in range(domain.ny) for i in range(domain.nx)]
            mirror = False
        frac = 1.0
    ys = [q[1] for q in outline]
    ylo, yhi = min(ys), max(ys)

    def prism(z0: float, z1: float) -> int:
        pts = [occ.addPoint(x, y, z0) for x, y in outline]
        lines = [occ.addLine(pts[k], pts[(k + 1) % len(pts)]) for k in range(len(pts))]
        face = occ.addPlaneSurface([occ.addCurveLoop(lines)])
        return [t for d, t in occ.extrude([(2, face)], 0, 0, z1 - z0) if d == 3][0]

    def offset_solid(d: float) -> int:
        """S(d): everything within d of the silicon, clipped to the cell."""
        slab = prism(zbot, d)
        if D == 0:
            return slab
        holes = [(3, _hole(p.feature, xc, yc, a, d, D, T + 1.0, ylo, yhi)) for xc, yc in centres]
        out, _ = occ.cut([(3, slab)], holes)
        if len(out) != 1:
            raise GeometryError(f"the offset solid at {d:g} um is not one piece")
        return out[0][1]

    # exact film volumes: every film boundary as an offset solid (the collapsed ones only for this)
    cum = [0.0]
    for layer in p.layers:
        cum.append(cum[-1] + layer.thickness * s)
    vol_at = {}
    for d in sorted(set(cum)):
        tag = offset_solid(d)
        vol_at[d] = occ.getMass(3, tag)
        occ.remove([(3, tag)], recursive=True)
    v3 = MODEL_UNIT_M ** 3
    records = tuple(LayerRecord(layer.role, _material_name(layer.material), layer.thickness,
                                (vol_at[cum[i + 1]] - vol_at[cum[i]]) * v3, collapsed[i])
                    for i, layer in enumerate(p.layers))

    # the meshed model: nested offset solids fragmented with the cell
    body = prism(zbot, T)
    solids = [offset_solid(d * s) for d in starts]
    _, children = occ.fragment([(3, body)], [(3, t) for t in solids])
    nested = [{t for _, t in ch} for ch in children[1:]]
    regions: dict[str, list[int]] = {}
    seen: set[int] = set()
    for name, pieces in zip(names, nested):
        new = sorted(pieces - seen)
        regions.setdefault(name, []).extend(new)
        seen |= pieces
    fill = sorted({t for _, t in children[0]} - seen)
    if p.fill == "collector":
        regions.setdefault("collector", []).extend(fill)
    else:
        occ.remove([(3, t) for t in fill], recursive=True)
    tol = 1e-6 * max(pitch, D + T)
    e_above = next(layer.role for layer in p.layers[[x.role for x in p.layers].index("electrolyte") + 1:])

    def outer(region: str, bb: tuple[float, ...]) -> str:
        if bb[5] < zbot + tol:
            return "silicon_bottom"
        if bb[2] > T - tol and bb[5] - bb[2] < tol:
            return f"{region}_top"   # the flat top of the device, z = T
        k = outline_edge(bb, outline, tol)
        if k is not None:
            is_mirror = mirror if isinstance(mirror, bool) else mirror[k]
            return "symmetry" if is_mirror else "outer"
        if region == "electrolyte":   # fill: void and the electrode above collapsed onto this face
            return f"{e_above}_interface"
        return "free_surface"

    features = []
    for k, (xc, yc) in enumerate(centres):
        i, j = k % domain.nx, k // domain.nx
        edge = domain.kind == "array" and (i in (0, domain.nx - 1) or (p.feature == "pore" and j in (0, domain.ny - 1)))
        for e in ELECTRODES:
            features.append(Feature(e, xc * MODEL_UNIT_M, yc * MODEL_UNIT_M, frac, (), edge))
    m = MODEL_UNIT_M
    geo = finish(NAME, domain, regions, outer, tuple(features),
                 polygon_area([(x * m, y * m) for x, y in outline]), D > 0,
                 [(x * m, y * m) for x, y in outline], mirror, aliases, records)
    return dataclasses.replace(geo, feature_surfaces=_feature_surfaces(geo, p.feature, centres, a))


def _material_name(material) -> str:
    if isinstance(material, dict):
        return str(material.get("name", material.get("base", "custom")))
    return str(material)


def _feature_surfaces(geo: Geometry, feature: str, centres, a: float) -> tuple[tuple[int, ...], ...]:
    """Interface surfaces of each trench or pore (those over its etch; mesa tops belong to none)."""
    out = []
    for f in geo.features:
        xc, yc = f.x_m / MODEL_UNIT_M, f.y_m / MODEL_UNIT_M
        mine = []
        for surf in geo.boundaries.get(f"{f.electrode}_interface", ()):
            bb = gmsh.model.occ.getBoundingBox(2, surf)
            cx, cy = (bb[0] + bb[3]) / 2, (bb[1] + bb[4]) / 2
            r = abs(cx - xc) if feature == "trench" else math.hypot(cx - xc, cy - yc)
            half_span = (bb[3] - bb[0]) / 2 if feature == "trench" else max(bb[3] - bb[0], bb[4] - bb[1]) / 2
            if r < a and half_span <= a * 1.000001 and bb[2] < -1e-9:
                mine.append(surf)
        out.append(tuple(sorted(mine)))
    return tuple(out)
