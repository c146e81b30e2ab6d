# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: criu_list
short_description: A list variable as a list, also when given as comma-separated text
version_added: 0.3.0
author:
  - criu.check contributors (@criu-check)
description:
  - C(-e name=a,b) on the command line gives a variable as the text C(a,b). A role's argument spec accepts that text
    for a list (as a module's does) but hands the role the variable unchanged, so a role that reads it as a list
    would iterate over its characters. This filter reads it as the argument spec does, once, for every role of the
    collection.
  - A list stays as it is. Text is split at commas, each item stripped of spaces; empty items are dropped. C(null)
    (an unset or C(~) variable) is O(none).
  - Anything else (a dictionary, a number, a boolean) is an error that says what is accepted.
options:
  _input:
    description: The variable.
    type: raw
    required: true
  none:
    description: What C(null) reads as.
    type: list
    elements: raw
    default: []
  name:
    description: The variable's name, for the error message.
    type: str
    default: the input
seealso:
  - ref: playbooks_filters
    description: Ansible's filters.
'''

EXAMPLES = r'''
- name: Install what -e criu_install_extra_packages=strace,gdb asks for
  ansible.builtin.package:
    name: "{{ criu_install_extra_packages | criu.check.criu_list(name='criu_install_extra_packages') }}"
  # ['strace', 'gdb'], as with criu_install_extra_packages: [strace, gdb]

- name: Categories, all of them when the variable is null
  ansible.builtin.set_fact:
    categories: "{{ criu_require_categories | criu.check.criu_list(none=['all']) }}"
'''

RETURN = r'''
_value:
  description: The items, in order.
  type: list
  elements: raw
'''

from collections.abc import Mapping, Sequence  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402


def criu_list(value, none=None, name='the input'):
    """``value`` as a list: a list as it is, text split at commas, None as ``none``."""
    if value is None:
        return list(none or [])
    if isinstance(value, str):
        return [item.strip() for item in value.split(',') if item.strip()]
    if isinstance(value, Sequence) and not isinstance(value, Mapping):
        return list(value)
    raise AnsibleFilterError('criu_list: %s must be a list or comma-separated text, not %s %r'
                             % (name, type(value).__name__, value))


class FilterModule(object):
    """criu.check filters."""

    def filters(self):
        return {
            'criu_list': criu_list,
        }
