"""Command line: ``mb3d run | validate | list | describe | materials``.

Exit codes: 0 success; 2 bad input (one line on stderr naming the key, the value and the rule; no
output written); 1 a failure while running (geometry kernel, mesher, solver, a crash in native code),
also one line, and for ``mb3d doe`` also when any case of the study failed; 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def headline(record: Any) -> Table:
    """The headline metrics of a results record as a table."""
    g, s, m = record["geometry"], record["solution"], record["mesh"]
    t = Table(title=escape(f"{record['case']['name']}  ({record['architecture']}, {record['case']['domain']})"),
              show_header=True, header_style="bold")
    t.add_column("metric")
    t.add_column("anode", justify="right")
    t.add_column("cathode", justify="right")
    t.add_row("interface area gain", _fmt(g["area_gain"]["anode"]), _fmt(g["area_gain"]["cathode"]))
    t.add_row("capacity by electrode (uAh/cm2)", _fmt(g["capacity_by_electrode_uAh_cm2"]["anode"]),
              _fmt(g["capacity_by_electrode_uAh_cm2"]["cathode"]))
    cd = s.get("current_density_mA_cm2")     # a plug-in model may report other quantities
    if isinstance(cd, dict) and "anode" in cd:
        t.add_row("mean current density (mA/cm2)", _fmt(cd["anode"]["mean"]), _fmt(cd["cathode"]["mean"]))
        t.add_row("cov of current density", _fmt(cd["anode"]["cov"]), _fmt(cd["cathode"]["cov"]))
        t.add_row("p95/p05 of current density", _fmt(cd["anode"]["p95_over_p05"]),
                  _fmt(cd["cathode"]["p95_over_p05"]))
    extra = _model_rows(s)
    for label, a, c in extra:
        if c is not None:
            t.add_row(label, _fmt(a), _fmt(c))
    if "edge_over_interior_current" in s:
        r = s["edge_over_interior_current"]
        t.add_row("edge / interior pillar current", _fmt(r.get("anode")), _fmt(r.get("cathode")))
    t.add_section()
    rows = [
        ("footprint (um2)", g["footprint_area_um2"]),
        ("capacity (uAh/cm2)", g["capacity_uAh_cm2"]),
        ("energy (uWh/cm2)", g["energy_uWh_cm2"]),
        ("current (A)", s.get("current_A")),
        ("ASR (ohm cm2)", s.get("asr_ohm_cm2")),
        ("planar-equivalent ASR (ohm cm2)", (s.get("planar_equivalent") or {}).get("asr_ohm_cm2")),
        ("ASR gain vs planar", s.get("asr_gain_vs_planar")),
        ("tetrahedra / DOFs", f"{m['n_tetrahedra']} / {m['n_dofs']} (P{m['element_order']})"),
        ("wall time (s)", record["timing_s"]["total"]),
    ]
    rows[3:3] = [(label, a) for label, a, c in extra if c is None]
    if g.get("transparency_fraction", 0):
        rows.insert(3, ("transparency", g["transparency_fraction"]))
        rows.insert(4, ("opaque features (um)", f"{_fmt(g['smallest_opaque_feature_um'])} to "
                                                f"{_fmt(g['largest_opaque_feature_um'])}"))
        rows.insert(5, ("invisible beyond (cm)", g["invisible_at_distance_cm"]))
    for name, v in rows:
        if v is not None:            # a model without the quantity (the transient model has no ASR)
            t.add_row(name, _fmt(v), "")
    return t


def _model_rows(solution: Any) -> list[tuple[str, Any, Any]]:
    """The model's own rows for the summary table (:attr:`mb3d.models.Model.headline`)."""
    from . import models  # noqa: PLC0415

    try:
        model = models.get(str(solution.get("model")))
    except KeyError:
        return []
    return list(model.headline(solution)) if model.headline is not None else []


def _load(args: argparse.Namespace):
    from .case import load_case_file  # noqa: PLC0415

    return load_case_file(args.case, args.set)


def _run_work(case: Any, staging: Path, verbose: bool, images: bool, stage) -> tuple[dict, str | None]:
    """What ``mb3d run`` does in its child process: the pipeline, then every output into ``staging``."""
    from .outputs import _clean, write_outputs, write_report  # noqa: PLC0415
    from .pipeline import run_case  # noqa: PLC0415

    result = run_case(case, verbose=verbose, progress=stage)
    stage("outputs")
    write_outputs(result, staging)
    if images:
        stage("images")
    _, note = write_report(result, staging, images=images)
    return _clean(result.record), note


def cmd_run(args: argparse.Namespace) -> int:
    import shutil  # noqa: PLC0415

    from . import isolate  # noqa: PLC0415
    from .outputs import commit_outputs, staging_dir  # noqa: PLC0415

    case = _load(args)
    out_dir = Path(args.out) if args.out else Path("out") / case.name
    staging = staging_dir(out_dir)
    try:
        child = isolate.start(_run_work, case, staging, args.verbose, args.images)
        t0 = time.perf_counter()
        if args.quiet or args.json:
            record, note = child.wait()
        else:
            name = escape(case.name)
            with err.status(f"[bold]{name}[/]: starting") as status:
                def progress(stage: str) -> None:
                    status.update(f"[bold]{name}[/]: {stage} ({time.perf_counter() - t0:.1f} s)")
                record, note = child.wait(on_stage=progress)
        commit_outputs(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if note:
        print(f"warning: report.html has no 3D images: {note}", file=sys.stderr)
    if args.json:
        files = sorted(str(p.relative_to(out_dir)) for p in Path(out_dir).rglob("*") if p.is_file())
        print(json.dumps({"out_dir": str(out_dir), "files": files, "record": record}, default=str))
        return 0
    if not args.quiet:
        out.print(headline(record))
        if record["solution"].get("singular_edges"):
            out.print("[yellow]note:[/] sharp electrode edges: the primary current density is singular "
                      "there; max, max/min and cov do not converge under refinement (percentiles, current "
                      "and ASR do).")
    extra = "".join(f", {n}" for n in ("timeseries.csv", "ragone.csv", "solution.pvd")
                    if (Path(out_dir) / n).exists() and record["solution"].get("model") == "transient")
    out.print(f"wrote {escape(str(out_dir))}/: results.json, solution.vtu, solution.vtm (regions/), "
              f"interfaces.vtu{extra}", soft_wrap=True)
    out.print(f"report: {escape(str(out_dir / 'report.html'))}", soft_wrap=True)
    return 0


def cmd_doe(args: argparse.Namespace) -> int:
    from . import doe  # noqa: PLC0415

    study = doe.load_study(args.study)
    out_dir = Path(args.out) if args.out else Path("out") / study.name
    lock = doe.StudyLock(out_dir)          # folder, lock and store checked before the progress bar
    try:
        return _doe(args, study, out_dir, lock)
    finally:
        lock.release()


def _doe(args: argparse.Namespace, study: Any, out_dir: Path, lock: Any) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    from . import doe  # noqa: PLC0415
    from .outputs import atomic_write  # noqa: PLC0415
    from .summary import summary_html  # noqa: PLC0415

    finished = len({p.case_hash for p in study.points} & _stored(out_dir, args.retry_failed))
    failed = 0
    with Progress(TextColumn(f"[bold]{escape(study.name)}[/]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed"), TimeRemainingColumn(), console=err,
                  disable=args.quiet) as bar:
        task = bar.add_task("cases", total=len(study.points), failed=0)

        def on_row(row: dict, done: int, total: int) -> None:
            nonlocal failed
            failed += row["status"] != "ok"
            bar.update(task, completed=done, failed=failed)

        bar.update(task, completed=finished)
        interrupted = False
        try:
            counts = doe.run_study(study, out_dir, workers=args.workers, scheduler=args.scheduler,
                                   case_timeout=args.case_timeout, on_row=on_row,
                                   retry_failed=args.retry_failed, connect_timeout=args.connect_timeout,
                                   lock=lock, images=args.images)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, lambda *_: os._exit(130))   # a second Ctrl-C: out at once
            interrupted = True
    if interrupted:
        print(f"interrupted: finished cases are in {out_dir}/results.sqlite; run the same command to "
              "resume", file=sys.stderr)
        # the store is closed and the cases killed: leave now, so that a further Ctrl-C cannot land in
        # the interpreter's shutdown (where Python no longer handles it and dies of SIGINT)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    rows = doe.table(out_dir, study.model.responses)
    atomic_write(out_dir / "summary.html", lambda p: p.write_text(summary_html(study, rows), encoding="utf-8"))
    mine = {p.case_hash for p in study.points}
    rows = [r for r in rows if r["case_hash"] in mine]
    not_ok = [r for r in rows if r["status"] != "ok"]
    out.print(escape(f"{study.name}: {counts['total']} cases ({counts['skipped']} already done, {counts['ok']} ok, "
                     f"{counts['failed']} failed now; {study.dropped} dropped by constraints) -> "
                     f"{out_dir}/results.sqlite, summary.html"))
    ran = counts["ok"] + counts["failed"]
    if ran:
        out.print(f"mesh cache: {counts['mesh_cache_hits']} of {ran} cases reused a mesh "
                  f"({counts['mesh_cache_hits'] / ran:.0%})")
    for r in not_ok:
        out.print(f"[red]failed[/] case {r['index']}: {escape(str(r['error']))}")
    if not_ok and not args.retry_failed and counts["failed"] < len(not_ok):
        out.print("failed cases of earlier runs are kept; --retry-failed runs them again")
    if args.export:
        out.print(escape(f"wrote {doe.export(out_dir, args.export)}"))
    if args.top:
        best, by = doe.top(out_dir, args.top, args.by)
        t = Table(title=f"top {args.top} by {by}", header_style="bold")
        cols = ["index", *study.model.factors, *[c for c in study.model.responses if c in (best[0] if best else {})]]
        if best and by not in cols:
            cols.append(by)
        for c in cols:
            t.add_column(escape(c.split(".", 1)[-1] if "." in c else c))
        for r in best:
            t.add_row(*(escape(_fmt(r.get(c))) for c in cols))
        out.print(t)
    return 1 if not_ok else 0


def cmd_optimize(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    from . import doe, optimize  # noqa: PLC0415
    from .case import CaseError  # noqa: PLC0415

    opt = optimize.load_optimization(args.study)
    if args.export and Path(args.export).suffix not in (".csv", ".parquet"):
        raise CaseError(f"--export {args.export}: the file must end in .csv or .parquet")
    out_dir = Path(args.out) if args.out else Path("out") / opt.name
    lock = doe.StudyLock(out_dir)
    try:
        with Progress(TextColumn(f"[bold]{escape(opt.name)}[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[failed]} failed, best {task.fields[best]}"), TimeRemainingColumn(),
                      console=err, disable=args.quiet) as bar:
            task = bar.add_task("trials", total=opt.spec.trials, failed=0, best="-")
            best: list[float | None] = [None]

            def on_trial(p: Any) -> None:
                if p.values is not None and len(p.values) == 1:
                    v = p.values[0]
                    better = best[0] is None or (v < best[0] if opt.directions[0] == "minimize" else v > best[0])
                    best[0] = v if better else best[0]
                bar.update(task, completed=p.done, failed=p.failed,
                           best="-" if best[0] is None else f"{best[0]:.4g}")

            study = optimize.run_optimization(opt, out_dir, workers=args.workers, scheduler=args.scheduler,
                                              case_timeout=args.case_timeout, on_trial=on_trial,
                                              connect_timeout=args.connect_timeout, lock=lock)
        if args.export:
            out.print(escape(f"wrote {optimize.export_trials(study, args.export)}"), soft_wrap=True)
        try:
            paths = optimize.write_results(opt, study, out_dir)
        except optimize.NoFeasibleDesign as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    finally:
        lock.release()
    best_trials = optimize.best_trials(opt, study)
    for line in optimize.summary_lines(opt, best_trials):
        out.print(escape(line), soft_wrap=True)
    shown = [p for p in paths if p.parent == out_dir] + ([out_dir / "pareto"] if len(best_trials) > 1 else [])
    out.print(escape(f"wrote {out_dir}/: " + ", ".join(p.name + ("/" if p.is_dir() else "") for p in shown)),
              soft_wrap=True)
    return 0


def _stored(out_dir: Path, ok_only: bool) -> set[str]:
    """Hashes already in the study's store (read only; a missing store is empty)."""
    from .doe import Store  # noqa: PLC0415

    if not (out_dir / "results.sqlite").exists():
        return set()
    s = Store(out_dir / "results.sqlite")
    try:
        return s.done(ok_only)
    finally:
        s.close()


def _mesh_work(case: Any, stage) -> Any:
    from .pipeline import mesh_only  # noqa: PLC0415

    stage("mesh")
    return mesh_only(case)


def cmd_view(args: argparse.Namespace) -> int:
    from . import views  # noqa: PLC0415

    target = Path(args.target)
    preset = args.preset or ("geometry" if target.suffix in (".yaml", ".yml") else "current")
    if target.is_dir():
        vol, ifc, record = views.load_outputs(target, offscreen=bool(args.screenshot))
        region_ids = record["mesh"]["region_ids"]
        title = f"{record['case']['name']} ({record['architecture']})"
    elif target.suffix in (".yaml", ".yml"):
        if preset != "geometry":
            raise views.ViewError(f"--preset {preset}: a case file has no solution yet; only the geometry "
                                  "preset (run it first for current and potential)")
        from . import isolate  # noqa: PLC0415

        args.case = str(target)
        case = _load(args)
        mesh = isolate.call(_mesh_work, case)      # gmsh in its own process: a crash is one line
        vol, ifc = views.grids_from_arrays(mesh.points_m * 1e6, mesh.tets, mesh.tet_region,
                                           offscreen=bool(args.screenshot))
        region_ids = {n: k for k, n in enumerate(mesh.region_names)}
        title = f"{case.name} ({case.architecture.name}), geometry before solving"
    else:
        raise views.ViewError(f"{target}: neither an output folder nor a case file (.yaml)")
    if args.screenshot:
        views.screenshot(vol, ifc, region_ids, preset, args.screenshot, title=title)
        out.print(escape(f"wrote {args.screenshot} ({preset}, {views.WINDOW[0]} x {views.WINDOW[1]})"))
    else:
        views.show(vol, ifc, region_ids, preset, title=title)
    return 0


def _check_geometry_work(case: Any, stage) -> float:
    from .pipeline import check_geometry  # noqa: PLC0415

    stage("geometry")
    return check_geometry(case)


def cmd_validate(args: argparse.Namespace) -> int:
    import yaml  # noqa: PLC0415

    from . import isolate  # noqa: PLC0415

    case = _load(args)
    line = f"ok: {args.case}: {case.name} ({case.architecture.name}, {case.domain.kind}), case hash {case.hash()[:12]}"
    n = None
    if not args.no_geometry:
        n = isolate.call(_check_geometry_work, case)
        line += f"; about {n:.2g} tetrahedra" + (" (geometry built)" if not case.architecture.implicit else "")
    if args.json:
        print(json.dumps({"ok": True, "case": str(args.case), "name": case.name,
                          "architecture": case.architecture.name, "domain": case.domain.kind,
                          "case_hash": case.hash(), "estimated_tetrahedra": n, "normalized": case.normalized()},
                         default=str))
        return 0
    out.print(escape(line))
    if args.show:
        out.print(escape(yaml.safe_dump(case.normalized(), sort_keys=False)), end="")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    """Copy the example cases shipped with mb3d into a folder (never over an existing file)."""
    from importlib import resources  # noqa: PLC0415

    from .case import CaseError  # noqa: PLC0415

    source = resources.files("mb3d") / "examples"
    names = sorted(p.name for p in source.iterdir() if p.name.endswith(".yaml"))
    target = Path(args.dir)
    clash = [n for n in names if (target / n).exists()]
    if clash:
        raise CaseError(f"examples: {target / clash[0]} exists ({len(clash)} of the {len(names)} files); "
                        "choose an empty or new folder")
    target.mkdir(parents=True, exist_ok=True)
    for n in names:
        (target / n).write_bytes((source / n).read_bytes())
    out.print(f"copied {len(names)} example cases to {escape(str(target))}/; run one with "
              f"mb3d run {escape(str(target / 'interdigitated_pillars_square.yaml'))}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from geom3d import registry  # noqa: PLC0415
    from solvers.materials import library  # noqa: PLC0415

    from . import models  # noqa: PLC0415

    t = Table(title="architectures", header_style="bold")
    t.add_column("name")
    t.add_column("domains")
    t.add_column("summary")
    for a in registry.ARCHITECTURES.values():
        t.add_row(a.name, ", ".join(a.domains), a.summary)
    out.print(t)
    t = Table(title="physics models (physics.model)", header_style="bold")
    t.add_column("name")
    t.add_column("summary")
    for name in models.names():
        t.add_row(name, escape(models.get(name).summary))
    out.print(t)
    lib = library()
    for kind in ("electrolyte", "electrode", "other"):
        names = [n for n, m in lib.items() if m.kind == kind]
        out.print(f"[bold]{kind}s[/]: " + ", ".join(names))
    out.print("details: mb3d describe ARCH|MODEL, mb3d materials [NAME]")
    return 0


def _describe_model(name: str) -> int:
    """``mb3d describe MODEL``: the model's physics keys with units, defaults and valid values."""
    from . import models  # noqa: PLC0415
    from .reference import _rule  # noqa: PLC0415

    model = models.get(name)
    out.print(f"[bold]{name}[/] (physics.model): {escape(model.summary)}")
    t = Table(title="physics keys", header_style="bold")
    for col in ("key", "unit", "default", "valid values", "description"):
        t.add_column(col)
    for key, f in model.spec.model_fields.items():
        if key == "model":
            continue
        unit, rule = _rule(model.spec, key)
        t.add_row(key, unit, "-" if f.default is None else escape(str(f.default)), escape(rule),
                  escape(f.description or ""))
    out.print(t)
    print((sys.modules[model.solve.__module__].__doc__ or "").strip())
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from geom3d import registry  # noqa: PLC0415

    from . import models  # noqa: PLC0415
    from .case import CaseError  # noqa: PLC0415

    if args.architecture in models.names() and args.architecture not in registry.ARCHITECTURES:
        return _describe_model(args.architecture)
    try:
        arch = registry.get(args.architecture)
    except KeyError as exc:
        raise CaseError(f"{args.architecture!r}: neither an architecture ({', '.join(registry.ARCHITECTURES)}) "
                        f"nor a physics model ({', '.join(models.names())})") from exc
    out.print(f"[bold]{arch.name}[/]: {arch.summary}")
    out.print(f"domains: {', '.join(arch.domains)}")
    out.print(f"unit cell: {escape(arch.unit_cell)}")
    t = Table(title="geometry keys", header_style="bold")
    for col in ("key", "unit", "default", "constraint", "description"):
        t.add_column(col)
    for f in arch.params.describe():
        if f.layers:
            default = "; ".join(f"{d['role']} {d['material']} {d['thickness']:g} um" for d in f.default)
        else:
            default = "(see description)" if f.default is None else _fmt(f.default, 6)
        t.add_row(f.name, f.unit or "-", escape(default), escape(f.rule), escape(f.doc))
    out.print(t)
    print(arch.doc.strip())
    return 0


def cmd_materials(args: argparse.Namespace) -> int:
    from solvers.materials import PROPERTIES, library  # noqa: PLC0415
    from .case import CaseError  # noqa: PLC0415

    lib = library()
    if args.name:
        if args.name not in lib:
            raise CaseError(f"material = {args.name!r}: unknown; known: {', '.join(lib)}")
        m = lib[args.name]
        out.print(f"[bold]{m.name}[/] ({m.kind}) " + "; ".join(f"{k}: {v}" for k, v in m.info.items()))
        t = Table(header_style="bold")
        for col in ("property", "value", "unit", "source"):
            t.add_column(col, overflow="fold")
        shown = m.display()
        for k, v in shown.items():
            t.add_row(k, _fmt(v, 6), PROPERTIES[m.kind][k][0] or "-", m.sources.get(k, "default"))
        out.print(t)
        return 0
    for kind in ("electrolyte", "electrode", "other"):
        # the numbers only: curves, windows and flags (ocp, stoichiometry, reservoir) are in `mb3d materials NAME`
        keys = [k for k, p in PROPERTIES[kind].items() if getattr(p, "numeric", True)]
        t = Table(title=f"{kind}s (units: " + ", ".join(f"{k} {PROPERTIES[kind][k][0] or '-'}" for k in keys)
                  + ")", header_style="bold")
        t.add_column("name")
        for k in keys:
            t.add_column(k.replace("_", " "), justify="right")
        for m in lib.values():
            if m.kind == kind:
                d = m.display()
                t.add_row(m.name, *(_fmt(d.get(k), 4) for k in keys))
        out.print(t)
    out.print("sources: mb3d materials NAME")
    return 0


def study_args(sp: argparse.ArgumentParser, out_help: str) -> None:
    """The options mb3d doe and mb3d optimize share: where, how many at once, on what, how long."""
    sp.add_argument("--out", help=out_help)
    sp.add_argument("--workers", type=int, help="cases at once on this machine (default: the core count)")
    sp.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run the cases on this Dask scheduler instead")
    sp.add_argument("--case-timeout", type=float, metavar="S",
                    help="kill a case's process after S seconds and record it as failed")
    sp.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                    help="seconds to wait for the Dask scheduler (default 10)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mb3d", description="Design 3D all-solid-state thin-film microbatteries.")
    p.add_argument("--version", action="version", version=f"mb3d {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def case_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("case", help="case YAML file")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a case key, e.g. --set geometry.pitch=40 --set 'physics.voltage=0.2 V'")

    r = sub.add_parser("run", help="run a case: results.json, VTK files for ParaView, report.html")
    case_args(r)
    r.add_argument("--out", help="output folder (default out/<name>/)")
    r.add_argument("--verbose", action="store_true", help="show gmsh's log")
    r.add_argument("--quiet", action="store_true", help="no progress and no table")
    r.add_argument("--json", action="store_true",
                   help="print one JSON object (output folder, files, the results record) instead of the table; "
                        "errors stay one line on stderr with exit code 2 (bad input) or 1")
    r.add_argument("--images", action=argparse.BooleanOptionalAction, default=True,
                   help="pictures in report.html (default): three 3D views rendered off screen with VTK (unit "
                        "cells repeated to a few periods), the current density histogram and the transparency "
                        "map; --no-images skips them (about 2 s less)")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check a case without running it")
    case_args(v)
    v.add_argument("--show", action="store_true", help="print the normalised case")
    v.add_argument("--json", action="store_true",
                   help="print one JSON object (name, architecture, domain, case hash, estimated tetrahedra, "
                        "the normalised case) instead of the line")
    v.add_argument("--no-geometry", action="store_true",
                   help="check the case file only; by default the geometry is built too (not meshed) to "
                        "check the element count and, for the secondary model, the current against its "
                        "exact volumes and interface areas")
    v.set_defaults(func=cmd_validate)
    sub.add_parser("list", help="list architectures and materials").set_defaults(func=cmd_list)
    x = sub.add_parser("examples", help="copy the example cases shipped with mb3d into a folder")
    x.add_argument("dir", nargs="?", default="mb3d-examples", help="folder to copy into (default mb3d-examples/)")
    x.set_defaults(func=cmd_examples)
    d = sub.add_parser("describe", help="geometry keys of an architecture, or physics keys of a model")
    d.add_argument("architecture")
    d.set_defaults(func=cmd_describe)
    m = sub.add_parser("materials", help="the materials library, or one material with its sources")
    m.add_argument("name", nargs="?")
    m.set_defaults(func=cmd_materials)
    e = sub.add_parser("doe", help="run a design-of-experiments study (resumable); exit code 0 only when "
                                   "every case is ok, 1 when some failed")
    e.add_argument("study", help="study YAML file (its format: docs/formats/study.md, in the repository and on the docs site)")
    study_args(e, "study folder (default out/<name>/)")
    e.add_argument("--retry-failed", action="store_true", help="run the cases that failed before again")
    e.add_argument("--export", metavar="FILE.csv|FILE.parquet", help="write the results table")
    e.add_argument("--top", type=int, metavar="N", help="print the N best designs")
    e.add_argument("--by", default="solution.asr_ohm_cm2", metavar="KEY",
                   help="response for --top (ascending for ASR, cov and spreads, else descending)")
    e.add_argument("--images", action="store_true",
                   help="also write each case's report.html with its pictures (about 2 s a case)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_doe)
    o = sub.add_parser("optimize", help="find the best design of a study with an optimize: block (Optuna; "
                                        "resumable): best.yaml or pareto/, optimization.html")
    o.add_argument("study", help="study YAML file with an optimize: block (docs/formats/study.md)")
    study_args(o, "study folder (default out/<name>/); optuna.sqlite there continues the study")
    o.add_argument("--export", metavar="FILE.csv|FILE.parquet", help="write every trial to a table")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    o.set_defaults(func=cmd_optimize)
    w = sub.add_parser("view", help="look at a run (output folder) or at a case's geometry (case file)")
    w.add_argument("target", help="output folder of `mb3d run`, or a case YAML file (geometry only)")
    w.add_argument("--screenshot", metavar="FILE.png", help="render off screen to a PNG instead of a window")
    w.add_argument("--preset", choices=("geometry", "current", "potential"),
                   help="what to show (default: current for a run, geometry for a case)")
    w.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a case key")
    w.set_defaults(func=cmd_view, case=None)
    return p


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mb3d`` console script."""
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)   # `kill`: clean up (finally blocks) like Ctrl-C
    from geom3d import GeometryError, ParameterError  # noqa: PLC0415
    from solvers.fem import SolverError, threads  # noqa: PLC0415
    from solvers.units import QuantityError  # noqa: PLC0415
    from .case import CaseError  # noqa: PLC0415
    from . import isolate  # noqa: PLC0415
    from .doe import StudyError  # noqa: PLC0415
    from .views import ViewError  # noqa: PLC0415

    try:
        threads()                 # a bad MB3D_THREADS is bad input, reported before any work
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:       # `mb3d describe planar | head`: the reader left; no traceback, exit 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())    # as rich does for its output
        return 1
    except ViewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (CaseError, ParameterError, QuantityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (GeometryError, SolverError, StudyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except isolate.Failure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
