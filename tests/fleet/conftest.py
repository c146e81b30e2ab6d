# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Say where the fleet tests left what a person should look at (the screenshot of the report)."""

import pytest

_ARTIFACTS = []


@pytest.fixture(scope='session')
def fleet_artifacts():
    """Append (what, path) to have it printed at the end of the test run."""
    return _ARTIFACTS


def pytest_terminal_summary(terminalreporter):
    for what, path in _ARTIFACTS:
        terminalreporter.write_line('fleet report %s: %s' % (what, path))
