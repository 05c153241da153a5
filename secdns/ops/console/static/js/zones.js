// #/zones: every zone's health at a glance, from GET /zoneStatuses.
// Filter and sort in the page; the rows refresh every 5 s in place
// (filter, sort and focus are kept).

import { call } from "./api.js";
import { HEALTH_WORDS, field, h, healthBadge, scroller, table, timeAgo, utc } from "./ui.js";

const REFRESH_MS = 5000;
const PAGE = 1000;

// Kept across visits to the page (not across reloads).
const state = { text: "", health: "", sort: { key: "name", dir: "asc" } };

// Every zone, following opc-next-page.
async function allStatuses() {
  const rows = [];
  let page;
  for (let i = 0; i < 50; i++) {
    const { data, headers } = await call("GET", "/zoneStatuses", { query: { limit: PAGE, page } });
    rows.push(...(data || []));
    page = headers.get("opc-next-page");
    if (!page) break;
  }
  return rows;
}

export function hours(value) {
  if (value === null || value === undefined) return "";
  const n = Number(value);
  if (n <= 0) return "0 h (expired)";
  return n < 10 ? `${n.toFixed(1)} h` : `${Math.round(n)} h`;
}

function zoneLink(row) {
  const link = h("a", { href: `#/zones/${encodeURIComponent(row.name)}`, class: "zone-link" }, row.name);
  if (!row.declaredIn) return link;
  return [link, h("div", { class: "hint" }, `declared in ${row.declaredIn} (read-only)`)];
}

const COLUMNS = [
  { key: "name", label: "Name", render: zoneLink },
  { key: "zoneType", label: "Type", render: (r) => (r.zoneType === "SECONDARY" ? "Secondary" : "Primary") },
  {
    key: "health",
    label: "Health",
    render: (r) => healthBadge(r.health),
    value: (r) => Object.keys(HEALTH_WORDS).indexOf(r.health),
  },
  { key: "serial", label: "Serial", class: "num", render: (r) => (r.serial === null || r.serial === undefined ? "\u2014" : String(r.serial)) },
  { key: "records", label: "Records", class: "num", render: (r) => (r.records === null || r.records === undefined ? "\u2014" : String(r.records)) },
  {
    key: "lastTransfer",
    label: "Last transfer",
    value: (r) => (r.lastTransfer ? -Date.parse(r.lastTransfer) : null),
    render: (r) => (r.lastTransfer ? h("time", { datetime: r.lastTransfer, title: utc(r.lastTransfer) }, timeAgo(r.lastTransfer)) : h("span", { class: "muted" }, "never")),
  },
  {
    key: "expiresInHours",
    label: "Expires in",
    class: "num",
    render: (r) => (r.zoneType === "SECONDARY" ? hours(r.expiresInHours) || "\u2014" : h("span", { class: "muted" }, "n/a")),
  },
  { key: "lastError", label: "Last error", class: "error-text", render: (r) => r.lastError || "" },
];

function matches(row) {
  if (state.health && row.health !== state.health) return false;
  if (state.text && !row.name.toLowerCase().includes(state.text.toLowerCase().replace(/\.$/, ""))) return false;
  return true;
}

function summary(rows) {
  if (!rows.length) return "No zones yet.";
  const counts = {};
  for (const r of rows) counts[r.health] = (counts[r.health] || 0) + 1;
  const parts = Object.keys(HEALTH_WORDS)
    .filter((k) => counts[k])
    .map((k) => `${counts[k]} ${HEALTH_WORDS[k]}`);
  return `${rows.length} zone${rows.length === 1 ? "" : "s"}: ${parts.join(", ")}.`;
}

export async function render(view) {
  let rows = await allStatuses();

  const text = h("input", { type: "search", name: "nameContains", value: state.text, autocomplete: "off", spellcheck: "false" });
  const health = h(
    "select",
    { name: "health" },
    h("option", { value: "" }, "Any health"),
    ...Object.entries(HEALTH_WORDS).map(([value, words]) => h("option", { value, selected: state.health === value }, words)),
  );
  const counts = h("p", { class: "muted", id: "zones-summary", "aria-live": "polite" });
  const stale = h("p", { class: "field-error", role: "status", hidden: true });
  const grid = table(COLUMNS, [], {
    sortable: true,
    id: "zones-table",
    sort: state.sort,
    onSort: (key, dir) => {
      state.sort = { key, dir };
    },
    empty: "No zone matches the filter.",
  });
  grid.classList.add("cards");
  grid.setAttribute("aria-describedby", counts.id);

  function paint() {
    const shown = rows.filter(matches);
    grid.update(shown);
    const filtered = shown.length !== rows.length ? ` Showing ${shown.length}.` : "";
    const said = summary(rows) + filtered;
    if (counts.textContent !== said) counts.textContent = said; // aria-live: only news is announced
    if (!rows.length) {
      grid.querySelector("tr.empty td").replaceChildren("No zones yet: ", h("a", { href: "#/create" }, "create one"), ".");
    }
  }

  // Repaint keeping the keyboard focus on the same row's link.
  function repaintKeepingFocus() {
    const active = document.activeElement;
    const row = active && grid.tBodies[0].contains(active) ? active.closest("tr") : null;
    const name = row ? row.dataset.name : null;
    paint();
    if (name !== null) {
      const again = [...grid.tBodies[0].rows].find((tr) => tr.dataset.name === name);
      const link = again && again.querySelector("a");
      if (link) link.focus({ preventScroll: true });
    }
  }

  for (const kind of ["input", "change", "search"]) {
    text.addEventListener(kind, () => {
      if (state.text === text.value.trim()) return;
      state.text = text.value.trim();
      paint();
    });
  }
  health.addEventListener("change", () => {
    state.health = health.value;
    paint();
  });

  view.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Zones"), h("span", { class: "spacer" }), h("a", { href: "#/create", class: "button-link" }, "Create zone")),
    h(
      "form",
      { id: "zones-filter-form", class: "toolbar", role: "search", onSubmit: (e) => e.preventDefault() },
      field("Filter by name", text),
      field("Health", health),
    ),
    counts,
    stale,
    scroller(grid),
    h("p", { class: "hint" }, "This list refreshes itself every 5 seconds. Zones declared in the config file are read-only here: change them in that file and send SIGHUP."),
  );
  paint();

  let busy = false;
  let stopped = false;
  const timer = setInterval(async () => {
    if (busy || stopped || document.hidden) return;
    busy = true;
    try {
      const fresh = await allStatuses();
      if (stopped) return;
      rows = fresh;
      stale.hidden = true;
      repaintKeepingFocus();
    } catch (e) {
      if (!stopped && e.status !== 401) {
        stale.textContent = `Could not refresh: ${e.message} (showing the last list read).`;
        stale.hidden = false;
      }
    } finally {
      busy = false;
    }
  }, REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
