"""(c) Other engines on the same policies and data: OpenFisca and zen-engine, when installed.

`compare_external` translates every policy variant from our AST (external_openfisca.py,
external_zen.py: generic translators, never hand-written policies), runs them over the same
profiles, checks each engine's per-policy status counts and amounts against ours (the compiled
statement on DuckDB, as a match run evaluates) on the enterprises that engine evaluated, and reports its time
per evaluation as a multiple of ours. zen-engine evaluates record by record, so it runs on an even
sample of the population and the time is extrapolated ("按 N 家外推"); so does OpenFisca above
`openfisca_limit` enterprises. Neither package is a dependency: `pip install -e '.[compare]'`.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mianshen.catalogue import FieldType, load_catalogue
from mianshen.rules.ast import LEAF_OPS, BinOp, Call, Condition, Expr, FieldRef, Group, Implicit, Leaf, Policy
from mianshen.rules.profile import Profile

MISSING = "未安装（pip install -e '.[compare]'）"
ENGINES = {"OpenFisca": ("openfisca_core", "openfisca-core", 10.0), "zen-engine": ("zen", "zen-engine", 100.0)}
TABLE = "external_profiles"


class Unsupported(Exception):
    """A construct of our policy language that the target engine's translation does not express."""


@dataclass
class EngineRun:
    """One engine's results on `enterprises` profiles, lists aligned with the profiles' order."""

    enterprises: int
    seconds: float = 0.0  # evaluation only
    setup_seconds: float = 0.0  # translation, building the system, loading the inputs
    statuses: dict[str, list[str]] = field(default_factory=dict)
    amounts: dict[str, list[Any]] = field(default_factory=dict)  # float or Decimal when eligible, else None
    skipped: dict[str, str] = field(default_factory=dict)  # policy id → what could not be translated

    def add(self, policy_id: str, statuses: list[str], amounts: list[Any]) -> None:
        self.statuses[policy_id], self.amounts[policy_id] = statuses, amounts

    @property
    def evaluations(self) -> int:
        return self.enterprises * len(self.statuses)


def unsupported(policy: Policy) -> str | None:
    """What in `policy` neither translation expresses (None: everything is), checked on the AST."""
    found: list[str] = []

    def expr(e: Expr) -> None:
        if isinstance(e, Call):
            found.extend([f"函数 {e.fn}"] if e.fn not in ("min", "max") else [])
            for arg in e.args:
                expr(arg)
        elif isinstance(e, BinOp):
            found.extend([f"运算 {e.op}"] if e.op not in "+-*/" else [])
            expr(e.left)
            expr(e.right)

    def cond(c: Condition | None) -> None:
        if isinstance(c, Implicit) and c.id not in ("in-force", "subject", "listed"):
            found.append(f"隐含条件 {c.id}")
        elif isinstance(c, Leaf):
            found.extend(f"运算 {t.op}" for t in c.tests if t.op not in LEAF_OPS)
            found.extend("与另一字段比较" for t in c.tests if isinstance(t.operand, FieldRef))
        elif isinstance(c, Group):
            found.extend([f"条件组 {c.kind}"] if c.kind not in ("all", "any", "not") else [])
            for child in c.children:
                cond(child)

    for c in policy.conditions:
        cond(c)
    for tier in policy.amount.tiers:
        cond(tier.when)
        expr(tier.formula)
    for d in policy.derived.values():
        expr(d.formula)
    return "、".join(dict.fromkeys(found)) or None


def field_kinds(policies: list[Policy]) -> dict[str, FieldType]:
    """The profile fields the policies read, with their types."""
    from mianshen.sqlgen.compile import needed_fields

    catalogue = load_catalogue()
    names = sorted({f for p in policies for f in needed_fields(p)})
    return {name: catalogue.fields[name].type for name in names}


def sample(profiles: list[Profile], n: int) -> list[Profile]:
    """`n` profiles spread evenly over the population (all of them when n ≥ the population)."""
    if n >= len(profiles):
        return profiles
    step = len(profiles) / n
    return [profiles[int(i * step)] for i in range(n)]


def ours(policies: list[Policy], profiles: list[Profile], as_of: dt.date) -> EngineRun:
    """Our one assembler's statement on DuckDB (what a match run evaluates), as (status, amount) per enterprise."""
    import time

    from mianshen.sqlgen.assemble import STATUSES, assemble
    from mianshen.sqlgen.engines import duckdb_connect, load_profiles, results_table

    run = EngineRun(len(profiles))
    duck = duckdb_connect()
    try:
        assembly = assemble(policies, as_of, "duckdb", TABLE)
        load_profiles(duck, "duckdb", TABLE, assembly.fields, [(p.id, p.values) for p in profiles])
        started = time.perf_counter()
        results_table(duck, assembly, "ours_results")
        run.seconds = time.perf_counter() - started
        position = {p.id: i for i, p in enumerate(profiles)}
        columns = ", ".join(f"s_{k}, CAST(a_{k} AS VARCHAR)" for k in range(len(policies)))
        rows = duck.execute(f"SELECT id, {columns} FROM ours_results").fetchall()
        for k, policy in enumerate(policies):
            statuses: list[str] = [""] * len(profiles)
            amounts: list[Decimal | None] = [None] * len(profiles)
            for row in rows:
                i = position[row[0]]
                statuses[i] = STATUSES[row[1 + 2 * k]]
                amount = row[2 + 2 * k]
                amounts[i] = None if amount is None else Decimal(amount)
            run.add(policy.id, statuses, amounts)
    finally:
        duck.close()
    return run


def _total(amounts: list[Any]) -> Decimal:
    return sum((Decimal(repr(a) if isinstance(a, float) else a) for a in amounts if a is not None), Decimal(0))


def check(theirs: EngineRun, reference: EngineRun) -> dict[str, Any]:
    """Per-policy status counts and amounts of `theirs` against ours on the same enterprises."""
    mismatched: dict[str, dict[str, tuple[int, int]]] = {}
    pairs_differ = amounts_differ = 0
    total_ours = total_theirs = Decimal(0)
    eligible = [0, 0]
    for pid, statuses in theirs.statuses.items():
        ref, ref_amounts, amounts = reference.statuses[pid], reference.amounts[pid], theirs.amounts[pid]
        a, b = Counter(ref), Counter(statuses)
        eligible[0], eligible[1] = eligible[0] + a["eligible"], eligible[1] + b["eligible"]
        wrong = {s: (a[s], b[s]) for s in ("eligible", "ineligible", "unknown") if a[s] != b[s]}
        if wrong:
            mismatched[pid] = wrong
        pairs_differ += sum(1 for x, y in zip(ref, statuses, strict=True) if x != y)
        amounts_differ += sum(
            1
            for x, y in zip(ref_amounts, amounts, strict=True)
            if x is not None and y is not None and abs(float(x) - float(y)) >= 0.005
        )
        total_ours, total_theirs = total_ours + _total(ref_amounts), total_theirs + _total(amounts)
    return {
        "eligible_equal": not any("eligible" in w for w in mismatched.values()),
        "all_statuses_equal": not mismatched,
        "mismatched_policies": mismatched,
        "eligible_ours": eligible[0],
        "eligible_theirs": eligible[1],
        "status_pairs_differ": pairs_differ,
        "amount_pairs_differ": amounts_differ,
        "total_ours": format(total_ours, "f"),
        "total_theirs": format(total_theirs.quantize(Decimal("0.01")), "f"),
        "total_diff": format((total_theirs - total_ours).quantize(Decimal("0.01")), "f"),
    }


def _summary(r: dict[str, Any]) -> str:
    c = r["check"]
    scale = f"（{r['extrapolation']}）" if r["extrapolated"] else ""
    faster = f"，即比我们快 {1 / r['multiple']:.1f} 倍" if r["multiple"] < 1 else ""
    counts = (
        "资格计数与我们一致"
        if c["eligible_equal"]
        else f"资格计数不一致：{sum('eligible' in w for w in c['mismatched_policies'].values())} 项政策"
    )
    return (
        f"{r['full_seconds']:.2f} s{scale}，{r['evaluations_per_second']:,.0f} 次/秒，"
        f"每次评估耗时为我们的 {r['multiple']:.2f} 倍{faster}（目标 ≥ {r['target']:.0f}×：{'达到' if r['target_met'] else '未达到'}）；"
        f"{counts}（{r['evaluated_enterprises']:,} 家 × {r['policies']} 项），金额合计差 {c['total_diff']} 元"
    )


def _report(name: str, run: EngineRun, reference: EngineRun, population: int, ours_per_eval: float) -> dict[str, Any]:
    per_eval = run.seconds / run.evaluations if run.evaluations else float("inf")
    result: dict[str, Any] = {
        "installed": True,
        "version": importlib.metadata.version(ENGINES[name][1]),
        "population": population,
        "evaluated_enterprises": run.enterprises,
        "policies": len(run.statuses),
        "evaluations": run.evaluations,
        "seconds": run.seconds,
        "setup_seconds": run.setup_seconds,
        "full_seconds": per_eval * population * len(run.statuses),
        "evaluations_per_second": 1 / per_eval if per_eval else float("inf"),
        "extrapolated": run.enterprises < population,
        "extrapolation": f"按 {run.enterprises:,} 家外推至 {population:,} 家" if run.enterprises < population else "",
        "ours_seconds_per_eval": ours_per_eval,
        "multiple": per_eval / ours_per_eval,
        "target": ENGINES[name][2],
        "skipped": run.skipped,
        "check": check(run, reference),
        "notes": [],
    }
    result["target_met"] = result["multiple"] >= result["target"]
    result["counts_equal"] = result["check"]["eligible_equal"]
    if run.skipped:
        result["notes"].append(
            f"未能翻译、已跳过 {len(run.skipped)} 项：" + "；".join(f"{k}：{v}" for k, v in run.skipped.items())
        )
    return result


def compare_external(
    variants: list[Any],
    profiles: list[Profile],
    as_of: dt.date,
    ours_seconds: float,
    *,
    zen_sample: int = 2000,
    openfisca_limit: int = 100_000,
    float32_sample: int = 20_000,
) -> dict[str, dict[str, Any]]:
    """Per engine: installed?, seconds, evaluations/s, multiple of ours per evaluation, extrapolated?, checks, notes.

    `variants`: `Variant`s or `Policy`s; `ours_seconds`: our time for all `profiles` × all variants
    (the caller says which of our timings it is). 名单类 policies are left out, as `screen` does.
    """
    policies = [getattr(v, "policy", v) for v in variants]
    policies = [p for p in policies if p.kind != "名单类"]
    ours_per_eval = ours_seconds / (len(profiles) * len(policies))
    references: dict[int, EngineRun] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, (module, _, _) in ENGINES.items():
        if importlib.util.find_spec(module) is None:
            out[name] = {"installed": False, "status": MISSING}
            continue
        chosen = sample(profiles, openfisca_limit if name == "OpenFisca" else zen_sample)
        if len(chosen) not in references:
            references[len(chosen)] = ours(policies, chosen, as_of)
        reference = references[len(chosen)]
        if name == "OpenFisca":
            from mianshen.benchmarks.external_openfisca import run_openfisca

            result = _report(name, run_openfisca(policies, chosen, as_of), reference, len(profiles), ours_per_eval)
            result["notes"].append(
                "数值输入、派生量与金额用 float64（OpenFisca 默认 float32）；舍入为四舍五入（numpy 默认银行家舍入）"
            )
            if float32_sample:
                import numpy as np

                small = chosen[:float32_sample]
                if len(small) not in references:
                    references[len(small)] = ours(policies, small, as_of)
                c32 = check(run_openfisca(policies, small, as_of, np.float32), references[len(small)])
                result["float32_check"] = c32
                result["notes"].append(
                    f"若用 OpenFisca 默认 float32（前 {len(small):,} 家）：状态不同 {c32['status_pairs_differ']} 处、"
                    f"金额不同 {c32['amount_pairs_differ']} 处，金额合计差 {c32['total_diff']} 元"
                )
        else:
            from mianshen.benchmarks.external_zen import run_zen

            result = _report(name, run_zen(policies, chosen, as_of), reference, len(profiles), ours_per_eval)
            result["notes"].append(
                "逐条评估（ZenEngine.evaluate，静态加载器缓存已编译的决策图）；金额为十进制，结果以文字取回"
            )
        result["notes"].append("计时只含评估（不含翻译、建系统、装入数据；我们一侧同样不含装表）")
        result["notes"].append("对方只算状态与金额；我们的查询另算逐条件的不符合/缺数据位掩码")
        result["status"] = _summary(result)
        out[name] = result
    return out
