"""Loading policy files: YAML → typed `Policy`, with every problem located and explained."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.clock import today as clock_today
from mianshen.errors import Diagnostic, Location, PolicyFileError, os_reason
from mianshen.numbers import NumberError, parse_number
from mianshen.rules.ast import Condition, Implicit, Leaf, Policy
from mianshen.rules.checker import check_policy
from mianshen.rules.conditions import parse_condition
from mianshen.rules.context import ParseContext
from mianshen.rules.exclusive import parse_exclusivity
from mianshen.rules.expectations import parse_tests
from mianshen.rules.keys import SECTIONS, check_keys
from mianshen.rules.periods import parse_period
from mianshen.rules.regional import check_use
from mianshen.rules.scope import parse_region, scope_conditions
from mianshen.rules.sections import parse_amount, parse_derived, parse_parameters
from mianshen.rules.values import ValueError_, parse_date
from mianshen.rules.versions import file_order, renews, version_on
from mianshen.rules.yamlsource import load_trusted, load_yaml, value_location

# The policy catalogue that ships inside the package, so that every command finds it from any folder
# (`--policies` and `mianshen policy check|test` without paths default to it).
SHIPPED = Path(__file__).resolve().parent.parent / "policies"

KINDS = {
    "条件类": "条件类",
    "名单类": "名单类",
    "暂难数据化类": "暂难数据化类",
    "condition": "条件类",
    "list": "名单类",
    "application": "暂难数据化类",
}


def load_policy_text(text: str, name: str, trusted: bool = False) -> Policy:
    """`load_policy` for a text (a version stored in the policy library)."""
    policy, diagnostics = read_policy_text(text, name, trusted=trusted)
    if policy is None or any(d.severity == "error" for d in diagnostics):
        raise PolicyFileError(diagnostics)
    return policy


def load_policy(path: str | Path, catalogue: Catalogue | None = None) -> Policy:
    """The policy in `path`, or PolicyFileError listing every problem (warnings are kept on it)."""
    policy, diagnostics = read_policy(path, catalogue)
    if policy is None or any(d.severity == "error" for d in diagnostics):
        raise PolicyFileError(diagnostics)
    return policy


def read_policy(path: str | Path, catalogue: Catalogue | None = None) -> tuple[Policy | None, list[Diagnostic]]:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Diagnostic(Location(name), f"无法读取文件：{os_reason(exc)}", "检查文件路径是否正确")]
    except UnicodeDecodeError:
        return None, [Diagnostic(Location(name), "无法读取文件：不是 UTF-8 编码", "政策文件须为 UTF-8 编码的 YAML")]
    return read_policy_text(text, name, catalogue)


def read_policy_text(
    text: str, name: str, catalogue: Catalogue | None = None, trusted: bool = False
) -> tuple[Policy | None, list[Diagnostic]]:
    """A policy from its text. `trusted`: a text that passed every check when it was published —
    read without positions and without the static checks (a province's run reads hundreds)."""
    diags: list[Diagnostic] = []
    if trusted:
        doc = load_trusted(text)
    else:
        doc, diags = load_yaml(text, name)
    if diags:
        return None, diags
    ctx = ParseContext(name, catalogue or load_catalogue(), strict=not trusted)
    if not isinstance(doc, Mapping):
        ctx.error(Location(name, 1, 1), "政策文件的顶层应为映射（id: …、title: … 等）")
        return None, ctx.diagnostics
    policy = _parse(ctx, doc)
    if policy is not None and not ctx.has_errors and not trusted:
        check_policy(ctx, policy)
    return (policy if not ctx.has_errors else None), ctx.diagnostics


def _parse(ctx: ParseContext, doc: Any) -> Policy | None:
    top = Location(ctx.path, 1, 1)
    check_keys(ctx, doc, "policy")
    for key in SECTIONS["policy"].required:
        if key not in doc:
            ctx.error(top, f"缺少必填项 {key}")
    if ctx.has_errors:
        return None
    pid = ctx.check_id(doc["id"], ctx.at(doc, "id"), "政策") or ""
    kind = KINDS.get(str(doc["kind"]))
    if kind is None:
        ctx.error(ctx.at(doc, "kind"), f"政策类型“{doc['kind']}”无效", "应为 条件类、名单类 或 暂难数据化类")
    valid_from = _date(ctx, doc, "valid_from")
    valid_to = _date(ctx, doc, "valid_to") if doc.get("valid_to") is not None else None
    if valid_from and valid_to and valid_to < valid_from:
        ctx.error(
            ctx.at(doc, "valid_to"),
            f"有效期结束日 {valid_to} 早于开始日 {valid_from}",
            "检查两个日期是否写反；长期有效的政策可省略 valid_to",
        )
    subjects = _subjects(ctx, doc)
    basis = _legal_basis(ctx, doc)
    params = parse_parameters(ctx, doc.get("parameters"))
    derived = parse_derived(ctx, doc.get("derived"), params)
    region, regions, excluded = parse_region(ctx, doc)
    conditions = _conditions(ctx, doc, kind, scope_conditions(regions, excluded, ctx.at(doc, "region")))
    amount = parse_amount(ctx, doc.get("amount"), ctx.at_key(doc, "amount"), params, set(derived))
    check_use(ctx, params, derived, conditions, amount)
    if ctx.has_errors or amount is None or kind is None or valid_from is None:
        return None
    policy = Policy(
        id=pid,
        version=_int(ctx, doc, "version", 1),
        title=str(doc["title"]),
        department=str(doc["department"]),
        kind=kind,
        level=str(doc.get("level", "省级")),
        region=region,
        legal_basis=basis,
        valid_from=valid_from,
        valid_to=valid_to,
        subjects=subjects,
        budget=_money(ctx, doc, "budget"),
        publicity_days=_int(ctx, doc, "publicity_days", 5),
        objection_days=_int(ctx, doc, "objection_days", 5),
        confirm_days=_int(ctx, doc, "confirm_days", 15),
        commitment=str(doc.get("commitment", "")),
        parameters=params,
        derived=derived,
        conditions=conditions,
        amount=amount,
        guide=_guide(ctx, doc),
        tests=[],
        path=ctx.path,
        loc=top,
        raw=doc,
        regions=regions,
        excluded=excluded,
        unverified=str(doc["unverified"]).strip() or None if doc.get("unverified") else None,
    )
    policy.exclusivity = parse_exclusivity(ctx, doc, pid, policy.title)
    policy.period = parse_period(ctx, doc)
    policy.tests = parse_tests(ctx, doc, policy)
    return policy


def _conditions(ctx: ParseContext, doc: Any, kind: str | None, scope: list[Leaf]) -> tuple[Condition, ...]:
    top = Location(ctx.path, 1, 1)
    implicit: list[Condition] = [
        Implicit("in-force", "评估日在政策有效期内", top),
        Implicit("subject", "主体类型属于适用范围", ctx.at(doc, "subjects")),
    ]
    if kind == "名单类":
        implicit.append(Implicit("listed", "在政策执行部门上传的名单中", top))
    raw = doc.get("conditions")
    if raw is None:
        if kind != "名单类":
            ctx.error(top, "缺少 conditions", "条件类和暂难数据化类政策须写出条件")
        return tuple(implicit)
    if not isinstance(raw, list):
        ctx.error(ctx.at(doc, "conditions"), "conditions 应为条件列表（全部满足）")
        return tuple(implicit)
    parsed = [parse_condition(ctx, item, ctx.at(raw, i)) for i, item in enumerate(raw)]
    # the area (rules/scope.py) comes first: a city's or county's policy, or a province less some regions
    return tuple(implicit + scope + [c for c in parsed if c is not None])


def _subjects(ctx: ParseContext, doc: Any) -> tuple[str, ...]:
    raw = doc.get("subjects")
    allowed = ctx.catalogue.fields["subject_type"].values
    if not isinstance(raw, list) or not raw:
        ctx.error(ctx.at(doc, "subjects"), "subjects 应为非空列表", f"可选：{'、'.join(allowed)}")
        return ()
    for i, item in enumerate(raw):
        if item not in allowed:
            ctx.error(ctx.at(raw, i), f"主体类型“{item}”无效", f"可选：{'、'.join(allowed)}")
    return tuple(str(s) for s in raw)


def _legal_basis(ctx: ParseContext, doc: Any) -> list[dict[str, str]]:
    raw = doc.get("legal_basis")
    if not isinstance(raw, list) or not raw:
        ctx.error(ctx.at(doc, "legal_basis"), "legal_basis 应为非空列表", "每项写 {doc: 文号, title: 文件名}")
        return []
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("doc"), str) or not item["doc"].strip():
            ctx.error(ctx.at(raw, i), "政策依据缺少文号 doc", "例如 doc: 豫政办〔2022〕14号")
            continue
        check_keys(ctx, item, "legal_basis")
        out.append({str(k): str(v) for k, v in item.items()})
    return out


def _date(ctx: ParseContext, node: Any, key: str) -> Any:
    try:
        return parse_date(node[key])
    except ValueError_ as exc:
        ctx.error(ctx.at(node, key), f"{key} 日期错误：{exc}")
        return None


def _int(ctx: ParseContext, doc: Any, key: str, default: int) -> int:
    raw = doc.get(key, default)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 10000:
        ctx.error(ctx.at(doc, key), f"{key} 应为 0 到 10000 的整数")
        return default
    return raw


def _money(ctx: ParseContext, doc: Any, key: str) -> Decimal | None:
    if doc.get(key) is None:
        return None
    try:
        return parse_number(doc[key])
    except NumberError as exc:
        ctx.error(ctx.at(doc, key), f"{key} 应为金额（元）：{exc}")
        return None


def _guide(ctx: ParseContext, doc: Any) -> dict[str, object]:
    raw = doc.get("guide") or {}
    if not isinstance(raw, Mapping):
        ctx.error(
            ctx.at(doc, "guide"),
            "guide（办事指南）应为映射",
            "写 conditions_text、materials、time_limit、process、contact",
        )
        return {}
    check_keys(ctx, raw, "guide")
    return dict(raw)


def or_shipped(paths: Iterable[str | Path]) -> tuple[str | Path, ...]:
    """The paths a user gave, or the shipped catalogue when none."""
    return tuple(paths) or (SHIPPED,)


def shipped_or_path(raw: str | Path, day: dt.date | None = None) -> Path:
    """A policy file, or the id of a policy in the shipped catalogue (`--policy wengang-fanhuan`): the
    file of its version that applies on `day` (default the platform's today), renewals included."""
    path = Path(raw)
    shipped = SHIPPED / f"{raw}.yaml"
    if path.exists() or path.name != str(raw) or not shipped.is_file():
        return path
    files = [shipped, *SHIPPED.glob(f"{raw}.v*.yaml")]
    if len(files) == 1:
        return shipped
    loaded = [load_policy(f) for f in files]
    return Path(version_on(loaded, day or clock_today()).path)


def policy_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted((p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")), key=file_order))
        else:
            files.append(path)
    return files


def read_policies(
    paths: Iterable[str | Path], catalogue: Catalogue | None = None
) -> tuple[list[Policy], list[Diagnostic]]:
    """Every policy under `paths` (files or folders), with diagnostics including duplicate ids.

    One id may appear in several files only as successive versions, each renewing the one before it
    for a later period (rules/versions.py); callers that evaluate a catalogue on a day take the
    version applying then (`one_per_policy`)."""
    policies: list[Policy] = []
    diagnostics: list[Diagnostic] = []
    seen: dict[str, Policy] = {}
    for path in policy_files(paths):
        policy, diags = read_policy(path, catalogue)
        diagnostics.extend(diags)
        if policy is None:
            continue
        earlier = seen.get(policy.id)
        if earlier is not None and not (policy.version > earlier.version and renews(policy, earlier)):
            diagnostics.append(
                Diagnostic(
                    value_location(str(path), policy.raw, "id"),
                    f"政策 id “{policy.id}”与 {earlier.path} 重复（第 {earlier.version} 版，"
                    f"有效期 {earlier.valid_from} 至 {earlier.valid_to or '长期'}）",
                    "每项政策的 id 在目录中必须唯一；延续到新一期的政策写成新版本文件 "
                    f"{policy.id}.v{earlier.version + 1}.yaml：version 加一，valid_from 晚于上一版的 valid_to",
                )
            )
            continue
        seen[policy.id] = policy
        policies.append(policy)
    return policies, diagnostics
