"""`mianshen policy draft`: drafts from real policy texts match the hand-written policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import mianshen.cli.assist  # noqa: F401  (registers the commands)
from mianshen.assist.draft import draft_from_file
from mianshen.assist.evaluate import compare_with_policy
from mianshen.assist.extract import Sentence, extract, extract_sentence
from mianshen.cli.main import cli
from mianshen.rules.loader import SHIPPED, load_policy, read_policy

ROOT = Path(__file__).resolve().parent.parent
TEXTS = next(
    (p for p in (ROOT.parent / "shared/docs/policy-texts", Path("/work/shared/docs/policy-texts")) if p.is_dir()),
    None,
)
needs_texts = pytest.mark.skipif(TEXTS is None, reason="shared/docs/policy-texts not present")

# Three real texts behind the shipped catalogue, and the policy each one underlies.
REAL = [
    ("14-tax-czb-swzj-2023-6-xiaowei-suodeshui.txt", "xiaowei-liushui-lianfei.yaml", 4),
    ("02-henan-gongyi-2025-wengang-fanhuan-gonggao.txt", "wengang-fanhuan.yaml", 2),
    ("09-henan-rst-2023-zhuqi-huimin-zhengce-gongzuozhiyin-kaiye-butie.txt", "chuangye-kaiye-butie.yaml", 3),
]


@needs_texts
@pytest.mark.parametrize(("text", "policy", "minimum"), REAL)
def test_every_emitted_condition_matches_the_hand_written_policy(text: str, policy: str, minimum: int) -> None:
    assert TEXTS is not None
    draft = draft_from_file(TEXTS / text)
    matched, unmatched = compare_with_policy(draft.candidates, load_policy(SHIPPED / policy))
    assert unmatched == []
    assert len(matched) >= minimum
    assert draft.notes, "what could not be mapped is listed"


@needs_texts
@pytest.mark.parametrize(("text", "policy", "minimum"), REAL)
def test_draft_file_passes_the_checker_and_cites_sentences(
    tmp_path: Path, text: str, policy: str, minimum: int
) -> None:
    assert TEXTS is not None
    out = tmp_path / "draft.yaml"
    result = CliRunner().invoke(cli, ["policy", "draft", str(TEXTS / text), "--out", str(out)])
    assert result.exit_code == 0, result.output
    loaded, diagnostics = read_policy(out)
    assert loaded is not None, diagnostics
    assert not [d for d in diagnostics if d.severity == "error"]
    body = out.read_text(encoding="utf-8")
    assert body.count("# 来源") >= minimum
    assert "# 未能识别 " in body and "\n#   - " in body  # each unread part under its sentence
    assert "再确认" in body


@needs_texts
def test_wengang_draft_subjects_and_unmapped_layoff_rate() -> None:
    assert TEXTS is not None
    draft = draft_from_file(TEXTS / REAL[1][0])
    assert "subjects:\n- 企业\n- 社会组织\n- 个体工商户" in draft.yaml
    reasons = " ".join(n.text + n.reason for n in draft.notes)
    assert "5.5%" in reasons and "律师事务所" in reasons


def test_draft_from_docx(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("一、申报对象为在本省注册的企业。")
    document.add_paragraph("二、企业从业人员不超过300人，纳税信用等级为B级以上，未被列入严重失信主体名单。")
    path = tmp_path / "policy.docx"
    document.save(str(path))
    draft = draft_from_file(path)
    keys = {c.key() for c in draft.candidates}
    assert ("employees", "le", "300") in keys
    assert ("tax_credit_grade", "in", "A,B") in keys
    assert ("serious_dishonesty", "eq", "false") in keys


def test_numbers_without_a_field_are_listed_not_guessed() -> None:
    cands, notes = extract_sentence(Sentence("申请人连续6个月经营流水在5000元以上", 0))
    assert [c for c in cands if c.role == "condition"] == []
    assert notes


def test_or_conditions_are_left_to_a_person() -> None:
    cands, notes = extract_sentence(Sentence("成立满3年或从业人员不少于50人的企业", 0))
    assert not [c for c in cands if c.field == "employees"]
    assert any("或" in n.reason for n in notes)


def test_age_of_enterprise_and_exclusions() -> None:
    cands, _ = extract("对象为成立满2年的企业(不含劳务派遣单位)，机关事业单位除外。")
    keys = {c.key() for c in cands}
    assert ("established_on", "le", "years_before=2") in keys
    assert ("labor_dispatch_unit", "eq", "false") in keys
    assert ("subject_type", "not_in", "事业单位,机关") in keys


def test_article_option_keeps_one_measure(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("一、从业人员不超过300人的企业。二、资产总额不超过5000万元的企业。", encoding="utf-8")
    draft = draft_from_file(path, article="二")
    assert {c.field for c in draft.candidates if c.role == "condition"} == {"total_assets"}


def test_candidates_serialise_for_the_web_console(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("从业人员不超过300人。", encoding="utf-8")
    info = draft_from_file(path).as_dict()
    (cand,) = info["candidates"]
    assert cand["field"] == "employees" and cand["op"] == "le" and cand["value"] == 300
    assert cand["sentence"] == "从业人员不超过300人" and cand["span"] == [0, 11]
