"""Worker processes (``flowzip.pipelines.workers``): every result or error by index, a dead
worker fails its tasks only, and stopping early ends at once."""

from __future__ import annotations

import os

import pytest

from flowzip.errors import FlowzipError
from flowzip.pipelines import workers


def _square(x):
    if x == 3:
        raise FlowzipError("three")
    return x * x


def _die(x):
    if x == 1:
        os._exit(1)
    return x


def _big(i, sending):
    """Task 0 returns at once; the others say that they are about to send a large result."""
    if i:
        os.close(os.open(f"{sending}.{i}", os.O_CREAT | os.O_WRONLY))
    return bytes(60_000_000 + i) if i else b""


@pytest.mark.parametrize("jobs", [1, 2])
def test_imap_gives_every_result_or_error_by_index(jobs):
    got = {i: (r, e) for i, r, e in workers.imap(_square, [(x,) for x in range(6)], jobs)}
    assert {i: r for i, (r, e) in got.items() if e is None} == {0: 0, 1: 1, 2: 4, 4: 16, 5: 25}
    assert str(got[3][1]) == "three"
    stopped = list(workers.imap(_square, [(x,) for x in range(3, 40)], jobs, fail_fast=True))
    (error,) = [k for k, (_, _, e) in enumerate(stopped) if e is not None]
    # nothing is started after the error: only tasks already running may still finish (how many
    # ran before it is up to the scheduler)
    assert len(stopped) - error - 1 <= workers.workers(jobs) - 1


def test_a_dead_worker_fails_its_tasks_not_the_parent():
    results = list(workers.imap(_die, [(x,) for x in range(8)], 2))
    assert sorted(i for i, _, _ in results) == list(range(8))
    assert any("worker process died" in str(e) for _, _, e in results)


def test_stopping_while_workers_send_large_results_ends_at_once(tmp_path):
    """A worker killed halfway through sending its result must not leave the pool waiting for the
    rest of it (the pool's shutdown used to hang for ever). The caller stops once the first result
    is in and another worker has begun to send (it says so by a file): stopping ends, whatever
    point of sending it catches."""
    import threading

    for attempt in range(3):
        sending = tmp_path / f"sending-{attempt}"
        results = workers.imap(_big, [(i, sending) for i in range(6)], 2)
        assert next(results)[0] == 0
        while not list(tmp_path.glob(f"{sending.name}.*")):
            threading.Event().wait(0.001)
        closing = threading.Thread(target=results.close, daemon=True)
        closing.start()
        closing.join(120)  # a hang, not a slow machine: closing takes well under a second
        assert not closing.is_alive()


def test_jobs_zero_means_one_per_core():
    assert workers.workers(0) == workers.cpu_count() and workers.workers(3) == 3
