#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the raw output of scripts/bench/guest.sh into the benchmark results.

Usage: report.py RAW_DIR OUT_DIR

RAW_DIR/<backend>/<group>/<point>/<path>.<rep>.json is one fio run (JSON
output) and <path>.<rep>.cpu its CPU counters: busy and total jiffies of
all CPUs, jiffies of the function's polling thread and uptime, before and
after the run. <path> is function (pci-epf-nvme), upstream (nvmet-pci-epf,
on kernels that have it) or direct (a fabrics controller on the
endpoint). Writes OUT_DIR/bench.json (every figure, each with the median
and the spread of its repetitions), OUT_DIR/bench.md (a table with the
function/upstream and function/direct ratios of every line, and the
performance targets) and OUT_DIR/bench.png (IOPS against queue depth).
"""

import json
import os
import statistics
import sys

USER_HZ = 100
PATHS = ("function", "upstream", "direct")
# Metrics where lower is better
LOWER_BETTER = ("p50_us", "p99_us", "cpu_us_per_io")

# The performance targets against the direct path (issue 4):
# (backend, point, metric, test, limit, meaning)
TARGETS = (
    ("loop", "4k/randread-qd32-j1", "iops", "ge", 0.60,
     "4 KiB random read QD32 1 job: IOPS ratio >= 0.60"),
    ("loop", "seq/read-128k-qd32", "mbps", "ge", 0.85,
     "128 KiB sequential read QD32: bandwidth ratio >= 0.85"),
    ("loop", "4k/randread-qd1-j1", "p50_us", "le", 2.0,
     "4 KiB random read QD1: p50 latency ratio <= 2.0"),
)
IDLE_TARGET_PCT = 2.0
# ... and against upstream's target (issue 14): at least as good on every
# line, and the project's aims beyond that
UPSTREAM_AIMS = (
    ("loop", "4k/randread-qd32-j4", "iops", 1.5,
     "4 KiB random read QD32 4 jobs: 1.5x upstream"),
    ("loop", "seq/read-128k-qd32", "mbps", 1.2,
     "128 KiB sequential read QD32: 1.2x upstream"),
)


# Groups in the order of the table: each dmafree/ point after its seq/ one
GROUPS = ("4k", "seq", "dmafree", "scaling")


def group_order(name):
    return (GROUPS.index(name) if name in GROUPS else len(GROUPS), name)


def summary(values):
    """Median, minimum, maximum and relative spread of the repetitions."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread_pct": 100.0 * (max(values) - min(values)) / med if med else 0.0,
        "n": len(values),
    }


def read_cpu(path):
    """Counters of one run: busy seconds, poller seconds, elapsed seconds."""
    with open(path) as f:
        v = f.read().split()
    busy0, _tot0, poll0, up0, busy1, _tot1, poll1, up1 = (float(x) for x in v[:8])
    return {
        "busy_s": (busy1 - busy0) / USER_HZ,
        "poller_s": (poll1 - poll0) / USER_HZ,
        "elapsed_s": up1 - up0,
    }


def read_fio(path):
    """IOPS, MB/s and latency percentiles of one fio run.

    Total latency (lat_ns: submission to completion), not completion
    latency (clat_ns: from the end of the submission call). Over nvme-tcp
    the direct path does its work inside the submission call, so its clat
    says nothing (3 us). Runs from before fio was asked for lat
    percentiles only have clat ones.
    """
    with open(path) as f:
        text = f.read()
    # fio may print notes before its JSON document
    job = json.loads(text[text.index("{"):])["jobs"][0]
    iops = bw = 0.0
    lat = None
    for d in ("read", "write"):
        side = job[d]
        if not side["total_ios"]:
            continue
        iops += side["iops"]
        bw += side["bw_bytes"]
        pct = (side.get("lat_ns", {}).get("percentile")
               or side["clat_ns"].get("percentile", {}))
        if lat is None and pct:
            lat = (pct.get("50.000000"), pct.get("99.000000"))
    res = {"iops": iops, "mbps": bw / 1e6}
    if lat:
        res["p50_us"] = lat[0] / 1000.0 if lat[0] is not None else None
        res["p99_us"] = lat[1] / 1000.0 if lat[1] is not None else None
    return res


def run_metrics(base):
    """All metrics of one run, from its JSON and CPU files."""
    m = read_fio(base + ".json")
    cpu = read_cpu(base + ".cpu")
    ios = m["iops"] * cpu["elapsed_s"]
    m["cpu_us_per_io"] = 1e6 * cpu["busy_s"] / ios if ios else None
    m["poller_pct"] = 100.0 * cpu["poller_s"] / cpu["elapsed_s"]
    return m


def collect_point(pdir):
    """{path: {metric: summary}} of one point directory."""
    runs = {p: [] for p in PATHS}
    for name in sorted(os.listdir(pdir)):
        if not name.endswith(".json"):
            continue
        path = name.split(".")[0]
        base = os.path.join(pdir, name[:-len(".json")])
        if path in runs and os.path.exists(base + ".cpu"):
            runs[path].append(run_metrics(base))
    res = {}
    for path, lst in runs.items():
        if not lst:
            continue
        keys = sorted({k for r in lst for k in r})
        res[path] = {k: summary([r.get(k) for r in lst]) for k in keys}
    return res


def collect_idle(idir):
    """Idle CPU, in % of one core, for the baseline and the function."""
    res = {}
    for name in sorted(os.listdir(idir)):
        if not name.endswith(".cpu"):
            continue
        cpu = read_cpu(os.path.join(idir, name))
        res[name.split(".")[0]] = {
            "system_pct_of_one_core": 100.0 * cpu["busy_s"] / cpu["elapsed_s"],
            "poller_pct_of_one_core": 100.0 * cpu["poller_s"] / cpu["elapsed_s"],
            "seconds": cpu["elapsed_s"],
        }
    if "baseline" in res and "function" in res:
        res["function_over_baseline_pct_of_one_core"] = (
            res["function"]["system_pct_of_one_core"]
            - res["baseline"]["system_pct_of_one_core"])
    return res


def ratio(point, metric, other):
    """function / other, on the medians"""
    f = point.get("function", {}).get(metric)
    d = point.get(other, {}).get(metric)
    if not f or not d or not d["median"]:
        return None
    return f["median"] / d["median"]


def better(r, metric):
    """Whether the function is at least as good as the other path"""
    return r <= 1.0 if metric in LOWER_BETTER else r >= 1.0


def collect(raw):
    results = {"backends": {}}
    for extra in ("kernel", "cpus"):
        path = os.path.join(raw, extra)
        if os.path.exists(path):
            with open(path) as f:
                results[extra] = f.read().strip()
    for backend in sorted(os.listdir(raw)):
        bdir = os.path.join(raw, backend)
        if not os.path.isdir(bdir):
            continue
        b = {"points": {}, "idle": {}, "host_queues": {}}
        for group in sorted(os.listdir(bdir), key=group_order):
            gdir = os.path.join(bdir, group)
            if group.startswith("host-queues-"):
                with open(gdir) as f:
                    b["host_queues"][group[len("host-queues-"):]] = int(f.read())
            elif group == "idle":
                b["idle"] = collect_idle(gdir)
            elif os.path.isdir(gdir):
                for point in sorted(os.listdir(gdir)):
                    p = collect_point(os.path.join(gdir, point))
                    for metric in ("iops", "mbps", "p50_us", "p99_us",
                                   "cpu_us_per_io"):
                        for other, key in (("direct", "ratio"),
                                           ("upstream", "ratio_upstream")):
                            r = ratio(p, metric, other)
                            if r is not None:
                                p.setdefault(key, {})[metric] = r
                    b["points"][f"{group}/{point}"] = p
        results["backends"][backend] = b
    return results


def fmt(s, digits=0):
    if not s:
        return "-"
    return f"{s['median']:.{digits}f} ±{s['spread_pct']:.0f}%"


def point_metrics(name):
    """The metrics of a point's lines in the table"""
    metrics = ["mbps"] if name.startswith(("seq/", "dmafree/")) else ["iops"]
    if "-qd1-" in name:
        metrics += ["p50_us", "p99_us"]
    return metrics + ["cpu_us_per_io"]


def rfmt(r):
    return "-" if r is None else f"{r:.2f}"


def table(results):
    has_upstream = any("upstream" in p for b in results["backends"].values()
                       for p in b["points"].values())
    lines = [
        "# pci-epf-nvme benchmark: function, upstream's target, direct",
        "",
        f"Kernel {results.get('kernel', '?')}, {results.get('cpus', '?')} vCPUs "
        "(QEMU TCG). Each cell: median of the repetitions ± their spread "
        "((max - min) / median). Ratios: function / upstream (nvmet-pci-epf) "
        "and function / direct, on the medians; for latency and CPU per I/O "
        "lower is better. CPU per I/O counts every CPU of the guest, host "
        "side included.",
        "",
    ]
    if not has_upstream:
        lines += ["No upstream path: this kernel has no nvmet-pci-epf.", ""]
    if any(name.startswith("dmafree/") for b in results["backends"].values()
           for name in b["points"]):
        lines += [
            "dmafree/ points: the seq/ reads again, with the loopback controller's "
            "DMA moving no data to the host on the function's and upstream's "
            "paths (the host reads stale data). In the rig a vCPU copies what a "
            "board's DMA engine moves without a CPU; these points show the "
            "endpoint side without that cost.",
            "",
        ]
    for backend, b in results["backends"].items():
        lines += [
            f"## Backend: {backend}", "",
            "| point | metric | function | upstream | direct | /upstream | /direct | poller % |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, p in b["points"].items():
            for i, metric in enumerate(point_metrics(name)):
                digits = 0 if metric == "iops" else 1
                cells = [fmt(p.get(path, {}).get(metric), digits)
                         for path in PATHS]
                ru = p.get("ratio_upstream", {}).get(metric)
                rd = p.get("ratio", {}).get(metric)
                poller = fmt(p.get("function", {}).get("poller_pct")) if i == 0 else ""
                lines.append(
                    f"| {name if i == 0 else ''} | {metric} | " + " | ".join(cells) +
                    f" | {rfmt(ru)} | {rfmt(rd)} | {poller} |")
        if b["host_queues"]:
            lines += ["", "I/O queue pairs offered -> used by the host (function): " +
                      ", ".join(f"{k} -> {v}" for k, v in sorted(b["host_queues"].items()))]
        idle = b["idle"]
        if idle:
            lines += ["", "Idle (host driver loaded, no I/O), % of one core: " +
                      "; ".join(f"{k}: system {v['system_pct_of_one_core']:.2f}, "
                                f"poller {v['poller_pct_of_one_core']:.2f}"
                                for k, v in idle.items() if isinstance(v, dict))]
            if "function_over_baseline_pct_of_one_core" in idle:
                lines.append("Function over baseline: "
                             f"{idle['function_over_baseline_pct_of_one_core']:.2f} % of one core")
        lines.append("")
    lines += targets(results, has_upstream)
    return "\n".join(lines) + "\n"


def targets(results, has_upstream):
    lines = ["## Targets against the direct path (issue 4)", ""]
    for backend, point, metric, test, limit, text in TARGETS:
        b = results["backends"].get(backend)
        r = b and b["points"].get(point, {}).get("ratio", {}).get(metric)
        if r is None:
            lines.append(f"- {text}: not measured")
            continue
        ok = r >= limit if test == "ge" else r <= limit
        lines.append(f"- {text}: {r:.2f} ({'met' if ok else 'NOT met'})")
    b = results["backends"].get("loop")
    idle = b and b["idle"].get("function")
    if idle:
        pct = max(idle["poller_pct_of_one_core"],
                  b["idle"].get("function_over_baseline_pct_of_one_core", 0.0))
        lines.append(f"- idle CPU of the function < {IDLE_TARGET_PCT} % of one core: "
                     f"{pct:.2f} ({'met' if pct < IDLE_TARGET_PCT else 'NOT met'})")
    if not has_upstream:
        return lines
    lines += ["", "## Against upstream's target (issue 14)", ""]
    behind = []
    total = 0
    for backend, b in results["backends"].items():
        for name, p in b["points"].items():
            for metric in point_metrics(name):
                r = p.get("ratio_upstream", {}).get(metric)
                if r is None:
                    continue
                total += 1
                if not better(r, metric):
                    behind.append(f"{backend} {name} {metric} {r:.2f}")
    lines.append(f"- at least as good as upstream: {total - len(behind)} of "
                 f"{total} lines" + (f"; behind: {', '.join(behind)}" if behind else ""))
    for backend, point, metric, aim, text in UPSTREAM_AIMS:
        b = results["backends"].get(backend)
        r = b and b["points"].get(point, {}).get("ratio_upstream", {}).get(metric)
        if r is None:
            lines.append(f"- {text}: not measured")
        else:
            lines.append(f"- {text}: {r:.2f} ({'met' if r >= aim else 'NOT met'})")
    return lines


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: no matplotlib, no plot", file=sys.stderr)
        return False
    backends = list(results["backends"])
    rws = ("randread", "randwrite")
    fig, axes = plt.subplots(len(rws), len(backends),
                             figsize=(6 * len(backends), 4.5 * len(rws)),
                             squeeze=False)
    colours = {"function": "tab:blue", "upstream": "tab:green",
               "direct": "tab:orange"}
    for col, backend in enumerate(backends):
        pts = results["backends"][backend]["points"]
        for row, rw in enumerate(rws):
            ax = axes[row][col]
            pre = f"4k/{rw}-qd"
            for jobs, style in ((1, "-"), (4, "--")):
                suf = f"-j{jobs}"
                for route in PATHS:
                    xs, ys, lo, hi = [], [], [], []
                    for name, p in pts.items():
                        if not (name.startswith(pre) and name.endswith(suf)):
                            continue
                        s = p.get(route, {}).get("iops")
                        if not s:
                            continue
                        xs.append(int(name[len(pre):-len(suf)]))
                        ys.append(s["median"])
                        lo.append(s["median"] - s["min"])
                        hi.append(s["max"] - s["median"])
                    if not xs:
                        continue
                    order = sorted(range(len(xs)), key=xs.__getitem__)
                    ax.errorbar([xs[i] for i in order], [ys[i] for i in order],
                                yerr=[[lo[i] for i in order], [hi[i] for i in order]],
                                linestyle=style, color=colours[route],
                                marker="o" if jobs == 1 else "s", capsize=3,
                                label=f"{route}, {jobs} job{'s' if jobs > 1 else ''}")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("queue depth")
            ax.set_ylabel(f"IOPS (4 KiB {rw})")
            ax.set_title(f"backend {backend}: {rw}")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle("pci-epf-nvme: function, upstream's nvmet-pci-epf, direct "
                 "(QEMU TCG rig)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    raw, out = sys.argv[1:]
    results = collect(raw)
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write(table(results))
    if not plot(results, os.path.join(out, "bench.png")):
        sys.exit(1)


if __name__ == "__main__":
    main()
