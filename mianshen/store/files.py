"""Files the platform keeps are private to its account (keep_private). Uploaded files are kept by
content: under a files folder by their SHA-256, so a file sent twice is kept once and a later change
to a kept file is detectable (application materials, correction evidence)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from mianshen.errors import InputError


def keep_private() -> None:
    """Everything this process creates from here on is its owner's only: files 0600, folders 0700 —
    the SQLite store and its journal, the outbox log, uploads, answers, mirrors, drafts (M11: they
    were 0644, readable by every account on the server). Called where a process starts: the CLI and
    the web application. Files made before keep their mode (`chmod -R go-rwx var` once)."""
    os.umask(0o077)


def store_attachment(path: Path, files_dir: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"附件不存在：{path}")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    target = files_dir / sha[:2] / f"{sha}{path.suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)  # atomic: a crash never leaves a half-copied file under its hash
    return {"name": path.name, "sha256": sha, "size": path.stat().st_size, "path": str(target)}
