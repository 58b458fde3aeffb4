// The web console's page (GET /): static HTML and CSS, no framework, nothing fetched from
// outside the node. The script that fills it (GET /console.js) is built from
// packages/server/console/console-app.ts; the element ids below are what it fills.

const STYLE = `
:root { --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff;
  --ok: #1f9d55; --warn: #d97706; --bad: #dc2626; --accent: #2563eb; --voter: #93b4f5; --learner: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #101828; color: #fff; }
header h1 { font-size: 16px; margin: 0; letter-spacing: .5px; }
header .meta { color: #98a2b3; margin-left: auto; }
main { padding: 16px 20px; display: grid; gap: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
h2 { font-size: 14px; margin: 0 0 8px; }
h2 small { color: var(--muted); font-weight: normal; }
#banner { margin: 12px 20px 0; padding: 8px 12px; border-radius: 6px; background: #fef2f2; color: var(--bad); border: 1px solid #fecaca; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; position: sticky; top: 0; background: var(--card); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 420px; overflow: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.badge.live, .badge.ok, .badge.healthy { background: var(--ok); }
.badge.suspect, .badge.under-replicated, .badge.degraded { background: var(--warn); }
.badge.dead, .badge.unavailable { background: var(--bad); }
tr.dead td { color: var(--muted); }
.bar { display: inline-block; width: 80px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; vertical-align: middle; margin-right: 6px; }
.bar i { display: block; height: 100%; background: var(--accent); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.chart .title { display: flex; justify-content: space-between; color: var(--muted); font-size: 12px; }
.chart .title b { color: var(--fg); font-size: 14px; }
.chart svg { display: block; width: 100%; height: 90px; }
.chart svg path.line { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart svg path.area { fill: rgba(37, 99, 235, .08); stroke: none; }
.chart svg line { stroke: var(--line); vector-effect: non-scaling-stroke; }
.chart .axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 11px; }
#range-map { width: auto; }
#range-map td.cell { width: 30px; text-align: center; padding: 2px; }
#range-map td.cell span { display: inline-block; width: 22px; height: 16px; line-height: 16px; border-radius: 3px; font-size: 10px; font-weight: 700; }
#range-map span.voter { background: var(--voter); }
#range-map span.learner { background: var(--learner); border: 1px dashed var(--accent); }
#range-map span.leader { background: var(--accent); color: #fff; }
#range-map th.dead, #range-map td.dead { background: repeating-linear-gradient(45deg, #fff, #fff 4px, #fee2e2 4px, #fee2e2 8px); }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.legend span { display: inline-block; width: 14px; height: 10px; border-radius: 2px; vertical-align: middle; margin: 0 4px 0 10px; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
.two { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; background: none; border: 0; padding: 0; }
@media (max-width: 1000px) { .two { grid-template-columns: minmax(0, 1fr); } }
`

/** The console's HTML document, served at GET /. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mrdb console</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>mrdb console</h1>
  <span id="cluster-status" class="badge">loading</span>
  <span class="meta"><span id="served-by"></span> · <span id="updated">not updated yet</span></span>
</header>
<div id="banner" hidden></div>
<main>
  <section class="cards" id="overview">
    <div class="card"><div class="label">Stores live</div><div class="value" id="stores-live">–</div></div>
    <div class="card"><div class="label">Ranges</div><div class="value" id="range-count">–</div></div>
    <div class="card"><div class="label">Unavailable ranges</div><div class="value" id="ranges-unavailable">–</div></div>
    <div class="card"><div class="label">Under-replicated ranges</div><div class="value" id="ranges-under-replicated">–</div></div>
    <div class="card"><div class="label">Placement driver leader</div><div class="value" id="pd-leader">–</div></div>
  </section>
  <section>
    <h2>Stores <small>liveness as the placement driver's leader sees it</small></h2>
    <table id="stores">
      <thead><tr><th>Store</th><th>Address</th><th>Liveness</th><th class="num">Last heartbeat</th><th>State</th><th>Disk used</th><th class="num">Replicas</th><th class="num">Leaders</th><th>PD replica</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Metrics <small id="metrics-source">of this node, the last 5 minutes</small></h2>
    <div class="charts" id="charts"></div>
  </section>
  <div class="two">
    <section>
      <h2>Range map <small>which store holds what</small></h2>
      <div class="scroll"><table id="range-map"><thead></thead><tbody></tbody></table></div>
      <p class="legend"><span style="background: var(--accent)"></span>leader<span style="background: var(--voter)"></span>voter<span style="border: 1px dashed var(--accent)"></span>learner<span style="background: #fee2e2"></span>store not live</p>
    </section>
    <section>
      <h2>Ranges <small id="ranges-shown"></small></h2>
      <div class="scroll">
        <table id="ranges">
          <thead><tr><th class="num">Range</th><th>Start</th><th>End</th><th>Replicas</th><th class="num">Leader</th><th class="num">QPS</th><th class="num">Size</th><th class="num">Keys</th><th>Status</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
    </section>
  </div>
</main>
<script type="module" src="/console.js"></script>
</body>
</html>
`
