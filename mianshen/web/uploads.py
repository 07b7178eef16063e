"""An uploaded file is hostile until measured: its name is reduced to a base name, its type is
checked against what the form accepts, and it is read only up to the limit plus one byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mianshen.web.errors import WebError

MAX_UPLOAD = 10 * 1024 * 1024  # per file


async def save_upload(
    upload: Any, folder: Path, suffixes: set[str], kinds: str, index: int = 0, field: str | None = None
) -> Path:
    """The upload written under `folder` (a subfolder per `index`, so two files of one name both
    stay); a clear error naming the file when its type or size is not accepted (beside the form's
    input `field`)."""
    name = Path(str(upload.filename).replace("\\", "/")).name
    if Path(name).suffix.lower() not in suffixes:
        raise WebError(400, "bad_file_type", f"文件“{name}”类型不支持，请上传{kinds}", field)
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD or not data:
        raise WebError(400, "bad_file_size", f"文件“{name}”为空或超过 10MB", field)
    target = folder / str(index) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
