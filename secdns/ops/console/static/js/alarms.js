// The alarms pages: #/alarms (the list, with each alarm's state),
// #/alarms/new and #/alarms/<id> (the form, with a live preview of the
// query it makes, and the alarm's state per zone).
//
// The form writes the query (alarm_query.js) and reads it back when
// editing; a query it cannot express is edited as text.

import { call, ApiError } from "./api.js";
import { h, field, showErrors, clearErrors, notice, confirmDialog, table, scroller, timeAgo, utc, uid } from "./ui.js";
import { METRICS, STATISTICS, OPERATORS, SEVERITIES, INTERVALS, queryText, parseQuery, problems } from "./alarm_query.js";

const OPERATOR_WORDS = {
  ">": "> greater than", ">=": ">= at least", "<": "< less than",
  "<=": "<= at most", "==": "== equal to", "!=": "!= not equal to",
};
const REFRESH_MS = 15000;

/** A badge saying an alarm's (or a zone's) state in words: FIRING, PENDING, OK. */
export function stateBadge(state) {
  const s = String(state || "UNKNOWN").toUpperCase();
  return h("span", { class: `badge badge-${s.toLowerCase()}`, "data-state": s }, s);
}

function readOnly(alarm) {
  return Boolean(alarm && (alarm.isProtected || alarm.declaredIn));
}

async function listOf(path) {
  const { data } = await call("GET", path);
  return Array.isArray(data) ? data : (data && data.items) || [];
}

function topicNames(ids, topics) {
  const byId = new Map(topics.map((t) => [t.topicId, t.name]));
  return (ids || []).map((id) => byId.get(id) || id);
}

// -- the list

async function renderList(view) {
  const holder = h("div", { id: "alarms-list" });
  view.replaceChildren(
    h("div", { class: "toolbar" },
      h("h1", {}, "Alarms"), h("span", { class: "spacer" }),
      h("a", { href: "#/alarms/new", class: "button-link", id: "alarm-new" }, "Create alarm")),
    h("p", {}, "Each alarm watches a metric of every zone (or of some) and notifies its topics when a zone's "
      + "condition holds, and again when it clears. Alarms declared in the config file are read-only here."),
    holder,
  );
  let shown = null;
  const load = async () => {
    const [alarms, topics] = await Promise.all([listOf("/alarms"), listOf("/topics")]);
    if (shown) {
      shown.update(alarms);
      return;
    }
    const columns = [
      { key: "displayName", label: "Name", render: (a) => h("a", { href: `#/alarms/${encodeURIComponent(a.id)}` }, a.displayName) },
      { key: "status", label: "State", render: (a) => stateBadge(a.status) },
      { key: "severity", label: "Severity" },
      { key: "query", label: "Query", render: (a) => h("code", { class: "query" }, a.query) },
      { key: "isEnabled", label: "Enabled", render: (a) => (a.isEnabled ? "yes" : "no") },
      { key: "destinations", label: "Topics", value: (a) => topicNames(a.destinations, topics).join(", "),
        render: (a) => topicNames(a.destinations, topics).join(", ") || h("span", { class: "muted" }, "none") },
      { key: "declaredIn", label: "Declared in", render: (a) => a.declaredIn || "API" },
    ];
    shown = table(columns, alarms, {
      sortable: true, id: "alarms-table", caption: "Alarms", rowName: (a) => a.displayName,
      sort: { key: "displayName", dir: "asc" }, empty: "No alarms.",
    });
    shown.classList.add("cards"); // a card per row on narrow screens (console.css)
    holder.replaceChildren(scroller(shown));
  };
  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}

// -- the form

function select(name, options, value, id) {
  const el = h("select", { name, id: id || uid("alarm") },
    ...options.map(([v, label]) => h("option", { value: v }, label)));
  if (value !== undefined && value !== null) el.value = value;
  return el;
}

/** The form's fields as alarm_query.js takes them. */
function fieldsOf(form) {
  const e = form.elements;
  return {
    metric: e.metric.value,
    interval: e.interval.value,
    statistic: e.statistic.value,
    operator: e.operator.value,
    threshold: e.threshold.value,
    zone: e.zoneScope.value === "one" ? e.zone.value : "",
  };
}

function alarmForm(alarm, topics, zones, { onSubmit }) {
  const parsed = alarm ? parseQuery(alarm.query) : null;
  const start = parsed || {
    metric: "ZoneTransferFailureCount", interval: "1h", zone: "", statistic: "sum", operator: ">", threshold: "3",
  };
  const intervals = INTERVALS.includes(start.interval) ? INTERVALS : [...INTERVALS, start.interval];
  const metric = select("metric", Object.keys(METRICS).map((m) => [m, m]), start.metric, "alarm-metric");
  const metricHint = h("p", { class: "hint", id: "alarm-metric-hint" }, METRICS[start.metric] || "");
  metric.setAttribute("aria-describedby", metricHint.id);
  const zoneInput = h("input", {
    name: "zone", id: "alarm-zone", value: start.zone, list: "alarm-zone-names", autocomplete: "off", spellcheck: "false",
  });
  const scopeAll = h("input", { type: "radio", name: "zoneScope", value: "all", id: "alarm-zones-all", checked: !start.zone });
  const scopeOne = h("input", { type: "radio", name: "zoneScope", value: "one", id: "alarm-zones-one", checked: Boolean(start.zone) });
  const preview = h("output", { id: "alarm-query-preview", name: "query", class: "query", for: "alarm-metric" });
  const raw = h("textarea", { id: "alarm-query-raw", name: "query-raw", rows: "3", spellcheck: "false" });
  raw.value = alarm ? alarm.query : "";
  const previewBox = h("div", { class: "field query-preview", id: "alarm-preview-box" },
    h("span", { class: "label", id: "alarm-preview-label" }, "Query"), preview);
  preview.setAttribute("aria-labelledby", "alarm-preview-label");
  const rawBox = h("div", { class: "field", id: "alarm-raw-box", hidden: true },
    h("label", { for: raw.id }, "Query text"), raw,
    h("p", { class: "hint" }, "In the query language of docs/alarms.rst, such as ",
      h("code", {}, 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3')));
  const destinations = topics.map((t) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "destinations", value: t.topicId,
      checked: Boolean(alarm && (alarm.destinations || []).includes(t.topicId)) }),
    ` ${t.name}`));
  const formFields = h("div", { id: "alarm-fields" },
    field("Metric", metric), metricHint,
    field("Interval", select("interval", intervals.map((i) => [i, i]), start.interval, "alarm-interval"),
      { hint: "the window the statistic is taken over" }),
    field("Statistic", select("statistic", STATISTICS.map((s) => [s, `${s}()`]), start.statistic, "alarm-statistic")),
    field("Comparison", select("operator", OPERATORS.map((o) => [o, OPERATOR_WORDS[o]]), start.operator, "alarm-operator")),
    field("Threshold", h("input", { name: "threshold", id: "alarm-threshold", value: start.threshold, inputmode: "decimal", autocomplete: "off" })),
    h("fieldset", { class: "zones" }, h("legend", {}, "Zones"),
      h("div", { class: "radio" }, scopeAll, h("label", { for: scopeAll.id }, "Every zone")),
      h("div", { class: "radio" }, scopeOne, h("label", { for: scopeOne.id }, "One zone (or a glob such as *.example.com)")),
      field("Zone", zoneInput),
      h("datalist", { id: "alarm-zone-names" }, ...zones.map((z) => h("option", { value: z })))),
  );
  const toRaw = h("button", { type: "button", id: "alarm-edit-text", class: "link-button" }, "Edit the query as text");
  const toForm = h("button", { type: "button", id: "alarm-use-form", class: "link-button", hidden: true }, "Use the form");
  const form = h("form", { id: "alarm-form", class: "stacked", novalidate: true },
    field("Name", h("input", {
      name: "displayName", id: "alarm-name", value: alarm ? alarm.displayName : "", required: true,
      readonly: alarm ? true : undefined, autocomplete: "off", spellcheck: "false",
    }), { hint: alarm ? "an alarm's name cannot change" : "letters, digits, _ . and -, at most 63" }),
    formFields, previewBox, rawBox, h("p", {}, toRaw, toForm),
    field("Severity", select("severity", SEVERITIES.map((s) => [s, s]), alarm ? alarm.severity : "CRITICAL", "alarm-severity")),
    h("fieldset", { class: "destinations" }, h("legend", {}, "Topics to notify"),
      destinations.length ? destinations : h("p", { class: "muted" }, "No topics yet: make one on the Topics page.")),
    field("Body", h("textarea", { name: "body", id: "alarm-body", rows: "3" }, alarm ? alarm.body || "" : ""),
      { hint: "what to check, added to each message" }),
    h("div", { class: "check" },
      h("input", { type: "checkbox", name: "isEnabled", id: "alarm-enabled", checked: alarm ? alarm.isEnabled : true }),
      h("label", { for: "alarm-enabled" }, "Enabled")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "alarm-save" }, alarm ? "Save alarm" : "Create alarm")),
  );
  let mode = "form";
  const setMode = (next) => {
    mode = next;
    const text = mode === "raw";
    formFields.hidden = text;
    previewBox.hidden = text;
    rawBox.hidden = !text;
    toRaw.hidden = text;
    toForm.hidden = !text;
    // showErrors finds the element named after the API's field: "query" is whichever is shown.
    preview.setAttribute("name", text ? "query-preview" : "query");
    raw.setAttribute("name", text ? "query" : "query-raw");
  };
  const update = () => {
    const f = fieldsOf(form);
    zoneInput.disabled = form.elements.zoneScope.value !== "one";
    metricHint.textContent = METRICS[f.metric] || "";
    preview.textContent = queryText(f);
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  toRaw.addEventListener("click", () => {
    raw.value = preview.textContent;
    setMode("raw");
    raw.focus();
  });
  toForm.addEventListener("click", () => {
    const back = parseQuery(raw.value);
    if (!back) {
      showErrors(form, { field: "query", message: "the form cannot express this query: edit it as text, or change it to the form's shape" });
      return;
    }
    const e = form.elements;
    for (const k of ["metric", "statistic", "operator", "threshold"]) e[k].value = back[k];
    if (![...e.interval.options].some((o) => o.value === back.interval)) e.interval.append(h("option", { value: back.interval }, back.interval));
    e.interval.value = back.interval;
    zoneInput.value = back.zone;
    (back.zone ? scopeOne : scopeAll).checked = true;
    clearErrors(form);
    setMode("form");
    update();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    let query;
    if (mode === "form") {
      const f = fieldsOf(form);
      if (form.elements.zoneScope.value === "one" && !f.zone.trim()) {
        showErrors(form, { field: "zone", message: "name the zone (or choose every zone)" });
        return;
      }
      const wrong = problems(f);
      if (wrong.length) {
        showErrors(form, wrong[0]);
        return;
      }
      query = queryText(f);
    } else {
      query = raw.value.trim();
    }
    const e = form.elements;
    const body = {
      query,
      severity: e.severity.value,
      destinations: [...form.querySelectorAll('input[name="destinations"]:checked')].map((c) => c.value),
      isEnabled: e.isEnabled.checked,
      body: e.body.value,
    };
    if (!alarm) body.displayName = e.displayName.value.trim();
    try {
      await onSubmit(body);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (!err.field && /^query: /.test(err.message)) err.field = "query";
      showErrors(form, err);
    }
  });
  if (!parsed && alarm) setMode("raw");
  update();
  if (readOnly(alarm)) {
    for (const el of form.elements) el.disabled = true;
    toRaw.hidden = true;
    toForm.hidden = true;
  }
  return form;
}

async function formInputs() {
  const [topics, zones] = await Promise.all([
    listOf("/topics"),
    listOf("/zones").then((z) => z.map((x) => x.name)).catch(() => []),
  ]);
  return { topics, zones };
}

async function renderNew(view) {
  const { topics, zones } = await formInputs();
  const form = alarmForm(null, topics, zones, {
    onSubmit: async (body) => {
      const { data } = await call("POST", "/alarms", { body });
      notice(`Alarm ${data.displayName} created.`, "ok");
      location.hash = `#/alarms/${encodeURIComponent(data.id)}`;
    },
  });
  view.replaceChildren(
    h("p", { class: "breadcrumb" }, h("a", { href: "#/alarms" }, "Alarms"), " / new"),
    h("h1", {}, "Create alarm"),
    form,
  );
}

function zoneStates(status) {
  const columns = [
    { key: "zone", label: "Zone", render: (i) => h("a", { href: `#/zones/${encodeURIComponent(i.zone)}` }, i.zone) },
    { key: "status", label: "State", render: (i) => stateBadge(i.status) },
    { key: "timestamp", label: "Since", render: (i) => h("time", { datetime: i.timestamp || "", title: utc(i.timestamp) }, timeAgo(i.timestamp)) },
    { key: "value", label: "Last value", render: (i) => (i.value === null || i.value === undefined ? "" : String(i.value)) },
    { key: "lastNotified", label: "Last notified", render: (i) => (i.lastNotified ? timeAgo(i.lastNotified) : "never") },
  ];
  return table(columns, status.items || [], {
    sortable: true, id: "alarm-zones-table", caption: "State per zone", rowName: (i) => i.zone,
    sort: { key: "zone", dir: "asc" }, empty: "No zone is watched by this alarm yet.",
  });
}

async function renderDetail(view, id) {
  const path = `/alarms/${encodeURIComponent(id)}`;
  let { data: alarm, etag } = await call("GET", path);
  const { topics, zones } = await formInputs();
  const states = h("section", { id: "alarm-states", "aria-labelledby": "alarm-states-title" },
    h("h2", { id: "alarm-states-title" }, "State per zone"));
  const loadStates = async () => {
    const { data } = await call("GET", `${path}/status`);
    states.replaceChildren(states.firstChild, h("p", {}, "Overall: ", stateBadge(data.status)), scroller(zoneStates(data)));
  };
  const form = alarmForm(alarm, topics, zones, {
    onSubmit: async (body) => {
      const answer = await call("PUT", path, { body, etag });
      alarm = answer.data;
      etag = answer.etag;
      notice(`Alarm ${alarm.displayName} saved.`, "ok");
      await loadStates();
    },
  });
  const head = [
    h("p", { class: "breadcrumb" }, h("a", { href: "#/alarms" }, "Alarms"), ` / ${alarm.displayName}`),
    h("h1", {}, `Alarm ${alarm.displayName} `, stateBadge(alarm.status)),
  ];
  if (readOnly(alarm)) {
    head.push(h("p", { class: "declared", id: "alarm-declared" },
      alarm.declaredIn === "built-in"
        ? "A built-in alarm: read-only here; an alarm of the same name in the config file overrides it (docs: Alarms)."
        : `Declared in ${alarm.declaredIn || "the config file"}: read-only here (change it there and send SIGHUP).`));
  } else {
    head.push(h("p", {}, h("button", { type: "button", class: "danger", id: "alarm-delete", onClick: async () => {
      if (!(await confirmDialog(`Delete the alarm ${alarm.displayName}?`))) return;
      try {
        await call("DELETE", path);
        notice(`Alarm ${alarm.displayName} deleted.`, "ok");
        location.hash = "#/alarms";
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        notice(err.message, "error");
      }
    } }, "Delete alarm")));
  }
  view.replaceChildren(...head, states, h("h2", {}, readOnly(alarm) ? "Rule" : "Edit"), form);
  await loadStates();
  const timer = setInterval(() => loadStates().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}

export async function render(view, params = []) {
  if (!params.length) return renderList(view);
  if (params[0] === "new") return renderNew(view);
  return renderDetail(view, params[0]);
}
