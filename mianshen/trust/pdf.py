"""The PDF of a signed document: Chinese text in an embedded font, the seal, a QR code and the code.

The font is shipped in the package (fonts/wqy-microhei-gb2312.ttf: WenQuanYi Micro Hei, Apache-2.0,
cut with fontTools to ASCII and the 7,445 characters of GB 2312 — 1.3 MB instead of 5 MB), so a
deployment does not depend on fonts installed on the machine; fpdf2 embeds only the glyphs used.
MIANSHEN_PDF_FONT names a fuller TrueType font for names with rarer characters; a character the font
lacks is an error, never a blank box on an official document.

The visible seal is drawn as vectors (a red ring, a star, the seal's name along the arc): it is a
picture for people; what proves the document is the SM2 signature, checked at the address in the QR
code or with `mianshen verify`.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import qrcode
from fontTools.ttLib import TTFont
from fpdf import FPDF

from mianshen.clock import beijing
from mianshen.errors import MianshenError
from mianshen.trust import config

FONT = Path(__file__).resolve().parent / "fonts" / "wqy-microhei-gb2312.ttf"
MARK = "mianshen-verify:"  # in the PDF's Subject, so a changed file still says which document it claims to be
_CMAPS: dict[str, set[int]] = {}

LABELS = [  # (content key, label) in the order printed
    ("enterprise", "企业名称"),
    ("uscc", "统一社会信用代码"),
    ("policy_title", "政策名称"),
    ("policy_version", "政策版本"),
    ("period", "享受期间"),
    ("case_id", "案件编号"),
    ("amount", "金额（元）"),
    ("bank_account_masked", "收款账户"),
    ("confirmed_at", "确认时间"),
    ("signed_by_enterprise", "确认人"),
    ("publicity_from", "公示开始"),
    ("publicity_to", "公示结束"),
    ("decision", "决定"),
    ("batch", "拨付批次"),
    ("paid_at", "到账时间"),
    ("department", "执行部门"),
    ("signed_at", "签发时间"),
    ("key_id", "签名密钥"),
]


def font_path() -> Path:
    return Path(config.pdf_font() or FONT)


def _covered(path: Path) -> set[int]:
    if str(path) not in _CMAPS:
        _CMAPS[str(path)] = set(TTFont(path, fontNumber=0, lazy=True).getBestCmap())
    return _CMAPS[str(path)]


def shown(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key in ("signed_at", "confirmed_at", "paid_at"):
        return beijing(dt.datetime.fromisoformat(str(value))).strftime("%Y年%m月%d日 %H:%M（北京时间）")
    if key in ("publicity_from", "publicity_to"):
        return str(value)[:10]
    if key == "amount":
        from decimal import Decimal

        return f"{Decimal(str(value)):,.2f}"
    return str(value)


def render(content: dict[str, Any], verify_url: str) -> bytes:
    path = font_path()
    lines = [(label, shown(key, content[key])) for key, label in LABELS if key in content]
    text = "".join(v for _, v in lines) + content.get("commitment", "") + content["title"] + content["seal"]
    missing = sorted({ch for ch in text if ord(ch) > 0x20 and ord(ch) not in _covered(path)})
    if missing:
        raise MianshenError(
            f"文件字体 {path.name} 缺少这些字：{''.join(missing)}；请管理员用环境变量 MIANSHEN_PDF_FONT 指定含这些字的字体"
        )
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime.fromisoformat(content["signed_at"]))  # the same content, the same file
    pdf.set_title(content["title"])
    pdf.set_subject(MARK + content["code"])
    pdf.set_creator("免申即享平台")
    pdf.add_font("cjk", fname=str(path))
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("cjk", size=22)
    pdf.cell(0, 16, content["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 8, f"验证码：{content['code']}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    for label, value in lines:
        pdf.set_x(20)
        pdf.cell(42, 9, label, border=1)
        pdf.multi_cell(128, 9, value, border=1, new_x="LMARGIN", new_y="NEXT")
    if content.get("commitment"):
        pdf.ln(4)
        pdf.set_x(20)
        pdf.multi_cell(170, 7, "信用承诺：" + content["commitment"], new_x="LMARGIN", new_y="NEXT")
    top = max(pdf.get_y() + 8, 200)
    _qr(pdf, verify_url, 20, top)
    pdf.set_font("cjk", size=9)
    pdf.set_xy(60, top + 4)
    pdf.multi_cell(
        80,
        5,
        f"扫描二维码，或在平台“文件核验”页面输入验证码 {content['code']} 核验本文件。"
        "本文件由国密 SM2 数字签名保护，任何改动都将无法通过核验。",
    )
    _seal(pdf, content["seal"], 165, top + 18)
    return bytes(pdf.output())


def _qr(pdf: FPDF, url: str, x: float, y: float) -> None:
    image = qrcode.make(url, box_size=4, border=1).get_image()
    pdf.image(image, x=x, y=y, w=34, h=34)


def _seal(pdf: FPDF, name: str, cx: float, cy: float, r: float = 19) -> None:
    pdf.set_draw_color(200, 20, 20)
    pdf.set_text_color(200, 20, 20)
    pdf.set_fill_color(200, 20, 20)
    pdf.set_line_width(1.2)
    pdf.circle(x=cx, y=cy, radius=r)
    pdf.star(x=cx, y=cy, r_in=2.6, r_out=6.5, corners=5, rotate_degrees=90, style="F")
    pdf.set_font("cjk", size=10)
    span = min(230.0, 22.0 * len(name))  # the name runs along the upper arc, centred on the top
    for i, ch in enumerate(name):
        angle = -span / 2 + span * (i + 0.5) / len(name)  # degrees from the top, clockwise
        rad = math.radians(angle)
        x, y = cx + (r - 5) * math.sin(rad), cy - (r - 5) * math.cos(rad)
        with pdf.rotation(-angle, x, y):
            pdf.text(x - 1.75, y + 1.75, ch)
    pdf.set_font("cjk", size=7)
    pdf.text(cx - 7, cy + 11, "电子印章")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
