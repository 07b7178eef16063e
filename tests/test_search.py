"""Chinese full-text search: plain-language questions find the right shipped policy in the top 3."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import mianshen.cli.assist  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli
from mianshen.rules.ast import Policy
from mianshen.search import PolicyIndex, expand

QUESTIONS = [
    ("招了应届生有补贴吗", "kuogang-buzhu"),
    ("招聘大学生能领什么钱", "kuogang-buzhu"),
    ("新招高校毕业生每人补多少", "kuogang-buzhu"),
    ("吸纳失业青年就业的补助", "kuogang-buzhu"),
    ("社会组织招用毕业生能享受扩岗补助吗", "kuogang-buzhu"),
    ("一次性扩岗补助怎么领", "kuogang-buzhu"),
    ("公司没裁员能退社保吗", "wengang-fanhuan"),
    ("失业保险费能返还多少", "wengang-fanhuan"),
    ("稳岗返还的条件", "wengang-fanhuan"),
    ("裁员率多少以下可以领返还", "wengang-fanhuan"),
    ("交了12个月失业险有什么政策", "wengang-fanhuan"),
    ("中小微企业社保返还比例", "wengang-fanhuan"),
    ("小微企业少交税", "xiaowei-liushui-lianfei"),
    ("六税两费减半", "xiaowei-liushui-lianfei"),
    ("房产税能减免吗", "xiaowei-liushui-lianfei"),
    ("应纳税所得额300万以下的企业有什么优惠", "xiaowei-liushui-lianfei"),
    ("小型微利企业的认定标准", "xiaowei-liushui-lianfei"),
    ("印花税城建税减半征收", "xiaowei-liushui-lianfei"),
    ("自己开店有补贴吗", "chuangye-kaiye-butie"),
    ("个体户开业补贴5000元", "chuangye-kaiye-butie"),
    ("第一次创业能领什么补贴", "chuangye-kaiye-butie"),
    ("退役军人创业补贴", "chuangye-kaiye-butie"),
    ("返乡农民工开公司", "chuangye-kaiye-butie"),
    ("高企认定有奖励吗", "gaoqi-rending-jiangli"),
    ("首次认定高新技术企业奖补", "gaoqi-rending-jiangli"),
    ("高新企业奖金按销售收入分档", "gaoqi-rending-jiangli"),
    ("专精特新小巨人技改补助", "zhuanjingtexin-jiangli"),
    ("小巨人企业技术改造能补多少", "zhuanjingtexin-jiangli"),
    ("第一次贷款有贴息吗", "shoudai-tiexi"),
    ("首贷户贷款利息补贴", "shoudai-tiexi"),
    ("银行贷款贴息最高多少", "shoudai-tiexi"),
    ("工厂满产有奖励", "manfuhe-shengchan"),
    ("规上工业企业一季度满负荷生产奖励", "manfuhe-shengchan"),
    ("春节后开足马力生产的奖励", "manfuhe-shengchan"),
]


@pytest.fixture(scope="module")
def index(shipped_policies: list[Policy]) -> PolicyIndex:
    return PolicyIndex(shipped_policies)


def test_question_list_is_long_enough() -> None:
    assert len(QUESTIONS) >= 30


@pytest.mark.parametrize(("question", "policy_id"), QUESTIONS)
def test_plain_language_question_finds_policy_in_top_3(index: PolicyIndex, question: str, policy_id: str) -> None:
    top = [hit.policy_id for hit in index.search(question, limit=3)]
    assert policy_id in top, (question, top)


def test_synonyms_map_enterprise_words_to_policy_words() -> None:
    assert "高校毕业生" in expand("应届生")
    assert "社会保险" in expand("社保")
    assert "小型微利企业" in expand("小微")


def test_unrelated_question_finds_nothing(index: PolicyIndex) -> None:
    assert index.search("月球车租赁") == []


def test_related_policies(index: PolicyIndex) -> None:
    related = [hit.policy_id for hit in index.related("wengang-fanhuan")]
    assert "wengang-fanhuan" not in related
    assert "kuogang-buzhu" in related  # both are paid from unemployment insurance
    assert index.related("no-such-policy") == []


def test_search_command_json() -> None:
    result = CliRunner().invoke(cli, ["search", "应届生", "补贴", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["policy_id"] == "kuogang-buzhu"
    assert "高校毕业生" in hits[0]["matched"]


def test_web_helpers_rank_and_relate(shipped_policies: list[Policy]) -> None:
    from mianshen.search import related_policies, search_policies

    assert search_policies(shipped_policies, "社保返还")[0].policy_id == "wengang-fanhuan"
    related = related_policies(shipped_policies, "kuogang-buzhu")
    assert len(related) <= 3 and "kuogang-buzhu" not in related
