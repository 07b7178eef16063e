"""The labelled set and `mianshen assist evaluate`: precision and recall of the rule-based extractor."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import mianshen.cli.assist  # noqa: F401  (registers the commands)
from mianshen.assist.evaluate import PARTS, evaluate, evaluate_parts, load_labelled
from mianshen.catalogue import load_catalogue
from mianshen.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
TEXTS = next(
    (p for p in (ROOT.parent / "shared/docs/policy-texts", Path("/work/shared/docs/policy-texts")) if p.is_dir()),
    None,
)
POLICY_KEYS = {"subject_type", "valid_from", "valid_to", "amount"}


def test_labelled_set_is_three_times_the_first_one_with_sources() -> None:
    docs = load_labelled()
    items = [item for doc in docs for item in doc["items"]]
    assert len(items) >= 195  # the first set had 65 sentences
    assert len({doc["source"]["file"] for doc in docs}) >= 25
    for doc in docs:
        assert doc["source"]["file"] and doc["source"]["doc_no"]
        assert doc["part"] in PARTS


def test_split_is_by_source_document_and_about_a_third_is_held_out() -> None:
    files = {part: {d["source"]["file"] for d in load_labelled(part)} for part in PARTS}
    assert not files["dev"] & files["heldout"]  # one document never feeds both parts
    sizes = {part: sum(len(d["items"]) for d in load_labelled(part)) for part in PARTS}
    assert 0.25 <= sizes["heldout"] / (sizes["dev"] + sizes["heldout"]) <= 0.4


def test_no_held_out_sentence_is_a_near_copy_of_a_development_one() -> None:
    dev = [i["sentence"] for d in load_labelled("dev") for i in d["items"]]
    for doc in load_labelled("heldout"):
        for item in doc["items"]:
            best = max(difflib.SequenceMatcher(None, item["sentence"], other).ratio() for other in dev)
            assert best < 0.8, item["sentence"]


def test_expected_conditions_name_catalogue_fields() -> None:
    catalogue = load_catalogue()
    for doc in load_labelled():
        for item in doc["items"]:
            for cond in item.get("expected") or []:
                assert cond["field"] in catalogue or cond["field"] in POLICY_KEYS, cond


@pytest.mark.skipif(TEXTS is None, reason="shared/docs/policy-texts not present")
def test_every_labelled_sentence_is_copied_exactly_from_its_source() -> None:
    assert TEXTS is not None
    for doc in load_labelled():
        text = (TEXTS / doc["source"]["file"]).read_text(encoding="utf-8")
        for item in doc["items"]:
            assert item["sentence"] in text, item["sentence"]


def test_rule_based_extractor_meets_targets_on_the_development_part() -> None:
    scores = evaluate(part="dev")
    assert scores.precision >= 0.9
    assert scores.recall >= 0.8


def test_parts_are_scored_separately() -> None:
    parts = evaluate_parts()
    assert set(parts) == set(PARTS)
    assert len(parts["dev"].items) + len(parts["heldout"].items) == len(evaluate().items)
    assert {i.sentence for i in parts["dev"].items}.isdisjoint(i.sentence for i in parts["heldout"].items)


def test_policy_draft_evaluate_reports_both_parts_with_misses() -> None:
    result = CliRunner().invoke(cli, ["policy", "draft", "--evaluate"])
    assert result.exit_code == 0, result.output
    assert "开发部分：precision" in result.output and "留出部分：precision" in result.output
    assert "漏掉 " in result.output or "多出 " in result.output  # the per-sentence misses
    info = json.loads(CliRunner().invoke(cli, ["policy", "draft", "--evaluate", "--json"]).output)
    assert set(info) == {"dev", "heldout"}
    assert info["dev"]["sentences"] + info["heldout"]["sentences"] >= 195
    for part in info.values():
        assert 0 < part["precision"] <= 1 and 0 < part["recall"] <= 1
        for err in part["errors"]:
            assert err["sentence"] and err["source"] and (err["missed"] or err["extra"])


def test_policy_draft_without_a_file_says_what_to_give() -> None:
    result = CliRunner().invoke(cli, ["policy", "draft"])
    assert result.exit_code != 0
    assert "请给出政策原文文件" in result.output and "Traceback" not in result.output


def test_assist_evaluate_command_prints_both_parts() -> None:
    result = CliRunner().invoke(cli, ["assist", "evaluate"])
    assert result.exit_code == 0, result.output
    assert "开发部分" in result.output and "留出部分" in result.output
