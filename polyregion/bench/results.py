"""Machine-readable benchmark results: one JSON writer for every benchmark.

A results file is one JSON object::

    {"suite": "...", "timestamp": "2026-12-06T12:00:00+00:00", "seconds": 12.3,
     "polyregion": "0.1.0", "git": {"revision": "...", "dirty": false} | null,
     "machine": {"cpu": ..., "cores": ..., "platform": ..., "python": ...,
                 "numpy": ..., "scipy": ..., "numba": ...},
     "load_average": {"start": [1, 5, 15 min], "end": [...]},
     ...suite-specific keys..., "rows": [{...}, ...]}

``git`` is the revision of the source checkout the code ran from (``dirty``: tracked
files differ from that revision), or null outside a checkout.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import subprocess
import time

__all__ = ["machine_info", "load_average", "git_revision", "RunInfo", "document", "write_json"]


def load_average():
    """The 1, 5 and 15 minute load averages, or None where the system has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """Facts of this machine and of the software versions that set the timings."""
    import numba
    import numpy
    import scipy

    import polyregion

    return dict(cpu=_cpu_name(), cores=os.cpu_count(), machine=platform.machine(),
                platform=platform.platform(), system=f"{platform.system()} {platform.release()}",
                python=platform.python_version(), numpy=numpy.__version__,
                scipy=scipy.__version__, numba=numba.__version__,
                polyregion=polyregion.__version__)


def git_revision(path=None):
    """``{"revision": sha, "dirty": bool}`` of the git checkout whose top level holds
    ``path`` (default: the directory above the installed ``polyregion`` package), or None
    when that is no checkout (an installed package, no git)."""
    if path is None:
        import polyregion

        path = os.path.dirname(os.path.dirname(os.path.abspath(polyregion.__file__)))

    def git(*args):
        return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True,
                              timeout=30)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode or os.path.realpath(top.stdout.strip()) != os.path.realpath(path):
            return None  # not a checkout, or a checkout of something else around it
        rev = git("rev-parse", "HEAD").stdout.strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None
    return dict(revision=rev or None, dirty=dirty)


class RunInfo:
    """What a results file records about the run: made at the start of the run (time,
    load), completed by :func:`write_json` (load and seconds at the end).

    >>> info = RunInfo("example")
    >>> sorted(info.as_dict())[:3]
    ['git', 'load_average', 'machine']
    """

    def __init__(self, suite, git_path=None):
        self.suite = suite
        self.git_path = git_path
        self.started = time.perf_counter()
        self.timestamp = datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds")
        self.load_start = load_average()
        self.machine = machine_info()

    @property
    def date(self):
        """Local date and time of the start, ``YYYY-MM-DD HH:MM`` (for Markdown)."""
        return datetime.datetime.fromisoformat(self.timestamp).astimezone().strftime(
            "%Y-%m-%d %H:%M")

    def as_dict(self):
        return dict(suite=self.suite, timestamp=self.timestamp,
                    seconds=round(time.perf_counter() - self.started, 3),
                    polyregion=self.machine["polyregion"], git=git_revision(self.git_path),
                    machine=self.machine,
                    load_average=dict(start=self.load_start, end=load_average()))


def _clean(x):
    """JSON-safe: numpy scalars to Python numbers, non-finite floats to None."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        try:
            x = x.item()
        except (ValueError, TypeError):
            x = x.tolist()
            return _clean(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def document(info, rows, **extra):
    """The results object: ``info`` (a :class:`RunInfo`), ``extra`` keys, ``rows``."""
    doc = info.as_dict()
    doc.update(extra)
    doc["rows"] = list(rows)
    return _clean(doc)


def write_json(path, info, rows, **extra):
    """Write :func:`document` to ``path`` (atomically); return it."""
    doc = document(info, rows, **extra)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)
    return doc
