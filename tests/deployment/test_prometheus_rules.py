"""The alert rules of deploy/prometheus: promtool accepts them and their unit tests pass, every alert
is unit-tested firing and not firing, has a runbook section in README.md, and Prometheus loads them
(in docker-compose too). promtool comes from Debian's `prometheus` package (scripts/bootstrap.sh)."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))
README = REPO / "README.md"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: scripts/bootstrap.sh installs Debian's prometheus package"
    return subprocess.run([binary, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


@cache
def alerts() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["alert"] not in found, f"alert {rule['alert']} defined twice"
                    found[rule["alert"]] = rule
    return found


def unit_test_evaluations() -> list[tuple[str, list[Any]]]:
    """(alert name, expected alerts) of every evaluation in the unit tests."""
    return [
        (check["alertname"], check.get("exp_alerts") or [])
        for path in TEST_FILES
        for case in yaml.safe_load(path.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
    ]


class TestPromtool:
    def test_the_rule_files_are_valid(self) -> None:
        assert RULE_FILES
        result = promtool("check", "rules", *map(str, RULE_FILES))
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_prometheus_configuration_and_the_rules_it_loads_are_valid(self) -> None:
        result = promtool("check", "config", "prometheus.yml")
        assert result.returncode == 0, result.stdout + result.stderr
        for path in RULE_FILES:
            assert f"rules/{path.name}" in result.stdout, f"prometheus.yml does not load {path.name}"

    def test_the_rule_unit_tests_pass(self) -> None:
        assert TEST_FILES
        result = promtool("test", "rules", *map(str, TEST_FILES))
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("SUCCESS") == len(TEST_FILES), result.stdout


class TestAlerts:
    def test_the_issue_s_alerts_exist(self) -> None:
        assert set(alerts()) >= {
            "CollectionsServiceDown",
            "CollectionsConsumerLagGrowing",
            "CollectionsDeadLettersReceived",
            "CollectionsOutboxStuck",
            "CollectionsEventErrorRate",
            "CollectionsHttpErrorRate",
            "AgingCloseNotApplied",
            "AgingBusinessDayOverdue",
            "ContactComplianceBlocksSpiking",
            "GatewayAgencyAuthFailures",
        }

    def test_every_alert_is_unit_tested_both_firing_and_silent(self) -> None:
        evaluations = unit_test_evaluations()
        for name in alerts():
            expected = [exp for alert, exp in evaluations if alert == name]
            assert any(expected), f"{name}: no unit test shows it firing"
            assert [] in expected, f"{name}: no unit test shows it silent"

    def test_every_alert_has_a_severity_a_summary_and_a_runbook_section_in_the_readme(self) -> None:
        headings = {m[1]: m.start() for m in re.finditer(r"^#### (\w+)$", README.read_text(), re.M)}
        for name, rule in alerts().items():
            assert rule["labels"]["severity"] in {"critical", "warning"}, name
            assert rule["annotations"]["summary"], name
            assert rule["annotations"]["runbook"] == f"README.md#{name.lower()}", name
            assert name in headings, f"README.md has no runbook section '#### {name}'"


class TestDeployment:
    def test_docker_compose_mounts_the_rules_where_the_configuration_loads_them(self) -> None:
        compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
        config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
        volumes = compose["services"]["prometheus"]["volumes"]
        assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in volumes
        assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes
        assert config["rule_files"] == ["rules/*.yml"], "relative to /etc/prometheus/prometheus.yml"
