// The dashboard end to end in headless Chromium, driven through the DevTools protocol over a pipe
// (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4; no WebSocket, no npm packages).
//   node tests/board/board_test.mjs --url URL --running DIR --runs ID,ID --search ID --shots PREFIX
//        [--model NAME:VERSIONS:BYTES] [--long ID:POINTS]
// Checks: the runs appear in the table and sort by a header click, the experiments beside it, a bad filter
// term is named; a run's curves hold its points; lines appended to the running run's metrics.jsonl reach the
// chart within seconds, and when it ends its status and last artifact appear; two runs
// selected -> the comparison overlays both and highlights differing params; the search view draws
// its trials; the models page lists a model's versions, newest first, with their metadata and files;
// a long curve arrives thinned to about the chart's width, its spike kept; screenshots PREFIX-runs.png,
// -run.png, -compare.png, -search.png, -models.png, -long.png.
// Prints "ok: ..." per check and exits 0, or "FAIL: ..." and exits 1.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const CHROMIUM = args.chromium || process.env.CHROMIUM || "/usr/bin/chromium";
const deadline = Date.now() + Number(args.timeout || 40) * 1000;

function fail(msg) { console.log("FAIL: " + msg); cleanup(); process.exit(1); }
const started = Date.now();
function ok(msg) { console.log(`ok (${((Date.now() - started) / 1000).toFixed(1)} s): ${msg}`); }

// ---- the browser and the protocol ----------------------------------------------------------
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "moonlab-board-chrome-"));
const chrome = spawn(CHROMIUM, [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
  "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--mute-audio",
  "--hide-scrollbars", `--user-data-dir=${profile}`, "--remote-debugging-pipe", "--window-size=1400,1000", "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
chrome.stderr.on("data", d => { stderr = (stderr + d).slice(-4000); });
chrome.on("exit", code => { if (!finished) fail(`chromium exited (${code}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`); });
let finished = false;
function cleanup() {
  finished = true;
  try { chrome.kill("SIGKILL"); } catch { /* gone */ }
  try { fs.rmSync(profile, { recursive: true, force: true }); } catch { /* best effort */ }
}

const toChrome = chrome.stdio[3], fromChrome = chrome.stdio[4];
let nextId = 1, buf = Buffer.alloc(0);
const pending = new Map();
fromChrome.on("data", chunk => {
  buf = Buffer.concat([buf, chunk]);
  let end;
  while ((end = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, end).toString("utf8"));
    buf = buf.subarray(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result);
    } else if (msg.method === "Runtime.exceptionThrown") {
      pageErrors.push(msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text);
    } else if (msg.method === "Runtime.consoleAPICalled" && msg.params.type === "error") {
      pageErrors.push(msg.params.args.map(a => a.value ?? a.description).join(" "));
    }
  }
});
const pageErrors = [];
function send(method, params = {}, sessionId) {
  const id = nextId++;
  toChrome.write(JSON.stringify({ id, method, params, sessionId }) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}

let session;
const cmd = (method, params) => send(method, params, session);
async function evaluate(expression) {
  const r = await cmd("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
  if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
  return r.result.value;
}
const sleep = ms => new Promise(r => setTimeout(r, ms));
// Polls expression until it is truthy (or the time is up); returns its value.
async function waitFor(expression, what, ms = 6000) {
  const until = Math.min(deadline, Date.now() + ms);
  let v;
  while (Date.now() < until) {
    v = await evaluate(expression).catch(() => null);
    if (v) return v;
    await sleep(100);
  }
  const errs = pageErrors.length ? ` (page errors: ${pageErrors.slice(-3).join(" | ")})` : "";
  const shown = await evaluate("document.getElementById('status-line').textContent + ' | ' + document.getElementById('view')?.innerText.slice(0, 300)").catch(() => "?");
  fail(`${what}: not seen within ${ms} ms; page shows: ${JSON.stringify(shown)}${errs}`);
}
async function screenshot(name) {
  if (!args.shots) return;
  const r = await cmd("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
  fs.writeFileSync(`${args.shots}-${name}.png`, Buffer.from(r.data, "base64"));
}
async function go(hash) { await evaluate(`location.hash = ${JSON.stringify(hash)}; true`); }

// ---- the checks ----------------------------------------------------------------------------
async function main() {
  const timer = setTimeout(() => fail("the browser test ran past its time"), deadline - Date.now());
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  ({ sessionId: session } = await send("Target.attachToTarget", { targetId, flatten: true }));
  await cmd("Page.enable"); await cmd("Runtime.enable");
  await cmd("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
  await cmd("Page.navigate", { url: args.url + "/" });

  const runIds = (args.runs || "").split(",").filter(Boolean);
  // 1. the runs table
  const n = await waitFor(`document.querySelectorAll('#runs-table tbody tr').length`, "the runs table");
  for (const id of runIds) {
    if (!(await evaluate(`!!document.querySelector('#runs-table tr[data-id="${id}"]')`))) fail(`run ${id} is not in the table`);
  }
  ok(`runs table shows ${n} runs, the expected ones among them`);
  // the experiments beside it: one link each, named (not a run of hrefs: a nested list of children once came out as text)
  const side = await evaluate(`(() => { const exps = [...document.querySelectorAll('aside.experiments a')];
    return { n: exps.length, names: exps.map(a => a.firstChild.textContent), text: document.querySelector('aside.experiments').textContent }; })()`);
  const wantExps = await evaluate(`fetch('/api/experiments').then(r => r.json()).then(l => l.map(e => e.name))`);
  if (side.n !== wantExps.length + 1 || side.text.includes("http") || JSON.stringify(side.names.slice(1)) !== JSON.stringify(wantExps)) {
    fail(`the experiments list shows ${JSON.stringify(side)}, want "All runs" and ${wantExps.join(", ")}`);
  }
  ok(`the experiments list: All runs, ${wantExps.join(", ")}`);
  await evaluate(`document.querySelector('#runs-table th[data-col="name"]').click(); true`);
  const names = await evaluate(`[...document.querySelectorAll('#runs-table tbody tr .run-link')].map(a => a.textContent)`);
  const sorted = [...names].sort((a, b) => a.localeCompare(b));
  if (JSON.stringify(names) !== JSON.stringify(sorted)) fail(`a click on 'name' did not sort: ${names.join(", ")}`);
  ok("a header click sorts the table");
  await evaluate(`(() => { const f = document.getElementById('filter'); f.value = 'optimizer=sgd'; f.dispatchEvent(new Event('input')); return true; })()`);
  const filtered = await evaluate(`document.querySelectorAll('#runs-table tbody tr').length`);
  if (!(filtered >= 1 && filtered < n)) fail(`filter optimizer=sgd kept ${filtered} of ${n} rows`);
  await evaluate(`(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); return true; })()`);
  ok(`the filter optimizer=sgd keeps ${filtered} of ${n} runs`);
  // a term with an operator that is not NAME<op>VALUE matches nothing and is named; params.NAME is the param
  const setFilter = v => evaluate(`(() => { const f = document.getElementById('filter'); f.value = ${JSON.stringify(v)};
    f.dispatchEvent(new Event('input')); return [document.querySelectorAll('#runs-table tbody tr').length,
    document.getElementById('status-line').textContent, f.classList.contains('bad')]; })()`);
  const [badRows, badLine, badMark] = await setFilter("lr<<0.1");
  if (badRows !== 0 || !badLine.includes("bad filter term 'lr<<0.1'") || !badMark) fail(`the filter lr<<0.1 gave ${badRows} rows, "${badLine}"`);
  const [pRows] = await setFilter("params.optimizer=sgd");
  if (pRows !== filtered) fail(`params.optimizer=sgd kept ${pRows} rows, optimizer=sgd ${filtered}`);
  await setFilter("");
  ok(`a bad filter term is named (${badLine}); params.optimizer=sgd keeps the same ${pRows}`);
  await screenshot("runs");

  // 2. a finished run: its curves hold every point
  if (runIds[0]) {
    await evaluate(`document.querySelector('#runs-table tr[data-id="${runIds[0]}"] .run-link').click(); true`);
    const want = Number(args.points || 0);
    const pts = await waitFor(`(() => { const c = document.querySelector('section[data-run="${runIds[0]}"] #curves .chart[data-metric="loss"]'); return c && Number(c.dataset.points); })()`, "the loss curve");
    if (want && pts !== want) fail(`the loss curve has ${pts} points, the record has ${want}`);
    await waitFor(`document.querySelector('.artifacts img') ? document.querySelector('.artifacts img').naturalWidth > 0 : document.querySelector('.artifacts')?.innerText.length > 0`, "the artifacts");
    ok(`run ${runIds[0]}: loss curve with ${pts} points, artifacts shown`);
    await screenshot("run");
  }

  // 3. the running run: appended lines reach the chart
  if (args.running) {
    const id = path.basename(args.running);
    await go(`#/run/${id}`);
    const before = await waitFor(`(() => { const c = document.querySelector('section[data-run="${id}"] #curves .chart[data-metric="loss"]'); return c && Number(c.dataset.points); })()`, "the live run's curve");
    const file = path.join(args.running, "metrics.jsonl");
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    const last = JSON.parse(lines[lines.length - 1]);
    let add = "";
    for (let k = 1; k <= 3; k++) {
      const s = last.step + k;
      add += JSON.stringify({ step: s, time: Date.now() / 1000, metrics: { loss: 1 / (s + 1), val_loss: 1.1 / (s + 1) } }) + "\n";
    }
    const t0 = Date.now();
    fs.appendFileSync(file, add);
    const after = await waitFor(`(() => { const c = document.querySelector('#curves .chart[data-metric="loss"]'); return c && Number(c.dataset.points) >= ${before + 3} && Number(c.dataset.points); })()`,
      "the appended points", 5000);
    ok(`live run: ${before} -> ${after} points ${Date.now() - t0} ms after the append`);
    // the run ends while shown: its status, end time and the artifact it wrote last appear without a reload
    fs.writeFileSync(path.join(args.running, "artifacts", "written-at-the-end.txt"), "the end\n");
    const metaPath = path.join(args.running, "meta.json");
    const meta = JSON.parse(fs.readFileSync(metaPath, "utf8"));
    meta.status = "finished"; meta.end_time = Date.now() / 1000;
    fs.writeFileSync(metaPath + ".tmp-test", JSON.stringify(meta));
    fs.renameSync(metaPath + ".tmp-test", metaPath); // as ml.track rewrites it
    await waitFor(`document.getElementById('run-status')?.textContent === 'finished'
      && [...document.querySelectorAll('.artifacts .files a')].some(a => a.textContent === 'written-at-the-end.txt')
      && document.getElementById('run-info')?.textContent.includes('ended')`, "the ended run's status, end time and last artifact", 5000);
    ok("the live run ended: status, end time and its last artifact shown without a reload");
  }

  // 4. select two runs and compare
  if (runIds.length >= 2) {
    await go("#/");
    await waitFor(`document.querySelectorAll('#runs-table tbody tr').length`, "the runs table again");
    for (const id of runIds.slice(0, 2)) await evaluate(`document.querySelector('#runs-table tr[data-id="${id}"] input.pick').click(); true`);
    await evaluate(`document.getElementById('compare').click(); true`);
    const series = await waitFor(`(() => { const c = document.querySelector('#compare-charts .chart[data-metric="loss"]'); return c && Number(c.dataset.series); })()`, "the comparison chart");
    if (series !== 2) fail(`the comparison chart has ${series} series, want 2`);
    const differ = await evaluate(`[...document.querySelectorAll('table.compare.params tr.differ th')].map(th => th.textContent)`);
    if (!differ.length) fail("the comparison highlights no differing params");
    ok(`comparison: 2 runs overlaid, differing params highlighted: ${differ.join(", ")}`);
    await screenshot("compare");
  }

  // 5. a search: trials table and parallel coordinates
  if (args.search) {
    await go(`#/run/${args.search}`);
    const lines = await waitFor(`(() => { const c = document.getElementById('parcoords'); return c && Number(c.dataset.lines); })()`, "the parallel coordinates");
    const best = await evaluate(`document.querySelector('.best-line')?.innerText || ''`);
    if (!best.startsWith("Best")) fail("the search view names no best trial");
    ok(`search: ${lines} trials in the parallel coordinates; ${best}`);
    await screenshot("search");
  }
  // 6. the models page: a model's versions, newest first, their metadata and a file that downloads
  if (args.model) {
    const [name, nv, bytes] = args.model.split(":");
    await evaluate(`document.querySelector('nav a[data-nav="models"]').click(); true`);
    const card = `[...document.querySelectorAll('.models .model')].find(m => m.querySelector('h3').textContent.startsWith(${JSON.stringify(name)}))`;
    const rows = await waitFor(`(() => { const c = ${card}; return c && c.querySelectorAll('tbody tr').length; })()`, "the model's versions");
    if (rows !== Number(nv)) fail(`the models page shows ${rows} versions of ${name}, want ${nv}`);
    const versions = await evaluate(`[...(${card}).querySelectorAll('tbody tr td:first-child')].map(td => Number(td.textContent))`);
    const want = Array.from({ length: Number(nv) }, (_, i) => Number(nv) - i);
    if (JSON.stringify(versions) !== JSON.stringify(want)) fail(`versions shown as ${versions.join(", ")}, want newest first ${want.join(", ")}`);
    const meta = await evaluate(`(${card}).querySelector('tbody tr td:nth-child(4)').textContent`);
    if (!meta.includes("val_accuracy=")) fail(`the newest version's metadata cell shows ${JSON.stringify(meta)}`);
    if (!(await evaluate(`document.querySelector('nav a[data-nav="models"]').classList.contains('active')`))) fail("the Models tab is not marked active");
    const file = await evaluate(`(async () => { const a = (${card}).querySelector('tbody tr a.file[href$="model.safetensors"]');
      const r = await fetch(a.href); return { status: r.status, bytes: (await r.arrayBuffer()).byteLength, href: a.getAttribute('href') }; })()`);
    if (file.status !== 200 || file.bytes !== Number(bytes)) fail(`${file.href} answered ${file.status} with ${file.bytes} bytes, want 200 and ${bytes}`);
    ok(`models: ${name} with versions ${versions.join(", ")}; ${meta}; ${file.href} downloads (${file.bytes} bytes)`);
    await screenshot("models");
  }

  // 7. a long curve: the page asks for about its chart's width, the server thins it, the spike survives
  if (args.long) {
    const [id, n] = args.long.split(":");
    await go(`#/run/${id}`);
    const sel = `section[data-run="${id}"] #curves .chart[data-metric="batch/loss"]`;
    const pts = await waitFor(`(() => { const c = document.querySelector('${sel}'); return c && Number(c.dataset.points); })()`, "the long curve");
    const width = await evaluate(`Math.round(document.querySelector('${sel}').getBoundingClientRect().width)`);
    if (!(pts >= 100 && pts <= 1000 && pts < Number(n))) fail(`the long curve holds ${pts} of ${n} points (chart ${width} px wide)`);
    if ((await evaluate(`document.querySelector('section[data-run="${id}"] #curves').dataset.thinned`)) !== "true") fail("the reply was not marked thinned");
    const reply = await evaluate(`(async () => {
      const get = async m => (await fetch('/api/runs/${id}/metrics?since=0&max_points=' + m)).text();
      const thin = await get(${pts}), all = await get(0);
      const vals = JSON.parse(thin).points.map(p => p.metrics['batch/loss']).filter(v => v != null);
      return { thin: thin.length, all: all.length, max: Math.max(...vals), first: JSON.parse(thin).points[0].step,
        last: JSON.parse(thin).points.at(-1).step }; })()`);
    if (!(reply.max >= 5 && reply.first === 1 && reply.last === Number(n))) fail(`the thinned curve lost its spike or ends: ${JSON.stringify(reply)}`);
    if (!(reply.thin * 10 < reply.all)) fail(`the thinned reply (${reply.thin} bytes) is not much smaller than the whole (${reply.all})`);
    ok(`long curve: ${n} points shown as ${pts} on a ${width} px chart; reply ${reply.thin} bytes instead of ${reply.all}; spike ${reply.max.toFixed(2)} kept`);
    await screenshot("long");
  }
  if (pageErrors.length) fail(`errors on the page: ${pageErrors.join(" | ")}`);
  clearTimeout(timer);
  cleanup();
  console.log("PASS");
  process.exit(0);
}
main().catch(e => fail(e.stack || String(e)));
