"""The trust pages as people use them: the department sees each case's review route and the route counts
(its own policies only); the enterprise finds its signed documents on its case page and downloads them;
anyone checks a code; the key list is public."""

from __future__ import annotations

from . import web_auth_fixtures as fx
from .test_web_authorization import document_of_a
from .web_auth_fixtures import World

world = fx.world


def test_department_sees_routes_and_counts(world: World) -> None:
    hr, tax = world.client("hr"), world.client("tax")
    page = hr.get(f"/console/cases/{world.spare['shown']}")
    assert page.status_code == 200 and "审核路由" in page.text
    assert any(label in page.text for label in ("免审直达", "常规审核", "重点审核"))
    counts = hr.get("/console/routes")
    assert counts.status_code == 200 and "失业保险稳岗返还" in counts.text and "尚无确认的案件" not in counts.text
    assert "失业保险稳岗返还" not in tax.get("/console/routes").text  # another department's policy


def test_enterprise_downloads_its_documents_and_anyone_verifies(world: World) -> None:
    code = document_of_a(world)
    mine = world.client("ent_a").get(f"/my/cases/{world.case_a}")
    assert mine.status_code == 200 and f"/my/documents/{code}.pdf" in mine.text and "兑现决定书" in mine.text
    pdf = world.client("ent_a").get(f"/my/documents/{code}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert world.client("ent_b").get(f"/my/documents/{code}.pdf").status_code == 404
    signed = world.client("ent_a").get(f"/my/documents/{code}.json").json()
    assert signed["content"]["code"] == code and signed["pdf"]["sm3"]
    shown = world.client("anon").get(f"/verify/{code}")
    assert "核验通过" in shown.text and "PDF 文件与签发时逐字节一致" in shown.text
    assert world.client("anon").get(f"/api/verify/{code}").json()["ok"] is True
    keys = world.client("anon").get("/verify/keys").json()
    assert signed["signature"]["key_id"] in {k["key_id"] for k in keys}
    redirected = world.client("anon").get(f"/verify?code={code.lower()}", follow_redirects=False)
    assert redirected.status_code == 303 and redirected.headers["location"] == f"/verify/{code}"


def test_a_hostile_upload_to_the_verify_page_is_refused_with_a_reason(world: World) -> None:
    """A JSON nested deeper than Python's parser goes, random bytes called a PDF: a Chinese answer, never a 500."""
    anon = world.client("anon")
    cases = (
        ("深.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "文件不是有效的 JSON"),
        ("乱.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 2000, "不是本平台签发的 PDF"),
    )
    for name, data, reason in cases:
        got = anon.post("/verify", data={"csrf_token": fx.csrf(anon)}, files={"file": (name, data)})
        assert got.status_code == 200 and "核验未通过" in got.text and reason in got.text, (name, got.status_code)
