"""What every browser walk does on every page: sign in as a role at a width, scan what is shown for
code identifiers (tests/language.py), and on a phone check that the page fits: no sideways scroll,
every table cell labelled (tables turn into cards), no number broken across two lines."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PASSWORD, SHOTS, latest_code, shot
from tests.language import leaks

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# On a phone: cells of a table.table without a label (tables.js labels them from the header), and
# numbers that wrap (a text node of a .num element or a digit run laid out on more than one line).
_PHONE_PROBLEMS = """() => {
  const out = [];
  for (const td of document.querySelectorAll("table.table tbody td")) {
    if (td.colSpan > 1 || !td.innerText.trim()) continue;
    if (getComputedStyle(td).display === "none") continue;
    if (!(td.dataset.label || "").trim()) out.push("单元格没有标签：" + td.innerText.trim().slice(0, 30));
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const folded = node.parentElement.closest("details:not([open])");
    if (folded && !node.parentElement.closest("summary")) continue;  // not shown until unfolded
    for (const m of node.data.matchAll(/\\d[\\d,.]{3,}\\d/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
      const at = node.parentElement.closest("td, li, p, dd, div");
      if (tops.size > 1) out.push("数字被折行：" + m[0] + "（" + (at ? at.tagName + " " + (at.dataset.label || at.className) : "") + "）");
    }
  }
  return out;
}"""


def check(page: Any) -> None:
    """The page as shown: no code identifiers; on a phone, fits its width with labelled cards."""
    html = page.content()
    found = leaks(html)
    if found:
        (SHOTS / "leak.html").write_text(html, encoding="utf-8")
    assert not found, f"{page.url} 显示了代码标识符：{found}"
    width = page.viewport_size["width"]
    if width < 640:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{page.url} 在手机宽度下横向滚动：{scroll}px"
        problems = page.evaluate(_PHONE_PROBLEMS)
        assert not problems, f"{page.url}：{problems[:5]}"


def visit(page: Any, url: str, name: str = "") -> None:
    """Open `url`, check it (every resource it loads found, too), and (when named) save its screenshot."""
    missing: list[str] = []

    def answered(response: Any) -> None:
        if response.status >= 400:
            missing.append(f"{response.status} {response.url}")

    page.on("response", answered)
    try:
        page.goto(url)
        page.wait_for_load_state("networkidle")  # the icon and scripts the page asks for afterwards
    finally:
        page.remove_listener("response", answered)
    assert not missing, f"{url} 的资源未找到：{missing}"
    check(page)
    if name:
        shot(page, name)


def staff(browser: Any, site: dict[str, Any], username: str, width: str = "desktop") -> Any:
    page = browser.new_context(viewport=WIDTHS[width], locale="zh-CN").new_page()
    page.goto(site["base"] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_load_state()
    return page


_SIGNED_IN: dict[str, Any] = {}  # USCC → its browser storage (a code is limited to 5 an hour per address)


def enterprise(browser: Any, site: dict[str, Any], uscc: str, next_path: str = "", width: str = "phone") -> Any:
    from mianshen.web.accounts import set_contact

    target = site["base"] + (next_path or "/my")
    if uscc in _SIGNED_IN:  # signed in before: the same session at another width
        page = browser.new_context(viewport=WIDTHS[width], locale="zh-CN", storage_state=_SIGNED_IN[uscc]).new_page()
        page.goto(target)
        if "/login" not in page.url:
            return page
        page.context.close()
    with site["engine"].begin() as conn:
        set_contact(conn, uscc, "测试联系人", "13800138000")
    page = browser.new_context(viewport=WIDTHS[width], locale="zh-CN").new_page()
    page.goto(target)  # a deep link: sign in, then back where it pointed
    page.fill("input[name=uscc]", uscc)
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", latest_code(site["engine"], uscc))
    page.click("button:has-text('登录')")
    page.wait_for_load_state()
    _SIGNED_IN[uscc] = page.context.storage_state()
    return page
