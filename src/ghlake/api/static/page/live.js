// The live page: one EventSource on /v1/live/stream, closed while the tab is hidden and
// reopened from the last event id when it shows again (the server sends what was missed).
"use strict";

const WINDOW_SECONDS = 15 * 60;
const MAX_SERIES = 8; // the busiest types; the rest are summed as "other"
const COLORS = ["#0969da", "#1a7f37", "#bf3989", "#9a6700", "#8250df", "#cf222e", "#1b7c83",
  "#6e7781", "#953800"];

const points = []; // {at, rates: {type: per second}} oldest first
let lastId = null;
let source = null;
let chart = null;
let chartTypes = [];

const $ = (id) => document.getElementById(id);
const number = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en"));
const seconds = (s) => (s === null || s === undefined ? "–" : `${s.toFixed(1)} s`);

function text(tag, value, className) {
  const cell = document.createElement(tag);
  cell.textContent = value;
  if (className) cell.className = className;
  return cell;
}

function fillTable(id, rows, emptyText, columns) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const row = body.insertRow();
    row.className = "empty";
    const cell = text("td", emptyText);
    cell.colSpan = columns;
    row.append(cell);
    return;
  }
  for (const cells of rows) {
    const row = body.insertRow();
    row.append(...cells);
  }
}

function setState(state, label) {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = label;
}

function addPoint(snapshot) {
  if (!snapshot.rates) return;
  points.push({ at: snapshot.at, rates: snapshot.rates });
  const oldest = snapshot.at - WINDOW_SECONDS;
  while (points.length && points[0].at < oldest) points.shift();
}

function seriesTypes() {
  const sums = {};
  for (const p of points) for (const [t, r] of Object.entries(p.rates)) sums[t] = (sums[t] || 0) + r;
  const ranked = Object.keys(sums).sort((a, b) => sums[b] - sums[a]);
  return ranked.length > MAX_SERIES ? [...ranked.slice(0, MAX_SERIES), "other"] : ranked;
}

function drawChart() {
  const box = $("chart");
  const types = seriesTypes();
  const anyEvents = points.some((p) => Object.keys(p.rates).length);
  if (!anyEvents) return; // keep the empty state until the first events arrive
  const xs = points.map((p) => p.at);
  const named = new Set(types.filter((t) => t !== "other"));
  const ys = types.map((t) => points.map((p) => {
    if (t !== "other") return p.rates[t] || 0;
    return Object.entries(p.rates).filter(([k]) => !named.has(k)).reduce((a, [, v]) => a + v, 0);
  }));
  const width = box.clientWidth || 600;
  if (!chart || types.join() !== chartTypes.join()) {
    if (chart) chart.destroy();
    box.replaceChildren();
    chartTypes = types;
    chart = new uPlot({
      width, height: 260,
      scales: { x: { time: true } },
      axes: [{}, { label: "events / s", size: 60 }],
      series: [{}, ...types.map((t, i) => ({
        label: t, stroke: COLORS[i % COLORS.length], width: 1.5, points: { show: false },
      }))],
    }, [xs, ...ys], box);
  } else {
    chart.setData([xs, ...ys]);
    if (chart.width !== width) chart.setSize({ width, height: 260 });
  }
}

function render(snapshot) {
  if (snapshot.total !== undefined) $("total").textContent = number(snapshot.total);
  const rate = Object.values(snapshot.rates || {}).reduce((a, b) => a + b, 0);
  $("rate").textContent = snapshot.rates ? number(rate) : "–";
  $("ingest-errors").textContent = number(snapshot.ingest_errors);
  $("dead-letters").textContent = number(snapshot.dead_letters);
  fillTable("groups", (snapshot.groups || []).map((g) => [
    text("td", g.group + (g.active ? "" : " (inactive)")),
    text("td", g.status, `status ${g.status}`),
    text("td", number(g.lag)),
    text("td", seconds(g.lag_seconds)),
  ]), "No consumer group yet.", 4);
  fillTable("latest", (snapshot.latest || []).map((e) => [
    text("td", e.event_type), text("td", e.repo_name), text("td", e.actor_login),
  ]), "No events yet.", 3);
  fillTable("hours", (snapshot.hours || []).map((h) => [
    text("td", h.hour), text("td", number(h.kafka)), text("td", number(h.lake)),
    text("td", number(h.warehouse)), text("td", h.flags.join("; "), "flag"),
  ]), "No hour replayed yet.", 5);
  const problems = Object.entries(snapshot.errors || {});
  $("problems").hidden = !problems.length;
  $("problems").textContent = problems.map(([part, why]) => `${part}: ${why}`).join(" · ");
  drawChart();
}

function connect() {
  const url = lastId === null ? "/v1/live/stream" : `/v1/live/stream?last_event_id=${lastId}`;
  source = new EventSource(url);
  source.onopen = () => setState("live", "live");
  source.onerror = () => setState("connecting", "reconnecting…"); // EventSource retries itself
  source.addEventListener("history", (event) => {
    const snapshots = JSON.parse(event.data);
    snapshots.forEach(addPoint);
    lastId = Number(event.lastEventId);
    render(snapshots[snapshots.length - 1]);
  });
  source.onmessage = (event) => {
    const snapshot = JSON.parse(event.data);
    lastId = Number(event.lastEventId);
    addPoint(snapshot);
    render(snapshot);
  };
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    if (source) source.close();
    source = null;
    setState("paused", "paused (tab hidden)");
  } else if (!source) {
    connect();
  }
});
window.addEventListener("resize", () => chart && drawChart());
connect();
