"""The optional language-model adapter, run against a local stub chat-completions server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import mianshen.cli.assist  # noqa: F401  (registers the commands)
from mianshen.assist.draft import draft_from_file
from mianshen.assist.llm import LLMClient
from mianshen.cli.main import cli

TEXT = "一、申报对象为企业。二、企业从业人员不超过300人，资产总额不超过5000万元。"
ANSWER = {
    "conditions": [
        {"field": "employees", "op": "le", "value": 300, "sentence": "企业从业人员不超过300人，资产总额不超过5000万元"},
        {"field": "total_assets", "op": "le", "value": "5000万元", "sentence": "资产总额不超过5000万元"},
        {"field": "employes", "op": "le", "value": 1, "sentence": "申报对象为企业"},
        {"field": "revenue_last_year", "op": "ge", "value": "1亿元", "sentence": "营业收入1亿元以上"},
        {"field": "serious_dishonesty", "op": "gt", "value": True, "sentence": "申报对象为企业"},
    ],
    "unmapped": [{"text": "申报对象", "reason": "示例"}],
}


class _Stub(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []
    reply = "```json\n" + json.dumps(ANSWER, ensure_ascii=False) + "\n```"

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers["Content-Length"])
        _Stub.requests.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": _Stub.reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture()
def stub_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stub.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_suggestions_are_checked_and_kept_apart(tmp_path: Path, stub_url: str) -> None:
    path = tmp_path / "p.txt"
    path.write_text(TEXT, encoding="utf-8")
    draft = draft_from_file(path, llm=LLMClient(stub_url, "qwen-local"))
    assert _Stub.requests[0]["path"] == "/v1/chat/completions"
    assert _Stub.requests[0]["body"]["model"] == "qwen-local"
    assert {c.key() for c in draft.suggestions} == {("employees", "le", "300"), ("total_assets", "le", "50000000")}
    assert all(c.source == "llm" for c in draft.suggestions)
    assert all(c.source == "rules" for c in draft.candidates)
    reasons = " ".join(n.reason for n in draft.notes)
    assert "employes" in reasons  # unknown field
    assert "不在原文中" in reasons  # invented sentence
    assert "检查器拒绝" in reasons  # "greater than" on a yes/no field


def test_cli_uses_the_url_from_the_environment(tmp_path: Path, stub_url: str, monkeypatch: Any) -> None:
    path = tmp_path / "p.txt"
    path.write_text(TEXT, encoding="utf-8")
    monkeypatch.setenv("MIANSHEN_LLM_URL", stub_url)
    monkeypatch.setenv("MIANSHEN_LLM_MODEL", "local-model")
    result = CliRunner().invoke(cli, ["policy", "draft", str(path), "--llm", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert len(info["suggestions"]) == 2
    assert {c["field"] for c in info["candidates"] if c["role"] == "condition"} == {"employees", "total_assets"}


def test_unreachable_model_leaves_the_rule_based_draft(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text(TEXT, encoding="utf-8")
    draft = draft_from_file(path, llm=LLMClient("http://127.0.0.1:9", timeout=2))
    assert draft.suggestions == []
    assert any("无法访问" in n.reason for n in draft.notes)
    assert {c.field for c in draft.candidates if c.role == "condition"} == {"employees", "total_assets"}


def test_everything_works_without_a_model(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("MIANSHEN_LLM_URL", raising=False)
    path = tmp_path / "p.txt"
    path.write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["policy", "draft", str(path), "--llm"])
    assert result.exit_code == 0
    assert "未设置 MIANSHEN_LLM_URL" in result.output
    assert "field: employees" in result.output
