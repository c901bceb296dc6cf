// The status page's stylesheet: one column on a phone (the backend table turns into cards), the
// table on wider screens; light and dark follow the system.
export const STATUS_CSS = `:root {
  --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6572; --card: #fff; --line: #d9dde3;
  --ok: #1a7f37; --warn: #b35900; --bad: #cf222e; --bar: #e6e9ee; --accent: #0969da;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --card: #161b22; --line: #30363d;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --bar: #21262d; --accent: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 24px 0 8px; }
.meta, footer, .count { color: var(--muted); }
.meta { margin: 4px 0 0; overflow-wrap: anywhere; }
footer { padding-top: 24px; padding-bottom: 24px; font-size: .9rem; }
a { color: var(--accent); }
.tag { display: inline-block; padding: 0 8px; border-radius: 10px; background: var(--bar); font-size: .9rem; vertical-align: middle; }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin: 0 4px 0 8px; background: var(--muted); }
.live.on::before { background: var(--ok); }
.live.off::before { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 0; }
.cards div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.cards dt { color: var(--muted); font-size: .85rem; }
.cards dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.pairs { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
.pairs dt { color: var(--muted); }
.pairs dd { margin: 0; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
th, td { text-align: left; padding: 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .85rem; }
tbody tr:last-child td { border-bottom: 0; }
td { font-variant-numeric: tabular-nums; }
.id { font-weight: 600; overflow-wrap: anywhere; }
.sub { display: block; color: var(--muted); font-size: .85rem; font-weight: normal; }
.addr { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; overflow-wrap: anywhere; }
.load { min-width: 180px; }
.bar { position: relative; height: 10px; border-radius: 5px; background: var(--bar); overflow: hidden; margin-top: 4px; }
.bar .fill { position: absolute; inset: 0 auto 0 0; width: 0; background: var(--ok); transition: width .3s; }
.bar .fill.warn { background: var(--warn); }
.bar .fill.full { background: var(--bad); }
.bar .soft { position: absolute; top: 0; bottom: 0; width: 2px; background: var(--fg); opacity: .55; }
.limits { color: var(--muted); font-size: .85rem; }
.state { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: .85rem; border: 1px solid currentColor; }
.state.good { color: var(--ok); }
.state.warn { color: var(--warn); }
.state.bad { color: var(--bad); }
.state.none { color: var(--muted); }
tr.out .id { text-decoration: line-through; text-decoration-color: var(--bad); }
.empty { color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
@media (max-width: 700px) {
  .cards { grid-template-columns: repeat(3, 1fr); gap: 6px; }
  .cards div { padding: 6px 8px; }
  .cards dt { font-size: .75rem; }
  .cards dd { font-size: 1.05rem; }
  #backends, #backends tbody, #backends tr, #backends td { display: block; }
  #backends thead { display: none; }
  #backends { background: none; border: 0; }
  #backends tr { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 8px; padding: 4px 0; }
  #backends td { border: 0; padding: 4px 12px; display: grid; grid-template-columns: 110px 1fr; gap: 8px; }
  #backends td::before { content: attr(data-label); color: var(--muted); font-size: .85rem; }
  .load { min-width: 0; }
}
`;
