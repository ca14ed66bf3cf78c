"""Reports of the capacity plan (plan.md, summary.json) and of the autoscaler simulation (report.html)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from capacity.plan import Plan
from capacity.report import FIGSIZE, _page, _png, _table, plt
from capacity.simulation import Result

SCALE_LABELS = {10_000: "10k", 100_000: "100k", 1_000_000: "1m"}
BUCKET_SECONDS = 60


def _money(value: float) -> str:
    return f"${value:,.0f}"


def plan_markdown(plan: Plan) -> str:
    w, web, db, v = plan.workers.values, plan.web.values, plan.database.values, plan.volumes.values
    load = plan.workload
    meta = plan.prices["meta"]
    lines = [
        f"# Capacity plan: {load.tasks_per_day:,} tasks a day",
        "",
        f"Peak {load.peak_to_mean:g}x the mean ({load.rate(load.peak_to_mean):.2f} tasks/s), a burst of "
        f"{load.burst_factor:g}x for {load.burst_minutes:g} min; p95 upload → processed target "
        f"{load.latency_target_p95_seconds:g} s; file sizes {', '.join(f'{s / 1e6:g} MB {p:.0%}' for s, p in load.file_sizes)}"
        f"; formats {', '.join(f'{f} {p:.0%}' for f, p in load.formats)}; {load.users_at_peak} API users at peak.",
        "",
        "## Sizing",
        "",
        "| what | size | rests on |",
        "|---|---|---|",
        f"| worker group | `{w['machine_type']}`, min {w['min_replicas']}, max {w['max_replicas']} "
        f"({w['vms_at_peak']} at the daily peak); concurrency {w['concurrency']} per VM; autoscaler target "
        f"{w['messages_per_instance']:g} undelivered messages per VM, cooldown {w['cooldown_period']} s | "
        f"{', '.join(plan.workers.basis)} |",
        f"| web group | `{web['machine_type']}`, min {web['min_replicas']}, max {web['max_replicas']} "
        f"({web['vms_at_peak']} at the daily peak); CPU target {web['cpu_target']:g}, load-balancing target "
        f"{web['load_balancing_target']:g} | {', '.join(plan.web.basis)} |",
        f"| Cloud SQL | `{db['tier']}` (HA), {db['disk_gb']} GB SSD; {db['statements_per_second_at_peak']:,.0f} "
        f"statements/s at peak, {db['statements_per_second_in_burst']:,.0f} in the burst; up to "
        f"{db['connections_at_max_replicas']} connections"
        + (f" (set `max_connections` = {db['max_connections_flag']}, the tier's default is "
           f"{db['default_max_connections']})" if db["max_connections_flag"] else "")
        + f" | {', '.join(plan.database.basis)} |",
        f"| Pub/Sub | {v['pubsub_messages_per_month']:,} messages/month, {v['pubsub_billed_gb_per_month']:g} GB billed | "
        "the task count |",
        f"| Cloud Storage | {v['stored_gb']:,.0f} GB stored ({v['input_gb_per_day']:,.0f} GB in, "
        f"{v['archive_gb_per_day']:,.0f} GB of archives a day), {v['egress_gb_per_month']:,.0f} GB/month downloaded | "
        f"{', '.join(plan.volumes.basis)} |",
        "",
        "Why: " + "; ".join(f"**{name}**: {sizing.reasoning}" for name, sizing in
                            (("workers", plan.workers), ("web", plan.web), ("database", plan.database))) + ".",
        "",
        f"## Monthly cost: {_money(plan.monthly_cost)}",
        "",
        f"List prices for {meta['region']} in {meta['currency']} from `capacity/prices.toml` (entered {meta['entered']}; "
        f"checked against the live price pages: {'yes' if meta['checked_against_live_pages'] else 'no'}). "
        "No committed-use discount.",
        "",
        "| item | per month | prices used |",
        "|---|---:|---|",
        *(f"| {item} | {_money(cost)} | {plan.cost_basis[item]} |" for item, cost in plan.costs.items()),
        "",
        "## Measured figures",
        "",
        "| figure | value | measured in (capacity/reports/…) |",
        "|---|---:|---|",
        *(f"| `{key}` | {figure['value']:.4g} {figure['unit']} | {figure['source']} |"
          for key, figure in plan.figures.items()),
        "",
        "Not measured here, estimated: VM boot time, Cloud Monitoring's metric delay, bytes of logs per request, "
        "database bytes per task; the web and database figures come from a 2-core machine shared by the load "
        "generator, the web and PostgreSQL, so they are floors for dedicated machines.",
    ]
    return "\n".join(lines) + "\n"


SIZING_BEGIN = "<!-- BEGIN capacity plan: python -m capacity plan -->"
SIZING_END = "<!-- END capacity plan -->"


def sizing_table(plans: list[Plan]) -> str:
    """The sizing advice of docs/deploy.md: one column per scale (tests/capacity checks it against the model)."""
    header = "| | " + " | ".join(f"{p.workload.tasks_per_day:,} tasks/day" for p in plans) + " |"
    rows = [
        ("worker machine type", lambda p: f"`{p.workers.values['machine_type']}`"),
        ("worker VMs (min–max)", lambda p: f"{p.workers.values['min_replicas']}–{p.workers.values['max_replicas']}"),
        ("worker `messages_per_instance`", lambda p: f"{p.workers.values['messages_per_instance']:g}"),
        ("web machine type", lambda p: f"`{p.web.values['machine_type']}`"),
        ("web VMs (min–max)", lambda p: f"{p.web.values['min_replicas']}–{p.web.values['max_replicas']}"),
        ("Cloud SQL tier (HA)", lambda p: f"`{p.database.values['tier']}`"),
        ("`database_max_connections`", lambda p: str(p.database.values["max_connections_flag"])),
        ("monthly cost (list prices)", lambda p: _money(p.monthly_cost)),
        ("plan", lambda p: f"[plan-{SCALE_LABELS[p.workload.tasks_per_day]}](../capacity/reports/plan-"
                           f"{SCALE_LABELS[p.workload.tasks_per_day]}/plan.md)"),
    ]
    lines = [SIZING_BEGIN, header, "|---|" + "---|" * len(plans)]
    lines += ["| " + name + " | " + " | ".join(cell(p) for p in plans) + " |" for name, cell in rows]
    return "\n".join([*lines, SIZING_END])


def write_plan(out: Path, plan: Plan, command: str) -> str:
    out.mkdir(parents=True, exist_ok=True)
    document = plan_markdown(plan)
    (out / "summary.json").write_text(json.dumps({"command": command, **plan.to_json()}, indent=2) + "\n")
    (out / "plan.md").write_text(document)
    return document


# --- simulation ------------------------------------------------------------------


def _latency_by_minute(result: Result) -> tuple[list[float], list[float]]:
    buckets: dict[int, list[float]] = {}
    for arrived, latency in result.latencies:
        buckets.setdefault(int(arrived // BUCKET_SECONDS), []).append(latency)
    minutes = sorted(buckets)
    p95 = []
    for minute in minutes:
        values = sorted(buckets[minute])
        p95.append(values[int(0.95 * (len(values) - 1))])
    return [m * BUCKET_SECONDS / 60 for m in minutes], p95


def simulation_chart(result: Result) -> str:
    minutes = [s["t"] / 60 for s in result.samples]
    fig, (vms, backlog, latency) = plt.subplots(3, 1, figsize=(FIGSIZE[0], 7.5), sharex=True)
    for axis in (vms, backlog, latency):
        axis.axvspan(result.burst_start / 60, result.burst_end / 60, color="#d44", alpha=0.08)
    vms.step(minutes, [s["vms_ready"] for s in result.samples], where="post", label="VMs taking tasks")
    vms.step(minutes, [s["vms_ready"] + s["vms_booting"] for s in result.samples], where="post", linestyle="--",
             label="VMs incl. booting")
    vms.axhline(result.policy.max_replicas, color="#777", linestyle=":", label="max_replicas")
    vms.set_ylabel("worker VMs")
    vms.legend(loc="upper right")
    rate = vms.twinx()
    rate.plot(minutes, [s["arrival_rate"] for s in result.samples], color="#d62728", alpha=0.4)
    rate.set_ylabel("tasks/s arriving", color="#d62728")
    backlog.plot(minutes, [s["backlog"] for s in result.samples], label="undelivered messages (true)")
    backlog.plot(minutes, [s["metric_seen"] or 0 for s in result.samples], linestyle="--",
                 label="as the autoscaler sees it")
    backlog.set_ylabel("messages")
    backlog.legend(loc="upper right")
    xs, p95 = _latency_by_minute(result)
    latency.plot(xs, p95, color="#9467bd", label="p95 upload → processed, by minute of upload")
    latency.axhline(result.target_p95, color="#ff7f0e", linestyle=":", label="target")
    latency.set_ylabel("seconds")
    latency.set_xlabel("minutes (burst shaded)")
    latency.legend(loc="upper right")
    return _png(fig)


def simulation_page(scenarios: list[tuple[str, str, Result]], notes: list[str], command: str) -> str:
    rows = []
    for title, _, result in scenarios:
        s = result.summary()
        p = result.policy
        verdict = '<span class="ok">met</span>' if s["meets_target"] else '<span class="bad">missed</span>'
        rows.append([html.escape(title), f"{result.workload['tasks_per_day']:,}", html.escape(p.machine_type),
                     f"{p.min_replicas}–{p.max_replicas}", f"{p.messages_per_instance:g}", str(p.cooldown_period),
                     f"{s['p95_before_burst_seconds']:.1f}", f"{s['p95_burst_window_seconds']:.1f}",
                     f"{s['max_latency_seconds']:.0f}", f"{s['max_backlog']:,}", str(s["max_vms"]),
                     f"{s['target_p95_seconds']:g}", verdict])
    sections = [
        "<h1>Worker autoscaler through a burst (10× the mean for 15 minutes)</h1>",
        "<p>A discrete-event simulation (SimPy) of the worker group and its Pub/Sub-backlog autoscaler; "
        "see <code>capacity/simulation.py</code> for what is modelled. The p95 of a burst is over the tasks "
        "uploaded from its start to 15 minutes after its end.</p>",
        _table(["scenario", "tasks/day", "machine", "min–max", "target msgs/VM", "cooldown s", "p95 before s",
                "p95 burst s", "max s", "max backlog", "max VMs", "target s", "verdict"], rows),
        "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
    ]
    for title, description, result in scenarios:
        sections.append(f"<h2>{html.escape(title)}</h2><p>{html.escape(description)}</p>{simulation_chart(result)}")
    sections.append("<h2>Command</h2><pre>" + html.escape(command) + "</pre>")
    return _page("comprimemelo: worker autoscaler simulation", sections)


def write_simulation(out: Path, scenarios: list[tuple[str, str, Result]], notes: list[str], command: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    summary = {"command": command, "notes": notes,
               "scenarios": [{"title": t, "description": d, **r.summary(), "workload": r.workload}
                             for t, d, r in scenarios]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    path = out / "report.html"
    path.write_text(simulation_page(scenarios, notes, command))
    return path
