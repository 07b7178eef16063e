"""`mianshen policy show`: a policy rendered in Chinese for the public list and service guide."""

from __future__ import annotations

import json

from click.testing import CliRunner

import mianshen.cli.policy  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli
from mianshen.rules.loader import SHIPPED


def test_show_renders_conditions_with_parameter_values_and_basis() -> None:
    result = CliRunner().invoke(cli, ["policy", "show", str(SHIPPED / "wengang-fanhuan.yaml"), "--as-of", "2025-06-30"])
    assert result.exit_code == 0, result.output
    assert "《失业保险稳岗返还（2025年）》" in result.output
    assert "豫人社办〔2025〕35号" in result.output
    assert "上年度足额缴纳失业保险费月数不低于 12个月" in result.output
    assert "不超过 5.5%（参数“裁员率上限" in result.output  # the dated parameter resolved on the date
    assert (
        "上年度实际缴纳失业保险费 × 中小微企业（及参照实施的社会组织、以单位形式参保的个体工商户）返还比例（60%）"
        in result.output
    )


def test_show_json_lists_every_top_level_condition() -> None:
    result = CliRunner().invoke(cli, ["policy", "show", str(SHIPPED / "kuogang-buzhu.yaml"), "--json"])
    info = json.loads(result.output)
    assert info["kind"] == "条件类" and info["conditions"][0].startswith("· 政策有效期")
    assert any("1500" in line for line in info["amount"])
