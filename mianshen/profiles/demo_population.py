"""The demo population (演示企业群体): Henan-like market entities drawn one by one from a seeded RNG.

Entities are streamed, never held in memory all at once, so a million of them cost the same memory
as a hundred. USCCs are unique by construction (the organisation-code body is an injective function
of the entity's index), which avoids keeping a set of a million codes to reject collisions.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mianshen.profiles.demo_tables import (
    SIZE_WEIGHTS,
    Picker,
    county_picker,
    draw_size,
    historical_regions,
    industry_pickers,
)
from mianshen.reference.uscc import CHARSET, check_char, make_uscc, org_check_char

# Henan: about two in three market entities are 个体工商户.
SUBJECTS = Picker(["个体工商户", "企业", "农民专业合作社", "社会组织"], [66.0, 30.5, 3.0, 0.5])
USCC_PREFIX = {"个体工商户": "92", "企业": "91", "农民专业合作社": "93"}
SOCIAL_KINDS = Picker(["51", "52", "53"], [45.0, 53.0, 2.0])  # 社会团体, 民办非企业单位, 基金会
STATUSES = Picker(["存续", "注销", "吊销", "迁出", "歇业"], [92.0, 4.0, 3.0, 0.5, 0.5])
INSURED_SHARE = {"企业": 0.8, "社会组织": 0.75, "个体工商户": 0.06, "农民专业合作社": 0.12}
INDUSTRIAL = ("B", "C", "D")
TECH = ("C", "I", "M")

BRAND = list("鑫源华泰恒达盛隆兴宏瑞通顺豪嘉德信诚利丰祥安康宇中金天龙富明新科创博远航锦豫嵩洛汴宛")
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
COMPANY_WORDS = {
    "A": "农业科技",
    "B": "矿业",
    "C": "机械制造",
    "D": "能源",
    "E": "建筑工程",
    "F": "商贸",
    "G": "物流",
    "H": "餐饮管理",
    "I": "信息技术",
    "J": "投资",
    "K": "置业",
    "L": "企业管理咨询",
    "M": "科技",
    "N": "环保科技",
    "O": "家政服务",
    "P": "教育科技",
    "Q": "医疗管理",
    "R": "文化传媒",
}
SHOP_WORDS = {
    "F": "商行",
    "H": "饭店",
    "O": "便民服务部",
    "G": "货运部",
    "A": "家庭农场",
    "C": "加工坊",
    "R": "文化工作室",
    "E": "装修队",
    "I": "电脑维修部",
    "L": "信息服务部",
}
SOCIAL_WORDS = {"S": "商会", "P": "培训学校", "R": "文化协会", "Q": "康复中心", "M": "科技协会", "O": "志愿者协会"}


@dataclass(slots=True)
class Entity:
    index: int
    uscc: str
    name: str
    subject: str
    region: str  # current county code (注册地)
    industry: str  # normalised GB/T 4754-2017 小类, e.g. C3011
    established: dt.date
    status: str
    size: str  # the 划型 the metrics were drawn for
    employees: int
    revenue: float  # 万元, 2 decimals
    assets: float  # 万元, 2 decimals
    insured: bool  # a 失业保险 employer (单位参保)
    tags: tuple[str, ...]
    check_problem: str = ""  # "outer" / "inner" for a deliberately check-failing code


def _base31(x: int) -> str:
    chars = []
    for _ in range(6):
        x, r = divmod(x, 31)
        chars.append(CHARSET[r])
    return "".join(reversed(chars))


class CodeMaker:
    """Unique organisation-code bodies: old 8-digit codes before 2016, `MA…` (`MJ…` 社会组织) after."""

    def __init__(self, rng: random.Random) -> None:
        self.numeric_offset = rng.randrange(10**8)
        self.modern_offset = rng.randrange(31**6)

    def body(self, index: int, modern: bool, social: bool) -> str:
        # 48_271 and 7_368_787 are coprime with 10**8 and 31**6: index ↦ body is a bijection
        if modern:
            return ("MJ" if social else "MA") + _base31((index * 7_368_787 + self.modern_offset) % 31**6)
        return f"{(index * 48_271 + self.numeric_offset) % 10**8:08d}"


@lru_cache(maxsize=16)
def _years(subject: str, last: int) -> Picker:
    # entity counts grow every year (个体户 faster): a geometric year weight
    growth = 1.16 if subject == "个体工商户" else 1.12
    years = list(range(1995, last + 1))
    return Picker([str(y) for y in years], [growth ** (y - 1995) for y in years])


def _established(rng: random.Random, subject: str, as_of: dt.date) -> dt.date:
    year = _years(subject, as_of.year).pick(rng)
    day = dt.date(int(year), 1, 1) + dt.timedelta(days=rng.randrange(365))
    return min(day, as_of - dt.timedelta(days=rng.randrange(1, 30)))


def _tags(rng: random.Random, subject: str, industry: str, size: str, revenue: float, status: str) -> tuple[str, ...]:
    if subject != "企业" or status != "存续":
        return ()
    tags = []
    section = industry[0]
    if section in INDUSTRIAL and revenue >= 2000 and rng.random() < 0.9:  # 规上: 主营业务收入 2000万元 and above
        tags.append("规上工业企业")
    if section in TECH:
        hi_tech = rng.random() < (0.12 if size != "微型" else 0.01)
        if hi_tech:
            tags.append("高新技术企业")
        if size != "大型" and rng.random() < 0.03:
            tags.append("科技型中小企业")
        if size != "大型" and (hi_tech or tags) and rng.random() < 0.15:
            tags.append("专精特新中小企业")
            if rng.random() < 0.1:
                tags.append("专精特新小巨人企业")
    return tuple(tags)


def _name(rng: random.Random, entity_subject: str, section: str, county: str) -> str:
    place = county.rstrip("区县市") if len(county) > 2 else county
    brand = rng.choice(BRAND) + rng.choice(BRAND)
    if entity_subject == "个体工商户":
        return f"{place}{rng.choice(SURNAMES)}记{SHOP_WORDS.get(section, '经营部')}"
    if entity_subject == "农民专业合作社":
        return f"{place}{brand}种植专业合作社"
    if entity_subject == "社会组织":
        return f"{place}{brand}{SOCIAL_WORDS.get(section, '协会')}"
    return f"河南{brand}{COMPANY_WORDS.get(section, '实业')}有限公司"


def _corrupt(code: str, problem: str) -> str:
    """A code that fails only the outer check char, or only the inner GB 11714 check (outer recomputed)."""
    if problem == "outer":
        wrong = CHARSET[(CHARSET.index(code[17]) + 7) % 31]
        return code[:17] + wrong
    inner = org_check_char(code[8:16])
    wrong = "X" if inner != "X" else "1"
    first17 = code[:16] + wrong
    return first17 + check_char(first17)


def generate(n: int, rng: random.Random, as_of: dt.date, bad_checks: dict[int, str]) -> Iterator[Entity]:
    counties, county_names = county_picker()
    industries = industry_pickers()
    codes = CodeMaker(rng)
    sizes = {s: Picker(list(w), list(w.values())) for s, w in SIZE_WEIGHTS.items()}
    for index in range(n):
        subject = SUBJECTS.pick(rng)
        region = counties.pick(rng)
        industry = industries[subject].pick(rng)
        established = _established(rng, subject, as_of)
        issued = max(established.year, 2016)  # USCCs were issued to existing entities from 2016
        usc_region = region
        old_region = historical_regions().get(region)
        if old_region is not None and issued < old_region[1]:
            usc_region = old_region[0]
        modern = subject == "个体工商户" or established.year >= 2016
        org = codes.body(index, modern, subject == "社会组织")
        prefix = SOCIAL_KINDS.pick(rng) if subject == "社会组织" else USCC_PREFIX[subject]
        uscc = make_uscc(prefix[0], prefix[1], usc_region, org)
        problem = bad_checks.get(index, "")
        if problem:
            uscc = _corrupt(uscc, problem)
        status = STATUSES.pick(rng)
        size = sizes[subject].pick(rng)
        employees, revenue, assets = draw_size(rng, industry, size)
        insured = status == "存续" and rng.random() < INSURED_SHARE[subject]
        yield Entity(
            index,
            uscc,
            _name(rng, subject, industry[0], county_names[region]),
            subject,
            region,
            industry,
            established,
            status,
            size,
            employees,
            revenue,
            assets,
            insured,
            _tags(rng, subject, industry, size, revenue, status),
            problem,
        )


# Fields added after the demo's random stream was fixed are read off the entity's index rather than
# drawn, so adding them did not reshuffle every value drawn after them (and every count built on them).
def legal_person(e: Entity) -> bool:
    """One company in ten is a 分公司 (no legal personality); 个体工商户 never have one."""
    return e.subject != "个体工商户" and not (e.subject == "企业" and e.index % 10 == 7)


def workforce(e: Entity, claimants: int) -> dict[str, Any]:
    """稳岗返还 inputs besides the claimants: how many of them left normally (合同期满、退休…), staff at
    the start and end of last year (a shrinking workforce where anyone was laid off), 以单位形式参保
    (one 个体工商户 in nine pays as an individual), 财政拨款 (one 社会组织 in eight)."""
    normal = claimants * (e.index % 3) // 3
    laid_off = claimants - normal
    end = e.employees
    return {
        "ui_new_claimants_normal_exit_last_year": normal,
        "staff_start_last_year": end + laid_off + e.index % 3 if laid_off else max(0, end - e.index % 4),
        "staff_end_last_year": end,
        "insured_as_unit": not (e.subject == "个体工商户" and e.index % 9 == 0),
        "fiscal_funded_unit": e.subject == "社会组织" and e.index % 8 == 0,
    }


def halted_early_year(e: Entity) -> bool:
    """Most 规上工业 stopped over 春节 (满负荷生产奖励's 10万 path)."""
    return e.index % 3 != 0
