"""What the rule-based extractor reads from one sentence: the phrasings issue 21 found missing."""

from __future__ import annotations

from pathlib import Path

from mianshen.assist.draft import draft_from_file
from mianshen.assist.extract import DocContext, Sentence, extract_sentence, value_text
from mianshen.rules.loader import read_policy


def keys(text: str, quarterly: bool = False) -> set[tuple[str, str, str]]:
    cands, _ = extract_sentence(Sentence(text, 0), DocContext(quarterly=quarterly))
    return {c.key() for c in cands}


def notes(text: str) -> list[str]:
    return [n.reason for n in extract_sentence(Sentence(text, 0), DocContext())[1]]


def key(field: str, op: str, value: object) -> tuple[str, str, str]:
    return field, op, value_text(value)


def test_sole_traders_and_social_organisations_are_subjects() -> None:
    assert key("subject_type", "in", ["个体工商户"]) in keys(
        "对个体工商户年应纳税所得额不超过200万元的部分,减半征收个人所得税"
    )
    found = keys("社会团体、基金会、社会服务机构、以单位形式参保的个体工商户参照实施")
    assert key("subject_type", "in", ["社会组织", "个体工商户"]) in found
    assert key("subject_type", "in", ["企业"]) not in keys("…的社会组织,参照企业享受一次性扩岗补助")


def test_a_listed_exclusion_excludes_every_kind_in_the_list() -> None:
    found = keys("机关事业单位、民办非企业、社会团体等不在受益范围内")
    assert found == {key("subject_type", "not_in", ["机关", "事业单位", "社会组织"])}


def test_small_firms_or_sole_traders_is_noted_not_an_and() -> None:
    text = "对受疫情影响不能正常经营的个体工商户和中小微企业,免收3个月房租"
    found = keys(text)
    assert key("subject_type", "in", ["个体工商户", "企业"]) in found
    assert not any(k[0] == "size_class" for k in found)  # would exclude the sole traders
    assert not any(k[0] == "operating_normally" for k in found)  # 不能正常经营 is no requirement
    assert any("选择关系" in r for r in notes(text))


def test_a_loan_size_is_not_the_amount_paid() -> None:
    text = "符合规定条件的小微企业借款人,贷款额度最高400万元"
    assert not any(k[0] == "amount" for k in keys(text))
    assert any("贷款额度" in r for r in notes(text))


def test_caps_rates_and_per_person_sums_in_other_words() -> None:
    assert key("amount", "cap", 200000) in keys("单个企业最多可获20万元奖励")
    assert key("amount", "cap", 100000) in keys("每家企业奖补金额不超过10万元")
    assert key("amount", "per_person", 2000) in keys("困难毕业生按每人2000元的标准发放求职创业补贴")
    assert key("amount", "rate", "1.5%") in keys("贴息方案为每年贴息1.5个百分点,最长贴息2年")
    assert key("amount", "rate", "50%") in keys("可在50%的税额幅度内减免“六税两费”")
    assert key("amount", "rate", "50%") in keys("返还标准上限为上年度企业及其职工缴纳失业保险费的50%")


def test_a_layoff_rate_is_a_threshold_not_a_share() -> None:
    assert key("amount", "rate", "5.5%") not in keys("裁员率不高于5.5%的企业按60%返还")


def test_a_tier_marked_closed_only_below_is_half_open() -> None:
    found = keys("销售收入200万元(含)至1000万元的企业,配套奖补最高20万元")
    assert key("revenue_last_year", "ge", 2000000) in found
    assert key("revenue_last_year", "lt", 10000000) in found


def test_an_included_second_kind_is_an_alternative() -> None:
    text = "满负荷生产的规模以上工业企业(含年营业收入达到2000万元的军工企业),给予10万元财政奖励"
    found = keys(text)
    assert not any(k[0] in ("enterprise_tags", "revenue_last_year") for k in found)
    assert any("或" in r for r in notes(text))


def test_other_quarters_and_month_end_figures() -> None:
    assert not any(k[0].endswith("_q1") for k in keys("对2022年二季度满负荷生产且实现营业收入同比增长10%以上的企业"))
    found = keys("申报期上月末从业人数不超过300人、资产总额不超过5000万元", quarterly=True)
    assert key("employees", "le", 300) in found and key("total_assets", "le", 50000000) in found


def test_a_duration_of_operation_is_kept() -> None:
    found = keys("稳定经营六个月以上、信誉良好的网络商户创业者")
    assert key("operating_normally", "eq", True) in found
    assert key("established_on", "le", {"months_before": 6}) in found


def test_windows_and_establishment_dates() -> None:
    found = keys("2022年1月1日到2022年12月31日,对增值税小规模纳税人减按1%征收率征收增值税")
    assert key("valid_from", "eq", "2022-01-01") in found and key("valid_to", "eq", "2022-12-31") in found
    found = keys("应为自2016年12月20日《政策》文件下发之日起,首次创办小微企业")
    assert key("established_on", "ge", "2016-12-20") in found
    assert key("valid_to", "eq", "2025-12-31") in keys("申请期限至2025年12月底")


def test_headings_and_asides_give_no_conditions() -> None:
    assert keys("一、规上工业企业满负荷生产奖励(工信局)") == set()
    found = keys("上年度(指高新技术企业认定前一年,下同)销售收入1000万元(含)以上的企业,最高30万元")
    assert not any(k[0] == "enterprise_tags" for k in found)


def test_an_alternative_is_never_dropped_silently() -> None:
    text = "从业人数不超过300人或营业收入不超过2000万元的企业"
    assert not any(k[0] in ("employees", "revenue_last_year") for k in keys(text))  # not ANDed
    assert sum("或" in r for r in notes(text)) >= 2  # both sides listed for a person


def test_draft_amount_block_has_tiers_base_and_cap(tmp_path: Path) -> None:
    text = tmp_path / "稳岗.txt"
    text.write_text(
        "一、参保企业足额缴纳失业保险费12个月以上的,可以申请稳岗返还。\n"
        "大型企业按企业及其职工上年度实际缴纳失业保险费的30%返还。\n"
        "中小微企业按企业及其职工上年度实际缴纳失业保险费的60%返还,每家企业返还金额不超过50万元。\n",
        encoding="utf-8",
    )
    draft = draft_from_file(text)
    out = tmp_path / "draft.yaml"
    out.write_text(draft.yaml, encoding="utf-8")
    policy, diags = read_policy(out)
    assert policy is not None, diags
    assert not [d for d in diags if d.severity == "error"]
    assert not policy.amount.none and len(policy.amount.tiers) == 2
    assert "ui_premium_paid_last_year * 60%" in draft.yaml and "else: ui_premium_paid_last_year * 30%" in draft.yaml
    assert "cap: 500000" in draft.yaml


def test_draft_without_a_base_stays_declared_none_with_a_note(tmp_path: Path) -> None:
    text = tmp_path / "贴息.txt"
    text.write_text("对符合条件的企业,按3%给予补助,最高不超过20万元。\n", encoding="utf-8")
    draft = draft_from_file(text)
    assert "none: true" in draft.yaml
    assert any("基数未能识别" in n.reason for n in draft.notes)
