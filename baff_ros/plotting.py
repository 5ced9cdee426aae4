# Copyright 2026 The baff_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Matplotlib for files, never a window: one place selects the non-interactive backend.

Every plot of the package (training curves, evaluation charts, benchmark bars) is written to a
PNG, on machines that may have no display. :func:`pyplot` selects matplotlib's ``Agg`` backend
the first time it is called - not at import, so importing a module that can plot changes
nothing for a program that uses matplotlib itself - and returns ``matplotlib.pyplot``.
"""

from types import ModuleType

_selected = False


def pyplot() -> ModuleType:
    """Return ``matplotlib.pyplot`` with the ``Agg`` backend selected (once per process).

    Raises:
        ImportError: matplotlib is not installed (the optional ``plot`` extra).
    """
    global _selected
    import matplotlib

    if not _selected:
        matplotlib.use('Agg')
        _selected = True
    import matplotlib.pyplot as plt

    return plt
