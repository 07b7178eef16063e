"""Issue 19's Done-when in a real browser: an enterprise confirms and downloads its signed 信用承诺;
the case is approved and paid; the 决定书 and 兑现凭证 verify on the public page (by code and by upload)
and with `mianshen verify`; a PDF with one changed byte and a JSON with a changed amount fail with the
reason."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mianshen import settings
from mianshen.audit.log import SYSTEM
from mianshen.cases import transitions as tr
from mianshen.reference.workdays import add_working_days
from mianshen.store.schema import cases
from mianshen.web.accounts import set_contact
from tests.browser.conftest import AS_OF, shot
from tests.browser.test_benefit_flow import sign_in_enterprise, sign_in_staff
from tests.conftest import ROOT


def second_case(site: dict[str, Any]) -> dict[str, Any]:
    """Another 稳岗返还 case, notified, whose enterprise can sign in (the flow test uses the first)."""
    with site["engine"].begin() as conn:
        settings = tr.policy_settings(conn, "wengang-fanhuan")
        # matched, or notified already by the bulk tests (test_roles notifies thousands at both widths)
        row = conn.execute(
            select(cases.c.id, cases.c.uscc, cases.c.amount, cases.c.state)
            .where(
                cases.c.policy_id == "wengang-fanhuan",
                cases.c.state.in_(("matched", "notified")),
                cases.c.id != site["case_id"],
            )
            .order_by(cases.c.id.desc())
            .limit(1)
        ).one()
        if row.state == "matched":
            tr.notify(conn, row.id, SYSTEM, add_working_days(AS_OF, settings.confirm_days).date)
        set_contact(conn, row.uscc, "文件联系人", "13800138001")
    return {**site, "case_id": row.id, "uscc": row.uscc, "amount": row.amount}


def state(site: dict[str, Any]) -> str:
    with site["engine"].connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.id == site["case_id"])).scalar_one())


def download(page: Any, title: str, folder: Path, link: str = "下载 PDF") -> Path:
    """One of the case page's signed documents, saved under the name the site gives it."""
    with page.expect_download() as info:
        page.click(f"#documents li:has-text('{title}') >> text={link}")
    target = folder / info.value.suggested_filename
    info.value.save_as(str(target))
    return target


def upload_and_read(page: Any, base: str, path: Path) -> str:
    page.goto(base + "/verify")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('上传核验')")
    page.wait_for_selector("#verify-result")
    return str(page.inner_text("#verify-result"))


def cli_verify(site: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    url = str(site["engine"].url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "mianshen", "verify", str(path), "--db", url]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_signed_documents_download_and_verify(site: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    mine = second_case(site)
    firm = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    ).new_page()
    sign_in_enterprise(firm, mine)
    firm.goto(mine["base"] + f"/my/cases/{mine['case_id']}")
    firm.fill("input[name=bank_account]", "6222 0216 0400 7654 321")
    firm.fill("input[name=bank_name]", "中国工商银行郑州花园路支行")
    firm.fill("input[name=bank_code]", "102491002345")
    firm.check("input[name=commitment]")
    firm.click("button:has-text('确认并签署承诺')")
    firm.wait_for_selector("#documents")
    assert state(mine) == "confirmed"
    commitment = download(firm, "信用承诺书", tmp_path)
    assert commitment.read_bytes().startswith(b"%PDF") and commitment.name.startswith("信用承诺书-")
    shot(firm, "19-enterprise-signed-commitment")

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    staff.on("dialog", lambda dialog: dialog.accept())
    sign_in_staff(staff, mine, "hrss")
    staff.goto(mine["base"] + f"/console/cases/{mine['case_id']}")
    staff.click("button:has-text('开始审核')")
    staff.wait_for_selector("button:has-text('进入公示')")
    if staff.locator("input[name=stale_reason]").count():
        staff.fill("input[name=stale_reason]", "已电话核实最新参保情况")
    staff.click("button:has-text('进入公示')")
    staff.wait_for_selector("button:has-text('不予通过')")
    with site["engine"].connect() as conn:
        ends = conn.execute(select(cases.c.publicity_to).where(cases.c.id == mine["case_id"])).scalar_one()
    os.environ["MIANSHEN_TODAY"] = (ends + dt.timedelta(days=1)).isoformat()
    settings.reset()  # the live site reads the platform date from the settings object
    try:
        staff.reload()
        staff.click("button:has-text('批准')")
        staff.wait_for_load_state()
        assert state(mine) == "approved"
        finance = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        sign_in_staff(finance, mine, "finance")
        finance.goto(mine["base"] + "/console/payments")
        finance.click("button:has-text('生成拨付批次')")
        finance.wait_for_selector("button:has-text('登记已拨付')")
        finance.click("button:has-text('登记已拨付')")
        finance.wait_for_load_state()
        assert state(mine) == "paid"
    finally:
        os.environ["MIANSHEN_TODAY"] = AS_OF.isoformat()
        settings.reset()

    firm.goto(mine["base"] + f"/my/cases/{mine['case_id']}")
    listed = firm.inner_text("#documents")
    assert "信用承诺书" in listed and "兑现决定书" in listed and "兑现凭证" in listed
    decision, receipt = download(firm, "兑现决定书", tmp_path), download(firm, "兑现凭证", tmp_path)
    receipt_json = download(firm, "兑现凭证", tmp_path, "下载签名数据")

    # the public page: by the code printed on the document (what the QR code opens) …
    public = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    for pdf in (decision, receipt):
        code = pdf.stem.split("-")[-1]
        public.goto(mine["base"] + f"/verify/{code}")
        shown = public.inner_text("#verify-result")
        assert (
            "核验通过" in shown and "PDF 文件与签发时逐字节一致" in shown and "金额、企业、政策与案件记录一致" in shown
        )
    shot(public, "19-public-verify-receipt-phone")
    # … and by uploading the file
    assert "核验通过" in upload_and_read(public, mine["base"], decision)
    assert "核验通过" in upload_and_read(public, mine["base"], receipt_json)
    for pdf in (decision, receipt):
        done = cli_verify(mine, pdf)
        assert done.returncode == 0 and "核验通过" in done.stdout, done.stdout + done.stderr

    data = decision.read_bytes()
    middle = len(data) // 2
    tampered = tmp_path / "改过一个字节的决定书.pdf"
    tampered.write_bytes(data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :])
    shown = upload_and_read(public, mine["base"], tampered)
    assert "核验未通过" in shown and "PDF 文件与签发时不一致（SM3 摘要不同）：文件已被改动" in shown
    shot(public, "19-public-verify-tampered-phone")
    refused = cli_verify(mine, tampered)
    assert refused.returncode == 1 and "文件已被改动" in refused.stdout

    envelope = json.loads(receipt_json.read_text(encoding="utf-8"))
    envelope["content"]["amount"] = str(int(float(envelope["content"]["amount"])) + 10000) + ".00"
    changed = tmp_path / "改过金额的兑现凭证.json"
    changed.write_text(json.dumps(envelope, ensure_ascii=False), encoding="utf-8")
    shown = upload_and_read(public, mine["base"], changed)
    assert "核验未通过" in shown and "签名不符：文件内容在签发后被改动" in shown
    refused = cli_verify(mine, changed)
    assert refused.returncode == 1 and "签名不符" in refused.stdout
