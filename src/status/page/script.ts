// The status page's script: polls status.json once a second and renders it. Every value from the
// routing store (ids, apps, regions, addresses) goes in through textContent or setAttribute, never
// innerHTML, so an id like `<img src=x onerror=…>` shows as text. Plain browser JavaScript in a
// string (no template literals inside), served as /status.js under a CSP without 'unsafe-inline'.
export const STATUS_JS = `"use strict";
(function () {
  var POLL_MS = 1000;
  var HEADERS = ["Backend", "Region", "Address", "Weight", "Active connections", "Circuit", "Health check"];
  // status.json keys stay stable; what the page calls them is decided here
  var DETAIL_LABELS = { outbox: "outbox", lag_secs: "lag (s)", published: "published", applied: "applied", conflicts: "conflicts", error: "error" };
  var byId = function (id) { return document.getElementById(id); };

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function count(n) { return n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"); }
  function rate(n) { return n === null || n === undefined ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US"); }
  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
  }
  function duration(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + m + "m" : m > 0 ? m + "m " + (s % 60) + "s" : s + "s";
  }
  function state(word, tone) { return el("span", "state " + tone, word); }
  function circuitTone(c) { return c === "closed" ? "good" : c === "half-open" ? "warn" : c === "open" ? "bad" : "none"; }
  function checkTone(h) { return h === "up" ? "good" : h === "down" ? "bad" : "none"; }

  function renderPop(r) {
    byId("pop-region").textContent = r.pop.region;
    var parts = [r.pop.id, r.pop.runtime, "v" + r.pop.version, "up " + duration(r.pop.uptime_secs)];
    if (r.pop.status !== "ok") parts.push(r.pop.status.toUpperCase());
    if (!r.pop.store_up) parts.push("routing store not answering");
    byId("pop-meta").textContent = parts.join(" · ");
    document.title = "edgeProxy " + r.pop.region + " — " + r.totals.active + " active";
  }

  function renderTotals(t) {
    var cards = [
      ["Connections/s", rate(t.connections_per_sec), "cps"],
      ["Active", count(t.active), "active"],
      ["Connections", count(t.connections_total), "total"],
      ["Received", bytes(t.bytes_received), "received"],
      ["Sent", bytes(t.bytes_sent), "sent"],
      ["Connect errors", count(t.connect_failures), "errors"],
      ["No backend", count(t.no_backend), "no-backend"],
      ["Rate-limited", count(t.rate_limited), "rate-limited"],
      ["Routable backends", t.routable + " / " + t.backends, "routable"]
    ];
    var nodes = cards.map(function (c) {
      var d = el("div");
      d.setAttribute("data-total", c[2]);
      d.append(el("dt", "", c[0]), el("dd", "", c[1]));
      return d;
    });
    byId("totals").replaceChildren.apply(byId("totals"), nodes);
  }

  function loadBar(b) {
    var hard = Math.max(1, b.hard_limit);
    var cell = el("div");
    var label = el("div");
    label.append(el("span", "active-count", count(b.active)), el("span", "limits", " / soft " + count(b.soft_limit) + " / hard " + count(b.hard_limit)));
    var bar = el("div", "bar");
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-label", "active connections against the hard limit");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", String(b.hard_limit));
    bar.setAttribute("aria-valuenow", String(b.active));
    var fill = el("div", "fill" + (b.active >= b.hard_limit ? " full" : b.active >= b.soft_limit ? " warn" : ""));
    fill.style.width = Math.min(100, b.active / hard * 100) + "%";
    var soft = el("div", "soft");
    soft.style.left = Math.min(100, b.soft_limit / hard * 100) + "%";
    bar.append(fill, soft);
    cell.append(label, bar);
    return cell;
  }

  function backendRow(b) {
    var tr = el("tr", b.routable ? "" : "out");
    tr.setAttribute("data-backend-id", b.id);
    var id = el("span", "id", b.id);
    var app = el("span", "sub", b.app + (b.healthy ? "" : " · disabled in store"));
    var where = el("span", "", b.region);
    var country = el("span", "sub", b.country === null ? "no country" : b.country);
    var cells = [
      [id, app],
      [where, country],
      [el("span", "addr", b.address)],
      [el("span", "", b.weight)],
      [loadBar(b)],
      [state(b.circuit, circuitTone(b.circuit))],
      [state(b.health_check, checkTone(b.health_check))]
    ];
    cells.forEach(function (content, i) {
      var td = el("td", i === 4 ? "load" : "");
      td.setAttribute("data-label", HEADERS[i]);
      var box = el("div"); // one grid item per cell in the phone layout
      box.append.apply(box, content);
      td.append(box);
      tr.append(td);
    });
    return tr;
  }

  function renderBackends(list) {
    var body = byId("backends").tBodies[0];
    body.replaceChildren.apply(body, list.map(backendRow));
    byId("backends").hidden = list.length === 0;
    byId("no-backends").hidden = list.length !== 0;
    byId("backend-count").textContent = "(" + list.length + ")";
  }

  function renderCluster(c) {
    byId("replication").textContent = c.replication;
    var detail = byId("cluster-detail");
    var pairs = [];
    Object.keys(c.detail || {}).forEach(function (k) {
      var v = c.detail[k];
      pairs.push(el("dt", "", DETAIL_LABELS[k] || k), el("dd", "", v === null ? "–" : v));
    });
    detail.replaceChildren.apply(detail, pairs);
    var pops = byId("pops");
    pops.hidden = c.pops.length === 0;
    pops.tBodies[0].replaceChildren.apply(pops.tBodies[0], c.pops.map(function (p) {
      var tr = el("tr");
      tr.setAttribute("data-pop-id", p.id);
      var id = el("td", "id", p.id);
      if (p.self) id.append(el("span", "sub", " (this POP)"));
      var link = el("td");
      link.append(state(p.state, p.link === "up" ? "good" : p.link === "down" ? "bad" : "none"));
      tr.append(id, el("td", "", p.region || "–"), link,
        el("td", "", p.last_seen_secs_ago === null || p.last_seen_secs_ago === undefined ? "–" : duration(Math.round(p.last_seen_secs_ago)) + " ago"),
        el("td", "", p.lag_secs === null || p.lag_secs === undefined ? "–" : p.lag_secs < 1 ? Math.round(p.lag_secs * 1000) + " ms" : p.lag_secs.toFixed(1) + " s"),
        el("td", "", p.outbox === null || p.outbox === undefined ? "–" : count(p.outbox)));
      return tr;
    }));
  }

  function live(ok, text) {
    var l = byId("live");
    l.className = "live " + (ok ? "on" : "off");
    l.textContent = text;
  }

  function render(r) {
    renderPop(r);
    renderTotals(r.totals);
    renderBackends(r.backends);
    renderCluster(r.cluster);
    live(true, "live");
  }

  function poll() {
    fetch("status.json", { cache: "no-store" })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
      .then(render)
      .catch(function (err) { live(false, "not updating (" + err.message + ")"); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;
