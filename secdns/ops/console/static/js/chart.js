// Charts of a zone's per-minute history (GET /zones/{zone}/metricHistory),
// drawn as SVG with no library.  Two steps, both pure: a model (numbers in,
// shapes out: no DOM, easy to reason about and to check) and a drawing
// (the model in, detached SVG nodes out).  Colours come from classes
// (console.css), so light and dark follow prefers-color-scheme; the CSP
// forbids style attributes, and SVG presentation attributes are not needed.

const SVG = "http://www.w3.org/2000/svg";

// Geometry of every chart, in viewBox units (the SVG scales to its box).
export const GEOMETRY = Object.freeze({width: 760, height: 200, left: 44, right: 12, top: 12, bottom: 26});

// Tick spacings to choose from, in minutes: at most 6 ticks on the axis.
const TICK_MINUTES = [5, 10, 15, 30, 60, 120, 180, 240, 360, 720];

let serial = 0; // distinct ids for <title>/<desc> of several charts on a page

function span(minutes) {
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// The runs of consecutive minutes whose value is null: [[first, count], ...].
export function gaps(values) {
  const runs = [];
  let first = -1;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      if (first < 0) first = i;
    } else if (first >= 0) {
      runs.push([first, i - first]);
      first = -1;
    }
  });
  if (first >= 0) runs.push([first, values.length - first]);
  return runs;
}

// A round number at least `value` (1, 2, 5 times a power of ten).
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) {
    if (m * power >= value) return m * power;
  }
  return 10 * power;
}

// The frame both charts share: x of a minute, y of a value, the time ticks.
function frame(startMs, stepS, count, yMax, integers = false, g = GEOMETRY) {
  const plotW = g.width - g.left - g.right;
  const plotH = g.height - g.top - g.bottom;
  const slot = plotW / Math.max(1, count);
  const x = (i) => g.left + i * slot;
  const y = (v) => g.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const stepMin = Math.max(1, stepS / 60);
  const every = TICK_MINUTES.find((t) => (count * stepMin) / t <= 6) ?? 1440;
  const xTicks = [];
  for (let i = 0; i < count; i++) {
    const ms = startMs + i * stepS * 1000;
    const minuteOfDay = Math.floor(ms / 60000);
    if (minuteOfDay % every === 0) xTicks.push({x: x(i), label: hhmm(ms)});
  }
  const yTicks = [0, yMax / 2, yMax].filter((v) => !integers || Number.isInteger(v)).map((v) => ({y: y(v), label: formatNumber(v)}));
  return {g, plotW, plotH, slot, x, y, xTicks, yTicks};
}

function formatNumber(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function gapRects(f, values) {
  return gaps(values).map(([i, n]) => ({x: f.x(i), y: f.g.top, w: n * f.slot, h: f.plotH, cls: "chart-gap"}));
}

// Stacked bars of successes and failures per minute.
export function transferModel(history) {
  const ok = history.metrics.ZoneTransferSuccessCount ?? [];
  const bad = history.metrics.ZoneTransferFailureCount ?? [];
  const count = Math.max(ok.length, bad.length);
  const totals = Array.from({length: count}, (_, i) => (ok[i] ?? 0) + (bad[i] ?? 0));
  const f = frame(Date.parse(history.start), history.step, count, niceCeiling(Math.max(1, ...totals)), true);
  const width = Math.max(f.slot, 3); // one transfer in 24 h must still show
  const rects = [];
  for (let i = 0; i < count; i++) {
    const s = ok[i] ?? 0;
    const e = bad[i] ?? 0;
    const left = f.x(i) + f.slot / 2 - width / 2;
    if (s > 0) rects.push({x: left, y: f.y(s), w: width, h: f.y(0) - f.y(s), cls: "chart-ok"});
    if (e > 0) rects.push({x: left, y: f.y(s + e), w: width, h: f.y(s) - f.y(s + e), cls: "chart-fail"});
  }
  // A minute is unobserved only when neither series has a value for it.
  const unobserved = Array.from({length: count}, (_, i) => (ok[i] ?? bad[i] ?? null));
  const successes = ok.reduce((a, v) => a + (v ?? 0), 0);
  const failures = bad.reduce((a, v) => a + (v ?? 0), 0);
  const observed = unobserved.some((v) => v !== null);
  const period = span(count * history.step / 60);
  const text = observed
    ? `${plural(successes, "transfer")}, ${plural(failures, "failure")} in ${period}`
    : `no transfer history in the last ${period} (it starts when secdns starts)`;
  return {
    kind: "transfers", g: f.g, xTicks: f.xTicks, yTicks: f.yTicks,
    gaps: gapRects(f, unobserved), rects, paths: [], dots: [],
    title: "Transfers per minute",
    desc: `Bars: zone transfers applied (lower part) and refresh attempts that failed (upper part) each minute, ` +
      `the last ${period}. ${text}.`,
    summary: text,
    legend: [{cls: "chart-ok", label: "succeeded"}, {cls: "chart-fail", label: "failed"}],
  };
}

// A line of the hours left before the zone expires, broken where unobserved.
export function expiryModel(history) {
  const values = history.metrics.ZoneExpirationInHours ?? [];
  const count = values.length;
  const seen = values.filter((v) => v !== null && v !== undefined);
  const f = frame(Date.parse(history.start), history.step, count, niceCeiling(Math.max(1, ...seen)));
  const paths = [];
  const dots = [];
  let run = [];
  const flush = () => {
    if (run.length === 1) dots.push({cx: run[0][0], cy: run[0][1], cls: "chart-line"});
    else if (run.length > 1) {
      paths.push({d: run.map(([x, y], k) => `${k ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(""), cls: "chart-line"});
    }
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null || v === undefined) flush();
    else run.push([f.x(i) + f.slot / 2, f.y(Math.max(0, v))]);
  });
  flush();
  const period = span(count * history.step / 60);
  let text;
  if (!seen.length) {
    text = `no expiry history in the last ${period}`;
  } else {
    const last = [...values].reverse().find((v) => v !== null && v !== undefined);
    text = `${formatNumber(Math.round(last * 10) / 10)} h to expiry now, lowest ` +
      `${formatNumber(Math.round(Math.min(...seen) * 10) / 10)} h in ${period}`;
  }
  return {
    kind: "expiry", g: f.g, xTicks: f.xTicks, yTicks: f.yTicks,
    gaps: gapRects(f, values), rects: [], paths, dots,
    title: "Hours to expiry",
    desc: `Line: hours left before the zone expires unless a refresh succeeds, each minute, the last ${period}; ` +
      `gaps where it was not observed. ${text}.`,
    summary: text,
    legend: [{cls: "chart-line", label: "hours to expiry"}],
  };
}

function node(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

// The model drawn: an <svg role="img"> named by its <title> and <desc>.
export function draw(model) {
  const {g} = model;
  const id = `chart-${model.kind}-${++serial}`;
  const svg = node("svg", {
    viewBox: `0 0 ${g.width} ${g.height}`, class: `chart chart-${model.kind}`, role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`, preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(node("title", {id: `${id}-title`}, model.title), node("desc", {id: `${id}-desc`}, model.desc));
  const bottom = g.height - g.bottom;
  for (const r of model.gaps) svg.append(node("rect", {x: r.x, y: r.y, width: r.w, height: r.h, class: r.cls}));
  for (const t of model.yTicks) {
    svg.append(node("line", {x1: g.left, x2: g.width - g.right, y1: t.y, y2: t.y, class: "chart-grid"}));
    svg.append(node("text", {x: g.left - 6, y: t.y + 4, "text-anchor": "end", class: "chart-label"}, t.label));
  }
  for (const t of model.xTicks) {
    svg.append(node("line", {x1: t.x, x2: t.x, y1: bottom, y2: bottom + 5, class: "chart-axis"}));
    svg.append(node("text", {x: t.x, y: g.height - 6, "text-anchor": "middle", class: "chart-label"}, t.label));
  }
  svg.append(node("line", {x1: g.left, x2: g.width - g.right, y1: bottom, y2: bottom, class: "chart-axis"}));
  for (const r of model.rects) {
    svg.append(node("rect", {x: r.x.toFixed(2), y: r.y.toFixed(2), width: r.w.toFixed(2), height: r.h.toFixed(2), class: r.cls}));
  }
  for (const p of model.paths) svg.append(node("path", {d: p.d, class: p.cls, fill: "none"}));
  for (const d of model.dots) svg.append(node("circle", {cx: d.cx, cy: d.cy, r: 2.5, class: `${d.cls} chart-dot`}));
  return svg;
}

// A figure: the heading, the chart, a legend and the text summary (the
// summary is what screen readers and tests read).
export function figure(model) {
  const fig = document.createElement("figure");
  fig.className = `chart-figure chart-figure-${model.kind}`;
  const caption = document.createElement("figcaption");
  caption.textContent = model.title;
  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  legend.setAttribute("aria-hidden", "true");
  for (const item of model.legend) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `chart-swatch ${item.cls}`;
    li.append(swatch, item.label);
    legend.append(li);
  }
  const summary = document.createElement("p");
  summary.className = "chart-summary";
  summary.dataset.kind = model.kind;
  summary.textContent = model.summary;
  fig.append(caption, draw(model), legend, summary);
  return fig;
}

// Both charts of a zone (the expiry line only where a zone can expire).
export function charts(history, {secondary}) {
  const nodes = [figure(transferModel(history))];
  if (secondary) nodes.push(figure(expiryModel(history)));
  return nodes;
}
