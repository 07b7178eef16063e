"""The demo data sources (演示数据源): what each department's extract looks like and how it maps.

The definitions are written to `sources.yaml` next to the files, in the format `mianshen data
sources` reads, so the demo goes through the same registration and import path as real data.
Column names follow each department's habit (Chinese headers from 市场监管 and 信用, English-ish
field names from the tax and HR exchange platforms) so that the mapping is really exercised.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from mianshen.store.paths import var_dir

# (id, file, format, department, name, refresh, freshness_days, priority, as_of_column, columns)
# Priority: smaller wins when two sources report the same field for the same date.
SOURCES: list[dict[str, Any]] = [
    {
        "id": "market",
        "file": "market.csv",
        "name": "市场主体登记信息",
        "department": "河南省市场监督管理局",
        "refresh": "每日",
        "freshness_days": 30,
        "priority": 10,
        "columns": {
            "统一社会信用代码": "uscc",
            "主体名称": "name",
            "市场主体类型": "subject_type",
            "成立日期": "established_on",
            "住所行政区划": "region_code",
            "行业代码": "industry_code",
            "登记状态": "registration_status",
            "是否法人": "independent_legal_person",
        },
    },
    {
        "id": "credit",
        "file": "credit.csv",
        "name": "严重失信主体名单比对（全量）",
        "department": "河南省发展和改革委员会",
        "refresh": "每日",
        "freshness_days": 31,
        "priority": 20,
        "columns": {"统一社会信用代码": "uscc", "主体名称": "name", "是否列入严重失信主体名单": "serious_dishonesty"},
    },
    {
        "id": "hrss",
        "file": "hrss.jsonl",
        "name": "失业保险参保与就业登记",
        "department": "河南省人力资源和社会保障厅",
        "refresh": "每月",
        "freshness_days": 62,
        "priority": 30,
        "columns": {
            "uscc": "uscc",
            "unit_name": "name",
            "employees": "employees",
            "ui_paid_months": "ui_paid_months_last_year",
            "insured_avg": "insured_avg_last_year",
            "new_claimants": "ui_new_claimants_last_year",
            "youth_hires": "qualified_youth_hires",
            "labor_dispatch": "labor_dispatch_unit",
            "founder_first_business": "founder_first_business",
            "normal_exit_claimants": "ui_new_claimants_normal_exit_last_year",
            "staff_start": "staff_start_last_year",
            "staff_end": "staff_end_last_year",
            "insured_as_unit": "insured_as_unit",
            "fiscal_funded": "fiscal_funded_unit",
        },
    },
    {
        "id": "tax",
        "file": "tax.parquet",
        "name": "纳税申报与汇算清缴",
        "department": "国家税务总局河南省税务局",
        "refresh": "每月",
        "freshness_days": 400,
        "priority": 40,
        "as_of_column": "period_end",
        "columns": {
            "taxpayer_id": "uscc",
            "taxpayer_name": "name",
            "revenue_wan": {"field": "revenue_last_year", "unit": "万元"},
            "taxable_income": "taxable_income_annual",
            "employees": "employees",
            "employees_q_avg": "employees_quarterly_avg",
            "total_assets": "total_assets",
            "assets_q_avg": "assets_quarterly_avg",
            "restricted_industry": "restricted_industry",
            "small_scale_vat": "vat_small_scale",
            "credit_grade": "tax_credit_grade",
            "operating_normally": "operating_normally",
            "ui_premium_paid": "ui_premium_paid_last_year",
            "ui_arrears": "ui_arrears",
        },
    },
    {
        "id": "zombie",
        "file": "zombie.csv",
        "name": "僵尸企业名单比对（全量）",
        "department": "河南省工业和信息化厅",
        "refresh": "每年",
        "freshness_days": 400,
        "priority": 50,
        "columns": {"统一社会信用代码": "uscc", "主体名称": "name", "是否僵尸企业": "zombie_enterprise"},
    },
    {
        "id": "industry",
        "file": "industry.xlsx",
        "name": "企业资质与满负荷生产监测",
        "department": "河南省工业和信息化厅、科学技术厅",
        "refresh": "每月",
        "freshness_days": 120,
        "priority": 60,
        "columns": {
            "统一社会信用代码": "uscc",
            "企业名称": "name",
            "资质标签": "enterprise_tags",
            "年初停产停工": "production_halted_early_year",
            "截止日前达到满负荷": "full_capacity_by_deadline",
            "一季度全季满负荷": "full_capacity_whole_q1",
            "一季度主营业务收入同比增速": "main_revenue_growth_q1",
            "是否僵尸企业": "zombie_enterprise",
        },
    },
    {
        "id": "loans",
        "file": "loans.csv",
        "name": "首贷户信息",
        "department": "中国人民银行河南省分行（征信系统）",
        "refresh": "每日",
        "freshness_days": 31,
        "priority": 70,
        "columns": {
            "统一社会信用代码": "uscc",
            "借款人名称": "name",
            "首贷日期": "first_loan_date",
            "首贷金额": "first_loan_amount",
            "贷款期限（月）": "first_loan_term_months",
            "年化利率": "first_loan_annual_rate",
        },
    },
]

# The XLSX ends with an always-filled column: openpyxl's write-only mode omits trailing empty cells and
# the reader then sees fewer columns than the header ("缺少列").
# Parquet column types for the tax file; revenue and the period stay text so bad values can exist.
TAX_TYPES = {
    "taxpayer_id": "VARCHAR",
    "taxpayer_name": "VARCHAR",
    "period_end": "VARCHAR",
    "revenue_wan": "VARCHAR",
    "taxable_income": "DECIMAL(18,2)",
    "employees": "INTEGER",
    "employees_q_avg": "DECIMAL(12,2)",
    "total_assets": "DECIMAL(18,2)",
    "assets_q_avg": "DECIMAL(18,2)",
    "restricted_industry": "BOOLEAN",
    "small_scale_vat": "BOOLEAN",
    "credit_grade": "VARCHAR",
    "operating_normally": "BOOLEAN",
    "ui_premium_paid": "DECIMAL(18,2)",
    "ui_arrears": "BOOLEAN",
}


def source(source_id: str) -> dict[str, Any]:
    return next(s for s in SOURCES if s["id"] == source_id)


def header(source_id: str) -> list[str]:
    spec = source(source_id)
    columns = list(spec["columns"])
    if spec.get("as_of_column"):
        columns.insert(2, spec["as_of_column"])
    return columns


def write_definitions(out: Path) -> Path:
    keys = ("id", "name", "department", "refresh", "freshness_days", "priority", "as_of_column", "columns")
    doc = {"sources": [{k: s[k] for k in keys if k in s} for s in SOURCES]}
    target = out / "sources.yaml"
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=200)
    target.write_text(
        "# 演示数据源定义（mianshen demo-data 生成）：mianshen data sources sources.yaml\n" + text, "utf-8"
    )
    return target


def write_import_script(out: Path, as_of: dt.date) -> Path:
    """A script that replays the real import path: register the sources, then import every file.
    Without an argument it imports into the store the commands use by default: MIANSHEN_DATABASE_URL
    when set where the script runs (a password stays out of the file), else the SQLite store in the
    var directory in effect when the files were generated (MIANSHEN_VAR_DIR / --var-dir), by its
    absolute path so that the script works from any folder."""
    embedded = f"sqlite:///{(var_dir() / 'mianshen.sqlite').resolve()}"
    lines = [
        "#!/bin/sh",
        "# 用法：sh import.sh [数据库地址]；把演示文件按真实导入流程导入企业画像库。",
        f"# 不给地址时：环境变量 MIANSHEN_DATABASE_URL，否则 {embedded}",
        "set -e",
        f'DB="${{1:-${{MIANSHEN_DATABASE_URL:-{embedded}}}}}"',
        'HERE="$(dirname "$0")"',
        'mianshen data sources "$HERE/sources.yaml" --db "$DB"',
    ]
    for s in SOURCES:
        lines.append(
            f"mianshen data import --source {s['id']} --as-of {as_of.isoformat()} "
            f'--rejects "$HERE/rejects/{s["id"]}.csv" "$HERE/{s["file"]}" --db "$DB"'
        )
    target = out / "import.sh"
    target.write_text("\n".join(lines) + "\n", "utf-8")
    return target
