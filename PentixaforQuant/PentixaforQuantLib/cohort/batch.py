"""The cohort batch: every study of a manifest through ``quantify``, in local processes or on a Dask cluster.

Each task reads its study, measures it and writes its outputs into ``OUT/studies/<folder>/`` (atomically, by
``quantify``); only a small result (the measurements, warnings, timings) travels back. Beside each finished
folder the task then writes ``<folder>.done.json`` (atomically): the fingerprint of the study's inputs and
parameters and the SHA-256 of the folder's ``study.json``. A rerun trusts a study only when that record exists,
its fingerprint equals the one of the current inputs and parameters, and the folder's ``study.json`` is the one it
names; anything else is recomputed. A task deletes the record before it starts, so an interrupted rerun can never
leave an old record vouching for a new, partial or different folder.

The run then writes ``cohort.csv``, ``failures.csv`` and ``cohort.json`` (the run's parameters) atomically.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..outputs.atomic import MARKER, write_file_atomically
from ..outputs.json_text import json_text
from .table import COHORT_COLUMNS, EXCLUDE_COLUMN, MEASUREMENT_KEYS, cohort_csv_text, manifest_row

__all__ = ["StudyTask", "StudyOutcome", "Failure", "BatchResult", "study_fingerprint", "run_study", "run_batch", "ProgressBar",
           "COHORT_FILE", "FAILURES_FILE", "RUN_FILE", "STUDIES_FOLDER", "EXIT_SOME_FAILED"]

COHORT_FILE = "cohort.csv"
FAILURES_FILE = "failures.csv"
RUN_FILE = "cohort.json"
STUDIES_FOLDER = "studies"
DONE_SUFFIX = ".done.json"
#: Exit status of ``batch`` when the cohort table was written but at least one study failed.
EXIT_SOME_FAILED = 3
#: How often a study is started again after the process running it died (killed, out of memory).
MAX_ATTEMPTS = 2


@dataclass
class StudyOutcome:
    """What running one study gave: ``status`` "done" (``measurements``: the cohort measurement keys, with the
    study's warnings and site errors) or "failed" (``error``: its one-line reason); ``skipped`` when an unchanged
    earlier result was kept; the worker's timings (s) and peak memory (MB)."""

    study_id: str
    status: str
    measurements: dict | None = None
    warnings: str = ""
    site_errors: str = ""
    error: str = ""
    skipped: bool = False
    timings: dict = field(default_factory=dict)
    max_rss_mb: float | None = None
    worker_pid: int | None = None

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def failed(cls, study_id: str, why: str, **extra) -> StudyOutcome:
        return cls(study_id, "failed", error=why, **extra)


@dataclass(frozen=True)
class Failure:
    """A study that failed, as ``failures.csv`` lists it."""

    study_id: str
    line: int
    error: str


@dataclass(frozen=True)
class StudyTask:
    """Everything a worker needs for one study (small and picklable)."""

    study_id: str
    folder: str
    dicom: str
    points: str
    normalization: str
    series_uid: str | None
    overrides: dict
    parameters: dict
    studies_dir: str
    figure: bool
    bundle: bool
    fingerprint: str

    @property
    def out_dir(self) -> Path:
        return Path(self.studies_dir) / self.folder

    @property
    def done_file(self) -> Path:
        return Path(self.studies_dir) / f"{self.folder}{DONE_SUFFIX}"


def _sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def study_fingerprint(dicom, points, *, normalization, series_uid, overrides, parameters: dict, figure,
                      bundle=True) -> str:
    """SHA-256 over what decides a study's outputs: the DICOM files (relative name, size, modification time), the
    points file's content, the SUV normalisation, series choice and overrides, the protocol parameters, whether the
    picture and the scene bundle are written, and the library version."""
    root = Path(dicom)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    listing = [[str(p.relative_to(root)), st.st_size, st.st_mtime_ns] for p, st in ((p, p.stat()) for p in files)]
    doc = {
        "version": __version__, "dicom": listing, "points": _sha256_file(points), "normalization": normalization,
        "series_uid": series_uid, "overrides": {k: str(v) for k, v in sorted(overrides.items())},
        "parameters": parameters, "figure": bool(figure), "bundle": bool(bundle),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _one_line(exc: BaseException) -> str:
    from ..errors import PentixaforQuantError

    if isinstance(exc, MemoryError):
        return "out of memory"
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    if isinstance(exc, PentixaforQuantError):
        return text or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _max_rss_mb() -> float | None:
    """Peak resident memory of this process in MB (Linux: VmHWM, which starts afresh in a spawned process;
    ``ru_maxrss`` would carry over the parent's size across the exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 / 1024.0 if sys.platform == "darwin" else rss / 1024.0


def run_study(task: StudyTask) -> StudyOutcome:
    """Run one study (in a worker): ``quantify`` into its folder, then its done record. Never raises for a
    study's own problem: a failure comes back as ``status = "failed"`` with its one-line reason."""
    from ..measure.protocol import ProtocolParameters
    from ..outputs.cohort_row import cohort_row as study_cohort_row
    from ..scene.headless import HeadlessSlicer
    from ..scene.quantify import quantify
    from ..suv import SUVOverrides

    start, cpu_start = time.perf_counter(), time.process_time()
    task.done_file.unlink(missing_ok=True)
    timings: dict = {}
    # A scene of its own, emptied at the end: a worker runs study after study, and the last study's volume must
    # not stay alive (through the global slicer.mrmlScene) while the next one is read.
    headless = HeadlessSlicer.create(install_globals=False)
    try:
        parameters = ProtocolParameters.from_dict(task.parameters)
        study, doc, paths = quantify(task.dicom, task.points, task.out_dir, parameters,
                                     normalization=task.normalization, overrides=SUVOverrides(**task.overrides),
                                     series_uid=task.series_uid, figure=task.figure, bundle=task.bundle,
                                     scene=headless.scene, timings=timings)
        row = study_cohort_row(study, study_id=task.study_id)  # the panel's "Add study to cohort" row, too
        record = {
            "study_id": task.study_id, "fingerprint": task.fingerprint,
            "study_json_sha256": _sha256_file(paths["study.json"]),
            "measurements": {k: row[k] for k in MEASUREMENT_KEYS}, "warnings": row["warnings"] or "",
            "site_errors": row["error"] or "", "timings": timings,
        }
        write_file_atomically(task.done_file, json_text(record, indent=1))
        result = StudyOutcome(task.study_id, "done", record["measurements"], record["warnings"],
                              record["site_errors"])
    except Exception as exc:  # a study's failure is recorded, the batch goes on
        result = StudyOutcome.failed(task.study_id, _one_line(exc))
    finally:
        headless.scene.Clear(1)
        del headless
    timings["total_s"] = time.perf_counter() - start
    timings["cpu_s"] = time.process_time() - cpu_start  # this process's CPU time (all its threads)
    result.timings, result.max_rss_mb, result.worker_pid = timings, _max_rss_mb(), os.getpid()
    return result


def _trusted_record(task: StudyTask) -> dict | None:
    """The done record of a complete, unchanged earlier result, else None."""
    try:
        record = json.loads(task.done_file.read_text(encoding="utf-8"))
        if record.get("fingerprint") != task.fingerprint:
            return None
        if not (task.out_dir / MARKER).is_file():
            return None
        if _sha256_file(task.out_dir / "study.json") != record.get("study_json_sha256"):
            return None
        return record
    except (OSError, ValueError, AttributeError):
        return None


class ProgressBar:
    """A one-line progress report on a text stream: studies done, failed, rate and time left.

    On a terminal the line is redrawn in place; otherwise (a log file) a line is written at most every
    ``interval_s`` seconds and at the end.
    """

    def __init__(self, total: int, stream=None, *, interval_s: float = 10.0, width: int = 24):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self.width = width
        self.start = time.monotonic()
        self.last = -1e9
        self.done = self.failed = self.skipped = 0

    def line(self) -> str:
        finished = self.done + self.failed + self.skipped
        filled = int(self.width * finished / self.total) if self.total else self.width
        elapsed = time.monotonic() - self.start
        ran = self.done + self.failed
        rate = ran / elapsed * 60.0 if elapsed > 0 and ran else 0.0
        left = self.total - finished
        if left == 0:
            eta = f"finished in {_duration(elapsed)}"
        elif rate > 0:
            eta = f"~{_duration(left / rate * 60.0)} left"
        else:
            eta = "time left unknown"
        skipped = f" ({self.skipped} unchanged, skipped)" if self.skipped else ""
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {finished}/{self.total} studies{skipped}, "
                f"{self.failed} failed, {rate:.1f}/min, {eta}")

    def update(self, *, done=0, failed=0, skipped=0, final=False) -> None:
        self.done += done
        self.failed += failed
        self.skipped += skipped
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if final else ""))
            self.stream.flush()
        elif final or now - self.last >= self.interval_s:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self.last = now


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class BatchResult:
    """What a batch did: the cohort rows (manifest order) and the counts."""

    rows: list[dict]
    measured: int = 0
    skipped: int = 0
    failed: int = 0
    no_uptake: int = 0
    failures: list[Failure] = field(default_factory=list)
    results: dict[str, StudyOutcome] = field(default_factory=dict)  # study_id -> outcome (timings, memory)
    restarted: list[str] = field(default_factory=list)  # studies started again after their worker died
    paths: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed else 0


def _lost(task: StudyTask, why: str) -> StudyOutcome:
    return StudyOutcome.failed(task.study_id, why)


def _worker_start(parent_pid: int) -> None:
    """In each local worker process: leave Ctrl-C to the batch process (which stops the workers itself, so a
    terminal's SIGINT to the whole process group does not print a traceback per worker), and end when the batch
    process is gone (killed with SIGKILL, its workers must not go on computing and writing for nobody)."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def stop_worker_processes(processes, grace_s: float = 3.0) -> None:
    """Terminate the given worker processes (SIGTERM), wait ``grace_s`` for them, then kill those left."""
    processes = [p for p in processes if p.is_alive()]
    for p in processes:
        p.terminate()
    deadline = time.monotonic() + grace_s
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.kill()
            p.join(1.0)


def _run_serial(tasks, on_done):
    for task in tasks:
        on_done(task, run_study(task))


def _run_processes(tasks, workers: int, on_done, on_restart):
    """Local worker processes (spawned: a clean interpreter, no state inherited). A pool whose process died
    breaks for every study in flight: those are started again in a new pool, each at most MAX_ATTEMPTS times."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    attempts: dict[str, int] = {}
    pending = list(tasks)
    context = multiprocessing.get_context("spawn")
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start,
                                   initargs=(os.getpid(),))
        try:
            futures = {pool.submit(run_study, task): task for task in pending}
            pending = []
            for future in as_completed(futures):
                task = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    attempts[task.study_id] = attempts.get(task.study_id, 0) + 1
                    if attempts[task.study_id] >= MAX_ATTEMPTS:
                        on_done(task, _lost(task, f"the worker process died while running it ({MAX_ATTEMPTS} "
                                                  "attempts; killed or out of memory?)"))
                    else:
                        on_restart(task)
                        pending.append(task)
                    continue
                on_done(task, result)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or failed: no worker may go on running a study. shutdown() alone
            # only cancels the studies not yet started; the running ones are stopped here. (The executor has no
            # public list of its processes before Python 3.14's terminate_workers().)
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            stop_worker_processes(processes)
            raise
        pool.shutdown(wait=True)


def _run_dask(tasks, on_done, *, scheduler=None, client=None):
    """The same tasks on a Dask distributed cluster. A study whose worker dies is rescheduled by Dask (up to its
    ``distributed.scheduler.allowed-failures``); after that it is reported as failed, never dropped."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        from ..errors import PentixaforQuantError

        raise PentixaforQuantError("--scheduler needs Dask distributed: pip install 'pentixaforquant[dask]'") from None
    from ..errors import PentixaforQuantError

    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise PentixaforQuantError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                                       f"({_one_line(exc)})") from None
    futures = {}
    try:
        run = uuid.uuid4().hex[:8]
        futures = {client.submit(run_study, task, key=f"pentixaforquant-{run}-{task.folder}", pure=False): task
                   for task in tasks}
        for future in as_completed(list(futures)):
            task = futures[future]
            if future.status == "error":
                exc = future.exception()
                on_done(task, _lost(task, f"the Dask worker running it failed: {type(exc).__name__}: "
                                          f"{_one_line(exc)}"))
            elif future.status == "cancelled":
                on_done(task, _lost(task, "the Dask task was cancelled"))
            else:
                on_done(task, future.result())
            future.release()
    except BaseException:
        # Interrupted: the studies not started are cancelled; one already running finishes on its worker and
        # writes its done record only when its folder is complete, so a rerun resumes from it either way.
        try:
            client.cancel(list(futures))
        except Exception:  # noqa: BLE001 - the client may be the thing that failed
            pass
        raise
    finally:
        if own:
            client.close()


def _exclusions_of(cohort_file: Path) -> dict[str, str]:
    """The ``exclude`` cells of an earlier ``cohort.csv`` (the user's analysis choices survive a rerun)."""
    try:
        text = cohort_file.read_text(encoding="utf-8-sig")
        return {(r.get("study_id") or "").strip(): (r.get(EXCLUDE_COLUMN) or "").strip()
                for r in csv.DictReader(io.StringIO(text)) if (r.get(EXCLUDE_COLUMN) or "").strip()}
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}


def _measured(entry) -> bool:
    """A study is measured when it has uptake, or when it has none in the target lesion but its series and points
    are given (a visually negative patient of the AML study still has its marrow read)."""
    return entry.uptake or bool(entry.dicom and entry.points)


def _failures_csv_text(failures: list[Failure]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["study_id", "manifest_line", "error"])
    for f in failures:
        w.writerow([f.study_id, f.line, f.error])
    return buf.getvalue()


def run_batch(manifest, out_dir, *, parameters=None, normalization: str = "bw", workers: int = 1,
              scheduler: str | None = None, client=None, force: bool = False, figure: bool = True,
              bundle: bool = True, progress=None, on_result: Callable | None = None) -> BatchResult:
    """Run every study of a checked manifest and write the cohort table.

    Parameters
    ----------
    manifest : Manifest
        From :func:`~.manifest.read_manifest` (already checked: no study is touched for a bad manifest).
    out_dir : path
        Receives ``studies/<folder>/`` per study, ``cohort.csv``, ``failures.csv`` and ``cohort.json``.
    parameters : ProtocolParameters or None
        The run's protocol (a manifest row's protocol columns override it for that row).
    normalization : str
        The run's SUV normalisation (a row's ``suv`` column overrides it).
    workers : int
        Local processes; 1 runs the studies in this process.
    scheduler, client : str or distributed.Client, optional
        Run on a Dask cluster instead (address of its scheduler, or a connected client).
    force : bool
        Recompute every study, even when an unchanged complete result exists.
    figure, bundle : bool
        Write each study's picture (``study.png``) and scene bundle (``study.mrb``, a copy of the PET volume with
        the points, segments and tables, to open in Slicer).
    progress : text stream or None
        Where the progress bar goes (None = no progress bar).
    on_result : callable, optional
        Called with (study_id, result) as each study comes back (tests use it to interrupt a run).
    """
    from ..measure.protocol import ProtocolParameters
    from .manifest import protocol_for

    base = parameters or ProtocolParameters()
    # Absolute before anything goes to a worker: a Dask worker runs in its own working folder.
    out = Path(out_dir).expanduser().resolve()
    studies_dir = out / STUDIES_FOLDER
    studies_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)

    outcome = BatchResult(rows=[])
    results: dict[str, StudyOutcome] = {}
    tasks: list[StudyTask] = []
    bar = ProgressBar(sum(_measured(e) for e in manifest.entries), progress) if progress is not None else None
    for entry in manifest.entries:
        if not _measured(entry):
            continue
        study_parameters = protocol_for(entry.protocol, base).to_dict()
        study_normalization = entry.normalization or normalization
        fingerprint = study_fingerprint(entry.dicom, entry.points, normalization=study_normalization,
                                        series_uid=entry.series_uid, overrides=entry.overrides,
                                        parameters=study_parameters, figure=figure, bundle=bundle)
        task = StudyTask(entry.study_id, entry.folder, entry.dicom, entry.points, study_normalization,
                         entry.series_uid, dict(entry.overrides), study_parameters, str(studies_dir), figure,
                         bundle, fingerprint)
        record = None if force else _trusted_record(task)
        if record is not None:
            results[entry.study_id] = StudyOutcome(
                entry.study_id, "done", record["measurements"], record.get("warnings", ""),
                record.get("site_errors", ""), skipped=True, timings=record.get("timings", {}))
            outcome.skipped += 1
            continue
        tasks.append(task)
    if bar is not None:
        bar.update(skipped=outcome.skipped)

    def on_done(task: StudyTask, result: StudyOutcome) -> None:
        if task.study_id in results:  # a second answer for one study (a retried task) is not counted twice
            return
        results[task.study_id] = result
        failed = not result.done
        if bar is not None:
            bar.update(done=0 if failed else 1, failed=1 if failed else 0)
        if on_result is not None:
            on_result(task.study_id, result)

    try:
        if tasks:
            if scheduler is not None or client is not None:
                _run_dask(tasks, on_done, scheduler=scheduler, client=client)
            elif workers > 1:
                _run_processes(tasks, workers, on_done, lambda task: outcome.restarted.append(task.study_id))
            else:
                _run_serial(tasks, on_done)
    finally:
        if bar is not None and bar.total:
            bar.update(final=True)

    for entry in manifest.entries:
        if not entry.uptake:
            outcome.no_uptake += 1
        if not _measured(entry):
            outcome.rows.append(manifest_row(entry))
            continue
        result = results.get(entry.study_id) or StudyOutcome.failed(entry.study_id,
                                                                     "no result came back for this study")
        if result.done:
            if not result.skipped:
                outcome.measured += 1
            outcome.rows.append(manifest_row(entry, result.measurements, warnings=result.warnings,
                                             error=result.site_errors))
        else:
            outcome.failed += 1
            outcome.failures.append(Failure(entry.study_id, entry.line, result.error))
            outcome.rows.append(manifest_row(entry, error=result.error))
    outcome.results = results

    run_doc = {
        "pentixaforquant_version": __version__,
        "manifest": {"path": str(manifest.path), "sha256": _sha256_file(manifest.path)},
        "normalization": normalization,
        "parameters": base.to_dict(),
        "per_study": {e.study_id: {k: v for k, v in (("suv", e.normalization), ("series_uid", e.series_uid),
                                                     ("overrides", {k: str(v) for k, v in e.overrides.items()}),
                                                     ("protocol", e.protocol)) if v}
                      for e in manifest.entries if e.normalization or e.series_uid or e.overrides or e.protocol},
        "figure": figure,
        "bundle": bundle,
        "engine": ({"dask": scheduler or "client"} if scheduler is not None or client is not None
                   else {"local_processes": workers}),
        "force": force,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": {"studies": len(manifest.entries), "measured": outcome.measured, "unchanged_skipped": outcome.skipped,
                   "failed": outcome.failed, "no_uptake": outcome.no_uptake},
        "columns": [{"key": c.key, "unit": c.unit, "description": c.description} for c in COHORT_COLUMNS],
        "studies_folder": STUDIES_FOLDER,
    }
    if EXCLUDE_COLUMN not in manifest.columns:
        # The manifest has no say: the exclusions written into the cohort.csv this run replaces are kept.
        kept = _exclusions_of(out / COHORT_FILE)
        for row in outcome.rows:
            row[EXCLUDE_COLUMN] = kept.get(row["study_id"], "")
    outcome.paths = {
        "cohort": write_file_atomically(out / COHORT_FILE, cohort_csv_text(outcome.rows)),
        "failures": write_file_atomically(out / FAILURES_FILE, _failures_csv_text(outcome.failures)),
        "run": write_file_atomically(out / RUN_FILE, json_text(run_doc, default=str)),
    }
    return outcome
