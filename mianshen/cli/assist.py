"""`mianshen policy draft`, `mianshen assist evaluate`, `mianshen search`: AI assistance (人工智能辅助)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mianshen.cli.main import cli, policies_option
from mianshen.cli.policy import policy


@policy.command("draft")
@click.argument("file", type=click.Path(), required=False)
@click.option("--out", "out", type=click.Path(), default=None, help="草稿写入此文件（默认打印）。")
@click.option("--article", default=None, help="只起草某一条（如 三、第二条）：一个文件常含多项措施。")
@click.option("--llm", "use_llm", is_flag=True, help="同时请语言模型给出建议（MIANSHEN_LLM_URL）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出候选条件、建议和未识别内容。")
@click.option(
    "--evaluate", "run_evaluate", is_flag=True, help="不起草：在标注集的开发部分和留出部分上分别计算准确率和召回率。"
)
def draft_cmd(
    file: str | None, out: str | None, article: str | None, use_llm: bool, as_json: bool, run_evaluate: bool
) -> None:
    """从政策原文（.txt 或 .docx）起草政策文件：每个条件引用来源句，未识别的内容逐条列出。"""
    from mianshen.assist.draft import draft_from_file
    from mianshen.assist.llm import LLMClient

    if run_evaluate:
        _report_parts(as_json, verbose=True)
        return
    if not file:
        raise click.UsageError("请给出政策原文文件（.txt 或 .docx），或用 --evaluate 评估抽取质量。")

    client = None
    if use_llm:
        client = LLMClient.from_env()
        if client is None:
            click.echo("提示：未设置 MIANSHEN_LLM_URL，只给出规则抽取的候选。", err=True)
    draft = draft_from_file(file, article=article, llm=client)
    if as_json:
        click.echo(json.dumps(draft.as_dict(), ensure_ascii=False, indent=2))
    elif out:
        Path(out).write_text(draft.yaml, encoding="utf-8")
        click.echo(f"草稿已写入 {out}")
    else:
        click.echo(draft.yaml, nl=False)
    if not as_json:
        conds = [c for c in draft.candidates if c.role == "condition"]
        click.echo(
            f"候选条件 {len(conds)} 条，其他候选 {len(draft.candidates) - len(conds)} 条，"
            f"语言模型建议 {len(draft.suggestions)} 条，未能识别 {len(draft.notes)} 处；须人工逐条确认（再确认）",
            err=True,
        )
        for s in draft.suggestions:
            click.echo(f"  [建议] {s.field} {s.op} {s.value} ← {s.sentence[:50]}", err=True)


@cli.group()
def assist() -> None:
    """人工智能辅助：抽取质量评估。"""


@assist.command("evaluate")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（含每个错误）。")
@click.option("-v", "--verbose", is_flag=True, help="列出每个错误的句子。")
def evaluate_cmd(as_json: bool, verbose: bool) -> None:
    """在标注集上计算规则抽取的准确率（precision）和召回率（recall），开发部分与留出部分分开报告。"""
    _report_parts(as_json, verbose)


def _report_parts(as_json: bool, verbose: bool) -> None:
    from mianshen.assist.evaluate import PART_NAMES, evaluate_parts

    parts = evaluate_parts()
    if as_json:
        click.echo(json.dumps({p: s.as_dict() for p, s in parts.items()}, ensure_ascii=False, indent=2))
        return
    for part, scores in parts.items():
        info = scores.as_dict()
        click.echo(f"【{PART_NAMES[part]}】")
        if verbose:
            for err in info["errors"]:
                click.echo(f"· {err['sentence'][:70]}（{err['source']}）")
                for key in err["missed"]:
                    click.echo(f"    漏掉 {' '.join(key)}")
                for key in err["extra"]:
                    click.echo(f"    多出 {' '.join(key)}")
        click.echo(
            f"{PART_NAMES[part]}：标注句 {info['sentences']} 句，期望条件 {info['expected']} 条：命中 "
            f"{info['true_positives']}，多出 {info['false_positives']}，漏掉 {info['false_negatives']}"
        )
        click.echo(f"{PART_NAMES[part]}：precision {scores.precision:.3f}  recall {scores.recall:.3f}")


@cli.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", default=5, show_default=True, help="最多显示几条。")
@policies_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def search_cmd(query: tuple[str, ...], limit: int, policy_paths: tuple[str, ...], as_json: bool) -> None:
    """中文全文检索政策和办事指南（同义词：应届生→高校毕业生，社保→社会保险……）。"""
    from mianshen.search import PolicyIndex

    index = PolicyIndex.from_folder(*policy_paths)
    hits = index.search(" ".join(query), limit=limit)
    if as_json:
        click.echo(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("没有找到相关政策")
        sys.exit(1)
    for i, hit in enumerate(hits, 1):
        click.echo(f"{i}. {hit.title}（{hit.policy_id}，得分 {hit.score:.2f}）")
        if hit.matched:
            click.echo(f"   命中词：{'、'.join(hit.matched)}")
