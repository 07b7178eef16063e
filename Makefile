# 快速开始：`make demo`（安装并运行主流程，SQLite 内嵌默认），`make test`（运行全部测试）。
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint setup clean

demo: setup
	$(BIN)/mianshen demo

test: setup
	$(BIN)/python -m pytest

# the everyday loop: without slow (processes, benchmarks), browser, Spark and PostgreSQL tests
test-fast: setup
	$(BIN)/python -m pytest -q -x -m "not slow and not browser and not spark and not postgres"

lint: setup
	$(BIN)/ruff check mianshen tests
	$(BIN)/ruff format --check mianshen tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/mianshen policy check mianshen/policies/

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@# ECharts from the npm registry into the package (install time only; the dashboard works without it)
	@[ -f mianshen/web/static/vendor/echarts.min.js ] || sh scripts/vendor-echarts.sh || echo "未能获取 ECharts（需要 npm）：监督问效页将只显示表格"
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis .grimp_cache
