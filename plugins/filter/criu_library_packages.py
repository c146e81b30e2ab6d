# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: criu_library_packages
short_description: The packages of the probes' Python libraries in a distribution family
version_added: 0.3.0
author:
  - criu.check contributors (@criu-check)
description:
  - The distribution package of each Python library the probes import (C(pyroute2), C(ptrace), C(nftables)), by
    the name it is imported by, in a distribution family (the C(os_family) fact). A library the family's official
    repositories lack is left out.
  - The same table names the package in a probe's fix when the library is missing on a managed node
    (C(plugins/module_utils/_deps.py)), so the criu.check.install role installs what the probes ask for.
  - A family without such a table is an error that names the families there are.
options:
  _input:
    description: The distribution family, as C(ansible_facts.os_family).
    type: str
    required: true
seealso:
  - ref: playbooks_filters
    description: Ansible's filters.
'''

EXAMPLES = r'''
- name: Install the probes' Python libraries
  ansible.builtin.package:
    name: "{{ (ansible_facts.os_family | criu.check.criu_library_packages).values() | list }}"
  # Suse: python3-pyroute2, python3-python-ptrace, python3-nftables
'''

RETURN = r'''
_value:
  description: The package of each library, by the library's import name.
  type: dict
'''

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _deps  # noqa: E402


def criu_library_packages(family):
    """{library: package} of ``family`` from the collection's one table (module_utils/_deps.py)."""
    if not isinstance(family, str):
        # ansible_facts given for ansible_facts.os_family: a dictionary, whose look-up below fails as unhashable.
        kind = 'a dictionary' if isinstance(family, dict) else 'a list' if isinstance(family, list) else repr(family)
        raise AnsibleFilterError('criu_library_packages: the input must be a distribution family (ansible_facts.os_family), '
                                 'one of %s, not %s' % (', '.join(sorted(_deps.PACKAGES)), kind))
    if family not in _deps.PACKAGES:
        raise AnsibleFilterError('criu_library_packages: no package names for the distribution family %r; '
                                 'there are %s' % (family, ', '.join(sorted(_deps.PACKAGES))))
    return dict(_deps.PACKAGES[family])


class FilterModule(object):
    """criu.check filters."""

    def filters(self):
        return {
            'criu_library_packages': criu_library_packages,
        }
