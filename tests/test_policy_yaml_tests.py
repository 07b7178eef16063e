"""The tests written inside the shipped policy files, one pytest item each (see policy_items.py):
`pytest tests/test_policy_yaml_tests.py -k kuogang` runs one policy's tests, and a failing test
is reported alone, at its place in the YAML, with what was expected and what came out."""

from __future__ import annotations

from pathlib import Path

from mianshen.rules.loader import SHIPPED

from .policy_items import PolicyTests

test_shipped_policy_tests = PolicyTests(SHIPPED)


def test_each_failing_yaml_test_is_its_own_failure(tmp_path: Path) -> None:
    """Two wrong expectations in one policy and a broken file: three failures, the other tests pass."""
    import subprocess
    import sys
    import textwrap

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
    text = text.replace('amount: "10500.00"', 'amount: "10600.00"').replace("status: unknown", "status: eligible")
    (folder / "kuogang-buzhu.yaml").write_text(text, encoding="utf-8")
    (folder / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n", encoding="utf-8")
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent("""\
            from tests.policy_items import PolicyFolder, PolicyTests

            def pytest_pycollect_makeitem(collector, name, obj):
                if isinstance(obj, PolicyTests):
                    return PolicyFolder.from_parent(collector, name=name, source=obj)
        """),
        encoding="utf-8",
    )
    (tmp_path / "test_here.py").write_text(
        f"from pathlib import Path\nfrom tests.policy_items import PolicyTests\ntest_p = PolicyTests(Path({str(folder)!r}))\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "3 failed, 5 passed" in out, out
    assert "kuogang-buzhu::招用7人，补助10500元" in out and "10,600.00元" in out
    assert "kuogang-buzhu::缺招用人数数据，待补充数据" in out
    assert "broken.yaml" in out and "YAML 语法错误" in out
