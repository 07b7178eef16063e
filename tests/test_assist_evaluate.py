"""The labelled set and `mianshen assist evaluate`: precision and recall of the rule-based extractor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import mianshen.cli.assist  # noqa: F401  (registers the commands)
from mianshen.assist.evaluate import evaluate, load_labelled
from mianshen.catalogue import load_catalogue
from mianshen.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
TEXTS = next(
    (p for p in (ROOT.parent / "shared/docs/policy-texts", Path("/work/shared/docs/policy-texts")) if p.is_dir()),
    None,
)
POLICY_KEYS = {"subject_type", "valid_from", "valid_to", "amount"}


def test_labelled_set_has_at_least_60_sentences_with_sources() -> None:
    docs = load_labelled()
    items = [item for doc in docs for item in doc["items"]]
    assert len(items) >= 60
    for doc in docs:
        assert doc["source"]["file"] and doc["source"]["doc_no"]


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


def test_rule_based_extractor_meets_targets() -> None:
    scores = evaluate()
    assert scores.precision >= 0.9
    assert scores.recall >= 0.8


def test_evaluate_command_prints_figures() -> None:
    result = CliRunner().invoke(cli, ["assist", "evaluate"])
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "recall" in result.output
    info = json.loads(CliRunner().invoke(cli, ["assist", "evaluate", "--json"]).output)
    assert info["sentences"] >= 60
    assert 0 < info["precision"] <= 1 and 0 < info["recall"] <= 1
