"""Time and memory budgets (core.budget), the garbage-collector pause (core.runtime)."""

import gc
import time

import pytest

from conslaw_flint.core import budget
from conslaw_flint.core.budget import Budget, format_bytes, parse_bytes
from conslaw_flint.core.runtime import gc_paused
from conslaw_flint.errors import TimeUp, TooLargeError, UserError


@pytest.mark.parametrize("text,value", [("2G", 2 * 2**30), ("512M", 512 * 2**20),
                                        ("512MiB", 512 * 2**20), ("1.5GiB", 3 * 2**29),
                                        ("100000", 100000), ("4k", 4096), (" 1T ", 2**40)])
def test_parse_bytes(text: str, value: int) -> None:
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "0", "-1G", "nan", "inf", "G", "2X"])
def test_parse_bytes_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bytes(text)


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1024, 150 * 2**20, 3 * 2**30)] == \
        ["0 B", "1023 B", "1.0 KiB", "150 MiB", "3.0 GiB"]


def test_tick_raises_after_the_deadline_with_the_phase() -> None:
    budget.tick()  # no budget active: never raises
    with Budget(time_limit=1e-9).active() as b:
        time.sleep(0.01)
        assert b.expired() and b.remaining() < 0
        with budget.phase("the test"), pytest.raises(TimeUp) as e:
            budget.tick()
        assert e.value.phase == "the test" and "during the test" in str(e.value)
        assert b.phase == ""  # restored after the block
    budget.tick()
    with Budget(time_limit=100).active() as b:
        budget.tick("a phase")
        assert b.phase == "a phase" and 0 < b.remaining() <= 100 and not b.expired()
        with pytest.raises(TimeUp, match="before the step"):
            budget.expect(1000.0, "the step")
        budget.expect(1.0, "a short step")
    assert budget.current().time_limit is None


def test_reserve_refuses_above_the_memory_budget() -> None:
    with Budget(max_memory=2**20).active():
        budget.reserve(2**19, "half", "no hint")
        with pytest.raises(TooLargeError, match=r"a table needs about 1.0 GiB, above the memory "
                                                r"budget of 1.0 MiB; lower it \(or raise "
                                                r"--max-memory\)") as e:
            budget.reserve(2**30, "a table", "lower it")
        assert isinstance(e.value, UserError)
    budget.reserve(2**20, "outside", "no budget: the default is half the RAM")


def test_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(KeyboardInterrupt), gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
        raise KeyboardInterrupt
    assert gc.isenabled()
