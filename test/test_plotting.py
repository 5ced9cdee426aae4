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
"""baff_ros.plotting: plots are files, drawn with the non-interactive Agg backend."""

import os
import subprocess
import sys


def test_pyplot_selects_agg_when_called_not_at_import():
    # A fresh interpreter: the backend is decided once per process.
    code = ('import matplotlib, baff_ros.plotting as p, baff_ros.train, baff_ros.evaluate\n'
            'before = matplotlib.rcParams._get_backend_or_none()\n'
            'plt = p.pyplot()\n'
            'print(before, matplotlib.get_backend().lower(), plt.__name__, p.pyplot() is plt)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, env={**os.environ, 'MPLBACKEND': 'pdf'}).stdout.split()
    assert out == ['pdf', 'agg', 'matplotlib.pyplot', 'True']
