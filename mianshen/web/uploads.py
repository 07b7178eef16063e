"""An uploaded file is hostile until measured: its name is reduced to a base name (`.`, `..` and
hidden names refused), its type is checked against what the form accepts and then against its
content (filecheck: magic bytes, zip sizes), and it is read only up to the limit plus one byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from mianshen import filecheck
from mianshen.web.errors import WebError

MAX_UPLOAD = 10 * 1024 * 1024  # per file


def upload_name(upload: Any, field: str | None = None) -> str:
    return file_name(str(getattr(upload, "filename", "") or ""), field)


def file_name(given: str, field: str | None = None) -> str:
    """The base name a person gave the file, its stem shortened to fit a file system (255 bytes);
    an empty, `.`/`..` or hidden name is refused."""
    name = Path(given.replace("\\", "/")).name.strip()
    if not name or name.startswith(".") or any(ord(c) < 32 for c in name):
        raise WebError(400, "bad_file_name", "文件名无效，请重命名文件（如“材料.pdf”）后重新上传", field)
    stem, suffix = Path(name).stem, Path(name).suffix[:20]
    while len((stem + suffix).encode("utf-8")) > 200:
        stem = stem[: len(stem) * 3 // 4]
    return stem + suffix


async def read_upload(
    upload: Any, suffixes: set[str] | tuple[str, ...], kinds: str, limit: int, field: str | None = None
) -> tuple[str, bytes]:
    """(name, content) of an upload whose name, type and size are accepted; read at most limit + 1
    bytes. Errors name the file and, for a page form, the input `field` they are shown beside."""
    name = upload_name(upload, field)
    if Path(name).suffix.lower() not in suffixes:
        raise WebError(400, "bad_file_type", f"文件“{name}”类型不支持，请上传{kinds}", field)
    data = await upload.read(limit + 1)
    if len(data) > limit or not data:
        raise WebError(400, "bad_file_size", f"文件“{name}”为空或超过 {limit // (1024 * 1024)}MB", field)
    return name, data


async def save_upload(
    upload: Any, folder: Path, suffixes: set[str], kinds: str, index: int = 0, field: str | None = None
) -> Path:
    """The upload written under `folder` (a subfolder per `index`, so two files of one name both
    stay); a clear error naming the file when its type, content or size is not accepted."""
    name, data = await read_upload(upload, suffixes, kinds, MAX_UPLOAD, field)
    target = folder / str(index) / name

    def keep() -> None:  # up to 10 MB written and its content measured: not on the event loop
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        filecheck.check_file(target)

    await run_in_threadpool(keep)
    return target
