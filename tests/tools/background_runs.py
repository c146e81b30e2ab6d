# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slow runs (contexts of the differential oracle, seccomp cases, VM boots)
started once per test session and run in the background, a few at a time,
while the tests that judge them read their results one by one."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor


class BackgroundRuns:
    """``runs``: (key, function, arguments) each, started in that order (the
    slowest first keeps the pool busy), ``workers`` at a time: CI has two
    cores."""

    def __init__(self, runs, workers=2):
        self.workers = workers
        self.started = time.monotonic()
        self.finished = None   # when wait_all() saw the last run end
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._futures = dict((key, self._pool.submit(function, *args)) for key, function, args in runs)

    def result(self, key):
        """What the run of ``key`` returned, once it has ended; raises what it raised."""
        return self._futures[key].result()

    def results(self):
        """key: result of each run that has ended without an exception (for a
        summary, which must not wait or raise)."""
        return dict((key, fut.result()) for key, fut in self._futures.items()
                    if fut.done() and fut.exception() is None)

    def wait_all(self):
        """Waits for every run and ends the pool. What a run raised is left to
        the tests that read it."""
        for fut in self._futures.values():
            fut.exception()
        with self._lock:
            if self.finished is None:
                self.finished = time.monotonic()
        self._pool.shutdown(wait=True)
