"""Writing a user's output file so that it is never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> int:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file in the same folder,
    renamed into place: the file is whole or untouched, never half-written. The folder is made
    if missing; the file gets the usual 0644 (``mkstemp`` alone would make it owner-only).
    Returns the bytes written."""
    target = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(raw)
