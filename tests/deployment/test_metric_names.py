"""Every metric a dashboard panel or an alert rule names exists: defined by the code (the runtime's
and each service's ``metrics`` module), made by Prometheus itself (``up``), or in README's list of
metrics the later services export. Every expression parses (``promtool check rules``)."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from types import ModuleType

import yaml
from prometheus_client.metrics import MetricWrapperBase

from tests.deployment.test_compose import promql_metric_names

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
README = REPO / "README.md"
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}
# Grafana's variables, replaced by something PromQL accepts before promtool parses an expression.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def metrics_modules() -> list[ModuleType]:
    modules = [importlib.import_module("collections_common.metrics")]
    for pyproject in sorted((REPO / "services").glob("*/pyproject.toml")):
        [package] = [p.name for p in (pyproject.parent / "src").iterdir() if (p / "__init__.py").is_file()]
        for name in ("metrics", "kpi_metrics"):  # kpi_metrics: the collections_kpi_* gauges
            if (pyproject.parent / "src" / package / f"{name}.py").is_file():
                modules.append(importlib.import_module(f"{package}.{name}"))
    return modules


@cache
def defined_metric_names() -> frozenset[str]:
    """The sample names the code's collectors expose (``_total``, ``_bucket``... included)."""
    names: set[str] = set()
    for module in metrics_modules():
        for collector in vars(module).values():
            if isinstance(collector, MetricWrapperBase):
                for family in collector.describe():
                    names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return frozenset(names)


@cache
def planned_metric_names() -> frozenset[str]:
    """README "Metrics the later services export": the first column of its table."""
    section = README.read_text().split("### Metrics the later services export", 1)[1].split("\n#", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| `(\w+)` \| (counter|gauge|histogram) \|", section, re.M):
        names.update(row[0].removesuffix("_total") + suffix for suffix in SUFFIXES[row[1]])
    return frozenset(names)


def known_metric_names() -> frozenset[str]:
    return defined_metric_names() | planned_metric_names() | PROMETHEUS_SERIES


def dashboard_expressions() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard.get("panels", []):
            for inner in [panel, *panel.get("panels", [])]:
                for target in inner.get("targets", []):
                    found.append((f"{path.name} {inner['title']!r}", target["expr"]))
    return found


def rule_expressions() -> list[tuple[str, str]]:
    return [
        (f"{path.name} {rule.get('alert') or rule.get('record')}", str(rule["expr"]))
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def as_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)  # template variables are used in =~ matchers


class TestMetricNames:
    def test_the_planned_metrics_are_listed_and_not_yet_defined_twice(self) -> None:
        assert "collections_contact_permits_total" in defined_metric_names()
        assert "collections_gateway_auth_failures_total" in defined_metric_names()
        assert not planned_metric_names() & defined_metric_names(), "defined now: move it to README 'Metrics'"

    def test_every_metric_a_dashboard_or_a_rule_names_exists(self) -> None:
        expressions = dashboard_expressions() + rule_expressions()
        assert len(expressions) > 10
        for where, expr in expressions:
            named = promql_metric_names(expr)
            assert named, f"{where}: no metric in {expr}"
            assert named <= known_metric_names(), f"{where}: unknown {sorted(named - known_metric_names())}"

    def test_every_metric_the_code_defines_is_documented_in_the_readme(self) -> None:
        readme = README.read_text()
        for module in metrics_modules():
            for collector in vars(module).values():
                if isinstance(collector, MetricWrapperBase):
                    [family] = collector.describe()
                    name = family.name + ("_total" if family.type == "counter" else "")
                    assert f"`{name}`" in readme, f"README 'Metrics' does not list {name}"


class TestExpressionsParse:
    def test_every_dashboard_expression_parses(self, tmp_path: Path) -> None:
        promtool = shutil.which("promtool")
        assert promtool, "promtool is missing: scripts/bootstrap.sh installs Debian's prometheus package"
        rules = [
            {"record": f"dashboard:expression_{i}", "expr": as_promql(expr)}
            for i, (_, expr) in enumerate(dashboard_expressions())
        ]
        path = tmp_path / "dashboard-expressions.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"SUCCESS: {len(rules)} rules found" in result.stdout
