# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Registry rows for the engine's tests: what the engine reads of a row (id,
own_process, lib, and ``run(ctx)``), built here so that the tests' probe
functions never depend on how the registry resolves its own."""

import collections


class Row(collections.namedtuple('Row', 'id func own_process lib')):

    def run(self, ctx):
        return self.func(ctx)


def row(probe_id, func, own_process=False, lib=None):
    return Row(probe_id, func, own_process, lib)
