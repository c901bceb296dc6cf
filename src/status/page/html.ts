// The status page's document. Static: every value arrives through status.json and is written with
// textContent by status.js, so nothing from the routing store is ever parsed as HTML. Relative URLs,
// so the page also works behind a reverse proxy that mounts it under a prefix.
export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>edgeProxy status</title>
<link rel="stylesheet" href="status.css">
<script src="status.js" defer></script>
</head>
<body>
<header>
  <h1>edgeProxy <span id="pop-region" class="tag"></span></h1>
  <p class="meta"><span id="pop-meta">loading…</span> <span id="live" class="live" role="status">connecting</span></p>
</header>
<main>
  <section aria-labelledby="totals-title">
    <h2 id="totals-title">Traffic</h2>
    <dl id="totals" class="cards"></dl>
  </section>
  <section aria-labelledby="backends-title">
    <h2 id="backends-title">Backends <span id="backend-count" class="count"></span></h2>
    <table id="backends">
      <thead><tr><th>Backend</th><th>Region</th><th>Address</th><th>Weight</th><th>Active connections</th><th>Circuit</th><th>Health check</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-backends" class="empty" hidden>No backend in the route table. Add one with <code>edgeproxy node add &lt;id&gt; &lt;region&gt; &lt;ip&gt; [port]</code>.</p>
  </section>
  <section aria-labelledby="cluster-title">
    <h2 id="cluster-title">POPs and replication</h2>
    <p>Replication: <strong id="replication">…</strong></p>
    <dl id="cluster-detail" class="pairs"></dl>
    <table id="pops" hidden>
      <thead><tr><th>POP</th><th>Region</th><th>State</th><th>Last heard</th><th>Lag</th><th>Outbox</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <noscript><p>This page updates itself with JavaScript; the same data is at <a href="status.json">status.json</a>.</p></noscript>
</main>
<footer><a href="status.json">status.json</a> · <a href="health">health</a></footer>
</body>
</html>
`;
