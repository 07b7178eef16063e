"""The shipped policies cite the documents in force and keep the values that change as parameters
(issue 15 item 7: 扩岗补助 on 人社部发〔2024〕44号, 稳岗返还 rates that areas may raise)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED, load_policy, load_policy_text
from mianshen.rules.profile import profile_from_mapping

POLICIES = SHIPPED


def test_kuogang_cites_the_2024_notice_not_the_expired_one() -> None:
    docs = [b["doc"] for b in load_policy(POLICIES / "kuogang-buzhu.yaml").legal_basis]
    assert "人社部发〔2024〕44号" in docs and "人社部发〔2023〕37号" not in docs


def test_wengang_return_rate_is_a_dated_parameter() -> None:
    """A later rate (国办发〔2025〕25号 lets an area go up to 90%) is one more dated value, not an edit
    of the formula: the amount before and after that date follows it."""
    source = (POLICIES / "wengang-fanhuan.yaml").read_text(encoding="utf-8")
    policy = load_policy_text(source, "wengang-fanhuan.yaml")
    assert "国办发〔2025〕25号" in [b["doc"] for b in policy.legal_basis]
    raised = source.replace(
        "      - {from: 2025-01-01, value: 60%, basis: 豫人社办〔2025〕35号}",
        "      - {from: 2025-01-01, value: 60%, basis: 豫人社办〔2025〕35号}\n"
        "      - {from: 2025-09-01, value: 90%, basis: 国办发〔2025〕25号}",
    )
    later = load_policy_text(raised, "wengang-fanhuan.yaml")
    firm = profile_from_mapping(
        {
            "subject_type": "企业",
            "size_class": "小型",
            "ui_paid_months_last_year": 12,
            "ui_new_claimants_last_year": 0,
            "ui_new_claimants_normal_exit_last_year": 0,
            "insured_avg_last_year": 50,
            "ui_premium_paid_last_year": "10000.00",
            "fiscal_funded_unit": False,
            "serious_dishonesty": False,
            "labor_dispatch_unit": False,
            "ui_arrears": False,
            "zombie_enterprise": False,
        }
    )
    assert evaluate(later, firm, dt.date(2025, 8, 31)).amount == Decimal("6000.00")
    assert evaluate(later, firm, dt.date(2025, 9, 1)).amount == Decimal("9000.00")
