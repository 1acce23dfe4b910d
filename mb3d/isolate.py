"""Run a piece of work in a child process, so that a crash in native code ends as one line.

gmsh (OpenCASCADE), VTK and GEOS are C++ libraries: on a bad input they may raise a Python exception,
or kill the process with a signal (SIGSEGV, SIGABRT) that no ``try`` can catch. :func:`call` starts a
child process that runs the work and reports each stage it enters; the parent waits, relays the
stages to a progress callback and turns every way the child can end into a value or one
:class:`Failure`:

* the work returned: its value (pickled back through a pipe);
* the work raised: the exception's exit code and one-line message (:func:`classify`);
* the child died from a signal: ``SIGSEGV in the mesh stage (gmsh)``, exit code 1;
* the timeout passed: the child is killed, ``timeout after 300 s in the solve stage``.

The child is forked (a few milliseconds: it inherits the imported modules) unless this process has
meshed with gmsh before: gmsh's OpenMP thread pool does not survive a fork and the child would hang
in the mesher (measured), so such a process starts its children from a fork server instead (work
and arguments are then pickled). The children die with their parent (``PR_SET_PDEATHSIG``), and
:func:`close` kills every running child (Ctrl-C in a study). Nothing a child changes in memory
comes back to the parent except its return value.

``MB3D_CRASH_AT=STAGE`` or ``STAGE@LABEL`` (tests only) makes a child kill itself with SIGSEGV when it
enters STAGE (only the child started with that ``label``), to test the crash path without a real
crash.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any


_LIVE: set = set()
_LIVE_LOCK = threading.Lock()
_CLOSED = False


#: what runs in each stage, for crash messages
STAGE_LIBRARY = {"geometry": "OpenCASCADE/gmsh", "mesh": "gmsh", "transparency": "GEOS/shapely",
                 "solve": "the solver", "metrics": "the metrics", "outputs": "writing outputs",
                 "images": "VTK/matplotlib"}


class Failure(Exception):
    """The isolated work failed: ``code`` is the exit code (1 runtime, 2 bad input), ``str()`` one line.

    Attributes
    ----------
    code : int
    stage : str or None
        The last stage the work entered.
    signal : str or None
        The signal's name if the process was killed by one (``SIGSEGV``).
    """

    def __init__(self, code: int, message: str, stage: str | None = None, signal: str | None = None):
        super().__init__(message)
        self.code, self.stage, self.signal = code, stage, signal

    def __reduce__(self):
        return Failure, (self.code, str(self), self.stage, self.signal)


def classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message of an exception raised by mb3d's work.

    Bad input (:class:`~mb3d.case.CaseError`, ``ParameterError``, ``QuantityError``) is code 2; a
    failure of the geometry kernel, mesher or solver code 1; anything else is an internal error, code 1,
    named by its type (``MB3D_DEBUG=1`` re-raises it with its traceback).
    """
    from geom3d import GeometryError, ParameterError  # noqa: PLC0415
    from solvers.fem import SolverError  # noqa: PLC0415
    from solvers.units import QuantityError  # noqa: PLC0415

    from .case import CaseError  # noqa: PLC0415

    if isinstance(exc, Failure):
        return exc.code, str(exc)
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, (CaseError, ParameterError, QuantityError)):
        return 2, first
    if isinstance(exc, (GeometryError, SolverError)):
        return 1, first
    if isinstance(exc, MemoryError):
        return 1, "out of memory; enlarge mesh.size or mesh.interface_size, or lower mesh.max_elements"
    return 1, f"internal error ({type(exc).__name__}: {first}); please report it with the case file"


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(conn: Any, work: Callable, args: tuple, label: str | None, ignore_sigint: bool,
           env: dict[str, str]) -> None:
    _die_with_parent()
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(env)        # a fork server's children have the server's environment
    crash_at = os.environ.get("MB3D_CRASH_AT")
    delay = float(os.environ.get("MB3D_STAGE_DELAY", "0") or 0)   # test hook: slow cases down

    def stage(name: str) -> None:
        conn.send(("stage", name))
        if delay > 0:
            time.sleep(delay)
        if crash_at in (name, f"{name}@{label}"):
            os.kill(os.getpid(), signal.SIGSEGV)

    try:
        value = work(*args, stage=stage)
        conn.send(("ok", value))
    except KeyboardInterrupt:
        os._exit(130)
    except BaseException as exc:  # noqa: BLE001  (every failure becomes a line for the parent)
        if os.environ.get("MB3D_DEBUG"):
            import traceback  # noqa: PLC0415

            traceback.print_exc()
        code, line = classify(exc)
        conn.send(("error", code, line))
    finally:
        conn.close()


def _context() -> Any:
    """fork, or a fork server once this process has meshed with gmsh (see the module docstring)."""
    from geom3d.model import meshed_in_this_process  # noqa: PLC0415

    if not meshed_in_this_process():
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["mb3d.pipeline", "mb3d.outputs"])
    return ctx


def close() -> None:
    """Kill every running child and refuse to start new ones until :func:`reopen` (a study that was
    interrupted: its threads may be about to start their next case)."""
    global _CLOSED
    with _LIVE_LOCK:
        _CLOSED = True
        procs = list(_LIVE)
    for proc in procs:
        if proc.is_alive():
            proc.kill()


def reopen() -> None:
    """Allow children again after :func:`close`."""
    global _CLOSED
    with _LIVE_LOCK:
        _CLOSED = False


def _crash_message(exitcode: int, stage: str | None) -> tuple[str, str | None]:
    where = f" in the {stage} stage ({STAGE_LIBRARY.get(stage, stage)})" if stage else ""
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = "; a native library crashed on this design"
        if stage in ("geometry", "mesh"):
            hint += ": try another mesh.interface_size or mesh.size, or avoid features far smaller than the cell"
        if name == "SIGKILL":
            hint = "; killed from outside, or out of memory (lower mesh.max_elements or coarsen the mesh)"
        return f"the process was killed by {name}{where}{hint}", name
    return f"the process exited with code {exitcode}{where} without a result", None


class Child:
    """A forked child process running one piece of work (:func:`start`); :meth:`wait` for its value.

    Forking before a progress display starts its thread keeps the child free of the display's locks.
    """

    def __init__(self, work: Callable[..., Any], args: tuple, label: str | None = None,
                 ignore_sigint: bool = False):
        ctx = _context()
        self._recv, send = ctx.Pipe(duplex=False)
        env = {k: v for k, v in os.environ.items() if k.startswith("MB3D_")}
        self.process = ctx.Process(target=_child, args=(send, work, args, label, ignore_sigint, env), daemon=True)
        with _LIVE_LOCK:
            if _CLOSED:
                self._recv.close()
                send.close()
                raise Failure(130, "interrupted before it started")
            # A Dask worker is a daemonic process, and multiprocessing refuses children there (they
            # could outlive it); ours die with their parent (PR_SET_PDEATHSIG), so lift the rule
            # while starting one.
            config = multiprocessing.current_process()._config
            daemon = config.pop("daemon", None)
            try:
                self.process.start()
            finally:
                if daemon is not None:
                    config["daemon"] = daemon
            _LIVE.add(self.process)
        send.close()
        self.stage: str | None = None

    def wait(self, on_stage: Callable[[str], None] | None = None, timeout: float | None = None) -> Any:
        """The work's value; see :func:`call` for the parameters and what is raised."""
        proc, start = self.process, time.monotonic()
        try:
            while True:
                if timeout is not None and time.monotonic() - start > timeout:
                    proc.kill()
                    where = f" in the {self.stage} stage" if self.stage else ""
                    raise Failure(1, f"timeout after {timeout:g} s{where}", self.stage, "timeout")
                msg = self._next()
                if msg is None:
                    continue
                if msg[0] == "stage":
                    self.stage = msg[1]
                    if on_stage is not None:
                        on_stage(self.stage)
                elif msg[0] == "ok":
                    return msg[1]
                elif msg[0] == "error":
                    raise Failure(msg[1], msg[2], self.stage)
                else:   # the child ended without a result
                    break
            proc.join()
            if proc.exitcode == 130:
                raise KeyboardInterrupt
            line, sig = _crash_message(proc.exitcode, self.stage)
            raise Failure(1, line, self.stage, sig)
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join()
            self._recv.close()
            with _LIVE_LOCK:
                _LIVE.discard(proc)

    def _next(self) -> tuple | None:
        """The next message, None if none yet, ``("end",)`` once the child is gone."""
        if self._recv.poll(0.05):
            try:
                return self._recv.recv()
            except EOFError:
                return ("end",)
        if not self.process.is_alive() and not self._recv.poll(0):
            return ("end",)
        return None


def start(work: Callable[..., Any], *args: Any, label: str | None = None, ignore_sigint: bool = False) -> Child:
    """Start a child process that runs ``work(*args, stage=report)``; see :func:`call`.

    ``label`` names the work for the ``MB3D_CRASH_AT`` test hook; ``ignore_sigint`` leaves Ctrl-C to
    the parent (a study kills its cases itself)."""
    return Child(work, args, label, ignore_sigint)


def call(work: Callable[..., Any], *args: Any, on_stage: Callable[[str], None] | None = None,
         timeout: float | None = None, label: str | None = None, ignore_sigint: bool = False) -> Any:
    """Run ``work(*args, stage=report)`` in a forked child process and return its value.

    Parameters
    ----------
    work : callable
        Called in the child with ``args`` and a keyword ``stage``: a function the work calls with the
        name of each stage it enters. Its return value must pickle.
    on_stage : callable, optional
        Called in the parent with each stage name as the child reports it.
    timeout : float, optional
        Seconds after which the child is killed (works inside native code).
    label, ignore_sigint
        See :func:`start`.

    Returns
    -------
    Any
        What ``work`` returned.

    Raises
    ------
    Failure
        With the exit code and one line: an exception in the work, a signal, or the timeout.
    KeyboardInterrupt
        After killing the child.
    """
    return start(work, *args, label=label, ignore_sigint=ignore_sigint).wait(on_stage, timeout)
