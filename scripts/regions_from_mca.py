"""Regenerate mianshen/reference/data/regions_mca.csv from the 民政部 code files.

Since 2025-09-01 (《行政区划代码管理办法》) the 民政部 annual 《县级以上行政区划代码》 is the authority
for region codes. The platform's table of current codes is the NBS 统计用区划代码 2022 (it also
lists the functional zones — 开发区、航空港区 — that Henan documents address and 民政部 does not);
this script adds, from the 民政部 files:

- codes in use that the NBS table lacks (new counties since 2022), and
- every abolished code with the current code that took its place and the year it was abolished,
  following chains (412727 淮阳县 → 411626 → 411603). Codes split among several successors are left
  out: an old code that cannot be resolved to one place is not guessed.

Input: a compilation of the 民政部 annual files with the columns
代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码 (such as result.csv of
github.com/yescallop/areacodes, CC0). Run once a year when 民政部 publishes the new file:

    python scripts/regions_from_mca.py result.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "mianshen" / "reference" / "data"
LEVELS = {"省级": "province", "地级": "city", "县级": "county"}
COLUMNS = ["code", "name", "level", "parent_code", "status", "abolished", "successor"]


def successors(row: dict[str, str]) -> list[str]:
    """The codes that took over at abolition (a `[year]` suffix marks an earlier partial transfer)."""
    return [c for c in row["新代码"].split(";") if c and "[" not in c]


def main(source: str) -> None:
    with open(DATA / "regions.csv", encoding="utf-8") as handle:
        nbs = {r["code"]: r for r in csv.DictReader(handle)}
    with open(source, encoding="utf-8-sig") as handle:
        mca = list(csv.DictReader(handle))
    in_use = {r["代码"]: r for r in mca if r["状态"] == "在用"}
    current = set(nbs) | set(in_use)
    out: list[dict[str, str]] = []
    for code, r in sorted(in_use.items()):
        if code in nbs:
            continue
        parent = "" if r["级别"] == "省级" else next(p for p in (code[:4] + "00", code[:2] + "0000") if p in current)
        out.append(
            {"code": code, "name": r["名称"], "level": LEVELS[r["级别"]], "parent_code": parent, "status": "在用"}
        )
    dead: dict[str, dict[str, str]] = {}
    for r in mca:  # a code reused and abolished again: its last abolition counts
        if r["状态"] == "弃用" and r["代码"] not in current:
            seen = dead.get(r["代码"])
            if seen is None or int(r["变更/弃用时间"]) > int(seen["变更/弃用时间"]):
                dead[r["代码"]] = r
    for code, r in sorted(dead.items()):
        chain, seen = successors(r), {code}
        while len(chain) == 1 and chain[0] in dead and chain[0] not in seen:
            seen.add(chain[0])
            chain = successors(dead[chain[0]])
        if len(chain) != 1 or chain[0] not in current:
            continue
        out.append(
            {
                "code": code,
                "name": r["名称"],
                "level": LEVELS[r["级别"]],
                "status": "弃用",
                "abolished": r["变更/弃用时间"],
                "successor": chain[0],
            }
        )
    with open(DATA / "regions_mca.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    print(
        f"regions_mca.csv: {sum(r['status'] == '在用' for r in out)} 个新增现行代码，"
        f"{sum(r['status'] == '弃用' for r in out)} 个已撤销代码"
    )


if __name__ == "__main__":
    main(sys.argv[1])
