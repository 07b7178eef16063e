"""The platform's date. Every "today" in the code comes from here.

`MIANSHEN_TODAY=2025-06-30` pins it, so that a demonstration, a training environment or a test can
run the platform as of a chosen day (policies in force then, 公示 windows counted from then).
Production leaves it unset.
"""

from __future__ import annotations

import datetime as dt
import os


def today() -> dt.date:
    pinned = os.environ.get("MIANSHEN_TODAY")
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError as exc:
            raise ValueError(f"环境变量 MIANSHEN_TODAY “{pinned}”不是有效日期（应写成 2025-06-30）") from exc
    return dt.date.today()
