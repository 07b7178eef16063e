"""AI assistance (人工智能辅助): draft policy conditions from policy texts, evaluate the extractor.

For a web handler: `mianshen.assist.draft.draft_from_file(path)` → `Draft` (candidates, notes,
LLM suggestions kept apart, each with `as_dict()`); `render(...)` turns the accepted ones into YAML.
"""
