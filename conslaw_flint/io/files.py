"""Output files: checked before the work, written atomically.

* :func:`check_output_path` refuses, before anything is computed, an output that cannot be
  written or would destroy something: an empty name, a folder, a missing or read-only
  folder, a name too long for the file system, or a file that is an input of the same run.
* :func:`write_atomic` writes to a temporary file in the same folder, flushes it to disk
  (``fsync``) and renames it over the target: a crash, a full disk, Ctrl-C or SIGTERM (the
  command line turns it into KeyboardInterrupt) never leaves a partial or empty file; the
  temporary file is removed on every exit path.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence

from ..errors import UserError


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same existing file (or the same path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output_path(path: str, inputs: Sequence[str] = (), what: str = "output") -> None:
    """Refuse an output path that cannot be written, before any work is done.

    Raises :class:`UserError` (one line) for: an empty name; a folder (or a name ending in
    '/'); a folder that does not exist or is not writable; a name longer than the file
    system allows; a path that is one of ``inputs`` (it would be overwritten).
    """
    if not isinstance(path, str) or not path.strip():
        raise UserError(f"the {what} file name is empty; give a file name")
    if path.endswith(os.sep) or os.path.isdir(path):
        raise UserError(f"cannot write {path!r}: it is a folder; give a file name")
    for src in inputs:
        if src and same_file(path, src):
            raise UserError(f"cannot write {path!r}: it is an input of this run and would be "
                            "overwritten; choose another file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path!r}: folder {folder!r} is not writable")
    name = os.path.basename(path)
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(name.encode("utf-8", "surrogateescape")) > limit:
        raise UserError(f"cannot write {path[:60]!r}...: the file name is longer than the "
                        f"{limit} bytes the file system allows")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UserError(f"cannot write {path!r}: the file is read-only")


def write_atomic(path: str, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync,
    rename).  A full disk or an unwritable folder raises :class:`UserError` with one line;
    nothing partial is left behind, whatever happens."""
    folder = os.path.dirname(os.path.abspath(path))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=".conslaw-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise UserError(f"cannot write {path!r}: {e.strerror or e}") from None
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise UserError(f"cannot write {path!r}: no space left on the device; "
                                "nothing was written") from None
            raise UserError(f"cannot write {path!r}: {e.strerror or e}; nothing was "
                            "written") from None
    finally:
        if os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass


__all__ = ["check_output_path", "same_file", "write_atomic"]
