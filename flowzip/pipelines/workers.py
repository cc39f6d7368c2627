"""Worker processes on this machine for independent work (files, chunks, images to benchmark).

``imap(fn, tasks, jobs)`` runs ``fn(*task)`` for each task in ``jobs`` worker processes and yields
``(index, result, error)`` as each finishes; with one job it runs them here, one after another, by
the same path. Workers are forked (they inherit the loaded models), run one BLAS and one torch
thread each (forked OpenMP pools hang with more), ignore Ctrl-C and are ended by the
parent when it stops early: outputs are written by the parent only, so an interrupted run leaves no
partial file. A worker run inside a worker codes inline (no nested pools).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from typing import Callable, Iterable, Iterator

from ..errors import FlowzipError

_IN_WORKER = False
_CONTEXT = None  # a worker's ``context`` (see ``imap``)
DIED = "a worker process died (out of memory, or killed)"
WINDOW = 4  # tasks queued per worker: keeps memory bounded on long task lists


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def workers(jobs: int | None) -> int:
    """Worker processes for ``-j jobs`` (0: one per core); 1 inside a worker."""
    if _IN_WORKER:
        return 1
    return cpu_count() if jobs == 0 else max(1, jobs or 1)


def _start_worker(context) -> None:
    global _IN_WORKER, _CONTEXT
    _IN_WORKER, _CONTEXT = True, context
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ... with SIGTERM, which ends a worker at once
    one_thread()


def one_thread() -> None:
    """This process computes with one thread: BLAS (the networks), and torch where it is loaded
    (training, estimates). Several threads spin-waiting beside the workers only slow a shared
    machine down."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _context():
    import multiprocessing  # (with the pools' modules: imported only where workers start)

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _end(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now (queued tasks are dropped, running ones killed)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    else:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(5)
        # A result a killed worker was halfway through sending keeps the pool's reader waiting for
        # its missing bytes, and the pool's shutdown waiting on that reader, for ever: with every
        # worker gone, closing our own end of the results pipe ends that read.
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            writer.close()
    pool.shutdown(wait=True, cancel_futures=True)


def _with_context(fn: Callable, *task):
    return fn(_CONTEXT, *task)


def imap(fn: Callable, tasks: Iterable[tuple], jobs: int | None = 1, fail_fast: bool = False,
         context=None) -> Iterator[tuple[int, object, Exception | None]]:
    """``(index, fn(*task), None)`` or ``(index, None, error)`` per task, as each finishes. With
    ``fail_fast`` nothing more is started after an error (the error is still yielded). A
    ``context`` (e.g. codecs that cannot be pickled) is handed to each worker once, when it
    starts, and the calls are then ``fn(context, *task)``."""
    n = workers(jobs)
    if n <= 1:
        run = fn if context is None else functools.partial(fn, context)
        for i, task in enumerate(tasks):
            try:
                yield i, run(*task), None
            except Exception as e:  # noqa: BLE001 - handed to the caller, who names the input
                yield i, None, e
                if fail_fast:
                    return
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    call = fn if context is None else functools.partial(_with_context, fn)
    pool = ProcessPoolExecutor(n, mp_context=_context(), initializer=_start_worker, initargs=(context,))
    pending, todo, stop, broken = {}, enumerate(tasks), False, False
    finished = False
    try:
        while True:
            while not stop and len(pending) < (n if fail_fast else n * WINDOW):
                item = next(todo, None)
                if item is None:
                    break
                pending[pool.submit(call, *item[1])] = item[0]
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.get):
                i = pending.pop(future)
                try:
                    yield i, future.result(), None
                except BrokenProcessPool:
                    yield i, None, FlowzipError(DIED)
                    stop = broken = True
                except Exception as e:  # noqa: BLE001 - as above
                    yield i, None, e
                    stop = stop or fail_fast
        if broken:  # the pool is gone: what was not started is reported, not dropped
            for i, _ in todo:
                yield i, None, FlowzipError(DIED)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # stopped early: an error, Ctrl-C, or the caller stopped reading
            _end(pool)
