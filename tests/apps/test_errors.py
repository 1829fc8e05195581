"""Every documented input mistake, run through the real command line in a subprocess.

The table of ``docs/errors.md`` (between the ``errors-table`` markers) is the data of
:func:`test_documented_error`: each row's command is run with ``python -m conslaw_flint`` in a
fresh temporary working directory holding the files the command names (built by :data:`FILES`),
and the test asserts the documented exit code, exactly one line on stderr with the documented
message (``…`` in the docs elides a part), no traceback, nothing on stdout and no file created.
So the documentation and the behaviour cannot drift apart.

The second half feeds hostile model files and certificates to the command line: a code-injection
payload in every string field and key, deep nesting, huge integers and enormous strings.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conslaw_flint.apps.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
PWNED = "/tmp/pwned_conslaw"
PAYLOAD = "__import__('os').system('touch /tmp/pwned_conslaw')"
ELLIPSIS = "\u2026"
#: seconds before a command is considered hung
TIMEOUT = 120.0
#: the same for commands known to hang (a correct answer takes about one second)
HANG = 10.0

# ---------------------------------------------------------------------------------------------
# the documented table


@dataclass(frozen=True)
class Row:
    """One row of the error table: ``conslaw ARGV`` must fail with ``message``."""

    number: int
    command: str
    problem: str
    message: str
    exit_code: int

    @property
    def argv(self) -> list[str]:
        """The arguments after ``conslaw``."""
        words = shlex.split(self.command)
        assert words[0] == "conslaw", self.command
        return words[1:]

    @property
    def pieces(self) -> list[str]:
        """The documented message split at the elisions ``…``."""
        return [p for p in self.message.split(ELLIPSIS) if p.strip()]


def _cell(text: str) -> str:
    """The content of a table cell: one code span, or plain text."""
    text = text.strip()
    if text.startswith("`") and text.endswith("`"):
        return text[1:-1]
    return text


def parse_table(text: str) -> list[Row]:
    """The rows between ``<!-- errors-table:start -->`` and ``<!-- errors-table:end -->``."""
    start = text.index("<!-- errors-table:start -->")
    end = text.index("<!-- errors-table:end -->")
    rows = []
    for line in text[start:end].splitlines():
        if not re.match(r"\|\s*\d+\s*\|", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 5, f"a table row needs 5 cells: {line}"
        number, command, problem, message, code = cells
        rows.append(Row(int(number), _cell(command), problem, _cell(message), int(code)))
    return rows


ROWS = parse_table(DOC.read_text(encoding="utf-8"))

# ---------------------------------------------------------------------------------------------
# the files the table's commands name


def _write_json(obj: Any) -> Callable[[Path], None]:
    return lambda p: p.write_text(json.dumps(obj), encoding="utf-8")


def _write_text(text: str) -> Callable[[Path], None]:
    return lambda p: p.write_text(text, encoding="utf-8")


def _write_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _sparse(size: int) -> Callable[[Path], None]:
    def build(p: Path) -> None:
        with open(p, "wb") as fh:
            fh.truncate(size)
    return build


@functools.lru_cache(maxsize=1)
def good_certificate() -> dict[str, Any]:
    """A real certificate (product:3, seed 0: exactly 2 laws, method "laws")."""
    from conslaw_flint.algorithms.certify import certificate, count_laws
    from conslaw_flint.models import build_model

    return certificate(count_laws(build_model("product:3"), seed=0))


def redigest(cert: dict[str, Any]) -> dict[str, Any]:
    """Recompute the digest, as an attacker who knows the format would."""
    from conslaw_flint.algorithms.certify import digest

    cert["digest"] = digest(cert)
    return cert


def _cert(mutate: Callable[[dict[str, Any]], Any], recompute: bool = True
          ) -> Callable[[Path], None]:
    """A real certificate changed by ``mutate`` (with a recomputed digest by default)."""
    def build(p: Path) -> None:
        cert = copy.deepcopy(good_certificate())
        mutate(cert)
        if recompute:
            redigest(cert)
        p.write_text(json.dumps(cert, indent=1), encoding="utf-8")
    return build


def _cert_text(transform: Callable[[str], str]) -> Callable[[Path], None]:
    return lambda p: p.write_text(transform(json.dumps(good_certificate(), indent=1)),
                                  encoding="utf-8")


def _deep_word(depth: int) -> Any:
    """[[...[0, 0], 0]...] nested ``depth`` deep."""
    w: Any = 0
    for _ in range(depth - 1):
        w = [w, 0]
    return w


def _setitem(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation ``cert[a][b]... = value`` for a dotted ``path`` (list indices as digits)."""
    def mutate(cert: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = cert
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return mutate


def _deep(depth: int, prefix: str = "", suffix: str = "") -> Callable[[Path], None]:
    return _write_text(prefix + "[" * depth + "]" * depth + suffix)


def _toml_strings(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


FILES: dict[str, Callable[[Path], None]] = {
    # model files
    "empty.json": _write_bytes(b""),
    "truncated.json": _write_text('{"map": ["x1*x2"'),
    "list.json": _write_json(["x1*x2"]),
    "both.json": _write_json({"map": ["x1"], "fields": [["x1"]]}),
    "unknown-key.json": _write_json({"mapp": ["x1*x2"]}),
    "map-numbers.json": _write_json({"map": [1, 2]}),
    "empty-map.json": _write_json({"map": []}),
    "bad-D.json": _write_json({"map": ["x1"], "D": -3}),
    "nan-D.json": _write_text('{"map": ["x1"], "D": NaN}'),
    "huge-D.json": _write_text('{"map": ["x1"], "D": 1' + "0" * 30 + "}"),
    "huge-int.json": _write_text('{"map": ["x1"], "D": ' + "9" * 5000 + "}"),
    "huge-coefficient.json": _write_json({"map": ["x1*" + "9" * 40_000]}),
    "long-string.json": _write_json({"map": ["x1+" * 50_000 + "x1"]}),
    "oversized.json": _write_json({"map": ["x1"], "description": "a" * 1_000_001}),
    "deep.json": _deep(100_000, '{"map": ', "}"),
    "latin1.json": _write_bytes(b'{"map": ["x1*\xe9"]}'),
    "dup-variables.json": _write_json({"map": ["u*v"], "variables": ["u", "u"]}),
    "bad-variable.json": _write_json({"map": ["u*v"], "variables": ["os.system()", "v"]}),
    "ragged-fields.json": _write_json({"fields": [["x2", "-x1"], ["x1"]]}),
    "bad.toml": _write_text('map = "x1\n'),
    "deep.toml": _deep(5000, "map = "),
    "inj-map.json": _write_json({"map": [PAYLOAD]}),
    "inj-variables.json": _write_json({"map": ["u"], "variables": [PAYLOAD]}),
    "inj-key.json": _write_json({PAYLOAD: ["x1"]}),
    "inj-fields.json": _write_json({"fields": [["x2", PAYLOAD]]}),
    "inj.toml": _write_text(f"map = {_toml_strings([PAYLOAD])}\n"),
    # certificates
    "empty.cert.json": _write_bytes(b""),
    "truncated.cert.json": _cert_text(lambda s: s[:200]),
    "array.cert.json": _write_json([1]),
    "tampered.cert.json": _cert(_setitem("claims.laws_lower", 3), recompute=False),
    "no-digest.cert.json": _cert(lambda c: c.pop("digest"), recompute=False),
    "forged-claims.cert.json": _cert(_setitem("claims.laws_lower", 3)),
    "forged-law.cert.json": _cert(_setitem("laws.polynomials.0", "x1^2 - x2^3")),
    "rational-law.cert.json": _cert(_setitem("laws.polynomials.0", "x1/x2")),
    "forged-rank.cert.json": _cert(_setitem("lie.rank", 2)),
    "forged-model.cert.json": _cert(_setitem("model", "product:4")),
    "file-model.cert.json": _cert(_setitem("model", "model.json")),
    "inj-model.cert.json": _cert(_setitem("model", PAYLOAD)),
    "inj-law.cert.json": _cert(_setitem("laws.polynomials.0", PAYLOAD)),
    "not-prime.cert.json": _cert(_setitem("prime", 17178801)),
    "zero-point.cert.json": _cert(lambda c: c["point"].__setitem__(0, str(c["prime"]))),
    "bool-D.cert.json": _cert(_setitem("D", True)),
    "version.cert.json": _cert(_setitem("version", 2)),
    "nan.cert.json": _cert_text(lambda s: s.replace('"seed": 0', '"seed": NaN', 1)),
    "duplicate-key.cert.json": _cert_text(lambda s: s.replace('"seed": 0', '"seed": 0, "seed": 1',
                                                              1)),
    "deep.cert.json": _deep(100_000),
    "latin1.cert.json": _write_bytes(b'{"model": "\xe9"}'),
    "oversized.cert.json": _sparse(50_000_002),
    "big-model.cert.json": _cert(_setitem("model", "relu:200,200,200,200")),
    "gram-range.cert.json": _cert(_setitem("lie.words.0", {"gram": 3})),
    "gram-bad.cert.json": _cert(_setitem("lie.words.0", {"gram": "x1"})),
    "factored-law.cert.json": _cert(_setitem("laws.polynomials.0", "(x1 - x2)*(x1 + x2)")),
    "deep-word.cert.json": _cert(_setitem("lie.words.0", _deep_word(40))),
    # inputs that outputs must not overwrite, and files that are not regular files
    "m.json": _write_json({"map": ["x1*x2"]}),
    "cases.txt": _write_text("product:3\n"),
    "fifo": lambda p: os.mkfifo(p),
    "fifo.json": lambda p: os.mkfifo(p),
}
#: names that must not exist (the "missing file" rows)
MISSING = {"missing.json", "missing.toml", "missing.cert.json"}
#: folders created in the working directory
FOLDERS = {"folder.cert.json", "sub"}

#: documented behaviour that the library does not have yet; strict: when the bug is fixed the
#: test fails until the entry is removed
KNOWN_BUGS: dict[str, str] = {}


def _files_named(argv: list[str]) -> list[str]:
    return [w for w in argv if w in FILES or w in FOLDERS]


# ---------------------------------------------------------------------------------------------
# running the real command line


@dataclass
class Outcome:
    """What one command did."""

    code: int | None
    out: str
    err: str
    before: list[str]
    after: list[str]


def cli_env() -> dict[str, str]:
    """Environment of the subprocess: this working tree first on the path, no colours."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONHASHSEED", None)
    return env


def run_cli(argv: list[str], cwd: Path, timeout: float = TIMEOUT) -> Outcome:
    """``python -m conslaw_flint ARGV`` in ``cwd``, with the folder listing around it."""
    before = sorted(os.listdir(cwd))
    try:
        proc = subprocess.run([sys.executable, "-m", "conslaw_flint", *argv], cwd=cwd,
                              env=cli_env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        code, out, err = None, "", f"timed out after {timeout} s"
    return Outcome(code, out, err, before, sorted(os.listdir(cwd)))


def prepare(row: Row, folder: Path) -> None:
    """Create the files and folders that ``row``'s command names."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in _files_named(row.argv):
        if name in FOLDERS:
            (folder / name).mkdir()
        else:
            FILES[name](folder / name)


def run_row(row: Row, folder: Path) -> Outcome:
    prepare(row, folder)
    timeout = HANG if row.command in KNOWN_BUGS else TIMEOUT
    return run_cli(row.argv, folder, timeout)


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Future[Outcome]]]:
    """Start every selected row at once (subprocesses in parallel), keyed by row number."""
    if os.path.exists(PWNED):
        os.unlink(PWNED)  # our own sentinel: its presence afterwards would prove an injection
    selected = [item.callspec.params["row"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_documented_error"]
    good_certificate()  # computed once, before the worker threads need it
    workers = min(8, 2 * (os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers)
    base = tmp_path_factory.mktemp("errors")
    jobs = {row.number: pool.submit(run_row, row, base / f"row{row.number}") for row in selected}
    yield jobs
    pool.shutdown(wait=True, cancel_futures=True)


def _param(row: Row) -> Any:
    marks = []
    if row.command in KNOWN_BUGS:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[row.command]))
    return pytest.param(row, id=f"row{row.number}", marks=marks)


def assert_one_line_error(out: Outcome, code: int, pieces: list[str]) -> None:
    """Exit ``code``, one stderr line holding ``pieces`` in order, no traceback, no output."""
    assert out.code == code, (out.code, out.err[-2000:])
    assert "Traceback" not in out.err
    assert out.err.endswith("\n") and out.err.count("\n") == 1, out.err
    prefix = "conslaw: " if code == 2 else "certificate rejected: "
    assert out.err.startswith(prefix), out.err
    pos = len(prefix)
    for piece in pieces:
        found = out.err.find(piece, pos)
        assert found >= 0, f"{piece!r} not found (in order) in {out.err!r}"
        pos = found + len(piece)
    assert out.out == ""


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_documented_error(row: Row, outcomes: dict[int, Future[Outcome]]) -> None:
    out = outcomes[row.number].result()
    assert_one_line_error(out, row.exit_code, row.pieces)
    assert out.after == out.before, "the command created or removed a file"
    assert not os.path.exists(PWNED)


# ---------------------------------------------------------------------------------------------
# the table itself


def test_table_is_complete() -> None:
    """At least 30 rows, distinct numbers and commands, every fixture used, every category."""
    assert len(ROWS) >= 30
    assert [r.number for r in ROWS] == list(range(1, len(ROWS) + 1))
    assert len({r.command for r in ROWS}) == len(ROWS)
    assert all(r.exit_code in (1, 2) for r in ROWS)
    assert all(r.pieces for r in ROWS)
    named = {w for r in ROWS for w in r.argv}
    assert set(FILES) <= named, f"fixtures no row uses: {sorted(set(FILES) - named)}"
    for r in ROWS:
        argv = r.argv
        for before, w in zip(["", *argv], argv, strict=False):
            if w.endswith((".json", ".toml")) and before != "--certificate":
                assert w in FILES or w in MISSING or w in FOLDERS, f"row {r.number}: {w}"
    everything = " ".join(r.command + " " + r.message for r in ROWS)
    for needle in ("unknown model kind", "width", "sin(", "exp(", "max(", "abs(", "relu(",
                   "index gap", "division by a non-constant", "empty map", "constant",
                   "--max-unknowns", "not found", "is empty", "malformed", "above the limit",
                   "__import__", "conslaw verify", "nested too deeply"):
        assert needle in everything, needle


def test_parse_table_reads_cells() -> None:
    text = ("<!-- errors-table:start -->\n| # | command | problem | message | exit |\n"
            "|---|---|---|---|---|\n| 1 | `conslaw laws 'poly:x1;' --degree 2` | empty | "
            "`component 2 is empty\u2026remove` | 2 |\n<!-- errors-table:end -->\n")
    (row,) = parse_table(text)
    assert row.argv == ["laws", "poly:x1;", "--degree", "2"]
    assert row.pieces == ["component 2 is empty", "remove"] and row.exit_code == 2


# ---------------------------------------------------------------------------------------------
# the entry point and --debug


def test_module_entry_point(tmp_path: Path) -> None:
    out = run_cli(["--version"], tmp_path)
    assert out.code == 0 and out.out.startswith("conslaw ")
    out = run_cli([], tmp_path)
    assert out.code == 2 and out.err.count("\n") == 1 and "Traceback" not in out.err


def test_debug_gives_a_traceback(tmp_path: Path) -> None:
    out = run_cli(["laws", "lstm:3", "--degree", "2", "--debug"], tmp_path)
    assert out.code == 1
    assert "Traceback (most recent call last)" in out.err
    assert "ModelError: unknown model kind 'lstm'" in out.err
    out = run_cli(["count", "poly:x1/(x2 - x2)", "--debug", "--certificate", "c.json"],
                  tmp_path)
    assert out.code == 1 and "Traceback" in out.err and "ModelError" in out.err
    assert "division by zero" in out.err
    assert os.listdir(tmp_path) == []


def test_good_certificate_verifies(tmp_path: Path) -> None:
    """The control for the certificate rows: the unmodified certificate is accepted."""
    (tmp_path / "good.cert.json").write_text(json.dumps(good_certificate()), encoding="utf-8")
    out = run_cli(["verify", "good.cert.json"], tmp_path)
    assert out.code == 0 and out.err == "" and "certificate verified" in out.out


# ---------------------------------------------------------------------------------------------
# untrusted input: every string field, deep nesting, huge integers, enormous strings

MODEL_TEMPLATES: dict[str, Any] = {
    "map.json": {"map": ["u*v", "v^2 - w"], "variables": ["u", "v", "w"], "D": 3,
                 "name": "demo", "description": "two components"},
    "fields.json": {"fields": [["v", "-u"], ["u", "0"]], "variables": ["u", "v"],
                    "name": "rotation"},
}
#: free-text keys of model files: never interpreted, so any string there is harmless
FREE_TEXT = {"name", "description"}

Path_ = tuple[Any, ...]


def leaves(obj: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Paths to every non-container value of a JSON tree."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, (*path, i))
    else:
        yield path


def dict_paths(obj: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Paths to every object (dict) of a JSON tree, the root first."""
    if isinstance(obj, dict):
        yield path
        for k, v in obj.items():
            yield from dict_paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from dict_paths(v, (*path, i))


def get_in(obj: Any, path: Path_) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def replaced(obj: Any, path: Path_, value: Any) -> Any:
    """A deep copy of ``obj`` with the value at ``path`` replaced."""
    new = copy.deepcopy(obj)
    if not path:
        return value
    get_in(new, path[:-1])[path[-1]] = value
    return new


def renamed_key(obj: Any, path: Path_, key: str, new_key: str) -> Any:
    new = copy.deepcopy(obj)
    node = get_in(new, path)
    node[new_key] = node.pop(key)
    return new


def to_toml(model: dict[str, Any]) -> str:
    """A flat model dict as TOML (strings, integers, lists of strings or of lists)."""
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)
    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in model.items())


def run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """The command line in-process (the same code path; faster for long sweeps)."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_rejected_or_harmless(code: int, err: str, free_text: bool, what: str) -> None:
    assert "Traceback" not in err, what
    if free_text and code == 0:
        return
    assert code == 2, (what, code, err)
    assert err.startswith("conslaw: ") and err.count("\n") == 1, (what, err)


@pytest.mark.parametrize("template", sorted(MODEL_TEMPLATES))
@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_payload_in_every_model_field(template: str, suffix: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The payload in every value and every key of a model file: rejected (or, in the free-text
    name/description, ignored); never executed."""
    base = MODEL_TEMPLATES[template]
    variants: list[tuple[str, Any, bool]] = []
    for path in leaves(base):
        variants.append((f"value {path}", replaced(base, path, PAYLOAD), path[0] in FREE_TEXT))
    for key in base:
        variants.append((f"key {key}", renamed_key(base, (), key, PAYLOAD), False))
    variants.append(("every string", _all_strings(base, PAYLOAD), False))
    f = tmp_path / f"model{suffix}"
    for what, data, free in variants:
        f.write_text(to_toml(data) if suffix == ".toml" else json.dumps(data), encoding="utf-8")
        code, _, err = run_main(capsys, ["laws", str(f), "--degree", "1"])
        _assert_rejected_or_harmless(code, err, free, what)
        assert not os.path.exists(PWNED), what


def _all_strings(obj: Any, value: str) -> Any:
    if isinstance(obj, dict):
        return {k: _all_strings(v, value) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_all_strings(v, value) for v in obj]
    return value if isinstance(obj, str) else obj


#: hostile replacements, written as JSON text (so that depth and size are not limited by json)
HOSTILE_TEXT: dict[str, str] = {
    "payload": json.dumps(PAYLOAD),
    "deep list": "[" * 100_000 + "]" * 100_000,
    "deep object": '{"a": ' * 50_000 + "0" + "}" * 50_000,
    "moderately deep list": "[" * 500 + "]" * 500,
    "huge integer": "9" * 5000,
    "big integer": "9" * 4000,
    "negative big integer": "-" + "9" * 1000,
    "huge float": "1e999999",
    "enormous string": json.dumps("x1+" * 400_000),
    "NaN": "NaN",
}


def _with_hole(data: Any, path: Path_) -> str:
    """JSON text of ``data`` with the value at ``path`` replaced by the marker ``@HOLE@``."""
    return json.dumps(replaced(data, path, "@HOLE@"))


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXT))
def test_hostile_values_in_model_files(kind: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Deep nesting, huge integers and enormous strings in every field of a model file."""
    base = MODEL_TEMPLATES["map.json"]
    f = tmp_path / "model.json"
    for path in [("map",), ("map", 0), ("variables",), ("variables", 1), ("name",)]:
        text = _with_hole(base, path).replace('"@HOLE@"', HOSTILE_TEXT[kind])
        f.write_text(text, encoding="utf-8")
        code, _, err = run_main(capsys, ["laws", str(f), "--degree", "1"])
        _assert_rejected_or_harmless(code, err, path[0] in FREE_TEXT, f"{kind} at {path}")
        assert not os.path.exists(PWNED)


@pytest.mark.parametrize("value", ["9" * 5000, "-1", "0", "2.5", "true", '"3"', "[3]", "1e999"],
                         ids=["5000 digits", "-1", "0", "2.5", "true", "string", "list", "inf"])
def test_huge_or_wrong_D_in_model_file(value: str, tmp_path: Path) -> None:
    """'D' of a model file is checked before anything is built (subprocess: a hang times out)."""
    (tmp_path / "m.json").write_text('{"map": ["x1"], "D": ' + value + "}", encoding="utf-8")
    out = run_cli(["count", "m.json", "--certificate", "c.json"], tmp_path, timeout=HANG)
    assert_one_line_error(out, 2, ["m.json"])
    assert sorted(os.listdir(tmp_path)) == ["m.json"]


def test_huge_degree_with_many_variables(tmp_path: Path) -> None:
    """Absurd degrees are refused from the estimate, never by computing it in full."""
    out = run_cli(["laws", "product:3", "--degree", "9" * 200], tmp_path, timeout=HANG)
    assert_one_line_error(out, 2, ["unknown coefficients", "--max-unknowns"])


def test_astronomical_degree_is_refused_quickly(tmp_path: Path) -> None:
    out = run_cli(["laws", "product:100000", "--degree", "1" + "0" * 4000], tmp_path,
                  timeout=HANG)
    assert_one_line_error(out, 2, ["unknown coefficients", "--max-unknowns"])


# certificates ---------------------------------------------------------------------------------


def _verify_rejects(capsys: pytest.CaptureFixture[str], f: Path, what: str,
                    harmless: bool = False) -> None:
    """``verify`` rejects ``f`` with one line (or, if ``harmless``, accepts the original claims)."""
    from conslaw_flint.verify import verify_file

    verdict = verify_file(str(f))
    if harmless and verdict.ok:
        assert verdict.claims == good_certificate()["claims"], what
        return
    assert not verdict.ok and verdict.reason and "\n" not in verdict.reason, what
    code, out, err = run_main(capsys, ["verify", str(f)])
    assert code == 1 and out == "" and err.count("\n") == 1, (what, err)
    assert err.startswith("certificate rejected: ") and "Traceback" not in err
    assert not os.path.exists(PWNED), what


def test_payload_in_every_certificate_field(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The payload in every value and every key of a real certificate, digest recomputed."""
    cert = good_certificate()
    f = tmp_path / "c.json"
    n = 0
    for path in leaves(cert):
        bad = replaced(cert, path, PAYLOAD)
        if path != ("digest",):
            redigest(bad)
        f.write_text(json.dumps(bad), encoding="utf-8")
        _verify_rejects(capsys, f, f"value {path}")
        n += 1
    for path in dict_paths(cert):
        for key in get_in(cert, path):
            bad = redigest(renamed_key(cert, path, key, PAYLOAD))
            f.write_text(json.dumps(bad), encoding="utf-8")
            _verify_rejects(capsys, f, f"key {path + (key,)}")
            n += 1
    assert n > 30


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXT))
def test_hostile_values_in_certificates(kind: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Deep nesting, huge integers and enormous strings in every field of a certificate.

    The digest cannot be recomputed for text json cannot write, so the digest is recomputed on
    the parsed data when that is possible; either way the certificate must be rejected."""
    cert = good_certificate()
    f = tmp_path / "c.json"
    for path in leaves(cert):
        text = _with_hole(cert, path).replace('"@HOLE@"', HOSTILE_TEXT[kind])
        if path != ("digest",):
            try:
                text = json.dumps(redigest(json.loads(text)))
            except (ValueError, RecursionError):
                pass
        f.write_text(text, encoding="utf-8")
        # the seed is informational (the point and prime are recorded): any integer will do
        _verify_rejects(capsys, f, f"{kind} at {path}", harmless=path == ("seed",))
