"""Charts as SVG drawn on the server (no script, no CDN): a time-series chart with vertical marks for
deployments, versions and shifts, and a per-version chart of eval pass rates. Pure functions of data;
all text is escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.ui.timeline import Event, EventKind, Series, Shift, VersionScore

W, H = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 34
# Colour-blind-safe (Okabe–Ito), each at ≥ 3:1 against white for lines.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#6F5B00", "#56B4E9", "#000000")
MARK = {EventKind.DEPLOY: "#1a7f37", EventKind.ROLLBACK: "#cf222e", EventKind.VERSION: "#57606a",
        EventKind.MODEL: "#8250df", EventKind.ROLLOUT: "#9a6700"}


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def time_chart(title: str, series: list[Series], events: list[Event], shifts: list[Shift]) -> str:
    """One metric's series (one line per version/arm) with events and shifts marked."""
    pts = [p for s in series for p in s.points]
    if not pts:
        return ""
    t0, t1 = min(p.at for p in pts), max(p.at for p in pts)
    v0, v1 = min(0.0, min(p.value for p in pts)), max(p.value for p in pts)
    v1 = v1 if v1 > v0 else v0 + 1
    span = (t1 - t0).total_seconds() or 1.0
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: datetime) -> float:
        return LEFT + pw * (t - t0).total_seconds() / span

    def y(v: float) -> float:
        return TOP + ph * (1 - (v - v0) / (v1 - v0))

    out = [f'<svg class="chart" role="img" aria-labelledby="t-{_id(title)}" viewBox="0 0 {W} {H}" '
           f'width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="t-{_id(title)}">{escape(title)}</title>',
           f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#fff" stroke="#8c959f"/>',
           f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11" fill="#24292f">{_fmt(v1)}</text>',
           f'<text x="{LEFT - 6}" y="{TOP + ph}" text-anchor="end" font-size="11" fill="#24292f">{_fmt(v0)}</text>',
           f'<text x="{LEFT}" y="{H - 8}" font-size="11" fill="#24292f">{t0:%Y-%m-%d %H:%M}</text>',
           f'<text x="{W - RIGHT}" y="{H - 8}" text-anchor="end" font-size="11" fill="#24292f">{t1:%Y-%m-%d %H:%M}</text>']
    for e in events:
        if e.at is None or e.kind not in MARK or not (t0 <= e.at <= t1):
            continue
        xe = x(e.at)
        out.append(f'<line class="mark {e.kind.value}" x1="{xe:.1f}" x2="{xe:.1f}" y1="{TOP}" y2="{TOP + ph}" '
                   f'stroke="{MARK[e.kind]}" stroke-dasharray="3 3"><title>{escape(e.title)}</title></line>')
    legend = []
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        d = " ".join(f"{'M' if i == 0 else 'L'}{x(p.at):.1f},{y(p.value):.1f}" for i, p in enumerate(s.points))
        name = " ".join(filter(None, [s.version and f"v {s.version}", s.arm and f"arm {s.arm}", s.model])) or s.metric
        out.append(f'<path class="series" d="{d}" fill="none" stroke="{colour}" stroke-width="1.5">'
                   f'<title>{escape(name)}</title></path>')
        legend.append((colour, name))
    for sh in shifts:
        if t0 <= sh.at <= t1:
            xs = x(sh.at)
            out.append(f'<g class="shift"><line x1="{xs:.1f}" x2="{xs:.1f}" y1="{TOP}" y2="{TOP + ph}" stroke="#bf3989" '
                       f'stroke-width="2"/><circle cx="{xs:.1f}" cy="{y(sh.after):.1f}" r="4" fill="#bf3989"/>'
                       f'<title>{escape(sh.text)}</title></g>')
    for n, (colour, name) in enumerate(legend[:6]):
        out.append(f'<text x="{LEFT + 8 + n * 120}" y="{TOP + 14}" font-size="11" fill="{colour}">■ {escape(name[:18])}</text>')
    out.append("</svg>")
    return "".join(out)


def scores_chart(title: str, scores: list[VersionScore]) -> str:
    """Eval pass rate per version (x: versions in order; one line per suite)."""
    if not scores:
        return ""
    versions = list(dict.fromkeys(s.version for s in scores))
    suites = list(dict.fromkeys(s.suite for s in scores))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    step = pw / max(len(versions), 1)

    def x(i: int) -> float:
        return LEFT + step * (i + 0.5)

    def y(v: float) -> float:
        return TOP + ph * (1 - v)

    out = [f'<svg class="chart" role="img" aria-labelledby="t-{_id(title)}" viewBox="0 0 {W} {H}" width="{W}" '
           f'height="{H}" xmlns="http://www.w3.org/2000/svg"><title id="t-{_id(title)}">{escape(title)}</title>',
           f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#fff" stroke="#8c959f"/>',
           f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11" fill="#24292f">100%</text>',
           f'<text x="{LEFT - 6}" y="{TOP + ph}" text-anchor="end" font-size="11" fill="#24292f">0%</text>']
    for i, v in enumerate(versions):
        out.append(f'<text x="{x(i):.1f}" y="{H - 8}" text-anchor="middle" font-size="11" fill="#24292f">{escape(v[:7])}</text>')
    for n, suite in enumerate(suites):
        colour = PALETTE[n % len(PALETTE)]
        pts = [(versions.index(sc.version), sc.pass_rate, sc) for sc in scores if sc.suite == suite and sc.pass_rate is not None]
        if not pts:
            continue
        d = " ".join(f"{'M' if k == 0 else 'L'}{x(i):.1f},{y(rate):.1f}" for k, (i, rate, _) in enumerate(pts))
        out.append(f'<path class="series" d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for i, rate, score in pts:
            out.append(f'<circle class="score" cx="{x(i):.1f}" cy="{y(rate):.1f}" r="4" fill="{colour}">'
                       f'<title>{escape(f"{score.version} {suite}: {rate * 100:.0f}%")}</title></circle>')
        out.append(f'<text x="{LEFT + 8 + n * 180}" y="{TOP + 14}" font-size="11" fill="{colour}">■ {escape(suite[-28:])}</text>')
    out.append("</svg>")
    return "".join(out)


def _id(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
