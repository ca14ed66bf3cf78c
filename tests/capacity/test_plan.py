"""The capacity plan, its price table, and the Terraform defaults and docs that come from it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.figures import Figure, load_figures
from capacity.plan import PRICES, Workload, load_prices, make_plan, parse_mix
from capacity.planreport import SIZING_BEGIN, SIZING_END, sizing_table
from tests.infra.terraform_hcl import load_module, named_blocks

REPO = Path(__file__).resolve().parents[2]
SCALES = (10_000, 100_000, 1_000_000)
DEFAULT_SCALE = 100_000  # the Terraform defaults' (terraform/variables.tf)
EXAMPLES = {"minimal": 10_000, "production": 1_000_000}


@pytest.fixture(scope="module")
def plans() -> dict[int, object]:
    return {tasks: make_plan(Workload(tasks)) for tasks in SCALES}


def optional_default(type_expression: str, name: str) -> float:
    return float(re.search(rf"{name}\s*=\s*optional\(number,\s*([0-9.]+)\)", type_expression).group(1))


def root_variables() -> dict[str, dict]:
    return dict(named_blocks(load_module(REPO / "terraform"), "variable"))


def test_every_output_rests_on_figures_from_the_committed_reports(plans):
    plan = plans[1_000_000]
    for sizing in (plan.workers, plan.web, plan.database, plan.volumes):
        assert sizing.basis, sizing
        for key in sizing.basis:
            figure = plan.figures[key]
            report = figure["source"].split("/")[0]
            assert (REPO / "capacity" / "reports" / report / "summary.json").is_file(), figure
            assert figure["value"] > 0


def test_sizes_grow_with_the_load(plans):
    small, medium, large = (plans[t] for t in SCALES)
    cores = [p.workers.values["max_replicas"] * p.workers.values["vcpus"] for p in (small, medium, large)]
    assert cores == sorted(cores) and cores[0] < cores[2]
    assert small.database.values["statements_per_second_at_peak"] < large.database.values[
        "statements_per_second_at_peak"]
    assert small.monthly_cost < medium.monthly_cost < large.monthly_cost


def test_slower_compression_needs_more_workers():
    figures = load_figures()
    slower = dataclasses.replace(figures, formats={
        name: dataclasses.replace(cost, cpu_seconds_per_mb=Figure(cost.cpu_seconds_per_mb.value * 4, "", ""))
        for name, cost in figures.formats.items()})
    base = make_plan(Workload(1_000_000), figures).workers.values
    heavier = make_plan(Workload(1_000_000), slower).workers.values
    assert heavier["max_replicas"] * heavier["vcpus"] > base["max_replicas"] * base["vcpus"]


def test_cost_follows_the_price_table(tmp_path):
    text = PRICES.read_text()
    doubled = re.sub(r"hourly = ([0-9.]+)", lambda m: f"hourly = {2 * float(m.group(1))}", text)
    path = tmp_path / "prices.toml"
    path.write_text(doubled)
    base = make_plan(Workload(100_000))
    expensive = make_plan(Workload(100_000), prices=load_prices(path))
    for item in ("worker VMs", "web VMs"):
        assert expensive.costs[item] == pytest.approx(2 * base.costs[item])
    assert expensive.costs["Cloud SQL"] == pytest.approx(base.costs["Cloud SQL"])


def test_terraform_defaults_are_the_plan_for_100k_tasks(plans):
    plan = plans[DEFAULT_SCALE]
    variables = root_variables()
    workers = variables["worker_autoscaling"]["type"]
    assert variables["worker_machine_type"]["default"] == plan.workers.values["machine_type"]
    for name in ("min_replicas", "max_replicas", "messages_per_instance", "cooldown_period"):
        assert optional_default(workers, name) == plan.workers.values[name], name
    web = variables["web_autoscaling"]["type"]
    assert variables["web_machine_type"]["default"] == plan.web.values["machine_type"]
    for name in ("min_replicas", "max_replicas", "cpu_target", "load_balancing_target"):
        assert optional_default(web, name) == plan.web.values[name], name
    assert variables["database_tier"]["default"] == plan.database.values["tier"]
    assert variables["database_max_connections"]["default"] == plan.database.values["max_connections_flag"]


@pytest.mark.parametrize(("example", "tasks"), EXAMPLES.items())
def test_examples_carry_the_plan_for_their_scale(plans, example, tasks):
    call = dict(named_blocks(load_module(REPO / "terraform" / "examples" / example), "module"))["comprimemelo"]
    plan = plans[tasks]
    assert call["worker_machine_type"] == plan.workers.values["machine_type"]
    for name in ("min_replicas", "max_replicas", "messages_per_instance", "cooldown_period"):
        assert call["worker_autoscaling"][name] == plan.workers.values[name], name
    assert call["web_machine_type"] == plan.web.values["machine_type"]
    assert call["web_autoscaling"] == {"min_replicas": plan.web.values["min_replicas"],
                                       "max_replicas": plan.web.values["max_replicas"]}
    assert call["database_tier"] == plan.database.values["tier"]
    assert call["database_max_connections"] == plan.database.values["max_connections_flag"]


def test_deploy_docs_sizing_advice_is_the_models(plans):
    text = (REPO / "docs" / "deploy.md").read_text()
    start, end = text.index(SIZING_BEGIN), text.index(SIZING_END) + len(SIZING_END)
    assert text[start:end] == sizing_table([plans[t] for t in SCALES])


def test_committed_plan_reports_are_current(plans):
    from capacity.planreport import plan_markdown

    for tasks, label in zip(SCALES, ("10k", "100k", "1m")):
        committed = (REPO / "capacity" / "reports" / f"plan-{label}" / "plan.md").read_text()
        assert committed == plan_markdown(plans[tasks]), f"rerun python -m capacity plan --tasks-per-day {tasks}"


def test_mix_parsing_normalises_and_refuses_nonsense():
    assert parse_mix("zip:1,tar.zst:3") == (("zip", 0.25), ("tar.zst", 0.75))
    for bad in ("zip", "zip:0", "zip:-1,7z:2", ":1"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_plan_command_prints_and_writes_the_report(tmp_path):
    out = tmp_path / "plan"
    result = subprocess.run([sys.executable, "-m", "capacity", "plan", "--tasks-per-day", "1000000", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "# Capacity plan: 1,000,000 tasks a day" in result.stdout
    assert "## Monthly cost: $" in result.stdout
    assert (out / "plan.md").read_text() in result.stdout
    assert '"monthly_cost"' in (out / "summary.json").read_text()


def test_plan_command_names_an_unmeasured_format(tmp_path):
    result = subprocess.run([sys.executable, "-m", "capacity", "plan", "--tasks-per-day", "1000", "--formats",
                             "rar:1", "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode != 0
    assert "no measured figures for rar" in result.stderr
