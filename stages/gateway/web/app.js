// nightshift dashboard: polls the gateway's JSON API, follows /ws/gpu-stats
// for live GPU samples, and reconnects by itself when the gateway restarts.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
const $ = (id) => document.getElementById(id);
const charts = {};          // "host/index" -> Chart
const WINDOW_MS = 60000;    // live chart span
let thresholds = { temperature_warning_c: 70, temperature_critical_c: 80 };
let pickedRun = "";
let socket = null;
let lastOk = 0;

async function getJson(path) {
  const response = await fetch(withToken(path), { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function fmt(value, digits, unit) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits) + (unit || "");
}
function gib(bytes) { return bytes === null || bytes === undefined ? "—" : (bytes / 2 ** 30).toFixed(1) + " GiB"; }
function band(temp) {
  if (temp === null || temp === undefined) return "";
  if (temp > thresholds.temperature_critical_c) return "band-critical";
  if (temp > thresholds.temperature_warning_c) return "band-warning";
  return "band-ok";
}
function hms(s) {
  if (s === null || s === undefined) return "—";
  s = Math.round(s);
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0")).join(":");
}

function setConnected(up) {
  const el = $("conn-status");
  el.className = "conn " + (up ? "up" : "down");
  el.textContent = up ? "live" : "reconnecting…";
}

function gpuCard(gpu) {
  const key = gpu.host + "/" + gpu.id;
  let card = document.querySelector(`.gpu-card[data-gpu="${CSS.escape(key)}"]`);
  if (!card) {
    const holder = $("gpu-cards");
    if (holder.querySelector(".muted")) holder.innerHTML = "";
    card = document.createElement("div");
    card.className = "gpu-card";
    card.dataset.gpu = key;
    card.innerHTML = `<div><b class="name"></b> <span class="badge health"></span></div>
      <div><span class="temp"></span> · util <b class="util"></b> · VRAM <b class="vram"></b></div>
      <div><small>clocks <span class="clocks"></span> · power <span class="power"></span> · fan <span class="fan"></span></small></div>
      <canvas></canvas>`;
    holder.appendChild(card);
    if (window.Chart) {
      charts[key] = new Chart(card.querySelector("canvas"), {
        type: "line",
        data: { datasets: [
          { label: "°C", data: [], borderColor: "#ff7a59", pointRadius: 0, yAxisID: "y" },
          { label: "util %", data: [], borderColor: "#3a8ee6", pointRadius: 0, yAxisID: "y" },
        ] },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
          scales: { x: { type: "linear", display: false }, y: { min: 0, max: 100 } },
          plugins: { legend: { labels: { color: "#ccc", boxWidth: 10 } } } },
      });
    }
  }
  return [card, charts[key]];
}

function showGpu(gpu, ts) {
  const [card, chart] = gpuCard(gpu);
  card.querySelector(".name").textContent = `${gpu.name} (${gpu.host} #${gpu.id}${gpu.simulated ? ", simulated" : ""})`;
  const temp = card.querySelector(".temp");
  temp.textContent = fmt(gpu.temperature, 0, " °C");
  temp.dataset.value = gpu.temperature;
  temp.className = "temp " + band(gpu.temperature);
  const util = card.querySelector(".util");
  util.textContent = fmt(gpu.utilization, 0, " %");
  util.dataset.value = gpu.utilization;
  card.querySelector(".vram").textContent = `${gib(gpu.memory_used)} / ${gib(gpu.memory_total)}`;
  card.querySelector(".clocks").textContent = `${fmt(gpu.sm_clock_mhz, 0)} / ${fmt(gpu.mem_clock_mhz, 0)} MHz`;
  card.querySelector(".power").textContent = fmt(gpu.power, 1, " W");
  card.querySelector(".fan").textContent = gpu.fan_rpm != null ? fmt(gpu.fan_rpm, 0, " RPM") : fmt(gpu.fan_percent, 0, " %");
  const health = card.querySelector(".health");
  health.textContent = gpu.health.status;
  health.className = "badge health health-" + gpu.health.status;
  health.title = gpu.health.issues.join("\n");
  if (chart && ts) {
    const t = ts * 1000;
    chart.data.datasets[0].data.push({ x: t, y: gpu.temperature });
    chart.data.datasets[1].data.push({ x: t, y: gpu.utilization });
    for (const set of chart.data.datasets) while (set.data.length && set.data[0].x < t - WINDOW_MS) set.data.shift();
    chart.options.scales.x.min = t - WINDOW_MS;
    chart.options.scales.x.max = t;
    chart.update("none");
  }
}

function showStatus(s) {
  $("run-id").textContent = s.run || "—";
  $("run-state").textContent = s.status;
  const bar = $("progress-bar");
  bar.style.width = (s.progress_pct || 0).toFixed(1) + "%";
  bar.dataset.done = s.completed;
  bar.dataset.total = s.total;
  $("progress-text").textContent = s.total ? `${s.completed} of ${s.total} jobs done (${(s.progress_pct || 0).toFixed(1)} %)` : "no run yet";
  $("eta").textContent = s.eta || hms(s.eta_s);
  $("speed").textContent = fmt(s.speed_jobs_per_s, 2);
  for (const k of ["running", "failed", "skipped", "pending"]) $("jobs-" + k).textContent = s[k];
  $("jobs-done").textContent = s.completed;
  $("host-name").textContent = s.host || "";
  $("host-cpu").textContent = fmt(s.cpu_pct, 0, " %");
  $("host-ram").textContent = fmt(s.ram_pct, 0, " %");
  $("host-disk").textContent = fmt(s.disk_pct, 0, " %");
  $("workers").textContent = s.workers;
  const failures = $("failures");
  failures.innerHTML = "";
  for (const f of (s.recent_failures || []).slice(-10).reverse()) {
    const li = document.createElement("li");
    li.textContent = `${f.study} #${f.trial} attempt ${f.attempt}: ${f.reason}`;
    failures.appendChild(li);
  }
  if (!failures.children.length) failures.innerHTML = '<li class="muted">none</li>';
}

function showAlerts(a) {
  const list = $("alerts");
  list.innerHTML = "";
  for (const alert of a.alerts) {
    const li = document.createElement("li");
    li.className = "band-" + (alert.level === "critical" ? "critical" : "warning");
    li.textContent = `${alert.level}: ${alert.message}`;
    list.appendChild(li);
  }
  if (!list.children.length) list.innerHTML = '<li class="muted">none</li>';
}

function showStudies(studies) {
  const body = document.querySelector("#studies tbody");
  body.innerHTML = "";
  for (const s of studies.studies) {
    const tr = document.createElement("tr");
    if (s.promoted) tr.className = "promoted";
    for (const v of [s.study, fmt(s.cv_auc, 3), fmt(s.holdout_auc, 3), s.verdict]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

async function refreshRuns() {
  const runs = await getJson("/api/runs");
  const picker = $("run-picker");
  const known = new Set([...picker.options].map((o) => o.value));
  for (const r of runs.runs) {
    if (known.has(r.run)) continue;
    const option = document.createElement("option");
    option.value = r.run;
    option.textContent = `${r.run} (${r.status})`;
    picker.appendChild(option);
  }
}

async function showPickedRun() {
  const run = await getJson("/api/runs/" + encodeURIComponent(pickedRun));
  const done = run.done_jobs + run.skipped_jobs;
  showStatus({ run: run.run, status: run.status, total: run.total_jobs, completed: run.done_jobs,
    progress_pct: run.total_jobs ? 100 * done / run.total_jobs : 0, eta: "—", speed_jobs_per_s: null,
    running: (run.jobs_by_state || {}).running || 0, failed: run.failed_attempts || 0,
    skipped: run.skipped_jobs, pending: (run.jobs_by_state || {}).pending || 0,
    recent_failures: run.recent_failures, cpu_pct: null, ram_pct: null, disk_pct: null, workers: 0 });
  showStudies(await getJson("/api/runs/" + encodeURIComponent(pickedRun) + "/studies"));
}

async function poll() {
  try {
    if (pickedRun) {
      await showPickedRun();
    } else {
      const s = await getJson("/api/status");
      showStatus(s);
      if (s.run) showStudies(await getJson("/api/runs/" + encodeURIComponent(s.run) + "/studies").catch(() => ({ studies: [] })));
    }
    showAlerts(await getJson("/api/alerts?active=1"));
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      const stats = await getJson("/gpu/stats");
      for (const gpu of stats.gpus) showGpu(gpu, null);
    }
    await refreshRuns();
    lastOk = Date.now();
    setConnected(true);
  } catch (e) {
    setConnected(false);
  }
}

function connectStream() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + withToken("/ws/gpu-stats");
  socket = new WebSocket(url);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    for (const gpu of message.gpus) showGpu(gpu, message.timestamp);
  };
  socket.onclose = () => { socket = null; setConnected(false); setTimeout(connectStream, 1000); };
  socket.onerror = () => socket && socket.close();
}

async function start() {
  try {
    const info = await getJson("/gpu/info");
    if (info.thresholds) thresholds = info.thresholds;
  } catch (e) { /* the poll loop reconnects */ }
  $("run-picker").addEventListener("change", (e) => { pickedRun = e.target.value; poll(); });
  connectStream();
  poll();
  setInterval(poll, 1000);
}
start();
