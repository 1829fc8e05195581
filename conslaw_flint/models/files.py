"""Model files: JSON or TOML with ``map``, ``fields`` or ``dag`` (and optional ``variables``,
``flow``).

::

    {"variables": ["u", "v"], "map": ["u*v"]}
    {"fields": [["x2", "-x1"]], "name": "rotation"}
    {"dag": {"edges": [["x", "h"], ["h", "y"]], "skip": [["x", "y"]]}, "flow": "momentum"}

Keys: ``map`` (list of expressions) or ``fields`` (list of fields, each a list of D
components) or ``dag`` (a ReLU network on a graph, :mod:`conslaw_flint.models.dag`);
``variables`` (names, default x1..xD; not with ``dag``); ``D`` (with ``map`` and default
names); ``flow`` (a flow specification, :mod:`conslaw_flint.models.flows`); ``name`` and
``description`` (free text).  The file is read once, as a regular file, with a
size limit; its text is never evaluated as code.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .maps import fields_model, poly_model
from .model import Model, ModelError
from .networks import MAX_PARAMETERS

MAX_FILE_BYTES = 1_000_000
KEYS = frozenset({"map", "fields", "dag", "ode", "hamiltonian", "pairs", "parameters",
                  "variables", "D", "flow", "name", "description"})


def read_limited(path: str, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read through one descriptor
    (so a file swapped for a device after the check is still refused), or a one-line
    :class:`ModelError`."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelError(f"{what} {path!r} not found") from None
    except IsADirectoryError:
        raise ModelError(f"{what} {path!r} is a folder, not a file") from None
    except PermissionError:
        raise ModelError(f"{what} {path!r} cannot be read (permission denied)") from None
    except OSError as e:
        raise ModelError(f"{what} {path!r} cannot be opened: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelError(f"{what} {path!r} is not a regular file")
        if st.st_size > limit:
            raise ModelError(f"{what} {path!r} is {st.st_size} bytes, above the limit {limit}")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ModelError(f"{what} {path!r} is larger than the limit {limit} bytes")
        return b"".join(chunks)
    except OSError as e:
        raise ModelError(f"{what} {path!r} cannot be read: {e.strerror or e}") from None
    finally:
        os.close(fd)


def load_file(path: str) -> dict[str, Any]:
    """The object stored in a model file (JSON, or TOML by extension)."""
    raw = read_limited(path, MAX_FILE_BYTES, "model file")
    if not raw.strip():
        raise ModelError(f"model file {path!r} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"model file {path!r} is not UTF-8 text") from None
    try:
        if path.endswith(".toml"):
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except RecursionError:
        raise ModelError(f"model file {path!r} is nested too deeply") from None
    except ValueError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "digits" in msg and "limit" in msg:
            msg = "an integer has too many digits"
        raise ModelError(f"model file {path!r} is malformed: {msg}") from None
    if not isinstance(data, dict):
        raise ModelError(f"model file {path!r} must hold an object with key 'map' or 'fields'")
    return data


def _str_list(x: Any, what: str, where: str) -> list[str]:
    if not isinstance(x, list) or not all(isinstance(s, str) for s in x):
        raise ModelError(f"{where}: {what} must be a list of strings")
    if any(len(s) > 100_000 for s in x):
        raise ModelError(f"{where}: a string in {what} is too long")
    return x


def model_from_dict(data: dict[str, Any], where: str, spec: str) -> Model:
    """The model described by a model file's object (see the module docstring)."""
    unknown = set(data) - KEYS
    if unknown:
        raise ModelError(f"{where}: unknown key {sorted(unknown)[0]!r}; use 'map', 'fields' "
                         "or 'dag' (and optionally 'variables', 'flow')")
    flow = data.get("flow")
    if flow is not None and (not isinstance(flow, str) or len(flow) > 100_000):
        raise ModelError(f"{where}: 'flow' must be a string such as 'momentum:tau=1'")
    params = None
    if "parameters" in data:
        params = _str_list(data["parameters"], "'parameters'", where)
    if "ode" in data or "hamiltonian" in data:
        from .flows import apply_flow
        from .ode import hamiltonian_model, ode_model

        if len([k for k in ("ode", "hamiltonian", "map", "fields", "dag") if k in data]) != 1:
            raise ModelError(f"{where} must have exactly one of 'map', 'fields', 'dag', 'ode' "
                             "or 'hamiltonian'")
        if "ode" in data:
            eqs = data["ode"]
            eqs = [eqs] if isinstance(eqs, str) else _str_list(eqs, "'ode'", where)
            m = ode_model("\n".join(eqs), parameters=params, spec=spec)
        else:
            if not isinstance(data["hamiltonian"], str):
                raise ModelError(f"{where}: 'hamiltonian' must be an expression (a string)")
            pairs = None
            if "pairs" in data:
                raw = data["pairs"]
                if not isinstance(raw, list) or not all(
                        isinstance(q, list) and len(q) == 2 and all(isinstance(v, str) for v in q)
                        for q in raw):
                    raise ModelError(f"{where}: 'pairs' must be a list of [q, p] name pairs")
                pairs = [(q, p) for q, p in raw]
            m = hamiltonian_model(data["hamiltonian"], pairs=pairs, spec=spec)
        return apply_flow(m, flow) if flow is not None else m
    if "dag" in data:
        if "map" in data or "fields" in data or "variables" in data or "D" in data:
            raise ModelError(f"{where}: 'dag' cannot be combined with 'map', 'fields', "
                             "'variables' or 'D' (the graph names its parameters)")
        from .dag import dag_from_dict
        from .flows import apply_flow

        return apply_flow(dag_from_dict(data["dag"], where, spec), flow)
    for key in ("name", "description"):
        if key in data and (not isinstance(data[key], str) or len(data[key]) > 10_000):
            raise ModelError(f"{where}: {key!r} must be a string of at most 10000 characters")
    names = None
    if "variables" in data:
        names = _str_list(data["variables"], "'variables'", where)
        if len(names) > MAX_PARAMETERS:
            raise ModelError(f"{where}: {len(names)} variables, above the limit "
                             f"{MAX_PARAMETERS}")
        if not names:
            raise ModelError(f"{where}: 'variables' is empty")
    if ("map" in data) == ("fields" in data):
        raise ModelError(f"{where} must have exactly one of 'map', 'fields' or 'dag'")
    if "map" in data:
        exprs = _str_list(data["map"], "'map'", where)
        D_decl = data.get("D")
        if D_decl is not None and (not isinstance(D_decl, int) or isinstance(D_decl, bool)
                                   or not 1 <= D_decl <= MAX_PARAMETERS):
            raise ModelError(f"{where}: 'D' must be an integer between 1 and {MAX_PARAMETERS}")
        if D_decl is not None and names is not None and D_decl != len(names):
            raise ModelError(f"{where}: 'D' = {D_decl} but {len(names)} variables are named")
        m = poly_model(exprs, D=D_decl, names=names, spec=spec)
    else:
        raw = data["fields"]
        if not isinstance(raw, list) or not raw:
            raise ModelError(f"{where}: 'fields' must be a non-empty list of lists")
        m = fields_model([_str_list(f, "each field", where) for f in raw], names=names,
                         spec=spec)
    if m.inline is None:
        from dataclasses import replace

        from .maps import inline_text

        assert m.phi is not None
        m = replace(m, inline=f"poly[{m.D}]:" + ";".join(inline_text(p) for p in m.phi))
    if params:
        from .ode import with_parameters

        m = with_parameters(m, params)
    if flow is not None:
        from .flows import apply_flow

        m = apply_flow(m, flow)
    return m


def model_from_file(path: str) -> Model:
    """The model of a ``.json``, ``.toml`` or ``.ode`` file."""
    if path.endswith(".ode"):
        from .ode import ode_model

        raw = read_limited(path, MAX_FILE_BYTES, "model file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"model file {path!r} is not UTF-8 text") from None
        params = None
        lines = []
        for line in text.splitlines():
            m = re.match(r"^\s*parameters\s*:(.*)$", line)
            if m:
                params = [p.strip() for p in m.group(1).split(",") if p.strip()]
            else:
                lines.append(line)
        return ode_model("\n".join(lines), parameters=params, spec=path)
    return model_from_dict(load_file(path), f"model file {path!r}", path)


__all__ = ["MAX_FILE_BYTES", "load_file", "model_from_dict", "model_from_file", "read_limited"]
