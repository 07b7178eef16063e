"""Demo data (演示数据): a Henan-like population written as import files from seven data sources.

The demo and the benchmarks must go through the real import path (register sources, import files,
read profiles), so this writes what departments would hand over — not rows straight into the store.
The files carry the defects real extracts have: a few per cent missing values, stale rows, values
two sources disagree on, rows the import must reject, and codes that fail only a check character.
Every random draw comes from one `random.Random(seed)` in a fixed order, and every date is counted
from `as_of` (the data date: observations dated then, "上年度" the year before), so seed and date fix
the data. Callers pass the platform date, so the demo's observations are fresh on the day it runs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mianshen.profiles.demo_files import Corruptions, CsvFile, DemoSummary, JsonlFile, OutFile, ParquetFile, XlsxFile
from mianshen.profiles.demo_population import Entity, halted_early_year, legal_person, workforce
from mianshen.profiles.demo_population import generate as generate_entities
from mianshen.profiles.demo_sources import TAX_TYPES, header, write_definitions, write_import_script
from mianshen.profiles.demo_tables import Picker

DEFECTS = {  # deliberate defects per file; each makes the import reject the row
    "market": ("malformed_uscc", "bad_date", "bad_industry"),
    "tax": ("non_number", "bad_date"),
    "hrss": ("broken_json", "non_integer"),
    "credit": ("malformed_uscc", "bad_boolean"),
    "zombie": (),
    "industry": ("bad_ratio", "bad_tag"),
    "loans": ("bad_date", "non_number"),
}
GRADES = {"企业": Picker(list("ABMCD"), [8, 55, 30, 5, 2]), "other": Picker(list("BMC"), [38, 60, 2])}


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _yesno(flag: bool) -> str:
    return "是" if flag else "否"


class DemoWriter:
    """Writes one entity to every file it belongs in; the per-entity logic of the generator."""

    def __init__(self, out: Path, rng: random.Random, n: int, as_of: dt.date) -> None:
        self.rng, self.as_of = rng, as_of
        per_kind = max(1, n // 20000)  # "a handful": 1 each for a small demo, 50 each for a million

        def plan(sid: str, bound: int) -> Corruptions:
            return Corruptions(rng, DEFECTS[sid], per_kind, bound)

        self.market = CsvFile(out / "market.csv", header("market"), plan("market", n))
        self.tax = ParquetFile(out / "tax.parquet", list(TAX_TYPES.items()), plan("tax", n))
        self.hrss = JsonlFile(out / "hrss.jsonl", header("hrss"), plan("hrss", n // 5))
        self.credit = CsvFile(out / "credit.csv", header("credit"), plan("credit", n))
        self.zombie = CsvFile(out / "zombie.csv", header("zombie"), plan("zombie", n))
        # sparse files: positions are drawn past the expected row count, so a small demo keeps good rows
        self.industry = XlsxFile(out / "industry.xlsx", header("industry"), plan("industry", n // 60))
        self.loans = CsvFile(out / "loans.csv", header("loans"), plan("loans", n // 40))
        self.conflicts = Corruptions(rng, ("conflict",), max(2, n // 5000), n // 5)
        self.quarter_end = dt.date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)

    @property
    def files(self) -> dict[str, OutFile]:
        return {
            "market": self.market,
            "tax": self.tax,
            "hrss": self.hrss,
            "credit": self.credit,
            "zombie": self.zombie,
            "industry": self.industry,
            "loans": self.loans,
        }

    def entity(self, e: Entity) -> None:
        rng = self.rng
        self._market(e)
        operating = e.status == "存续" and rng.random() < 0.94
        tax_employees = self._tax(e, operating)
        self._hrss(e, tax_employees)
        dishonest = rng.random() < 0.003
        f = self.credit
        kind = f.defect(e)
        uscc = e.uscc[:5] + "O" + e.uscc[6:] if kind == "malformed_uscc" else e.uscc
        f.write([uscc, e.name, "待核实" if kind == "bad_boolean" else f.blank(rng, _yesno(dishonest), 0.01)])
        zombie = e.subject == "企业" and (e.status == "吊销" or not operating) and rng.random() < 0.1
        self.zombie.defect(e)
        self.zombie.write([e.uscc, e.name, _yesno(zombie)])
        if e.tags:
            self._industry(e, zombie)
        if e.subject == "企业" and e.status == "存续" and rng.random() < 0.05:
            self._loan(e)

    def _market(self, e: Entity) -> None:
        f, rng = self.market, self.rng
        kind = f.defect(e)
        industry = e.industry if rng.random() < 0.55 else e.industry[1:]  # `C3011` and `3011` both occur
        established = e.established.isoformat()
        if kind == "bad_date":
            established = f"{e.established.year}-02-30"
        f.write(
            [
                e.uscc[:17] if kind == "malformed_uscc" else e.uscc,
                e.name,
                e.subject,
                f.blank(rng, established, 0.005),
                e.region,
                "C0000" if kind == "bad_industry" else f.blank(rng, industry, 0.01),
                e.status,
                _yesno(legal_person(e)),
            ]
        )

    def _tax(self, e: Entity, operating: bool) -> int | None:
        """Write the tax row; return the employees it reports when dated as_of (for conflicts), else None."""
        f, rng, as_of = self.tax, self.rng, self.as_of
        kind = f.defect(e)
        r = rng.random()
        period = as_of if r < 0.9 else self.quarter_end if r < 0.97 else as_of - dt.timedelta(rng.randint(450, 1100))
        f.stale += period < as_of - dt.timedelta(days=400)
        assets = round(e.assets * 1_000_000) + rng.randrange(10000)  # 万元 → 分, plus some odd cents
        taxable = None
        if e.subject == "企业":
            margin = rng.uniform(-0.08, 0.15)
            taxable = _money(max(0, round(e.revenue * 1_000_000 * margin)))
        employees = f.blank(rng, e.employees, 0.03)
        q_avg = max(0.25, round(e.employees * rng.uniform(0.85, 1.1) * 4) / 4)
        premium = arrears = None
        if e.insured:
            self._employer(e)
            premium, arrears = _money(self.premium), "true" if rng.random() < 0.02 else "false"
        small_scale = e.subject == "个体工商户" and rng.random() < 0.95 or e.size == "微型" and rng.random() < 0.7
        grade = GRADES["企业" if e.subject == "企业" else "other"].pick(rng)
        f.write(
            [
                e.uscc,
                e.name,
                f"{period.year}-13-31" if kind == "bad_date" else period.isoformat(),
                "暂无" if kind == "non_number" else f.blank(rng, f"{e.revenue:.2f}", 0.02),
                f.blank(rng, taxable, 0.03),
                employees,
                f.blank(rng, f"{q_avg:.2f}", 0.02),
                _money(assets),
                f.blank(rng, _money(round(assets * rng.uniform(0.9, 1.05))), 0.02),
                "true" if rng.random() < 0.012 else "false",
                "true" if small_scale else "false",
                grade,
                "true" if operating else "false",
                premium,
                arrears,
            ]
        )
        return employees if not kind and period == as_of else None

    def _employer(self, e: Entity) -> None:
        """失业保险 figures of last year, kept for the tax (premium) and HR (months, claimants) rows."""
        rng, last = self.rng, self.as_of.year - 1
        if e.established.year > last:
            months = 0
        elif e.established.year == last:
            months = 12 - e.established.month
        else:
            months = 12 if rng.random() < 0.88 else rng.randint(3, 11)
        insured = round(max(1.0, e.employees * rng.uniform(0.6, 1.0)) * months / 12, 2)
        r = rng.random()
        share = 0.0 if r < 0.82 else rng.uniform(0.01, 0.06) if r < 0.97 else rng.uniform(0.08, 0.3)
        self.months, self.insured_avg = months, insured
        self.claimants = max(1, round(insured * share)) if share and insured else 0
        self.premium = round(insured * rng.uniform(3800, 9000) * 0.007 * months * 100)  # 0.7% 单位费率, in 分

    def _hrss(self, e: Entity, tax_employees: int | None) -> None:
        f, rng = self.hrss, self.rng
        founder = None
        if e.subject in ("企业", "个体工商户") and e.established.year >= self.as_of.year - 4:
            r = rng.random()
            founder = True if r < 0.75 else False if r < 0.95 else None  # 创业登记 not always filled in
        if not e.insured and founder is None:
            return
        kind = f.defect(e)
        values: list[Any] = [e.uscc, e.name, None, None, None, None, None, None, founder, None, None, None, None, None]
        if e.insured:
            employees = e.employees
            if tax_employees is not None and not kind and self.conflicts.take(f.rows, e):
                employees += rng.randint(1, 5)  # 人社 and 税务 disagree on the same date: a conflict to show
                f.conflicts += 1
            youth = (
                rng.randint(1, max(1, min(60, e.employees // 15)))
                if rng.random() < (0.04 if e.size == "微型" else 0.18)
                else 0
            )
            dispatch = e.industry == "L7263" or rng.random() < 0.002  # 7263 劳务派遣服务
            values[2:8] = [
                employees,
                self.months,
                f.blank(rng, self.insured_avg, 0.03),
                self.claimants,
                f.blank(rng, youth, 0.02),
                dispatch,
            ]
            values[9:14] = workforce(e, self.claimants).values()
        if kind == "non_integer":
            values[3] = "十二"
        if kind == "broken_json":
            f.write_broken(values)
        else:
            f.write(values)

    def _industry(self, e: Entity, zombie: bool) -> None:
        f, rng = self.industry, self.rng
        kind = f.defect(e)
        tags = ("，" if rng.random() < 0.3 else ",").join(e.tags)
        by_deadline = whole_q1 = growth = halted = None
        if "规上工业企业" in e.tags:  # 满负荷 is measured (电力数据) only for 规上工业
            full = rng.random() < 0.45
            by_deadline, whole_q1 = _yesno(full), _yesno(full and rng.random() < 0.5)
            growth = f.blank(rng, round(rng.uniform(-0.25, 0.4), 4), 0.04)
            halted = _yesno(halted_early_year(e))
        f.write(
            [
                e.uscc,
                e.name,
                "高企" if kind == "bad_tag" else tags,
                halted,
                by_deadline,
                whole_q1,
                "—" if kind == "bad_ratio" else growth,
                _yesno(zombie),
            ]
        )

    def _loan(self, e: Entity) -> None:
        f, rng = self.loans, self.rng
        start = max(e.established, dt.date(2019, 1, 1))
        span = (self.as_of - start).days
        if span < 30:
            return
        kind = f.defect(e)
        day = start + dt.timedelta(days=rng.randrange(span))
        amount = round(math.exp(rng.uniform(math.log(1e7), math.log(1e9))))  # 10万–1000万元, in 分
        rate = rng.uniform(1.5, 1.99) if rng.random() < 0.06 else rng.uniform(2.5, 5.5)
        f.write(
            [
                e.uscc,
                e.name,
                "2023-02-29" if kind == "bad_date" else day.isoformat(),
                "壹佰万元" if kind == "non_number" else _money(amount),
                rng.choice((6, 12, 12, 24, 36)),
                f"{rate:.2f}%",
            ]
        )


def generate(
    n: int,
    out: str | Path,
    seed: int,
    as_of: dt.date,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    started = time.perf_counter()
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    chosen = rng.sample(range(n), min(n, max(2, n // 50000) + max(1, n // 100000)))
    bad_checks = {index: "outer" if i < max(2, n // 50000) else "inner" for i, index in enumerate(chosen)}
    writer = DemoWriter(target, rng, n, as_of)
    bad_uscc: dict[str, str] = {}
    step = max(10000, n // 10)
    for e in generate_entities(n, rng, as_of, bad_checks):
        writer.entity(e)
        if e.check_problem:
            bad_uscc[e.uscc] = e.check_problem
        if progress and (e.index + 1) % step == 0:
            progress(f"  已生成 {e.index + 1:,} / {n:,} 个市场主体（{time.perf_counter() - started:.1f} 秒）")
    files = []
    for sid, f in writer.files.items():
        f.close()
        files.append({"source": sid, **f.summary()})
    write_definitions(target)
    write_import_script(target, as_of)
    summary = DemoSummary(n, seed, as_of, target, time.perf_counter() - started, files, bad_uscc)
    (target / "manifest.json").write_text(json.dumps(summary.manifest(), ensure_ascii=False, indent=2), "utf-8")
    return summary
