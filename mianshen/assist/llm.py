"""Optional language model: an OpenAI-compatible chat-completions endpoint, via stdlib urllib.

On government networks the model is usually deployed locally (vLLM, Ollama, Xinference all speak
this protocol), so only a URL is configured: MIANSHEN_LLM_URL (the base, e.g.
http://127.0.0.1:8000/v1, or the full …/chat/completions), MIANSHEN_LLM_MODEL, and optionally
MIANSHEN_LLM_KEY. Its answers are suggestions only: each must quote a sentence that is really in
the document, name a catalogue field and an allowed operator, and then pass the same policy checker
as the rule-based candidates. Nothing else in mianshen needs the model.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from mianshen.assist.extract import Candidate, Note
from mianshen.catalogue import load_catalogue
from mianshen.errors import MianshenError
from mianshen.numbers import NumberError, parse_number
from mianshen.rules.values import ValueError_, parse_date
from mianshen.settings import current as settings

_POLICY_KEYS = {"subject_type": "subjects", "valid_from": "window", "valid_to": "window"}
_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "within", "not_within", "has", "lacks")
_PROMPT = """你是惠企政策条件抽取助手。从用户给出的政策原文中抽取申请条件，只输出一个 JSON 对象：
{"conditions": [{"field": 字段名, "op": 运算, "value": 值, "sentence": 原文中的一句（逐字复制）}],
 "unmapped": [{"text": 原文片段, "reason": 无法映射的原因}]}
运算只能是 eq ne gt ge lt le in not_in within not_within has lacks。“以上、以下、以内、满”含本数，
“超过、不满、低于”不含本数。金额写成“300万元”，比例写成“5.5%”，日期写成 2023-01-01，
成立满N年写 {"field": "established_on", "op": "le", "value": {"years_before": N}}。
不确定的内容放进 unmapped，不要猜测。可用字段：
"""


class LLMError(MianshenError):
    """The endpoint could not be reached or answered something that is not the agreed JSON."""


@dataclass
class LLMClient:
    url: str
    model: str = "local"
    api_key: str = ""
    timeout: float = 60.0

    @classmethod
    def from_env(cls) -> LLMClient | None:
        url = (settings().llm_url or "").strip()
        if not url:
            return None
        model = settings().llm_model
        key = settings().llm_key
        return cls(url, model, key.get_secret_value() if key else "")

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def chat(self, system: str, user: str) -> str:
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.endpoint, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
                payload = json.loads(resp.read().decode("utf-8"))
            return str(payload["choices"][0]["message"]["content"])
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise LLMError(f"语言模型服务 {self.endpoint} 无法访问：{exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"语言模型服务的回答不是 chat-completions 格式：{exc}") from exc

    def suggest(self, text: str) -> tuple[list[Candidate], list[Note]]:
        """Suggestions for `text`; anything malformed or not quoted from the text becomes a note."""
        fields = "\n".join(f"{f.name}（{f.label}，{f.type.value}）" for f in load_catalogue().fields.values())
        answer = self.chat(_PROMPT + fields, text[:12000])
        return parse_answer(answer, text)


def parse_answer(answer: str, text: str) -> tuple[list[Candidate], list[Note]]:
    match = re.search(r"\{.*\}", answer, re.S)  # models wrap JSON in ```json fences or prose
    try:
        data = json.loads(match.group(0) if match else answer)
    except ValueError as exc:
        raise LLMError(f"语言模型的回答不是 JSON：{answer[:80]}") from exc
    if not isinstance(data, dict):
        raise LLMError("语言模型的回答应为 JSON 对象")
    cands: list[Candidate] = []
    notes = [
        Note(str(u.get("text", "")), str(u.get("reason", "")), "")
        for u in data.get("unmapped", [])
        if isinstance(u, dict)
    ]
    flat = re.sub(r"\s+", "", text)
    for item in data.get("conditions", []):
        try:
            cands.append(_candidate(item, text, flat))
        except (LLMError, NumberError, ValueError_, KeyError, TypeError) as exc:
            notes.append(Note(json.dumps(item, ensure_ascii=False)[:80], f"建议无效：{exc}", ""))
    return cands, notes


def _candidate(item: Any, text: str, flat: str) -> Candidate:
    # A suggestion must quote the document: a model that invents a sentence invents a condition.
    field, op, raw = str(item["field"]), str(item["op"]), item["value"]
    sentence = str(item.get("sentence", "")).strip()
    if not sentence or re.sub(r"\s+", "", sentence) not in flat:
        raise LLMError("引用的句子不在原文中")
    catalogue = load_catalogue()
    if field not in catalogue and field not in _POLICY_KEYS:
        raise LLMError(f"字段“{field}”不在字段目录中")
    if op not in _OPS:
        raise LLMError(f"运算“{op}”无效")
    ftype = catalogue.fields[field].type.value if field in catalogue else "date"
    value = _value(ftype, raw)
    return Candidate(
        field,
        op,
        value,
        _POLICY_KEYS.get(field, "condition"),
        f"{catalogue.fields[field].label if field in catalogue else field} {op} {raw}",
        sentence,
        (0, len(sentence)),
        0.5,
        source="llm",
    )


def _value(ftype: str, raw: Any) -> Any:
    if isinstance(raw, list):
        return [str(v) for v in raw]
    if isinstance(raw, dict):
        return {str(k): int(v) for k, v in raw.items()}
    if isinstance(raw, bool) or ftype in ("code", "tags", "text"):
        return raw
    if ftype == "date":
        return parse_date(raw)
    return parse_number(raw)
