"""What a failover drill prints and draws: the per-drill table, the summary, the side-by-side
comparison, and an SVG plot (written by hand) of acknowledged writes per second over time.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

# The timed metrics, in table order: (key, column title, description).
METRICS: tuple[tuple[str, str, str], ...] = (
    ("agree_s", "agree s", "fault -> all sentinels report the new master"),
    ("unavailable_s", "unavail s", "first failed write -> first write acked by the new master"),
    ("rejoin_s", "rejoin s", "old master restarted/resumed -> replica of the new one, link up"),
)


@dataclass
class DrillResult:
    """One drill. Times (*_t) are seconds since the writer started; None: not observed."""

    index: int
    fault: str
    old_master: str
    new_master: str | None = None
    fault_t: float = 0.0
    agree_t: float | None = None
    recover_t: float | None = None
    first_ack_t: float | None = None
    rejoin_t: float | None = None
    agree_s: float | None = None
    unavailable_s: float | None = None
    rejoin_s: float | None = None
    lost: int = 0
    checked: int = 0
    failed_writes: int = 0
    old_master_acks: int = 0  # writes the old master acknowledged after the fault
    error: str | None = None


@dataclass
class Report:
    """A run of drills over one deployment."""

    label: str
    deployment: str
    fault: str
    drills: list[DrillResult] = field(default_factory=list)
    acked: int = 0
    attempts: int = 0
    total_lost: int = 0
    lost_keys: list[int] = field(default_factory=list)
    duration_s: float = 0.0
    ack_times: list[float] = field(default_factory=list)  # seconds since the writer started
    pids: list[int] = field(default_factory=list)
    workdir: str | None = None  # the temporary directory of a started deployment
    error: str | None = None
    interrupted: str | None = None  # Ctrl-C or SIGTERM: no further run

    def summary(self) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for key, _title, _desc in METRICS:
            values = [v for d in self.drills if (v := getattr(d, key)) is not None]
            out[key] = {
                "median": statistics.median(values) if values else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "n": float(len(values)),
            }
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["ack_times"]  # the plot's raw data; large
        data["summary"] = self.summary()
        return data


def _num(v: float | None, width: int = 9) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.2f}"


def drill_table(report: Report) -> str:
    lines = [
        f"{report.label}: {report.deployment}; fault {report.fault}",
        f"{'drill':>5}  {'old master':<16} {'new master':<16}"
        + "".join(f" {title:>9}" for _k, title, _d in METRICS)
        + f" {'lost':>6} {'checked':>8} {'old acks':>8}",
    ]
    for d in report.drills:
        row = f"{d.index:>5}  {d.old_master:<16} {d.new_master or '-':<16}"
        row += "".join(f" {_num(getattr(d, k))}" for k, _t, _d in METRICS)
        row += f" {d.lost:>6} {d.checked:>8} {d.old_master_acks:>8}"
        if d.error:
            row += f"  ERROR: {d.error}"
        lines.append(row)
    return "\n".join(lines)


def summary_table(report: Report) -> str:
    summary = report.summary()
    lines = [f"summary of {len(report.drills)} drills   {'median':>9} {'min':>9} {'max':>9}"]
    for key, title, desc in METRICS:
        s = summary[key]
        lines.append(
            f"  {title:<24} {_num(s['median'])} {_num(s['min'])} {_num(s['max'])}   {desc}"
        )
    lines.append(
        f"  acknowledged writes lost: {report.total_lost} of {report.acked} acknowledged "
        f"({report.attempts} attempts, {report.duration_s:.0f} s)"
    )
    if report.error:
        lines.append(f"  stopped early: {report.error}")
    return "\n".join(lines)


def compare_table(a: Report, b: Report) -> str:
    lines = [
        f"medians, same drills: {a.label} vs {b.label}",
        f"  {'metric':<14} {a.label:>16} {b.label:>16} {'ratio':>7}",
    ]
    sa, sb = a.summary(), b.summary()
    for key, title, _desc in METRICS:
        va, vb = sa[key]["median"], sb[key]["median"]
        ratio = f"{va / vb:>7.2f}" if va is not None and vb else f"{'-':>7}"
        lines.append(f"  {title:<14} {_num(va, 16)} {_num(vb, 16)} {ratio}")
    lines.append(f"  {'lost (total)':<14} {a.total_lost:>16} {b.total_lost:>16}")
    return "\n".join(lines)


# ---- SVG ----

MARKERS: tuple[tuple[str, str, str], ...] = (
    ("fault_t", "#d62728", "fault"),
    ("agree_t", "#ff7f0e", "sentinels agree"),
    ("first_ack_t", "#2ca02c", "first write on new master"),
    ("recover_t", "#9467bd", "old master restarted/resumed"),
    ("rejoin_t", "#1f77b4", "old master rejoined"),
)
WIDTH, PANEL_H, LEFT, RIGHT, TOP, BOTTOM = 960, 300, 64, 16, 48, 40


def rate_series(times: list[float], duration: float) -> tuple[float, list[tuple[float, float]]]:
    """Acknowledged writes per second in bins: (bin width, [(bin middle, rate)])."""
    width = max(0.25, duration / 600)
    bins = max(1, math.ceil(duration / width))
    counts = [0] * bins
    for t in times:
        counts[min(bins - 1, max(0, int(t / width)))] += 1
    # The last bin may be cut short by the end of the run: its rate is over what it covers.
    spans = [min(width, duration - i * width) for i in range(bins)]
    return width, [
        ((i + 0.5) * width, c / span if span > 0 else 0.0)
        for i, (c, span) in enumerate(zip(counts, spans, strict=True))
    ]


def _nice_step(span: float, ticks: int) -> float:
    raw = max(span / ticks, 1e-9)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _panel(report: Report, y0: float) -> list[str]:
    duration = max(report.duration_s, 1.0)
    width, series = rate_series(report.ack_times, duration)
    top = max((r for _t, r in series), default=1.0) or 1.0
    ystep = _nice_step(top, 4)
    ymax = math.ceil(top / ystep) * ystep
    plot_w, plot_h = WIDTH - LEFT - RIGHT, PANEL_H - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * t / duration

    def y(v: float) -> float:
        return y0 + TOP + plot_h * (1 - v / ymax)

    out = [
        f'<text x="{LEFT}" y="{y0 + 20}" font-size="14" font-weight="bold">'
        f"{escape(report.label)}: acknowledged writes/s ({width:g} s bins)</text>",
        f'<text x="{LEFT}" y="{y0 + 36}" font-size="11" fill="#555">'
        f"{escape(report.deployment)}; fault {escape(report.fault)}</text>",
        f'<rect x="{LEFT}" y="{y0 + TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#999"/>',
    ]
    v = 0.0
    while v <= ymax + 1e-9:
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">'
            f"{v:g}</text>"
        )
        v += ystep
    xstep = _nice_step(duration, 10)
    t = 0.0
    while t <= duration + 1e-9:
        out.append(
            f'<text x="{x(t):.1f}" y="{y0 + TOP + plot_h + 14}" font-size="10" '
            f'text-anchor="middle">{t:g}</text>'
        )
        t += xstep
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{y0 + PANEL_H - 8}" font-size="11" '
        'text-anchor="middle">seconds since the writer started</text>'
    )
    for d in report.drills:
        for key, color, name in MARKERS:
            t_mark = getattr(d, key)
            if t_mark is None:
                continue
            out.append(
                f'<line x1="{x(t_mark):.1f}" x2="{x(t_mark):.1f}" y1="{y0 + TOP}" '
                f'y2="{y0 + TOP + plot_h}" stroke="{color}" stroke-dasharray="4 3">'
                f"<title>drill {d.index}: {name} at {t_mark:.2f} s</title></line>"
            )
        out.append(
            f'<text x="{x(d.fault_t) + 3:.1f}" y="{y0 + TOP + 12}" font-size="10" '
            f'fill="#d62728">#{d.index}</text>'
        )
    points = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in series)
    out.append(f'<polyline points="{points}" fill="none" stroke="#222" stroke-width="1.2"/>')
    return out


def _legend(y0: float) -> list[str]:
    out = []
    xpos = LEFT
    for _key, color, name in MARKERS:
        out.append(
            f'<line x1="{xpos}" x2="{xpos + 18}" y1="{y0}" y2="{y0}" stroke="{color}" '
            f'stroke-width="2" stroke-dasharray="4 3"/>'
            f'<text x="{xpos + 22}" y="{y0 + 4}" font-size="11">{escape(name)}</text>'
        )
        xpos += 34 + 7 * len(name)
    return out


def svg(reports: list[Report]) -> str:
    height = PANEL_H * len(reports) + 30
    body = ['<rect width="100%" height="100%" fill="white"/>', *_legend(16)]
    for i, report in enumerate(reports):
        body += _panel(report, 24 + i * PANEL_H)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )
