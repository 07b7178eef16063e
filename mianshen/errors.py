"""One root error class; subclasses carry where the problem is and how to fix it.

Every error a user can cause is a subclass of `MianshenError`, so the CLI can print it as one
clear line and exit non-zero instead of showing a traceback.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    file: str
    line: int = 0  # 1-based; 0 when unknown
    column: int = 0  # 1-based; 0 when unknown

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a file, with its place and a hint for fixing it."""

    location: Location
    message: str
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        kind = "错误" if self.severity == "error" else "警告"
        text = f"{self.location}: {kind}: {self.message}"
        if self.hint:
            text += f"。{self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class MianshenError(Exception):
    """Root of every error caused by input: shown to the user as a message, never a traceback.

    `field` names the input the message is about when one is (a bank code, say), so a web form
    shown again puts the message beside that input."""

    field: str | None = None


class PolicyFileError(MianshenError):
    """A policy file could not be loaded; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class InputError(MianshenError):
    """Bad input other than a policy file: a profile, a date, a command-line value."""

    def __init__(self, message: str, where: str = "", field: str | None = None) -> None:
        self.where, self.field = where, field
        super().__init__(f"{where}: {message}" if where else message)


_OS_REASONS = {
    errno.ENOENT: "文件或目录不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.ENOSPC: "磁盘空间不足",
    errno.EISDIR: "这是一个目录，不是文件",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EEXIST: "已经存在",
    errno.EROFS: "文件系统只读",
}


def os_reason(exc: OSError) -> str:
    """What is wrong with a path, in Chinese where the error is a common one."""
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def os_problem(exc: OSError) -> str:
    """One Chinese line for a file-system error: which path and what is wrong with it."""
    return f"无法读写 {exc.filename}：{os_reason(exc)}" if exc.filename else f"读写文件失败：{os_reason(exc)}"
