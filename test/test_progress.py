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
"""Progress bars stay quiet in log files."""

import subprocess
import sys

LOOP = ('from baff_ros.progress import progress_bar\n'
        'import time\n'
        'for i in progress_bar(range(40), unit="frame"):\n'
        '    time.sleep(0.01)\n')


def test_piped_progress_writes_a_start_and_an_end_line_only():
    # 40 updates over ~0.4 s: a terminal bar redraws each 0.1 s; in a log it would be 5+ lines.
    done = subprocess.run([sys.executable, '-c', LOOP], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.replace('\r', '\n').splitlines() if ln.strip()]
    assert len(lines) == 2, lines
    assert lines[0].startswith('  0%') and '40/40' in lines[-1]
