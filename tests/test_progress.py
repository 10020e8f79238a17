"""Progress: the Meter's counts, the plain reporter's lines, and what the CLI prints off a terminal."""

from __future__ import annotations

import io
import re
import threading

from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.progress import Meter, PlainReporter, current_meter, fmt_duration, fmt_rate, use_meter

LINE = re.compile(
    r"^judgecal: (?P<stage>.+?) (?P<done>\d+)/(?P<total>\d+) \((?P<pct>\d+)%\) \S+/s ETA \S+ "
    r"calls (?P<calls>\d+)( cached (?P<cached>\d+))? cost \$(?P<cost>[\d.]+)\S* "
    r"invalid (?P<invalid>\d+) failed (?P<failed>\d+)( skipped \d+)?$"
)


class Clock:
    """A fake monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_meter_counts_rate_eta_and_cost() -> None:
    clock = Clock()
    meter = Meter("grading", clock=clock)
    clock.now += 5  # setup before the work: not in the rate
    meter.set_stage("grading", 100)
    clock.now += 10
    meter.record(units=20, calls=18, cached=2, cost=0.01, invalid=1)
    meter.record(units=10, calls=11, cost=0.005, failed=1)
    snap = meter.snapshot()
    assert (snap.done, snap.total, snap.calls, snap.cached, snap.invalid, snap.failed) == (
        30,
        100,
        29,
        2,
        1,
        1,
    )
    assert abs(snap.cost - 0.015) < 1e-12 and snap.cost_known
    assert snap.rate == 3.0  # 30 units in the 10 s since the total was known
    assert snap.eta is not None and abs(snap.eta - 70 / 3) < 1e-9
    assert snap.elapsed == 15
    meter.record(units=1, calls=1, cost_known=False)
    assert not meter.snapshot().cost_known
    assert "some prices unknown" in meter.snapshot().line()


def test_meter_degenerate_cases() -> None:
    clock = Clock()
    meter = Meter("grading", clock=clock)
    snap = meter.snapshot()
    assert snap.total is None and snap.rate is None and snap.eta is None and snap.fraction is None
    assert snap.line() == "grading 0 -/s calls 0 cost $0.0000 invalid 0 failed 0"
    meter.set_total(0)  # nothing to do: done at once
    assert meter.snapshot().fraction == 1.0


def test_meter_stage_totals_add_up_unless_fixed() -> None:
    meter = Meter(clock=Clock())
    meter.set_stage("grading a", 10)
    meter.set_stage("grading b", 30)
    meter.set_stage("grading b", 30)  # announced again: counted once
    assert meter.snapshot().total == 40 and meter.snapshot().stage == "grading b"
    meter.set_total(100)
    meter.set_stage("probe position", 5)
    assert meter.snapshot().total == 100


def test_meter_is_thread_safe() -> None:
    meter = Meter(clock=Clock())

    def work() -> None:
        for _ in range(2000):
            meter.record(units=1, calls=1, cost=0.001)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = meter.snapshot()
    assert snap.done == snap.calls == 8000


def test_use_meter_is_scoped() -> None:
    assert current_meter() is None
    meter = Meter()
    with use_meter(meter):
        assert current_meter() is meter
    assert current_meter() is None


def test_formatting() -> None:
    assert [fmt_duration(s) for s in (0, 42, 90, 3600 + 5 * 60)] == ["0s", "42s", "1m30s", "1h05m"]
    assert [fmt_rate(r) for r in (None, 3.14, 250.4)] == ["-/s", "3.1/s", "250/s"]


def test_plain_reporter_writes_each_ten_percent_and_a_final_line() -> None:
    clock = Clock()
    meter = Meter("grading", clock=clock)
    stream = io.StringIO()
    reporter = PlainReporter(meter, stream, interval=10, start_thread=False)
    meter.set_stage("grading", 40)
    for _ in range(40):
        clock.now += 0.5
        meter.record(units=1, calls=1, cost=0.0001)
    reporter.close()
    lines = stream.getvalue().splitlines()
    assert all(LINE.match(line) for line in lines), lines
    done = [int(LINE.match(line).group("done")) for line in lines]  # type: ignore[union-attr]
    assert done == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]  # one line per 10% step; the last is final
    assert lines[-1] == "judgecal: grading 40/40 (100%) 2.0/s ETA 0s calls 40 cost $0.0040 invalid 0 failed 0"


def test_plain_reporter_ticks_on_the_interval_only_when_something_changed() -> None:
    meter = Meter("grading", clock=Clock())
    stream = io.StringIO()
    reporter = PlainReporter(meter, stream, interval=10, start_thread=False)
    assert not reporter.tick()  # nothing planned or started: no "0 -/s" line during set-up
    meter.record(units=1, calls=1)  # no total: no percentage step, the interval shows it
    assert stream.getvalue() == ""
    assert reporter.tick()
    assert not reporter.tick()  # nothing changed: no repeated line
    reporter.close()  # nothing new since: no duplicate final line
    assert stream.getvalue().count("\n") == 1


def test_plain_reporter_thread_writes_on_a_short_interval() -> None:
    meter = Meter("grading")
    stream = io.StringIO()
    with PlainReporter(meter, stream, interval=0.02):
        meter.record(units=1)
        for _ in range(100):
            if stream.getvalue():
                break
            threading.Event().wait(0.01)
    assert stream.getvalue().startswith("judgecal: grading 1 ")


# -- the CLI off a terminal (CliRunner's streams are not terminals)


def _lines(stderr: str) -> list[re.Match[str]]:
    return [m for m in (LINE.match(line) for line in stderr.splitlines()) if m]


def test_grade_prints_plain_progress_on_stderr_and_none_with_quiet() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["grade", "support-billing", "--judge", "sim/accurate", "--split", "all"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.stderr)
    assert lines, result.stderr
    last = lines[-1]
    assert last["stage"] == "grading" and last["done"] == last["total"] == "77"
    assert int(last["calls"]) == 77 and last["invalid"] == "0" and last["failed"] == "0"
    assert "judgecal:" not in result.stdout  # progress never mixes with the output

    again = runner.invoke(
        app, ["grade", "support-billing", "--judge", "sim/accurate", "--split", "all", "-q"]
    )
    assert again.exit_code == 0, again.output
    assert "judgecal:" not in again.stderr


def test_validate_progress_counts_grading_and_probe_units() -> None:
    from judgecal.approval.validate import plan_validation

    plan = plan_validation("support-billing", "sim/accurate", probes=["position"], preflight=False)
    grading = sum(s.units for s in plan.stages if s.stage == "grading")
    total = sum(s.units for s in plan.stages)
    assert total > grading > 0  # the probes' units are in the total

    result = CliRunner().invoke(
        app, ["validate", "support-billing", "--judge", "sim/accurate", "--probe", "position"]
    )
    assert result.exit_code in (0, 1), result.output
    lines = _lines(result.stderr)
    assert lines and {int(m["total"]) for m in lines} == {total}, result.stderr
    assert lines[-1]["done"] == str(total)  # one bar through every stage, to its end
    assert {m["stage"] for m in lines} & {"probe position", "probe resample_consistency", "deciding"}
