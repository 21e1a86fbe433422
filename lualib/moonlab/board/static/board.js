// moonlab board: the page over the JSON API of lualib/moonlab/board/app.lua. Plain JS, no framework;
// uPlot (vendored) draws the curves, the parallel-coordinates view is drawn on a canvas here.
// Views (the URL's hash): #/ runs (?exp=E), #/run/ID, #/compare/ID,ID,..., #/models
"use strict";

const PALETTE = ["#4269d0", "#ff725c", "#3ca951", "#efb118", "#a463f2", "#ff8ab7", "#6cc5b0", "#97bbf5", "#9c6b4e", "#9498a0"];
const POLL_MS = 1000;

const state = { gen: 0, poll: null, charts: [], sort: { key: "start_time", dir: -1 }, filter: "", selected: new Set() };

// ---- small helpers -------------------------------------------------------------------------

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) if (kid != null) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

async function api(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${path}: HTTP ${r.status}`);
  return body;
}

function fmtNum(v) {
  if (typeof v !== "number") return v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(+v.toPrecision(4));
}
function fmtTime(t) { return t ? new Date(t * 1000).toLocaleString() : ""; }
function fmtDuration(s) {
  if (s == null) return "";
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
function badge(status) { return h("span", { class: `badge ${status}` }, status); }
function flat(obj, prefix = "", out = {}) { // nested params as dotted keys
  for (const [k, v] of Object.entries(obj || {})) {
    if (v && typeof v === "object" && !Array.isArray(v)) flat(v, prefix + k + ".", out);
    else out[prefix + k] = v;
  }
  return out;
}
function setStatus(text) { document.getElementById("status-line").textContent = text; }

function stopAll() {
  state.gen++; // a poll of the view left behind sees the change and stops
  if (state.poll) clearTimeout(state.poll);
  state.poll = null;
  for (const c of state.charts) c.destroy();
  state.charts = [];
}

// ---- the runs table ------------------------------------------------------------------------

// "lr<0.1 adam": words match any cell, key<op>value compares a column: a field or a final metric by its name, else
// the param; params.NAME and metrics.NAME say which when both have the name. A term that has an operator but is
// not NAME<op>VALUE (lr<<0.1, <0.1, lr<) is bad: it matches nothing and the status line says so.
function parseFilter(text) {
  return text.trim().split(/\s+/).filter(Boolean).map(tok => {
    const m = tok.match(/^([\w.\/-]+)(<=|>=|!=|==|=|<|>)([^<>=!].*)$/);
    if (m) return { key: m[1], op: m[2] === "==" ? "=" : m[2], value: m[3] };
    return /[<>=]/.test(tok) ? { bad: tok } : { word: tok.toLowerCase() };
  });
}
function badTerms(text) { return parseFilter(text).filter(t => t.bad).map(t => t.bad); }
function matches(row, terms) {
  return terms.every(t => {
    if (t.bad) return false;
    if (t.word) return Object.values(row).some(v => String(fmtNum(v)).toLowerCase().includes(t.word));
    const v = t.key.startsWith("metrics.") ? row[t.key.slice(8)] : t.key in row ? row[t.key] : row["params." + t.key];
    const n = Number(t.value);
    if (v == null) return false;
    const num = typeof v === "number" && !Number.isNaN(n);
    const a = num ? v : String(v), b = num ? n : t.value;
    switch (t.op) {
      case "<": return a < b; case ">": return a > b; case "<=": return a <= b; case ">=": return a >= b;
      case "!=": return a != b; default: return a == b;
    }
  });
}

function runRow(r) { // the flat row a run shows as: fixed columns, params.X, metric columns
  const row = { id: r.id, name: r.name, experiment: r.experiment, status: r.status, kind: r.kind,
    start_time: r.start_time, duration: r.duration, steps: r.steps };
  for (const [k, v] of Object.entries(flat(r.params))) row["params." + k] = v;
  for (const [k, v] of Object.entries(r.metrics || {})) row[k] = v;
  return row;
}

function experimentsList(exps, exp) {
  return [h("h3", {}, "Experiments"),
    h("a", { href: "#/", class: exp ? "" : "active" }, "All runs", h("span", { class: "count" }, exps.reduce((n, e) => n + e.runs, 0))),
    exps.map(e => h("a", { href: "#/?exp=" + encodeURIComponent(e.name), class: e.name === exp ? "active" : "" }, e.name,
      h("span", { class: "count" }, e.running ? `${e.running} running · ${e.runs}` : e.runs)))];
}

function compareRows(a, b, key, dir) {
  const x = a[key], y = b[key];
  if (x == null && y == null) return 0;
  if (x == null) return 1;
  if (y == null) return -1;
  return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * dir;
}

function runCell(r, c) {
  const v = r[c];
  if (c === "name") return h("td", {}, h("a", { href: "#/run/" + encodeURIComponent(r.id), class: "run-link" }, v),
    r.kind && r.kind !== "run" ? h("span", { class: "kind" }, r.kind) : null);
  if (c === "status") return h("td", {}, badge(v));
  if (c === "start_time") return h("td", { class: "time" }, fmtTime(v));
  if (c === "duration") return h("td", { class: "num" }, fmtDuration(v));
  return h("td", { class: typeof v === "number" ? "num" : "" }, fmtNum(v));
}

async function viewRuns(params) {
  const exp = params.get("exp") || "";
  const load = () => Promise.all([api("/api/experiments"), api("/api/runs" + (exp ? "?experiment=" + encodeURIComponent(exp) : ""))]);
  let [exps, runs] = await load();
  let rows, cols, metricCols;
  function columns() {
    rows = runs.map(runRow);
    const paramCols = [...new Set(rows.flatMap(r => Object.keys(r).filter(k => k.startsWith("params."))))].sort();
    metricCols = [...new Set(runs.flatMap(r => Object.keys(r.metrics || {})))].sort();
    cols = ["name", "experiment", "status", "start_time", "duration", "steps", ...metricCols, ...paramCols];
  }
  columns();

  const side = h("aside", { class: "experiments" }, experimentsList(exps, exp));
  const filter = h("input", { type: "search", id: "filter", placeholder: "filter: words, or lr<0.01 status=finished", value: state.filter });
  const compare = h("button", { id: "compare", onclick: () => { location.hash = "#/compare/" + [...state.selected].join(","); } });
  const table = h("table", { class: "runs", id: "runs-table" });
  const main = h("section", { class: "content" }, h("div", { class: "toolbar" }, filter, compare), h("div", { class: "scroll" }, table));

  function updateCompare() {
    compare.textContent = `Compare selected (${state.selected.size})`;
    compare.disabled = state.selected.size < 2;
  }
  function pick(ev, id) {
    ev.target.checked ? state.selected.add(id) : state.selected.delete(id);
    ev.target.closest("tr").classList.toggle("selected", ev.target.checked);
    updateCompare();
  }
  function render() {
    const shown = rows.filter(r => matches(r, parseFilter(state.filter)));
    const { key, dir } = state.sort;
    shown.sort((a, b) => compareRows(a, b, key, dir));
    const head = h("tr", {}, h("th", {}, ""), cols.map(c => h("th", {
      class: (c === key ? (dir > 0 ? "sorted asc" : "sorted desc") : "") + (metricCols.includes(c) ? " metric" : ""),
      "data-col": c, title: "click to sort",
      onclick: () => { state.sort = { key: c, dir: c === key ? -dir : (c === "name" ? 1 : -1) }; render(); },
    }, c.startsWith("params.") && !metricCols.includes(c.slice(7)) ? c.slice(7) : c)));
    const body = shown.map(r => h("tr", { "data-id": r.id, class: state.selected.has(r.id) ? "selected" : "" },
      h("td", {}, h("input", { type: "checkbox", class: "pick", checked: state.selected.has(r.id), onchange: ev => pick(ev, r.id) })),
      cols.map(c => runCell(r, c))));
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, body));
    const bad = badTerms(state.filter);
    filter.classList.toggle("bad", bad.length > 0);
    setStatus(`${shown.length} of ${rows.length} runs` + (bad.length ? ` · bad filter term ${bad.map(b => `'${b}'`).join(", ")}: write NAME<VALUE (or <=, >, >=, =, !=)` : ""));
  }
  filter.addEventListener("input", () => { state.filter = filter.value; render(); });
  updateCompare();
  render();
  show(h("div", { class: "layout" }, side, main));
  // while runs are running the list refreshes in place (the filter, sort and selection stay)
  const gen = state.gen;
  async function refresh() {
    if (gen !== state.gen) return;
    [exps, runs] = await load();
    if (gen !== state.gen) return;
    columns();
    side.replaceChildren(...experimentsList(exps, exp).flat());
    render();
    if (runs.some(r => r.status === "running")) state.poll = setTimeout(() => refresh().catch(showError), 3000);
  }
  if (runs.some(r => r.status === "running")) state.poll = setTimeout(() => refresh().catch(showError), 3000);
}

// ---- curves --------------------------------------------------------------------------------

// loss and val_loss share a chart (and a search's value and best_value): the name without its prefix.
function baseName(k) { return k.replace(/^(val|valid|validation|train|test|best)_/, ""); }

// Steps are whole numbers (epochs, batches, trials): the x axis ticks at 1, 2, 5, 10, 20, 50 ... of them, never 1.5.
const STEP_INCRS = Array.from({ length: 16 }, (_, d) => [1, 2, 5].map(k => k * 10 ** d)).flat();

// A uPlot chart of series {label, points: [[step, value]...]} on one x axis (the step).
function makeChart(el, title, series, width) {
  const steps = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const data = [steps, ...series.map(s => {
    const ys = new Array(steps.length).fill(null);
    for (const [x, y] of s.points) ys[index.get(x)] = y;
    return ys;
  })];
  const opts = {
    title, width, height: 240, cursor: { drag: { x: true, y: false } }, scales: { x: { time: false } },
    axes: [{ label: "step", stroke: "#555", grid: { stroke: "#eee" }, incrs: STEP_INCRS }, { stroke: "#555", grid: { stroke: "#eee" }, size: 60 }],
    series: [{ label: "step" }, ...series.map((s, i) => ({
      label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: 2, spanGaps: true,
      points: { show: steps.length < 40 }, value: (u, v) => fmtNum(v),
    }))],
  };
  const chart = new uPlot(opts, data, el);
  state.charts.push(chart);
  el.dataset.points = String(steps.length);
  el.dataset.series = String(series.length);
  return chart;
}

function chartWidth(container) { return Math.max(320, Math.min(620, (container.clientWidth || 1100) / 2 - 24)); }

// How many points per metric to ask the server for: about a chart's width in pixels (it thins longer curves
// to their first, last and per-bucket min/max, so a per-batch log of a million points stays a small reply).
function maxPoints(container) { return Math.round(chartWidth(container)); }
function metricsUrl(id, since, max) { return `/api/runs/${encodeURIComponent(id)}/metrics?since=${since}&max_points=${max}`; }

// The charts of one run, updated in place as points arrive; reset() drops the points (before a fresh thinned read).
function runCharts(container) {
  const series = new Map(); // metric key -> [[step, value]...]
  const charts = new Map(); // base name -> {el, chart, keys}
  let x = 0;
  function reset() { for (const pts of series.values()) pts.length = 0; x = 0; }
  function longest() { let n = 0; for (const pts of series.values()) n = Math.max(n, pts.length); return n; }
  function add(points) {
    for (const p of points) {
      x = p.step != null ? p.step : x + 1;
      for (const [k, v] of Object.entries(p.metrics)) {
        if (!series.has(k)) series.set(k, []);
        series.get(k).push([x, v]);
      }
    }
    const groups = new Map();
    for (const k of [...series.keys()].sort()) {
      const b = baseName(k);
      if (!groups.has(b)) groups.set(b, []);
      groups.get(b).push(k);
    }
    for (const [b, keys] of groups) {
      let c = charts.get(b);
      const data = keys.map(k => ({ label: k, points: series.get(k) }));
      if (!c || c.keys.join() !== keys.join()) {
        if (c) { c.chart.destroy(); state.charts = state.charts.filter(ch => ch !== c.chart); c.el.remove(); }
        const el = h("div", { class: "chart", "data-metric": b });
        container.append(el);
        c = { el, keys, chart: makeChart(el, b, data, chartWidth(container)) };
        charts.set(b, c);
      } else {
        const steps = [...new Set(data.flatMap(s => s.points.map(p => p[0])))].sort((a, b2) => a - b2);
        const index = new Map(steps.map((s, i) => [s, i]));
        c.chart.setData([steps, ...data.map(s => { const ys = new Array(steps.length).fill(null);
          for (const [sx, y] of s.points) ys[index.get(sx)] = y; return ys; })]);
        c.el.dataset.points = String(steps.length);
      }
    }
    if (!series.size && !container.querySelector(".empty")) container.append(h("p", { class: "muted empty" }, "No metrics logged yet."));
    if (series.size) container.querySelector(".empty")?.remove();
  }
  return { add, reset, longest };
}

// ---- one run -------------------------------------------------------------------------------

function kvTable(obj, cls) {
  const entries = Object.entries(flat(obj));
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("table", { class: "kv " + (cls || "") }, entries.sort().map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, fmtNum(v)))));
}

function runInfo(run) {
  const m = run.meta;
  return h("table", { class: "kv" },
    [["id", run.id], ["experiment", run.experiment], ["kind", m.kind], ["parent", m.parent ? h("a", { href: "#/run/" + m.parent }, m.parent) : ""],
     ["started", fmtTime(m.start_time)], ["ended", fmtTime(m.end_time)],
     ["duration", m.start_time && m.end_time ? fmtDuration(m.end_time - m.start_time) : ""],
     ["error", m.error], ["seed", m.seed], ["threads", m.threads], ["host", m.host], ["moonlab", m.moonlab_version],
     ["git", m.git ? `${m.git.commit || ""}${m.git.dirty ? " (dirty)" : ""}` : ""],
     ["source", m.source ? m.source.path : ""], ["command", (m.command || []).join(" ")]]
      .filter(([, v]) => v != null && v !== "").map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))));
}

async function viewRun(id) {
  const run = await api("/api/runs/" + encodeURIComponent(id));
  const m = run.meta;
  const curves = h("div", { class: "charts", id: "curves" });
  const statusEl = h("span", { id: "run-status" }, badge(m.status));
  const artifacts = h("div", { class: "artifacts" });
  const trials = h("div", { class: "trials" });
  const info = h("div", { id: "run-info" }, runInfo(run));
  const finals = Object.assign({}, run.final);
  const finalBox = h("div", { id: "run-final" }, kvTable(finals));
  const tagsBox = h("div", { id: "run-tags" }, kvTable(m.tags));
  show(h("section", { class: "content run", "data-run": run.id },
    h("div", { class: "title" }, h("h2", {}, m.name || run.id), statusEl, h("a", { href: "#/?exp=" + encodeURIComponent(run.experiment), class: "back" }, "← " + run.experiment)),
    h("h3", {}, m.kind === "search" ? "Objective per trial" : "Learning curves"), curves,
    run.trials > 0 || m.kind === "search" ? [h("h3", {}, "Trials"), trials] : null,
    run.children.length ? [h("h3", {}, "Child runs"), h("ul", { class: "files" }, run.children.map(c => h("li", {},
      h("a", { href: "#/run/" + encodeURIComponent(c.id) }, c.name || c.id), " ", h("span", { class: "kind" }, c.kind), " ", badge(c.status))))] : null,
    h("div", { class: "cols" },
      h("div", {}, h("h3", {}, "Params"), kvTable(Object.keys(run.params.resolved).length ? run.params.resolved : run.params.given)),
      h("div", {}, h("h3", {}, "Final metrics"), finalBox, h("h3", {}, "Tags"), tagsBox),
      h("div", {}, h("h3", {}, "Run"), info)),
    h("h3", {}, "Artifacts"), artifacts));

  const charts = runCharts(curves);
  const max = maxPoints(curves);
  let since = 0;
  const gen = state.gen;
  const loadArtifacts = () => api(`/api/runs/${encodeURIComponent(id)}/artifacts`)
    .then(list => { if (gen === state.gen) renderArtifacts(artifacts, run.id, list); }).catch(showError);
  // A run that ends while shown: its record read again (end time, tags, error) and its artifacts (often written last).
  let refreshed = false, polls = 0;
  // a search's trials table and parallel coordinates: read again every few polls while it runs, and once at its end
  const loadTrials = () => api(`/api/runs/${encodeURIComponent(id)}/trials`)
    .then(s => { if (gen === state.gen && s.trials.length) renderTrials(trials, s); }).catch(showError);
  async function ended() {
    refreshed = true;
    const fresh = await api("/api/runs/" + encodeURIComponent(id));
    if (gen !== state.gen) return;
    info.replaceChildren(runInfo(fresh));
    tagsBox.replaceChildren(kvTable(fresh.meta.tags));
    finalBox.replaceChildren(kvTable(fresh.final));
    await loadArtifacts();
    if (m.kind === "search") await loadTrials();
  }
  async function poll() {
    if (gen !== state.gen) return;
    // a live curve that has grown well past the chart's width is read again from the start, thinned
    if (since > 0 && charts.longest() > 4 * max) { since = 0; charts.reset(); }
    const r = await api(metricsUrl(id, since, max));
    since = r.next;
    charts.add(r.points);
    if (r.points.length && m.status === "running") { // the final values follow a live run
      for (const p of r.points) Object.assign(finals, p.metrics);
      finalBox.replaceChildren(kvTable(finals));
    }
    curves.dataset.thinned = String(!!r.thinned || curves.dataset.thinned === "true");
    statusEl.replaceChildren(badge(r.status));
    const shown = r.thinned ? ` (thinned to ${max} per curve)` : "";
    setStatus(r.status === "running" ? `live · ${since} points${shown}` : `${since} points${shown}`);
    if (r.status === "running" && m.kind === "search" && ++polls % 3 === 0) loadTrials();
    if (r.status === "running" && gen === state.gen) state.poll = setTimeout(() => poll().catch(showError), POLL_MS);
    else if (m.status === "running" && gen === state.gen) { m.status = r.status; await ended(); }
  }
  await poll();
  if (!refreshed) loadArtifacts();
  if (run.trials > 0 || m.kind === "search") loadTrials();
}

function renderArtifacts(el, id, list) {
  if (!list.length) { el.replaceChildren(h("p", { class: "muted" }, "none")); return; }
  const url = a => `/artifacts/${encodeURIComponent(id)}/${a.name.split("/").map(encodeURIComponent).join("/")}`;
  el.replaceChildren(
    h("div", { class: "gallery" }, list.filter(a => a.image).map(a => h("figure", {},
      h("a", { href: url(a), target: "_blank" }, h("img", { src: url(a), alt: a.name, loading: "lazy" })), h("figcaption", {}, a.name)))),
    h("ul", { class: "files" }, list.filter(a => !a.image).map(a => h("li", {}, h("a", { href: url(a), target: "_blank" }, a.name),
      h("span", { class: "muted" }, ` ${fmtBytes(a.bytes)}`)))));
}
function fmtBytes(n) { return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`; }

// ---- a search: trials table and parallel coordinates ---------------------------------------

function renderTrials(el, s) {
  const best = s.trials.find(t => t.id === s.best);
  const canvas = h("canvas", { class: "parcoords", id: "parcoords" });
  const table = h("table", { class: "runs" },
    h("thead", {}, h("tr", {}, ["#", "state", `value (${s.metric || "objective"}, ${s.direction})`, ...s.param_names].map(c => h("th", {}, c)))),
    h("tbody", {}, s.trials.map(t => h("tr", { class: t.id === s.best ? "best" : "" },
      h("td", {}, h("a", { href: "#/run/" + encodeURIComponent(t.id) }, t.number)), h("td", {}, badge(t.state)),
      h("td", { class: "num" }, fmtNum(t.value)), s.param_names.map(p => h("td", { class: "num" }, fmtNum(t.params[p])))))));
  el.replaceChildren(
    best ? h("p", { class: "best-line" }, "Best: trial ", h("a", { href: "#/run/" + encodeURIComponent(best.id) }, best.number),
      ` — ${s.metric || "value"} ${fmtNum(best.value)} with `, s.param_names.map(p => `${p}=${fmtNum(best.params[p])}`).join(", ")) : null,
    canvas, h("p", { class: "muted legend-line" }, "One line per trial, one axis per parameter and the objective; ",
      h("span", { class: "ramp" }), ` colour: ${s.direction === "minimize" ? "high → low" : "low → high"} ${s.metric || "value"} (best in bold)`),
    h("div", { class: "scroll" }, table));
  drawParallel(canvas, s);
}

// One vertical axis per parameter and the objective; a line per trial coloured by its value.
function drawParallel(canvas, s) {
  const done = s.trials.filter(t => typeof t.value === "number");
  const axes = [...s.param_names, "value"];
  const W = Math.max(480, canvas.parentElement.clientWidth - 8), H = 300, dpr = window.devicePixelRatio || 1;
  canvas.width = W * dpr; canvas.height = H * dpr; canvas.style.width = W + "px"; canvas.style.height = H + "px";
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.font = "12px system-ui, sans-serif";
  const top = 28, bottom = H - 30, left = 50, right = W - 70;
  const xs = axes.map((_, i) => left + (axes.length === 1 ? 0 : i * (right - left) / (axes.length - 1)));
  const val = (t, a) => a === "value" ? t.value : t.params[a];
  const scales = axes.map(a => { // numbers: linear or log (wide positive ranges); strings: evenly spaced
    const vs = done.map(t => val(t, a)).filter(v => v != null);
    if (vs.every(v => typeof v === "number")) {
      let lo = Math.min(...vs), hi = Math.max(...vs);
      const log = lo > 0 && hi / lo >= 100;
      if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
      const span = hi - lo || 1;
      const f = v => (log ? Math.log10(v) : v);
      return { pos: v => bottom - (f(v) - lo) / span * (bottom - top), ticks: [lo, hi].map(x => log ? 10 ** x : x), log };
    }
    const cats = [...new Set(vs.map(String))].sort();
    return { pos: v => bottom - (cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)) * (bottom - top), ticks: cats };
  });
  const vals = done.map(t => t.value), vmin = Math.min(...vals), vmax = Math.max(...vals);
  const colour = v => { // blue (worst) to orange (best)
    let q = vmax > vmin ? (v - vmin) / (vmax - vmin) : 1;
    if (s.direction === "minimize") q = 1 - q;
    return `hsl(${220 - 190 * q}, 75%, ${45 + 5 * q}%)`;
  };
  const order = [...done].sort((a, b) => (s.direction === "minimize" ? b.value - a.value : a.value - b.value));
  for (const t of order) { // the best drawn last, on top
    g.strokeStyle = colour(t.value); g.lineWidth = t.id === s.best ? 3.5 : 1.5; g.globalAlpha = t.id === s.best ? 1 : 0.75;
    g.beginPath();
    axes.forEach((a, i) => { const v = val(t, a); if (v == null) return; const y = scales[i].pos(v); i ? g.lineTo(xs[i], y) : g.moveTo(xs[i], y); });
    g.stroke();
  }
  g.globalAlpha = 1; g.strokeStyle = "#333"; g.fillStyle = "#222"; g.lineWidth = 1;
  axes.forEach((a, i) => {
    g.beginPath(); g.moveTo(xs[i], top); g.lineTo(xs[i], bottom); g.stroke();
    g.textAlign = "center"; g.font = "bold 12px system-ui, sans-serif";
    g.fillText(a === "value" ? (s.metric || "value") : a + (scales[i].log ? " (log)" : ""), xs[i], top - 10);
    g.font = "11px system-ui, sans-serif"; g.textAlign = "left";
    for (const tk of scales[i].ticks) g.fillText(fmtNum(tk), xs[i] + 4, scales[i].pos(tk) + (scales[i].pos(tk) > bottom - 6 ? 0 : 4));
  });
  canvas.dataset.lines = String(done.length);
}

// ---- comparison ----------------------------------------------------------------------------

async function viewCompare(ids) {
  const runs = await Promise.all(ids.map(id => api("/api/runs/" + encodeURIComponent(id))));
  const charts = h("div", { class: "charts", id: "compare-charts" });
  const metrics = await Promise.all(ids.map(id => api(metricsUrl(id, 0, maxPoints(document.getElementById("view") || document.body)))));
  const keys = [...new Set(runs.flatMap(r => r.metric_keys))].sort();
  const paramsOf = runs.map(r => flat(Object.keys(r.params.resolved).length ? r.params.resolved : r.params.given));
  const pkeys = [...new Set(paramsOf.flatMap(Object.keys))].sort();
  const cell = v => fmtNum(v);
  const sideBySide = (rowsKeys, get, cls) => h("table", { class: "compare " + cls },
    h("thead", {}, h("tr", {}, h("th", {}, ""), runs.map((r, i) => h("th", {}, h("span", { class: "swatch", style: `background:${PALETTE[i % PALETTE.length]}` }), r.meta.name || r.id)))),
    h("tbody", {}, rowsKeys.map(k => {
      const vs = runs.map((_, i) => get(i, k));
      const differ = new Set(vs.map(v => JSON.stringify(v ?? null))).size > 1;
      return h("tr", { class: differ ? "differ" : "" }, h("th", {}, k), vs.map(v => h("td", { class: "num" }, cell(v))));
    })));
  show(h("section", { class: "content compare-view" },
    h("div", { class: "title" }, h("h2", {}, `Comparing ${runs.length} runs`), h("a", { href: "#/", class: "back" }, "← runs")),
    h("h3", {}, "Metrics"), charts,
    h("div", { class: "cols" },
      h("div", {}, h("h3", {}, "Params", h("span", { class: "muted legend" }, " (differences highlighted)")), sideBySide(pkeys, (i, k) => paramsOf[i][k], "params")),
      h("div", {}, h("h3", {}, "Final metrics"), sideBySide(keys, (i, k) => runs[i].final[k], "finals")))));
  for (const k of keys) {
    const el = h("div", { class: "chart", "data-metric": k });
    charts.append(el);
    const series = runs.map((r, i) => {
      let x = 0;
      const pts = [];
      for (const p of metrics[i].points) { x = p.step != null ? p.step : x + 1; if (k in p.metrics) pts.push([x, p.metrics[k]]); }
      return { label: r.meta.name || r.id, points: pts, color: PALETTE[i % PALETTE.length] };
    });
    makeChart(el, k, series, chartWidth(charts));
  }
  setStatus(`${runs.length} runs`);
}

// ---- models --------------------------------------------------------------------------------

function versionRow(m, v) {
  const fileUrl = f => `/models/${encodeURIComponent(m.name)}/${v.version}/${encodeURIComponent(f.name)}`;
  const meta = v.meta ? Object.entries(flat(v.meta.metrics || v.meta)).slice(0, 6).map(([k, x]) => `${k}=${fmtNum(x)}`).join(", ") : "";
  return h("tr", {}, h("td", { class: "num" }, v.version), h("td", { class: "time" }, fmtTime(v.time)),
    h("td", { class: "num" }, fmtBytes(v.bytes)), h("td", {}, meta),
    h("td", {}, v.files.map(f => h("a", { class: "file", href: fileUrl(f) }, f.name))));
}

function modelCard(m) {
  const aliases = m.aliases.map(a => (a.target ? `${a.name} → ${a.target}` : a.name)).join(", ");
  return h("div", { class: "model" },
    h("h3", {}, m.name, h("span", { class: "muted" }, ` ${m.versions.length} version${m.versions.length === 1 ? "" : "s"}`),
      aliases ? h("span", { class: "muted" }, " · " + aliases) : null),
    h("table", { class: "runs" },
      h("thead", {}, h("tr", {}, ["version", "written", "size", "metrics / metadata", "files"].map(c => h("th", {}, c)))),
      h("tbody", {}, m.versions.map(v => versionRow(m, v)))));
}

async function viewModels() {
  const models = await api("/api/models");
  show(h("section", { class: "content models" }, h("h2", {}, "Model versions"),
    models.length ? models.map(modelCard)
      : h("p", { class: "muted" }, "No model versions (a models/NAME/N/ folder beside the runs, or moonlab board --models DIR).")));
  setStatus(`${models.length} models`);
}

// ---- routing -------------------------------------------------------------------------------

function show(el) { document.getElementById("view").replaceChildren(el); }
function showError(e) {
  document.getElementById("view").prepend(h("p", { class: "error" }, String(e.message || e)));
  setStatus("error");
}

async function route() {
  stopAll();
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === (parts[0] === "models" ? "models" : "runs"));
  try {
    if (parts[0] === "run" && parts[1]) await viewRun(parts[1]);
    else if (parts[0] === "compare" && parts[1]) await viewCompare(parts[1].split(",").filter(Boolean));
    else if (parts[0] === "models") await viewModels();
    else await viewRuns(params);
  } catch (e) { showError(e); }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
