// The zone page, #/zones/<name>: its status in words, its masters or
// downstreams, charts of its last 24 hours, its recent events, the actions
// an operator takes on it, and (records.js) its records.  Everything comes
// from the API and is redrawn every 5 s; the records editor is left alone
// by the redraw (it is refreshed when it saves).

import { call } from "./api.js";
import { h, timeAgo, utc, healthBadge, notice, confirmDialog, table } from "./ui.js";
import { charts } from "./chart.js";
import { renderRecords } from "./records.js";

const EVERY_MS = 5000;
const EVENTS = 50;

// "13 d 4 h", "4 h 12 min", "12 min", "40 s": a span of seconds, two units at most.
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d) return hr ? `${d} d ${hr} h` : `${d} d`;
  if (hr) return min ? `${hr} h ${min} min` : `${hr} h`;
  if (min) return `${min} min`;
  return `${s} s`;
}

// "in 13 d 4 h" or "13 d 4 h ago" for an RFC 3339 time.
export function relative(rfc3339, now = Date.now()) {
  if (!rfc3339) return "never";
  const seconds = (Date.parse(rfc3339) - now) / 1000;
  return seconds >= 0 ? `in ${duration(seconds)}` : `${duration(-seconds)} ago`;
}

// A time in words, with the exact time as a tooltip and for machines.
function when(rfc3339, words = timeAgo(rfc3339)) {
  if (!rfc3339) return h("span", { class: "muted" }, "never");
  return h("time", { datetime: rfc3339, title: utc(rfc3339) }, words);
}

// An outcome {when, ok, detail}: "ok, 4 min ago" or "failed, 2 min ago: why".
function outcome(value) {
  if (!value) return h("span", { class: "muted" }, "none yet");
  return h(
    "span",
    { class: value.ok ? "outcome-ok" : "outcome-fail" },
    value.ok ? "ok, " : "failed, ",
    when(value.when),
    value.detail ? `: ${value.detail}` : "",
  );
}

function serialText(n) {
  return n === null || n === undefined ? "none" : String(n);
}

// One event in words (the API's /events fields: docs/api.rst).
export function describeEvent(e) {
  switch (e.type) {
    case "TransferSucceeded": {
      // An AXFR carries the SOA twice (first and last): the zone holds one record fewer (as the log says).
      const records = e.kind && e.kind.startsWith("AXFR") ? Math.max(0, e.records - 1) : e.records;
      return `${e.kind} from ${e.master}: serial ${serialText(e.serialFrom)} \u2192 ${e.serialTo}, ` +
        `${records} records, ${Number(e.seconds).toFixed(2)} s`;
    }
    case "TransferFailed":
      // The reason often names the master already ("192.0.2.1#53: no answer ..."): say it once.
      return `${e.master && !String(e.reason).startsWith(e.master) ? `from ${e.master}: ` : ""}${e.reason} (${e.failures} so far)` +
        (e.retryAt ? `; next try ${duration((Date.parse(e.retryAt) - Date.parse(e.time)) / 1000)} later` : "");
    case "NotifyFailed":
      return `NOTIFY of serial ${e.serial} to ${e.downstream} failed: ${e.reason}`;
    case "ZoneLoaded":
      return `serial ${serialText(e.previous)} \u2192 ${e.serial}, ${e.records} records from ${e.source}`;
    case "ZoneEdited":
      return `serial ${e.previous} \u2192 ${e.serial}, ${e.changes} record${e.changes === 1 ? "" : "s"} added or removed by ${e.source}`;
    case "LoadFailed":
      return e.serving === null || e.serving === undefined ? e.reason : `${e.reason}; still serving serial ${e.serving}`;
    case "ZoneExpired":
      return `expired (serial ${serialText(e.serial)}): no refresh has succeeded since ${e.lastSuccess ? utc(e.lastSuccess) : "it was loaded"}; answering SERVFAIL`;
    case "ZoneUnexpired":
      return `serving serial ${e.serial} again` + (e.master ? `, confirmed by ${e.master}` : "");
    case "RefreshRecovered":
      return `serial ${e.serial} confirmed by ${e.master}; refreshes succeed again`;
    case "ReloadFailed":
      return `reload of ${e.file} failed: ${e.reason}`;
    case "ZoneAdded":
    case "ZoneRemoved":
      return e.role ? `${e.role} zone` : "";
    default: {
      const { type, zone, time, ...rest } = e;
      return Object.entries(rest).map(([k, v]) => `${k} ${v}`).join(", ");
    }
  }
}

const EVENT_WORDS = {
  TransferSucceeded: "Transfer",
  TransferFailed: "Transfer failed",
  NotifyFailed: "NOTIFY failed",
  ZoneLoaded: "Loaded",
  ZoneEdited: "Edited",
  LoadFailed: "Load failed",
  ZoneExpired: "Expired",
  ZoneUnexpired: "Serving again",
  RefreshRecovered: "Refresh recovered",
  ReloadFailed: "Reload failed",
  ZoneAdded: "Added",
  ZoneRemoved: "Removed",
};

const FAILURES = new Set(["TransferFailed", "NotifyFailed", "LoadFailed", "ZoneExpired", "ReloadFailed"]);

function peerAddress(p) {
  return `${p.address}#${p.port}`;
}

// A status as a description list, in words.
function statusList(status, zone) {
  const rows = [];
  const add = (term, ...value) => rows.push(h("dt", {}, term), h("dd", {}, ...value));
  add("Health", healthBadge(status.health));
  add("Role", status.role, h("span", { class: "muted" }, ` (state: ${status.state})`));
  add("Serial", h("span", { "data-field": "serial" }, serialText(status.serial)));
  add("Records", h("span", { "data-field": "records" }, status.records === null ? "none" : String(status.records)));
  add("Last load", status.lastLoad ? outcome(status.lastLoad) : h("span", { class: "muted" }, "never"));
  if (status.role === "secondary") {
    add("Last refresh", when(status.lastRefresh));
    add("Transfers", `${status.transfersIn} in, ${status.transferFailures} failed`);
    add("Expires", status.expireAt ? when(status.expireAt, relative(status.expireAt)) : h("span", { class: "muted" }, "not loaded"));
  }
  if (status.lastFailure) {
    add("Last failure", when(status.lastFailure), status.failureReason ? `: ${status.failureReason}` : "");
  }
  add("Next event", status.nextEvent ? [`${status.nextEvent.what} `, when(status.nextEvent.when, relative(status.nextEvent.when))] : h("span", { class: "muted" }, "none"));
  add("Source", status.file ? h("code", {}, status.file) : status.role === "secondary" ? "its masters" : "dynamic (kept by secdns, edited through the API)");
  add("Declared in", status.declaredIn ? h("code", {}, status.declaredIn) : "made through the API");
  if (zone && zone.timeCreated) add("Created", when(zone.timeCreated));
  return h("dl", { class: "status-list" }, ...rows);
}

function keyName(id, keys) {
  if (!id) return h("span", { class: "muted" }, "none");
  return keys.get(id) || id;
}

function peerKey(list, p) {
  const entry = (list || []).find((m) => m.address === p.address && (m.port ?? 53) === p.port);
  return entry ? entry.tsigKeyId : null;
}

// The tables take `ctx` ({zone, keys}: the zone's config and the key names,
// read at each poll) so that they can be drawn once and given new rows.
function mastersTable(ctx, rows) {
  return table(
    [
      { key: "address", label: "Master", render: peerAddress },
      { key: "key", label: "TSIG key", render: (m) => keyName(peerKey(ctx.zone && ctx.zone.externalMasters, m), ctx.keys) },
      { key: "reachable", label: "Reachable", render: (m) => (m.reachable === null ? "not asked yet" : m.reachable ? "yes" : "no") },
      { key: "lastSuccess", label: "Last success", render: (m) => when(m.lastSuccess) },
      { key: "lastFailure", label: "Last failure", render: (m) => (m.lastFailure ? [when(m.lastFailure), m.lastError ? `: ${m.lastError}` : ""] : when(null)) },
      { key: "lastSerial", label: "Last serial", render: (m) => serialText(m.lastSerial) },
    ],
    rows,
    { id: "masters-table", rowName: peerAddress, empty: "No masters." },
  );
}

function downstreamsTable(ctx, rows) {
  return table(
    [
      { key: "address", label: "Downstream", render: peerAddress },
      { key: "key", label: "TSIG key", render: (d) => keyName(peerKey(ctx.zone && ctx.zone.externalDownstreams, d), ctx.keys) },
      { key: "lastNotify", label: "Last NOTIFY", render: (d) => outcome(d.lastNotify) },
      { key: "lastTransfer", label: "Last transfer", render: (d) => outcome(d.lastTransfer) },
    ],
    rows,
    { id: "downstreams-table", rowName: peerAddress, empty: "No downstreams: nobody is notified of changes." },
  );
}

function eventsTable(ctx, rows) {
  return table(
    [
      { key: "time", label: "When", render: (e) => when(e.time) },
      { key: "type", label: "Event", render: (e) => h("span", { class: FAILURES.has(e.type) ? "outcome-fail" : "" }, EVENT_WORDS[e.type] || e.type) },
      { key: "details", label: "Details", render: describeEvent },
    ],
    rows,
    { id: "events-table", rowName: (e) => e.type, empty: "No events since secdns started." },
  );
}

// A table drawn into `box` once, then given new rows at each poll (so a
// sort chosen and the focus on its headers survive the refresh).
function liveTable(box, make, ctx) {
  let inner = null;
  return (rows) => {
    if (inner && box.contains(inner)) {
      inner.update(rows);
      return;
    }
    const made = make(ctx, rows); // ui.table() gives the <table> (older: its scrolling box)
    inner = made.tagName === "TABLE" ? made : made.querySelector("table");
    inner.classList.add("cards"); // a card per row on narrow screens (console.css)
    box.replaceChildren(made.tagName === "TABLE" ? h("div", { class: "table-wrap" }, made) : made);
  };
}

function section(id, title, ...children) {
  const heading = h("h2", { id: `${id}-title` }, title);
  return h("section", { id, class: "zone-section", "aria-labelledby": heading.id }, heading, ...children);
}

export async function render(view, params) {
  const name = params[0];
  const path = `/zones/${encodeURIComponent(name)}`;
  const badge = h("span", { class: "zone-health" });
  const declared = h("p", { class: "declared", hidden: true });
  const actions = h("div", { class: "actions zone-actions", role: "group", "aria-label": "Zone actions" });
  const statusBox = h("div", { class: "zone-status", "aria-live": "off" }, h("p", { class: "muted" }, "Loading\u2026"));
  const mastersBox = h("div", {});
  const downstreamsTitle = h("h3", { hidden: true }, "Downstreams");
  const downstreamsBox = h("div", {});
  const peersBox = h("div", {}, mastersBox, downstreamsTitle, downstreamsBox);
  const problem = h("p", { class: "form-error", hidden: true });
  const chartBox = h("div", { class: "zone-charts" });
  const eventsBox = h("div", {});
  const recordsBox = h("div", {});
  const peersSection = section("zone-peers", "Masters", peersBox);
  view.append(
    h("p", { class: "breadcrumb" }, h("a", { href: "#/zones" }, "Zones"), " / "),
    h("div", { class: "zone-head" }, h("h1", { class: "zone-title" }, name), badge),
    declared,
    actions,
    section("zone-status", "Status", problem, statusBox),
    peersSection,
    section("zone-charts", "Last 24 hours", chartBox),
    section("zone-events", "Recent events", eventsBox),
    section("zone-records", "Records", recordsBox),
  );

  let stopped = false;
  let timer = null;
  let busy = null;
  const ctx = { zone: null, keys: new Map() };
  const showMasters = liveTable(mastersBox, mastersTable, ctx);
  const showDownstreams = liveTable(downstreamsBox, downstreamsTable, ctx);
  const showEvents = liveTable(eventsBox, eventsTable, ctx);
  let records = null;
  let actionsShown = false;

  async function loadKeys() {
    try {
      const { data } = await call("GET", "/tsigKeys", { query: { limit: 1000 } });
      ctx.keys = new Map((data || []).map((k) => [k.id, k.name]));
    } catch (e) {
      /* names only; ids are shown instead */
    }
  }

  function showActions(status, zone) {
    actionsShown = true;
    const secondary = status.role === "secondary";
    const act = (label, action, words) =>
      h("button", { type: "button", "data-action": action, onClick: (ev) => run(ev.currentTarget, action, words) }, label);
    if (secondary) {
      actions.append(
        act("Refresh", "refresh", "refresh (ask its masters for their serial now)"),
        act("Retransfer", "retransfer", "retransfer (AXFR now)"),
      );
    }
    actions.append(act("Notify downstreams", "notify", "NOTIFY its downstreams"));
    if (status.declaredIn) {
      declared.hidden = false;
      declared.replaceChildren(
        "Declared in ", h("code", {}, status.declaredIn),
        ": it cannot be changed or deleted here; change it in that file and reload secdns (SIGHUP).",
      );
    } else {
      actions.append(h("button", { type: "button", class: "danger", "data-action": "delete", onClick: remove }, "Delete zone"));
    }
  }

  async function run(button, action, words) {
    button.disabled = true;
    try {
      const { data } = await call("POST", `${path}/actions/${action}`);
      if (action === "notify") {
        const n = data && data.downstreams;
        notice(`Zone ${name}: NOTIFY sent to ${n} downstream${n === 1 ? "" : "s"}; the outcome shows below.`, "ok");
      } else {
        notice(`Zone ${name}: asked to ${words}; the outcome shows in the status and the events below.`, "ok");
      }
      poll();
      setTimeout(poll, 1000); // the outcome usually lands within a second
    } catch (e) {
      notice(`Zone ${name}: ${action} refused: ${e.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function remove() {
    const yes = await confirmDialog(
      `Delete zone ${name}? secdns stops serving it and forgets its records and journal. This cannot be undone.`,
      { confirm: `Delete ${name}` },
    );
    if (!yes) return;
    try {
      await call("DELETE", path);
      notice(`Zone ${name} deleted.`, "ok");
      stopped = true;
      location.hash = "#/zones";
    } catch (e) {
      notice(`Zone ${name} not deleted: ${e.message}`, "error");
    }
  }

  async function refreshOnce() {
    const [status, zone, events, history] = await Promise.allSettled([
      call("GET", `${path}/status`),
      call("GET", path),
      call("GET", "/events", { query: { zone: name, limit: EVENTS } }),
      call("GET", `${path}/metricHistory`, { query: { minutes: 1440 } }),
    ]);
    if (stopped) return;
    if (status.status === "rejected") {
      const e = status.reason;
      if (e.status === 404) {
        stopped = true;
        statusBox.replaceChildren(h("p", { class: "form-error" }, `No zone named ${name}. `, h("a", { href: "#/zones" }, "Back to the zones")));
        for (const box of [peersBox, chartBox, eventsBox, recordsBox]) box.replaceChildren();
        problem.hidden = true;
        actions.replaceChildren();
        return;
      }
      problem.textContent = `Status not read: ${e.message}`;
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    const s = status.value.data;
    const z = zone.status === "fulfilled" ? zone.value.data : null;
    const secondary = s.role === "secondary";
    const wanted = [...(z ? z.externalMasters || [] : []), ...(z ? z.externalDownstreams || [] : [])]
      .map((p) => p.tsigKeyId).filter(Boolean);
    if (wanted.some((id) => !ctx.keys.has(id))) await loadKeys();
    if (stopped) return;
    ctx.zone = z;
    badge.replaceChildren(healthBadge(s.health));
    statusBox.replaceChildren(statusList(s, z));
    peersSection.querySelector("h2").textContent = secondary ? "Masters" : "Downstreams";
    mastersBox.hidden = !secondary;
    if (secondary) showMasters(s.masters);
    downstreamsTitle.hidden = !(secondary && s.downstreams.length);
    downstreamsBox.hidden = secondary && !s.downstreams.length;
    if (!downstreamsBox.hidden) showDownstreams(s.downstreams);
    if (history.status === "fulfilled") {
      chartBox.replaceChildren(...charts(history.value.data, { secondary }));
    } else {
      chartBox.replaceChildren(h("p", { class: "muted" }, `History not read: ${history.reason.message}`));
    }
    if (events.status === "fulfilled") showEvents((events.value.data || []).slice().reverse()); // the API gives them oldest first
    else eventsBox.replaceChildren(h("p", { class: "muted" }, `Events not read: ${events.reason.message}`));
    if (!actionsShown) showActions(s, z);
    if (records && s.serial !== null && s.serial !== records.serial()) {
      records.reload(); // a new version came (a transfer, an UPDATE, another operator)
    } else if (!records) {
      const editable = s.role === "primary" && !s.file && !s.declaredIn;
      let why = null;
      if (secondary) why = "A secondary zone's records come from its masters: read-only here.";
      else if (s.file) why = `Read from the zone file ${s.file}: edit the file and reload secdns.`;
      else if (s.declaredIn) why = `Declared in ${s.declaredIn}: read-only here.`;
      records = renderRecords(recordsBox, name, { editable, why, onChange: poll });
    }
  }

  // One poll at a time; a poll asked for while one runs is the running one.
  function poll() {
    if (stopped) return Promise.resolve();
    if (!busy) {
      busy = refreshOnce()
        .catch((e) => notice(`Zone ${name}: ${e.message}`, "error"))
        .finally(() => { busy = null; });
    }
    return busy;
  }

  await loadKeys();
  await poll();
  timer = setInterval(poll, EVERY_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
