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
"""Progress bars that suit both a terminal and a log file."""

import sys
from typing import Any

#: Seconds between progress lines when stderr is not a terminal (CI logs, launch files).
LOG_INTERVAL_S = 30.0


def progress_bar(iterable: Any = None, **kwargs: Any) -> Any:
    """Return a tqdm bar; on a non-terminal stderr, one line per LOG_INTERVAL_S, not per update.

    tqdm redraws with carriage returns up to ten times a second, which a log file keeps as
    separate lines; there the bar is throttled instead (and still ends with a final line).
    """
    from tqdm import tqdm

    if not getattr(sys.stderr, 'isatty', lambda: False)():
        kwargs.setdefault('mininterval', LOG_INTERVAL_S)
        kwargs.setdefault('maxinterval', LOG_INTERVAL_S * 2)
    return tqdm(iterable, **kwargs)
