"""Signed documents through the case workflow: the 信用承诺 on confirmation, the 决定书 on approval and the
兑现凭证 on payment, each verifiable; a changed byte or a changed amount fails with a Chinese reason."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from mianshen.audit.log import verify as verify_chain
from mianshen.cases import review
from mianshen.cases.payments import create_batch, mark_batch_paid
from mianshen.store.schema import audit_log
from mianshen.trust import documents, keys, verify
from mianshen.trust.config import PLATFORM

from .test_cases_fixtures import AFTER_PUBLICITY, FINANCE, KEJI, KJ, LISTED, publish, sm4_key, to_publicity

__all__ = ["sm4_key"]  # autouse: the SM4 key for bank accounts


def paid_case(store: Engine) -> int:
    with store.begin() as conn:
        publish(conn, LISTED)
    case_id = to_publicity(store, 3, "300000.00")
    with store.begin() as conn:
        assert review.decide(conn, case_id, KJ, AFTER_PUBLICITY)["state"] == "approved"
    batch = create_batch(store, LISTED, FINANCE)
    assert mark_batch_paid(store, batch.batch_id, FINANCE) == 1
    return case_id


def test_each_step_signs_its_document_with_the_right_seal(store: Engine) -> None:
    case_id = paid_case(store)
    with store.begin() as conn:
        listed = documents.for_case(conn, case_id)
        assert [d["title"] for d in listed] == ["信用承诺书", "兑现决定书", "兑现凭证"]
        key_list = keys.public_keys(conn)
        for item in listed:
            out = verify.from_store(conn, key_list, item["code"])
            assert out.ok, out.problems
            assert any("金额、企业、政策与案件记录一致" in c for c in out.checked)
        rows = {d["kind"]: documents.by_code(conn, d["code"]) for d in listed}
        signed_events = conn.execute(select(audit_log.c.entity_id).where(audit_log.c.action == "trust.sign")).scalars()
        assert set(signed_events) == {d["code"] for d in listed}
        assert verify_chain(conn).first_broken is None
    content = {kind: json.loads(row["content"]) for kind, row in rows.items() if row}
    assert content["commitment"]["seal"] == PLATFORM and content["commitment"]["commitment"] == "承诺"
    assert content["commitment"]["bank_account_masked"] == "6222 **** **** 1234"
    assert "6222021001123451234" not in rows["commitment"]["content"]  # only a digest of the account is signed
    assert content["decision"]["seal"] == content["receipt"]["seal"] == KEJI
    assert content["receipt"]["amount"] == "300000.00" and content["decision"]["amount"] == "300000.00"


def test_pdf_is_made_once_and_a_changed_byte_fails(store: Engine) -> None:
    case_id = paid_case(store)
    with store.begin() as conn:
        code = documents.for_case(conn, case_id)[1]["code"]
        pdf = documents.pdf_of(conn, code)
        assert documents.pdf_of(conn, code) == pdf  # the same bytes on every download
        key_list = keys.public_keys(conn)
        assert pdf.startswith(b"%PDF") and verify.claimed_code(pdf) == code
        assert verify.pdf_in_store(conn, key_list, pdf).ok
        middle = len(pdf) // 2
        tampered = pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :]
        out = verify.pdf_in_store(conn, key_list, tampered)
    assert not out.ok and "PDF 文件与签发时不一致（SM3 摘要不同）：文件已被改动" in out.problems


def test_json_with_a_changed_amount_fails(store: Engine) -> None:
    case_id = paid_case(store)
    with store.begin() as conn:
        code = documents.for_case(conn, case_id)[2]["code"]
        env = documents.envelope(documents.by_code(conn, code))
        key_list = keys.public_keys(conn)
        good = json.dumps(env, ensure_ascii=False).encode()
        assert verify.json_in_store(conn, key_list, good).ok
        env["content"]["amount"] = "900000.00"
        bad = verify.json_in_store(conn, key_list, json.dumps(env, ensure_ascii=False).encode())
        junk = verify.json_in_store(conn, key_list, b"{not json")
    assert not bad.ok and bad.problems == ["签名不符：文件内容在签发后被改动，或签名不是该印章所签"]
    assert junk.problems == ["文件不是有效的 JSON（UTF-8）"]


def test_a_document_whose_record_was_changed_in_the_store_fails(store: Engine) -> None:
    """Someone with database access re-signs nothing but edits the case amount: the record check says so."""
    from mianshen.store.schema import cases

    case_id = paid_case(store)
    with store.begin() as conn:
        code = documents.for_case(conn, case_id)[1]["code"]
        conn.execute(cases.update().where(cases.c.id == case_id).values(confirmed_amount="1.00"))
        out = verify.from_store(conn, keys.public_keys(conn), code)
    assert not out.ok and out.problems == ["文件金额 300000.00 元与案件记录 1.00 元不一致"]


@pytest.mark.parametrize("code", ["NOPE", "ABCDEFGHJKMN"])
def test_unknown_code(store: Engine, code: str) -> None:
    with store.begin() as conn:
        out = verify.from_store(conn, [], code)
    assert not out.ok and "没有验证码为" in out.problems[0]
