"""theory/: pages regenerated from the code, deterministic, checked byte-for-byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conslaw_flint.apps import theory
from conslaw_flint.apps.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "theory"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    a = tmp_path_factory.mktemp("a") / "theory"
    b = tmp_path_factory.mktemp("b") / "theory"
    assert main(["theory", "--out", str(a), "--quiet"]) == 0
    assert main(["theory", "--out", str(b), "--quiet"]) == 0
    return a, b


def test_generation_is_deterministic(generated: tuple[Path, Path]) -> None:
    a, b = generated
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b))
    assert "README.md" in names
    assert len(names) == len(theory.EXAMPLES) + 1
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_pages_have_no_timings_and_the_required_parts(generated: tuple[Path, Path]) -> None:
    a, _ = generated
    for ex in theory.EXAMPLES:
        text = (a / f"{ex.slug}.md").read_text()
        assert text.startswith("# ")
        assert f"`{ex.spec}`" in text
        for part in ("## Parameter layout", "## Lie closure", "## Certified count",
                     "digest (SHA-256): `", "independent verifier: accepted"):
            assert part in text, (ex.slug, part)
        assert " s)" not in text and "seconds" not in text
    index = (a / "README.md").read_text()
    assert "| example | model | D | d | certified count | method |" in index
    assert "seconds" not in index
    assert "(not certified)" not in index


def test_numbers_come_from_the_run(generated: tuple[Path, Path]) -> None:
    a, _ = generated
    page = (a / "linear-3-4-5.md").read_text()
    assert "**exactly 10 independent conservation laws" in page
    assert "| i = 1 | x1 | x2 | x3 | x4 |" in page       # W1[1,1..4] = x1..x4
    assert "$$h_{10} = " in page
    assert "x2*exp" not in page
    fields = (a / "fields-nonpolynomial.md").read_text()
    assert "certified by involutive Lie closure" in fields
    assert "every generator: yes" in fields


def test_check_passes_on_committed_theory(capsys: pytest.CaptureFixture[str]) -> None:
    assert COMMITTED.is_dir(), "run `conslaw theory` to generate theory/"
    assert main(["theory", "--check", "--out", str(COMMITTED)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_fails_on_a_modified_copy(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "theory"
    shutil.copytree(COMMITTED, copy)
    page = copy / "product-3.md"
    page.write_text(page.read_text().replace("exactly 2", "exactly 3"))
    assert main(["theory", "--check", "--out", str(copy)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "product-3.md (differs)" in err
    assert "README.md" not in err



def test_stale_files_names_missing_and_extra(tmp_path: Path,
                                              generated: tuple[Path, Path]) -> None:
    a, _ = generated
    files = {n: (a / n).read_text() for n in os.listdir(a)}
    copy = tmp_path / "theory"
    shutil.copytree(a, copy)
    assert theory.stale_files(str(copy), files) == []
    (copy / "linear-2-2-2.md").unlink()
    (copy / "old-example.md").write_text("# old\n")
    assert theory.stale_files(str(copy), files) == [("linear-2-2-2.md", "missing"),
                                                     ("old-example.md", "not generated")]


def test_write_refuses_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["theory", "--out", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err
