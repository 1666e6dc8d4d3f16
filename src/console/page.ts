/**
 * The console's page: one self-contained HTML document (no framework, no file to load), kept
 * in a string so that `bun build --compile` carries it inside the executable. It listens to
 * `/events` (server-sent events) and redraws on each snapshot.
 *
 * @module
 */

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; background: #0f1419; color: #d7dde4; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 18px 0 6px; color: #9fb3c8; }
#meta { color: #8a99a8; } #meta b { color: #d7dde4; }
.flow { display: grid; grid-template-columns: repeat(6, 1fr); gap: 8px 12px; }
.step { border: 1px solid #2b3a4a; border-radius: 6px; padding: 6px 8px; background: #16202a; transition: background 0.2s;
  position: relative; }
.step::after { content: "→"; position: absolute; right: -9px; top: 38%; color: #6cb6ff; font-weight: bold; }
.step:nth-child(6)::after { content: "↵"; } .step:last-child::after { content: "↺ 4"; right: -30px; }
.step .n { font-weight: bold; color: #6cb6ff; } .step .d { color: #8a99a8; font-size: 11px; min-height: 30px; }
.step .r { font-variant-numeric: tabular-nums; font-weight: bold; }
.step.fired { border-color: #6cb6ff; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #223040; }
#tasks td { white-space: nowrap; }
th { color: #9fb3c8; font-weight: normal; }
.idle { color: #8a99a8; } .scheduled { color: #e3b341; } .running { color: #56d364; } .done { color: #6e7681; }
.happened { color: #e3b341; } .awaited { color: #6cb6ff; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
.cols > div { overflow-x: auto; }
canvas { background: #16202a; border: 1px solid #2b3a4a; border-radius: 6px; width: 100%; height: 160px; }
.legend span { margin-right: 14px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
#warnings li { margin: 4px 0; } #warnings .what { color: #8a99a8; }
.warning { color: #f85149; } #none { color: #56d364; }
#status.down { color: #f85149; }
`;

const SCRIPT = `
const STEPS = [null,
  ["spawn", "main() spawns a task"], ["poll", "executor takes a task and polls it"],
  ["await", "the task awaits a future"], ["try-io", "the I/O future tries its system call"],
  ["reactor-poll", "would block: it asks the reactor"], ["waker-stored", "the reactor stores the waker"],
  ["pending", "the executor parks the task"], ["os-event", "the OS reports readiness"],
  ["happened", "the reactor marks it Happened"], ["wake", "the waker requeues the task"],
  ["re-poll / ready", "polled again; it completes"]];
const ADVICE = {
  "self-wake": "It yields or wakes its own waker instead of waiting for an event: it burns CPU and delays " +
    "the others. Wait on a socket, a timer or a join instead of polling in a loop.",
  "lost-wake": "A future returned pending without storing cx.waker anywhere (reactor, timer, join, promise): " +
    "nothing will ever poll it again. Store the waker before returning PENDING.",
  "long-poll": "One poll ran over 10 ms without yielding: every other task and the sockets waited. " +
    "Split the work (yieldNow) or move it to a worker thread."
};
const COLORS = ["#6cb6ff", "#56d364", "#f85149", "#e3b341", "#d2a8ff", "#ff9bce", "#79c0ff"];
let previous = null;

function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  for (const child of children || []) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function ms(value) {
  if (value === null || value === undefined) return "-";
  return value < 1 ? value.toFixed(3) + " ms" : value < 1000 ? value.toFixed(1) + " ms" : (value / 1000).toFixed(1) + " s";
}
function perSecond(value) { return value >= 100 ? value.toFixed(0) : value.toFixed(1); }

function buildFlow() {
  const flow = document.getElementById("flow");
  for (let step = 1; step <= 11; step++) {
    flow.append(el("div", { class: "step", id: "step-" + step }, [
      el("div", {}, [el("span", { class: "n" }, [step + " "]), STEPS[step][0]]),
      el("div", { class: "d" }, [STEPS[step][1]]),
      el("div", { class: "r" }, ["0 /s"])]));
  }
}

function drawFlow(snapshot) {
  const seconds = previous === null ? 0 : (snapshot.at - previous.at) / 1000;
  let max = 1;
  const rates = [];
  for (let step = 1; step <= 11; step++) {
    const rate = seconds > 0 ? (snapshot.steps[step] - previous.steps[step]) / seconds : 0;
    rates[step] = rate;
    max = Math.max(max, rate);
  }
  for (let step = 1; step <= 11; step++) {
    const box = document.getElementById("step-" + step);
    const heat = rates[step] > 0 ? 0.15 + 0.6 * Math.log1p(rates[step]) / Math.log1p(max) : 0;
    box.style.background = "rgba(108, 182, 255, " + heat.toFixed(2) + ")";
    box.classList.toggle("fired", rates[step] > 0);
    box.querySelector(".r").textContent = perSecond(rates[step]) + " /s";
  }
}

function direction(view) {
  if (view.status !== "awaited") return el("span", { class: view.status }, [view.status]);
  const tasks = view.tasks.map((id) => id === 0 ? "(no task)" : "task " + id);
  return el("span", { class: "awaited" }, ["awaited by " + tasks.join(", ")]);
}

function drawTables(snapshot) {
  document.getElementById("tasks").replaceChildren(...snapshot.tasks.map((task) => el("tr", { "data-task": task.id }, [
    el("td", {}, [task.id]), el("td", { class: "name" }, [task.name]), el("td", { class: "state " + task.state }, [task.state]),
    el("td", { class: "polls" }, [task.polls]), el("td", {}, [ms(task.busyMs)]), el("td", {}, [ms(task.sinceLastPollMs)]),
    el("td", { class: "wake" }, [task.lastWake || "-"]), el("td", {}, [task.selfWakes])])));
  document.getElementById("reactor").replaceChildren(...snapshot.reactor.map((entry) => el("tr", { "data-token": entry.token }, [
    el("td", { class: "token" }, [entry.token]), el("td", {}, [entry.fd]), el("td", { class: "owner" }, [entry.owner]),
    el("td", { class: "read" }, [direction(entry.read)]), el("td", { class: "write" }, [direction(entry.write)])])));
  const timers = snapshot.timers;
  document.getElementById("meta").replaceChildren(
    "driver ", el("b", {}, [snapshot.driver]), " · backend ", el("b", {}, [snapshot.backend]),
    " · timers ", el("b", { id: "timer-count" }, [timers.count]),
    " · next deadline ", el("b", {}, [timers.nextInMs === null ? "none" : "in " + ms(timers.nextInMs)]),
    " · tasks ", el("b", { id: "tasks-alive" }, [snapshot.tasksAlive]),
    " · registrations ", el("b", {}, [snapshot.registrations]),
    snapshot.tasksAlive > snapshot.tasks.filter((task) => task.state !== "done").length ||
      snapshot.registrations > snapshot.reactor.length ? " (the first 500 of each are listed)" : "");
  const warnings = document.getElementById("warnings");
  // The advice once per kind of warning, under its first one.
  const advised = new Set();
  if (snapshot.warnings.length === 0) warnings.replaceChildren(el("li", { id: "none" }, ["none"]));
  else warnings.replaceChildren(...snapshot.warnings.map((warning) => {
    const advice = advised.has(warning.kind) ? [] : [el("div", { class: "what" }, [ADVICE[warning.kind]])];
    advised.add(warning.kind);
    return el("li", { class: "warning " + warning.kind, "data-task": warning.task }, [
      el("b", {}, [warning.kind + ": "]), warning.message, ...advice]);
  }));
}

function chart(canvas, history, series) {
  const width = canvas.width = canvas.clientWidth * devicePixelRatio;
  const height = canvas.height = canvas.clientHeight * devicePixelRatio;
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, width, height);
  let max = 1;
  for (const sample of history) for (const name of series) max = Math.max(max, sample.rates[name] || 0);
  series.forEach((name, index) => {
    // The first series drawn wider: in and out are often equal, and the second would hide it.
    g.lineWidth = (index === 0 ? 5 : 2) * devicePixelRatio;
    g.strokeStyle = COLORS[index % COLORS.length];
    g.beginPath();
    history.forEach((sample, i) => {
      const x = width - (history.length - 1 - i) * width / 59;
      const y = height - 4 - (sample.rates[name] || 0) / max * (height - 20);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  });
  g.fillStyle = "#8a99a8";
  g.font = (11 * devicePixelRatio) + "px sans-serif";
  g.fillText("max " + perSecond(max) + "/s · last minute", 6 * devicePixelRatio, 14 * devicePixelRatio);
}

function legend(id, history, series) {
  const last = history[history.length - 1];
  document.getElementById(id).replaceChildren(...series.map((name, index) => el("span", { "data-series": name }, [
    el("i", { style: "background:" + COLORS[index % COLORS.length] }),
    name + " " + (last ? perSecond(last.rates[name] || 0) : "0") + "/s"])));
}

function drawMetrics(snapshot) {
  const section = document.getElementById("metrics");
  if (snapshot.metrics === null) { section.hidden = true; return; }
  section.hidden = false;
  const names = Object.keys(snapshot.metrics);
  const datagrams = names.filter((name) => name === "datagramsIn" || name === "datagramsOut");
  const bytes = names.filter((name) => name === "bytesIn" || name === "bytesOut");
  const drops = names.filter((name) => name.startsWith("dropped"));
  chart(document.getElementById("datagrams"), snapshot.history, datagrams);
  chart(document.getElementById("bytes"), snapshot.history, bytes);
  chart(document.getElementById("drops"), snapshot.history, drops);
  legend("datagrams-legend", snapshot.history, datagrams);
  legend("bytes-legend", snapshot.history, bytes);
  legend("drops-legend", snapshot.history, drops);
}

function connect() {
  const status = document.getElementById("status");
  const events = new EventSource("/events");
  events.onopen = () => { status.textContent = "live"; status.className = ""; };
  events.onerror = () => {
    status.className = "down";
    // Closed for good: the server answered with an error, such as 503 when too many pages watch.
    if (events.readyState === EventSource.CLOSED) {
      status.textContent = "refused by the server (too many viewers?): reload to try again";
    } else {
      status.textContent = "disconnected: retrying";
    }
  };
  events.onmessage = (message) => {
    const snapshot = JSON.parse(message.data);
    if (snapshot === null) return;
    drawFlow(snapshot);
    drawTables(snapshot);
    drawMetrics(snapshot);
    previous = snapshot;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  };
}
buildFlow();
connect();
`;

/** The console's page. */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>bun-reactor console</title><style>${STYLE}</style></head>
<body>
<h1>bun-reactor console <small id="status">connecting…</small></h1>
<div id="meta"></div>
<h2>The flow: each step's rate, lit while it fires</h2>
<div class="flow" id="flow"></div>
<div class="cols">
<div><h2>Tasks</h2><table><thead><tr><th>id</th><th>name</th><th>state</th><th>polls</th><th>busy</th>
<th>since poll</th><th>woken by</th><th>self</th></tr></thead><tbody id="tasks"></tbody></table></div>
<div><h2>Reactor</h2><table><thead><tr><th>token</th><th>fd</th><th>owner</th><th>read</th><th>write</th></tr></thead>
<tbody id="reactor"></tbody></table>
<h2>Warnings</h2><ul id="warnings"></ul></div>
</div>
<section id="metrics" hidden>
<div class="cols">
<div><h2>Datagrams per second</h2><canvas id="datagrams"></canvas><div class="legend" id="datagrams-legend"></div></div>
<div><h2>Bytes per second</h2><canvas id="bytes"></canvas><div class="legend" id="bytes-legend"></div></div>
</div>
<h2>Drops per second, by reason</h2><canvas id="drops"></canvas><div class="legend" id="drops-legend"></div>
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
