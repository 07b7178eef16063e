"""Reading a population of enterprise profiles from JSON Lines, one enterprise per line.

A bad line is reported with its line number and reason and left out of the run; the caller
decides whether any rejection is fatal. Nothing is dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mianshen.errors import InputError, MianshenError, os_reason
from mianshen.rules.profile import Profile, profile_from_mapping


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


def read_population(path: str | Path) -> tuple[list[Profile], list[Rejected]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"无法读取企业档案文件：{os_reason(exc)}", str(path)) from exc
    except UnicodeDecodeError as exc:
        raise InputError("企业档案文件不是 UTF-8 编码", str(path)) from exc
    profiles: list[Profile] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            profile = profile_from_mapping(json.loads(line), where=f"{path}:{number}")
        except json.JSONDecodeError as exc:
            rejected.append(Rejected(number, f"不是有效的 JSON：{exc.msg}"))
            continue
        except MianshenError as exc:
            rejected.append(Rejected(number, str(exc).split(": ", 1)[-1]))
            continue
        if not profile.id:
            rejected.append(Rejected(number, "缺少企业标识 uscc"))
        elif profile.id in seen:
            rejected.append(Rejected(number, f"企业 {profile.id} 重复出现"))
        else:
            seen.add(profile.id)
            profiles.append(profile)
    return profiles, rejected
