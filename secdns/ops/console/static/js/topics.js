// The topics pages: #/topics (the list, a form to make one, the recent
// notifications) and #/topics/<id> (its subscriptions: add, delete, send a
// test notification).  Topics declared in the config file are read-only.

import { call, ApiError } from "./api.js";
import { h, field, showErrors, clearErrors, notice, confirmDialog, table, scroller, timeAgo, utc } from "./ui.js";

/** The subscription protocols the API takes, with what the endpoint is for each. */
export const PROTOCOLS = {
  EMAIL: "an email address",
  SLACK: "the Slack incoming-webhook URL",
  CUSTOM_HTTPS: "the receiver's https:// URL (plain http:// only to loopback)",
  PAGERDUTY: "the PagerDuty events URL; empty for PagerDuty's own",
  STREAM: "a file name, written in the state directory's streams/",
  LOG: "nothing: messages go to secdns's log",
};
const SECRET_PROTOCOLS = ["CUSTOM_HTTPS", "PAGERDUTY"];

function readOnly(topic) {
  return Boolean(topic && (topic.isProtected || topic.declaredIn));
}

async function listOf(path, query) {
  const { data } = await call("GET", path, { query });
  return Array.isArray(data) ? data : (data && data.items) || [];
}

function notificationsTable(items) {
  const columns = [
    { key: "sent", label: "Sent", value: (n) => n.sent || n.time || "",
      render: (n) => h("time", { datetime: n.sent || n.time || "", title: utc(n.sent || n.time) }, timeAgo(n.sent || n.time)) },
    { key: "alarm", label: "Alarm" },
    { key: "zone", label: "Zone" },
    { key: "state", label: "State" },
    { key: "severity", label: "Severity" },
    { key: "topics", label: "Topics", value: (n) => (n.topics || []).join(", ") },
    { key: "title", label: "Title" },
  ];
  return table(columns, items.slice().reverse(), {
    sortable: true, id: "notifications-table", caption: "Recent notifications (newest first)",
    rowName: (n) => n.id || "", empty: "No notifications sent yet.",
  });
}

async function recentNotifications(topicName) {
  const section = h("section", { id: "notifications", "aria-labelledby": "notifications-title" },
    h("h2", { id: "notifications-title" }, "Recent notifications"));
  let items = await listOf("/notifications", { limit: 20 });
  if (topicName) items = items.filter((n) => (n.topics || []).includes(topicName));
  section.append(scroller(notificationsTable(items)));
  return section;
}

// -- the list

function topicForm(created) {
  const form = h("form", { id: "topic-form", class: "stacked", novalidate: true },
    h("h2", {}, "Create a topic"),
    field("Name", h("input", { name: "name", id: "topic-name", required: true, autocomplete: "off", spellcheck: "false" }),
      { hint: "letters, digits, _ . and -, at most 63" }),
    field("Description", h("input", { name: "description", id: "topic-description", autocomplete: "off" })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "topic-create" }, "Create topic")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { name: form.elements.name.value.trim(), description: form.elements.description.value };
    try {
      const { data } = await call("POST", "/topics", { body });
      notice(`Topic ${data.name} created.`, "ok");
      form.reset();
      await created(data);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      showErrors(form, e);
    }
  });
  return form;
}

async function renderList(view) {
  const holder = h("div", { id: "topics-list" });
  const load = async () => {
    const topics = await listOf("/topics");
    const columns = [
      { key: "name", label: "Name", render: (t) => h("a", { href: `#/topics/${encodeURIComponent(t.topicId)}` }, t.name) },
      { key: "description", label: "Description", render: (t) => t.description || "" },
      { key: "subscriptions", label: "Subscriptions", value: (t) => (t.subscriptions || []).length,
        render: (t) => (t.subscriptions || []).map((s) => s.protocol).join(", ") || h("span", { class: "muted" }, "none") },
      { key: "alarms", label: "Alarms sending to it", value: (t) => (t.alarms || []).join(", ") },
      { key: "declaredIn", label: "Declared in", render: (t) => t.declaredIn || "API" },
    ];
    holder.replaceChildren(scroller(table(columns, topics, {
      sortable: true, id: "topics-table", caption: "Topics", sort: { key: "name", dir: "asc" }, empty: "No topics.",
    })));
  };
  await load();
  view.replaceChildren(
    h("h1", {}, "Topics"),
    h("p", {}, "A topic is where alarms send their notifications; its subscriptions say where they go "
      + "(email, Slack, an HTTPS webhook, PagerDuty, a file, the log)."),
    holder,
    topicForm(async (topic) => { location.hash = `#/topics/${encodeURIComponent(topic.topicId)}`; }),
    await recentNotifications(null),
  );
}

// -- one topic

function subscriptionForm(topic, added) {
  const protocol = h("select", { name: "protocol", id: "subscription-protocol" },
    ...Object.keys(PROTOCOLS).map((p) => h("option", { value: p }, p)));
  const endpointHint = h("p", { class: "hint", id: "subscription-endpoint-hint" });
  const endpoint = h("input", { name: "endpoint", id: "subscription-endpoint", autocomplete: "off", spellcheck: "false",
    "aria-describedby": endpointHint.id });
  const secret = h("input", { name: "secret", id: "subscription-secret", type: "password", autocomplete: "off" });
  const secretField = field("Secret", secret, { hint: "CUSTOM_HTTPS: the HMAC key of its signature header; PAGERDUTY: the routing key. Never shown again." });
  const form = h("form", { id: "subscription-form", class: "stacked", novalidate: true },
    h("h2", {}, "Add a subscription"),
    field("Protocol", protocol),
    h("div", { class: "field" }, h("label", { for: endpoint.id }, "Endpoint"), endpoint, endpointHint),
    secretField,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "subscription-add" }, "Add subscription")),
  );
  const update = () => {
    endpointHint.textContent = PROTOCOLS[protocol.value];
    secretField.hidden = !SECRET_PROTOCOLS.includes(protocol.value);
    if (secretField.hidden) secret.value = "";
  };
  protocol.addEventListener("change", update);
  update();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { protocol: protocol.value, endpoint: endpoint.value.trim() };
    if (secret.value) body.secret = secret.value;
    try {
      await call("POST", `/topics/${encodeURIComponent(topic.topicId)}/subscriptions`, { body });
      notice(`${body.protocol} subscription added to ${topic.name}.`, "ok");
      form.reset();
      update();
      await added();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      showErrors(form, e);
    } finally {
      body.secret = undefined;
    }
  });
  return form;
}

function testResults(answer) {
  return h("ul", { class: "test-results" }, ...answer.results.map((r) => h("li", {
    class: r.delivered ? "delivered" : "not-delivered", "data-delivered": String(r.delivered),
  }, h("strong", {}, r.delivered ? "delivered" : "not delivered"), ` ${r.subscription}`, r.detail ? `: ${r.detail}` : "")));
}

async function renderTopic(view, id) {
  const path = `/topics/${encodeURIComponent(id)}`;
  const { data: topic } = await call("GET", path);
  const subs = h("div", { id: "subscriptions" });
  const results = h("div", { id: "test-results", role: "status", "aria-live": "polite" });
  const load = async () => {
    const items = await listOf(`${path}/subscriptions`);
    const columns = [
      { key: "protocol", label: "Protocol" },
      { key: "endpoint", label: "Endpoint", render: (s) => (s.endpoint ? h("code", {}, s.endpoint) : h("span", { class: "muted" }, "none")) },
      { key: "hasSecret", label: "Secret", render: (s) => (s.hasSecret ? "set (never shown)" : "none") },
      { key: "actions", label: "Actions", sortable: false, render: (s) => (readOnly(s)
        ? h("span", { class: "muted" }, "read-only")
        : h("button", { type: "button", class: "danger", "aria-label": `Delete the ${s.protocol} subscription ${s.endpoint}`,
          onClick: () => remove(s) }, "Delete")) },
    ];
    subs.replaceChildren(scroller(table(columns, items, {
      id: "subscriptions-table", caption: "Subscriptions", rowName: (s) => s.id, empty: "No subscriptions yet.",
    })));
  };
  const remove = async (sub) => {
    if (!(await confirmDialog(`Delete the ${sub.protocol} subscription ${sub.endpoint || ""} of ${topic.name}?`))) return;
    try {
      await call("DELETE", `/subscriptions/${encodeURIComponent(sub.id)}`);
      notice("Subscription deleted.", "ok");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      notice(e.message, "error");
    }
    await load();
  };
  const send = h("button", { type: "button", id: "send-test", onClick: async () => {
    send.disabled = true;
    results.replaceChildren(h("p", {}, "Sending a test message to each subscription..."));
    try {
      const { data } = await call("POST", `${path}/actions/sendTestNotification`, { body: {} });
      results.replaceChildren(testResults(data));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      results.replaceChildren(h("p", { class: "error" }, e.message));
    } finally {
      send.disabled = false;
    }
  } }, "Send test notification");
  await load();
  const parts = [
    h("p", { class: "breadcrumb" }, h("a", { href: "#/topics" }, "Topics"), ` / ${topic.name}`),
    h("h1", {}, `Topic ${topic.name}`),
  ];
  if (topic.description) parts.push(h("p", {}, topic.description));
  parts.push(h("p", {}, "Alarms sending to it: ", (topic.alarms || []).join(", ") || "none"));
  if (readOnly(topic)) {
    parts.push(h("p", { class: "declared", id: "topic-declared" }, topic.declaredIn === "built-in"
      ? "A built-in topic: read-only here."
      : `Declared in ${topic.declaredIn}: read-only here (change it there and send SIGHUP).`));
  }
  parts.push(h("h2", {}, "Subscriptions"), subs, h("p", {}, send), results);
  if (!readOnly(topic)) parts.push(subscriptionForm(topic, load));
  parts.push(await recentNotifications(topic.name));
  view.replaceChildren(...parts);
}

export async function render(view, params = []) {
  if (!params.length) return renderList(view);
  return renderTopic(view, params[0]);
}
