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
"""Write files so that a reader never sees half of one and nothing is lost on failure.

Every output is written to a temporary sibling (same folder, so the rename cannot cross file
systems) and renamed onto its name only when complete; if writing fails, the temporary file
is removed and whatever had that name before is untouched.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


def _umask() -> int:
    """Read the process umask without changing it (os.umask would, for every thread)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


class PendingFile:
    """A temporary sibling of ``path`` to write, then :meth:`commit` (rename) or :meth:`discard`.

    The sibling keeps ``path``'s suffix (OpenCV and matplotlib choose the format by it) and
    gets the permissions a newly created file would get.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f'.{self.path.stem}.',
                                        suffix=f'.partial{self.path.suffix}',
                                        dir=self.path.parent)
        except OSError as exc:
            raise OSError(f'{self.path}: cannot write there ({exc.strerror or exc})') from None
        os.close(fd)
        self.tmp = Path(name)
        try:
            os.chmod(self.tmp, 0o666 & ~_umask())
        except OSError:
            self.discard()
            raise

    def commit(self) -> Path:
        """Rename the written file onto ``path``."""
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file; ``path`` stays as it was."""
        self.tmp.unlink(missing_ok=True)


@contextmanager
def replacing(path: PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it onto ``path`` if the block succeeds."""
    pending = PendingFile(path)
    try:
        yield pending.tmp
        pending.commit()
    except BaseException:
        pending.discard()
        raise


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling."""
    return write_bytes(path, text.encode('utf-8'))


def write_image(path: PathLike, array) -> Path:
    """Encode ``array`` in the format of ``path``'s suffix (OpenCV) and write it atomically.

    Raises:
        OSError: the array cannot be encoded in that format, or the file cannot be written.
    """
    import cv2

    path = Path(path)
    try:
        ok, buf = cv2.imencode(path.suffix or '.png', array)
    except cv2.error:
        ok = False
    if not ok:
        raise OSError(f'{path}: could not encode a {array.dtype} {array.shape} image as '
                      f'{path.suffix}')
    return write_bytes(path, buf.tobytes())
