"""The stage timer charges each stage its own time, nested stages excluded."""

from __future__ import annotations

from ingest.timer import StageTimer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nested_stage_is_not_charged_to_the_outer_one():
    clock = Clock()
    timer = StageTimer(clock=clock)
    with timer("chunk"):
        clock.now += 1.0
        with timer("embed"):
            clock.now += 5.0
        clock.now += 2.0
        with timer("write"):
            clock.now += 0.5
    assert timer.stages == {"chunk": 3.0, "embed": 5.0, "write": 0.5}


def test_repeated_stages_add_up_into_the_given_mapping():
    clock = Clock()
    stages = {"parse": 1.0}
    timer = StageTimer(stages, clock=clock)
    for _ in range(3):
        with timer("parse"):
            clock.now += 2.0
    assert stages == {"parse": 7.0}


def test_a_stage_that_raises_is_still_charged():
    clock = Clock()
    timer = StageTimer(clock=clock)
    try:
        with timer("parse"):
            clock.now += 4.0
            raise ValueError("bad file")
    except ValueError:
        pass
    assert timer.stages == {"parse": 4.0}
