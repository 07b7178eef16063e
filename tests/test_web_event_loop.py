"""No `async def` handler touches the store on the event loop: a blocking query there stalls every
user of the server. Store work in an async handler goes through `run_in_threadpool` (a nested
function or a sync callee); this test reads the code and names any handler that does otherwise."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

BLOCKING = ("engine(", "reading(", ".begin()", ".connect()")


def _direct_statements(node: ast.AsyncFunctionDef) -> list[ast.stmt]:
    """The handler's own statements, not those of functions nested in it (those run in threads)."""
    out: list[ast.stmt] = []
    todo: list[ast.stmt] = list(node.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        out.append(stmt)
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo.extend(getattr(stmt, field, []) or [])
    return out


def test_async_handlers_keep_the_store_off_the_event_loop() -> None:
    offenders = []
    handlers = [*(ROOT / "mianshen" / "web").rglob("*.py"), *(ROOT / "mianshen" / "integration").rglob("*.py")]
    for path in sorted(handlers):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.AsyncFunctionDef):
                continue
            for stmt in _direct_statements(node):
                if isinstance(stmt, (ast.With, ast.AsyncWith)):
                    text = " ".join(ast.get_source_segment(source, item.context_expr) or "" for item in stmt.items)
                    if any(b in text for b in BLOCKING):
                        offenders.append(f"{Path(path).relative_to(ROOT)}:{stmt.lineno} {node.name}")
    assert not offenders, "async 处理函数在事件循环上访问数据库：" + "；".join(offenders)
