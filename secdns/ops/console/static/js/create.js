// #/create: the seed's "Create zone" flow.  Method "Manual"; Zone type
// Primary or Secondary; Zone name; for a secondary its upstream server IPs
// (each with a port and an optional TSIG key) and the zone transfer
// servers to allow on the primary; for a primary its downstream servers
// and the SOA and NS it starts with.  Create is one POST /zones.

import { call } from "./api.js";
import { clearErrors, field, h, notice, showErrors, uid } from "./ui.js";

async function listAll(path) {
  const { data } = await call("GET", path, { query: { limit: 1000 } });
  return Array.isArray(data) ? data : (data && data.items) || [];
}

// One server row: address, port (53), optional TSIG key; names are the API's field paths.
function serverRow(list, index, keys, { addressLabel, what }) {
  const address = h("input", { type: "text", name: `${list}[${index}].address`, autocomplete: "off", spellcheck: "false", inputmode: "text", placeholder: "192.0.2.1" });
  const port = h("input", { type: "number", name: `${list}[${index}].port`, value: "53", min: "1", max: "65535", inputmode: "numeric", class: "port" });
  const key = h(
    "select",
    { name: `${list}[${index}].tsigKeyId` },
    h("option", { value: "" }, "None"),
    ...keys.map((k) => h("option", { value: k.id || k.name }, k.name)),
  );
  const remove = h("button", { type: "button", class: "remove" }, "Remove");
  const row = h("div", { class: "server-row", "data-list": list }, field(addressLabel, address), field("Port", port), field("TSIG key (optional)", key), remove);
  row.remove_button = remove;
  row.what = what;
  return row;
}

// Renumber a list's rows after a removal: names, and the remove buttons' labels.
function renumber(container, list) {
  const rows = [...container.querySelectorAll(`.server-row[data-list="${list}"]`)];
  rows.forEach((row, i) => {
    for (const input of row.querySelectorAll("[name]")) {
      input.name = input.name.replace(/\[\d+\]/, `[${i}]`);
    }
    row.remove_button.setAttribute("aria-label", `Remove ${row.what} ${i + 1}`);
  });
  return rows;
}

function serverList(list, keys, { legend, addressLabel, addLabel, what, minimum, hint }) {
  const rows = h("div", { class: "server-rows" });
  const add = h("button", { type: "button", class: "add" }, addLabel);
  const set = h("fieldset", { id: `${list}-fieldset` }, h("legend", {}, legend), hint ? h("p", { class: "hint" }, hint) : null, rows, h("div", { class: "actions" }, add));
  function refresh() {
    const all = renumber(rows, list);
    all.forEach((row) => {
      row.remove_button.disabled = all.length <= minimum;
    });
  }
  function addRow(focus) {
    const row = serverRow(list, rows.children.length, keys, { addressLabel, what });
    row.remove_button.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      refresh();
      (next ? next.querySelector("input") : add).focus();
    });
    rows.appendChild(row);
    refresh();
    if (focus) row.querySelector("input").focus();
  }
  add.addEventListener("click", () => addRow(true));
  for (let i = 0; i < minimum; i++) addRow(false);
  set.values = () =>
    [...rows.children].map((row) => {
      const [address, port, key] = row.querySelectorAll("input, select");
      const item = { address: address.value.trim() };
      const p = port.value.trim();
      if (p !== "") item.port = /^\d+$/.test(p) ? Number(p) : p;
      if (key.value) item.tsigKeyId = key.value;
      return item;
    });
  return set;
}

function describeServer(s) {
  const where = s.port ? (s.address.includes(":") ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`) : s.address;
  const roles = [];
  if (s.isTransferSource) roles.push("SOA queries, transfers and NOTIFYs come from it");
  if (s.isTransferDestination) roles.push("answers transfers and takes NOTIFY");
  return h("li", {}, h("code", {}, where), roles.length ? ` \u2014 ${roles.join("; ")}` : "");
}

function transferPanel(servers) {
  const sources = servers.filter((s) => s.isTransferSource);
  const list = servers.length ? h("ul", { class: "info-list", id: "zone-transfer-servers" }, ...servers.map(describeServer)) : h("p", { class: "muted" }, "secdns lists no zone transfer servers.");
  const note = sources.length
    ? null
    : h("p", { class: "hint" }, "No [server] transfer_source is set: secdns's SOA queries and transfers leave from the address the system picks for the route to the primary. Allow that address, or set transfer_source.");
  return h(
    "section",
    { class: "panel", "aria-labelledby": "zts-title" },
    h("h2", { id: "zts-title" }, "Zone transfer servers"),
    h("p", { class: "secondary-only" }, "Allow these addresses on your primary's ACL: secdns asks the primary for the zone (SOA, AXFR, IXFR) from them, and the primary sends its NOTIFYs to them."),
    h("p", { class: "primary-only" }, "Your downstream servers transfer the zone from these addresses and are notified from them: allow them there."),
    list,
    note,
  );
}

function soaPanel(nameInput) {
  const pre = h("pre", { class: "records", id: "create-soa-preview" });
  function paint() {
    const name = (nameInput.value.trim().replace(/\.$/, "") || "example.com").toLowerCase();
    pre.textContent =
      `${name}.  3600  IN  SOA  ns1.${name}. hostmaster.${name}. SERIAL 3600 600 1209600 300\n` +
      `${name}.  3600  IN  NS   ns1.${name}.`;
  }
  nameInput.addEventListener("input", paint);
  paint();
  return h(
    "section",
    { class: "panel primary-only", "aria-labelledby": "soa-title" },
    h("h2", { id: "soa-title" }, "SOA and NS"),
    h("p", {}, "A primary zone made here starts with these records (SERIAL is the time it was made; refresh 1 hour, retry 10 minutes, expire 14 days, negative TTL 5 minutes):"),
    pre,
    h("p", { class: "hint" }, "Change them, and add the zone's other records, on the zone's page once it is created: every change is one new version, sent to the downstream servers."),
  );
}

export async function render(view) {
  const [keys, servers] = await Promise.all([listAll("/tsigKeys"), listAll("/zoneTransferServers")]);
  keys.sort((a, b) => a.name.localeCompare(b.name));

  const radio = (name, value, label, checked) => {
    const id = uid("r");
    return h("label", { for: id }, h("input", { type: "radio", id, name, value, checked }), label);
  };
  const method = h("fieldset", {}, h("legend", {}, "Method"), h("div", { class: "choices" }, radio("method", "manual", "Manual", true)));
  const type = h(
    "fieldset",
    {},
    h("legend", {}, "Zone type"),
    h("div", { class: "choices" }, radio("zoneType", "PRIMARY", "Primary", true), radio("zoneType", "SECONDARY", "Secondary", false)),
  );
  const name = h("input", { type: "text", name: "name", autocomplete: "off", spellcheck: "false", required: true, placeholder: "example.com" });
  const masters = serverList("externalMasters", keys, {
    legend: "Upstream server IP",
    addressLabel: "Upstream server IP",
    addLabel: "Add additional server IP",
    what: "upstream server",
    minimum: 1,
    hint: "The primary servers secdns transfers the zone from (port 53 unless you say otherwise), each with the TSIG key its transfers are signed with, if any.",
  });
  masters.classList.add("secondary-only");
  const downstreams = serverList("externalDownstreams", keys, {
    legend: "Downstream servers",
    addressLabel: "Downstream server IP",
    addLabel: "Add downstream",
    what: "downstream server",
    minimum: 0,
    hint: "Optional: secondary servers that may transfer this zone; each is sent a NOTIFY on every change.",
  });
  downstreams.classList.add("primary-only");
  if (!keys.length) {
    const note = h("p", { class: "hint" }, "No TSIG keys yet: ", h("a", { href: "#/keys" }, "create one"), " first to sign transfers.");
    masters.insertBefore(note.cloneNode(true), masters.querySelector(".server-rows"));
    downstreams.insertBefore(note, downstreams.querySelector(".server-rows"));
  }
  const submit = h("button", { type: "submit", class: "primary" }, "Create");
  const form = h(
    "form",
    { id: "create-form", novalidate: true },
    method,
    type,
    field("Zone name", name, { hint: "The zone's domain name, such as example.com. Avoid entering confidential information." }),
    masters,
    downstreams,
    h("div", { class: "actions" }, submit, h("a", { href: "#/zones", class: "button-link" }, "Cancel")),
  );
  const zts = transferPanel(servers);
  const soa = soaPanel(name);

  function chosen() {
    return form.elements.zoneType.value || "PRIMARY";
  }
  function show() {
    const secondary = chosen() === "SECONDARY";
    for (const el of view.querySelectorAll(".secondary-only")) el.hidden = !secondary;
    for (const el of view.querySelectorAll(".primary-only")) el.hidden = secondary;
  }
  type.addEventListener("change", () => {
    clearErrors(form);
    show();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const zoneType = chosen();
    const body = { name: name.value.trim(), zoneType };
    if (zoneType === "SECONDARY") body.externalMasters = masters.values();
    else body.externalDownstreams = downstreams.values();
    if (!body.name) {
      showErrors(form, { field: "name", message: "Enter the zone's name." });
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await call("POST", "/zones", { body });
      notice(`Zone ${data.name} created.`, "ok");
      location.hash = `#/zones/${encodeURIComponent(data.name)}`;
    } catch (e) {
      if (e.status === 409 && !e.field) e.field = "name"; // "zone example.com exists already"
      if (e.status !== 401) showErrors(form, e);
    } finally {
      submit.disabled = false;
    }
  });

  view.append(h("h1", {}, "Create zone"), h("div", { class: "create-layout" }, form, h("div", { class: "create-side" }, zts, soa)));
  show();
}
