// The Rebalancer dashboard: polls the evictor's read-only JSON API and draws it. Every string
// from the cluster goes through textContent and is never parsed as markup.
"use strict";

const POLL_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";
let policy = "";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function pct(v) { return (100 * v).toFixed(0) + "%"; }
function fmtTime(t) { return new Date(t).toLocaleTimeString(); }

async function get(path) {
  const q = policy ? "?policy=" + encodeURIComponent(policy) : "";
  const r = await fetch(path + q, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

function fillBody(table, rows, empty) {
  const body = document.querySelector(table + " tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const cols = document.querySelectorAll(table + " thead th").length;
    body.append(el("tr", {}, el("td", { colspan: cols, class: "empty" }, empty)));
    return;
  }
  for (const r of rows) body.append(el("tr", {}, ...r.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", {}, c)))));
}

async function loadPolicies() {
  const data = await (await fetch("/api/v1/policies")).json();
  const sel = document.getElementById("policy");
  const current = sel.value;
  sel.replaceChildren(...data.policies.map((p) => el("option", { value: p }, p)));
  if (data.policies.includes(current)) sel.value = current;
  policy = sel.value;
}

function drawPlan(plan) {
  const mode = document.getElementById("mode");
  mode.textContent = plan.dryRun ? "dry-run: nothing is evicted" : "live: evicting";
  mode.className = "badge " + (plan.dryRun ? "dry" : "live");
  document.getElementById("updated").textContent = "last cycle " + fmtTime(plan.time);

  const s = document.getElementById("summary");
  s.replaceChildren(
    el("div", {}, el("b", {}, plan.sigmaBefore.toFixed(4)), "sigma now"),
    el("div", {}, el("b", {}, plan.predictedSigmaAfter.toFixed(4)), "predicted after plan"),
    el("div", {}, el("b", {}, plan.hotNodes), "hot nodes"),
    el("div", {}, el("b", {}, plan.coldNodes), "cold nodes"),
    el("div", {}, el("b", {}, plan.moves.length + " / " + plan.lowerBound), "moves / lower bound"),
    el("div", { id: "stopped-by" }, el("b", {}, plan.stoppedBy || "-"), "stopped by"),
  );
  const conds = document.getElementById("conditions");
  conds.replaceChildren(...(plan.conditions || []).map((c) => {
    const good = (c.type === "Conflict" || c.type === "DryRun") ? c.status !== "True" || c.type === "DryRun" : c.status === "True";
    return el("li", { class: good ? "ok" : "bad" }, c.type + " = " + c.status + " (" + c.reason + "): " + c.message);
  }));

  fillBody("#moves", plan.moves.map((m) => [m.namespace + "/" + m.pod, m.from, m.predictedTo, m.predictedSigmaDrop.toFixed(4), m.reason.message, m.result || ""]),
    plan.blockers.length ? "Evicting nothing: " + plan.blockers.join("; ") : "No move planned.");

  const reasons = Object.entries(plan.heldBackByReason).sort((a, b) => b[1] - a[1]);
  const maxCount = Math.max(1, ...reasons.map((r) => r[1]));
  const bars = document.getElementById("held-reasons");
  const bar = ([code, n]) => {
    const fill = el("span", { class: "fill" });
    fill.style.width = Math.round(200 * n / maxCount) + "px"; // CSSOM, allowed by the page's CSP
    return el("div", { class: "bar", "data-reason": code }, el("span", { class: "label" }, code), fill, String(n));
  };
  bars.replaceChildren(...(reasons.length ? reasons.map(bar) : [el("div", { class: "empty" }, "No candidate held back.")]));
  fillBody("#held", plan.heldBack.map((h) => [h.namespace + "/" + h.pod, h.node, h.reasons.map((r) => r.message).join("; ")]), "None.");
}

function nodeCard(n) {
  const w = 104, h = 60, barW = 40;
  const pic = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  const bar = (x, v, label) => {
    const fill = Math.min(v, 1) * (h - 12);
    pic.append(svg("rect", { x, y: 0, width: barW, height: h - 12, fill: "#f1f3f5" }));
    pic.append(svg("rect", { x, y: h - 12 - fill, width: barW, height: fill, fill: "#868e96" }));
    const t = svg("text", { x: x + barW / 2, y: h - 2, "font-size": 9, "text-anchor": "middle" });
    t.textContent = label + " " + pct(v);
    pic.append(t);
  };
  bar(4, n.cpu, "cpu");
  bar(w - barW - 4, n.memory, "mem");
  for (const [th, color] of [[n.hotThreshold, "#d9480f"], [n.coldThreshold, "#1971c2"]]) {
    const y = h - 12 - th * (h - 12);
    pic.append(svg("line", { x1: 0, x2: w, y1: y, y2: y, stroke: color, "stroke-dasharray": "3 2" }));
  }
  const title = svg("title", {});
  title.textContent = `${n.name}: cpu ${pct(n.cpu)}, memory ${pct(n.memory)}, score ${pct(n.score)} (predicted ${pct(n.predictedScore)})`;
  pic.append(title);
  return el("div", { class: "node " + n.classification, "data-node": n.name },
    el("div", { class: "name" }, n.name), pic, el("div", { class: "state" }, n.classification + " for " + n.readings + " reading(s)"));
}

function drawNodes(nodes) {
  const box = document.getElementById("nodes");
  box.replaceChildren(...nodes.classes.map((c) => el("div", { class: "nodeclass" }, el("h3", {}, c.name + " (" + c.nodes.length + ")"),
    el("div", { class: "nodegrid" }, ...c.nodes.map(nodeCard)))));
  if (nodes.excluded.length) {
    box.append(el("p", { class: "muted" }, "Left out: " + nodes.excluded.map((x) => x.name + " (" + x.reason + ")").join(", ")));
  }
}

function drawSigma(history) {
  const box = document.getElementById("sigma-chart");
  const pts = history.points.filter((p) => p.sigma !== undefined && p.sigma !== null);
  if (pts.length === 0) { box.replaceChildren(el("div", { class: "empty" }, "No reading yet.")); return; }
  const W = 600, H = 200, P = 30;
  const t0 = new Date(pts[0].time).getTime(), t1 = Math.max(t0 + 1, new Date(pts[pts.length - 1].time).getTime());
  const maxS = Math.max(0.01, ...pts.map((p) => p.sigma)) * 1.1;
  const x = (t) => P + (W - 2 * P) * (new Date(t).getTime() - t0) / (t1 - t0);
  const y = (s) => H - P - (H - 2 * P) * s / maxS;
  const pic = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none" });
  pic.append(svg("line", { class: "axis", x1: P, x2: W - P, y1: H - P, y2: H - P }), svg("line", { class: "axis", x1: P, x2: P, y1: P, y2: H - P }));
  pic.append(svg("polyline", { class: "sigma", points: pts.map((p) => x(p.time) + "," + y(p.sigma)).join(" ") }));
  for (const e of history.evictions) {
    const X = x(e.time);
    if (X < P) continue;
    const tick = svg("line", { class: "evict" + (e.dryRun ? " dry" : ""), x1: X, x2: X, y1: H - P, y2: H - P - 12 });
    const title = svg("title", {});
    title.textContent = (e.dryRun ? "would evict " : "evicted ") + e.namespace + "/" + e.pod + " from " + e.from;
    tick.append(title);
    pic.append(tick);
  }
  const lbl = (tx, X, Y, anchor) => { const t = svg("text", { x: X, y: Y, "font-size": 10, "text-anchor": anchor }); t.textContent = tx; pic.append(t); };
  lbl(maxS.toFixed(3), P - 2, P + 4, "end");
  lbl("0", P - 2, H - P, "end");
  lbl(fmtTime(t0), P, H - 8, "start");
  lbl(fmtTime(t1), W - P, H - 8, "end");
  box.replaceChildren(pic);
}

function drawBudgets(b) {
  fillBody("#ns-budgets", b.namespaces.map((n) => [n.namespace, n.remaining < 0 ? "unlimited" : String(n.remaining)]), "No namespace budget in play.");
  fillBody("#slo-budgets", b.workloadSLOs.map((s) => [s.namespace + "/" + s.name,
    (s.remaining === undefined ? "?" : s.remaining) + " / " + s.maxDisruptionsPerHour, String(s.pods),
    s.ledger.map((d) => fmtTime(d.time) + " " + d.pod).join(", ") || "none",
    s.pending.map((p) => p.pod + ": " + p.reason).join("; ") || "none"]), "No WorkloadSLO.");
}

function landed(e) {
  if (!e.landedOn) return "";
  const where = e.landedAsPredicted === undefined ? "" : e.landedAsPredicted ? ", as predicted" : ", not where predicted";
  return " (landed on " + e.landedOn + where + ")";
}

function drawEvictions(h) {
  const rows = h.evictions.slice(-50).reverse().map((e) => [fmtTime(e.time), e.namespace + "/" + e.pod, e.from,
    e.predictedTo + (e.predictedNodes > 1 ? " (one of " + e.predictedNodes + ")" : ""), e.result,
    e.outcome ? e.outcome + landed(e) : "—"]);
  fillBody("#evictions", rows, "No eviction yet.");
  const followed = h.evictions.filter((e) => e.landedAsPredicted !== undefined);
  const exact = followed.filter((e) => e.landedAsPredicted).length;
  document.querySelector("#predictions").textContent = followed.length
    ? exact + " of " + followed.length + " replacements landed where the evictor predicted."
    : "No replacement followed up yet.";
}

async function refresh() {
  try {
    await loadPolicies();
    if (!policy) return;
    const [plan, nodes, budgets, history] = await Promise.all([get("/api/v1/plan"), get("/api/v1/nodes"), get("/api/v1/budgets"), get("/api/v1/history")]);
    drawPlan(plan);
    drawNodes(nodes);
    drawSigma(history);
    drawBudgets(budgets);
    drawEvictions(history);
  } catch (err) {
    document.getElementById("updated").textContent = "waiting for the evictor: " + err.message;
  }
}

document.getElementById("policy").addEventListener("change", (e) => { policy = e.target.value; refresh(); });
refresh();
setInterval(refresh, POLL_MS);
