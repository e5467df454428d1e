"""Ordered map over worker processes, the one pattern the CPU-heavy stages share."""

from __future__ import annotations

import multiprocessing
from typing import Callable, Iterable, Iterator


def ordered_map(fn: Callable, tasks: Iterable, workers: int) -> Iterator:
    """``map(fn, tasks)`` computed by ``workers`` processes; results come back in task order.

    With ``workers == 1`` everything runs in this process (no pickling, easy to debug).
    ``fn`` must be a module-level function and the tasks picklable.
    """
    if workers == 1:
        yield from map(fn, tasks)
        return
    # fork is cheapest where available (no re-import of numpy and Pillow per worker)
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ctx.Pool(workers) as pool:
        yield from pool.imap(fn, tasks)
