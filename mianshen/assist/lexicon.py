"""The words policy texts use for catalogue fields.

Kept apart from the matching logic so a new field needs one entry here, not a new rule. Every
entry names a field of mianshen/catalogue/fields.yaml; tests check that they all exist.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NumericField:
    """A number in the text after one of `words` and of one of `kinds` compares this field."""

    field: str
    words: tuple[str, ...]
    kinds: tuple[str, ...]
    # The field if the document says its figures are quarterly averages (税务口径, 2023年第6号).
    quarterly: str | None = None


NUMERIC: tuple[NumericField, ...] = (
    NumericField("taxable_income_annual", ("应纳税所得额", "應納稅所得額"), ("money",)),
    NumericField("main_revenue_growth_q1", ("同比增长", "同比增速"), ("ratio",)),
    NumericField("revenue_last_year", ("营业收入", "销售收入", "主营业务收入", "营收"), ("money",)),
    NumericField("total_assets", ("资产总额", "資產總額"), ("money",), quarterly="assets_quarterly_avg"),
    NumericField(
        "employees",
        ("从业人数", "从业人员", "職工人數", "从業人數", "职工人数", "员工人数"),
        ("persons",),
        quarterly="employees_quarterly_avg",
    ),
    NumericField("insured_avg_last_year", ("参保人数", "参保职工人数"), ("persons",)),
    NumericField("layoffs_last_year", ("裁员人数",), ("persons",)),
    NumericField("ui_paid_months_last_year", ("缴纳失业保险费", "缴纳失业保险", "参加失业保险"), ("months", "years")),
    NumericField("first_loan_term_months", ("贷款期限", "用款时间"), ("months",)),
    NumericField("first_loan_annual_rate", ("年化利率", "贷款利率"), ("ratio",)),
    # 正常经营/稳定经营N个月以上: the business has existed (and run) at least N months.
    NumericField(
        "established_on",
        ("成立", "注册", "登记", "设立", "营业执照", "正常经营", "稳定经营", "正常运营"),
        ("years", "months"),
    ),
)


@dataclass(frozen=True)
class FlagWord:
    """A word that states a yes/no field or a tag; `needs` words must also be in the clause."""

    field: str
    words: tuple[str, ...]
    op: str
    value: object
    needs: tuple[str, ...] = ()  # at least one must appear in the same clause (exclusion cues etc.)
    group: bool = False  # names a kind of beneficiary: several in one list are alternatives
    needs_in_sentence: bool = False  # `needs` may be anywhere in the sentence, not only the clause
    unless: tuple[str, ...] = ()  # the clause speaks of something else (a base, a document) if it has one


EXCLUDE_CUES = (
    "不含",
    "不包括",
    "除外",
    "不享受",
    "不适用",
    "不得",
    "不予",
    "未被",
    "未列入",
    "非",
    "无",
    "排除",
    "不属于",
)

FLAGS: tuple[FlagWord, ...] = (
    FlagWord(
        "serious_dishonesty", ("严重失信", "严重违法失信", "失信主体", "失信联合惩戒", "失信被执行人"), "eq", False
    ),
    FlagWord("zombie_enterprise", ("僵尸企业",), "eq", False),
    FlagWord("labor_dispatch_unit", ("劳务派遣单位", "劳务派遣企业"), "eq", False, needs=EXCLUDE_CUES),
    FlagWord("fiscal_funded_unit", ("财政拨款", "财政全额拨款", "财政供养"), "eq", False, needs=EXCLUDE_CUES),
    # "欠费企业在补缴欠费后可纳入" is a condition; "返还基数不含补缴的历年欠费" is the base, not one.
    FlagWord(
        "ui_arrears",
        ("欠费", "欠缴"),
        "eq",
        False,
        needs=("失业保险",),
        needs_in_sentence=True,
        unless=("不含补缴", "不计入", "基数"),
    ),
    FlagWord("restricted_industry", ("限制和禁止行业", "限制或禁止行业", "限制类、淘汰类"), "eq", False),
    FlagWord("vat_small_scale", ("小规模纳税人",), "eq", True, group=True),
    FlagWord("small_low_profit", ("小型微利企业",), "eq", True, group=True),
    FlagWord("enterprise_tags", ("高新技术企业", "高企"), "has", "高新技术企业", group=True),
    FlagWord("enterprise_tags", ("小巨人",), "has", "专精特新小巨人企业", group=True),
    FlagWord("enterprise_tags", ("专精特新中小企业",), "has", "专精特新中小企业", group=True),
    FlagWord("enterprise_tags", ("科技型中小企业",), "has", "科技型中小企业", group=True),
    FlagWord(
        "enterprise_tags", ("规模以上工业企业", "规上工业企业", "规模以上工业"), "has", "规上工业企业", group=True
    ),
    FlagWord("founder_first_business", ("首次创业", "首次创办", "初次创业", "首次创办企业"), "eq", True),
    FlagWord(
        "operating_normally", ("正常经营", "正常运营", "正常营业", "稳定经营"), "eq", True, unless=("证明", "材料")
    ),
    FlagWord("full_capacity_whole_q1", ("连续满负荷", "一季度满负荷"), "eq", True),
    FlagWord("independent_legal_person", ("独立法人",), "eq", True),
    FlagWord("production_halted_early_year", ("停产停工",), "eq", True),
    FlagWord("full_capacity_by_deadline", ("前实现满负荷",), "eq", True),
)

# Size classes: words for several classes at once come first so 中小微企业 is not read as 微企业.
SIZES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("中小微民营企业", ("中型", "小型", "微型")),
    ("中小微企业", ("中型", "小型", "微型")),
    ("中小企业", ("中型", "小型", "微型")),
    ("小微企业", ("小型", "微型")),
    ("大型企业", ("大型",)),
    ("中型企业", ("中型",)),
    ("小型企业", ("小型",)),
    ("微型企业", ("微型",)),
)

# Subject types (field subject_type). 企业 is only read in a sentence that names the beneficiaries.
SUBJECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("机关事业单位", ("机关", "事业单位")),
    ("事业单位", ("事业单位",)),
    ("机关", ("机关",)),
    ("以单位形式参保的个体工商户", ("个体工商户",)),
    ("个体工商户", ("个体工商户",)),
    ("个体经营", ("个体工商户",)),
    ("个体户", ("个体工商户",)),
    ("个体经济组织", ("个体工商户",)),
    ("农民专业合作社", ("农民专业合作社",)),
    ("社会团体", ("社会组织",)),
    ("基金会", ("社会组织",)),
    ("社会服务机构", ("社会组织",)),
    ("民办非企业单位", ("社会组织",)),
    ("民办非企业", ("社会组织",)),
    ("社会组织", ("社会组织",)),
    ("企业", ("企业",)),
)
# Beneficiary kinds with no subject_type code: reported, never mapped.
UNCODED_SUBJECTS = ("律师事务所", "会计师事务所", "会计事务所")
SUBJECT_CUES = (
    "对象",
    "主体",
    "单位性质",
    "适用于",
    "是指",
    "创办",
    "适用范围",
    "申报单位",
    "申请单位",
    "须为",
    "受益",
    "参照",
)

# Industry sections of GB/T 4754-2017 by the names texts use.
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("制造业", "C"),
    ("采矿业", "B"),
    ("建筑业", "E"),
    ("批发和零售业", "F"),
    ("批发零售业", "F"),
    ("交通运输、仓储和邮政业", "G"),
    ("住宿和餐饮业", "H"),
    ("餐饮业", "H62"),
    ("住宿业", "H61"),
    ("信息传输、软件和信息技术服务业", "I"),
    ("租赁和商务服务业", "L"),
    ("文化、体育和娱乐业", "R"),
    ("农、林、牧、渔业", "A"),
)

TAX_GRADES = ("A", "B", "M", "C", "D")  # best first, as 纳税信用管理办法 orders them
