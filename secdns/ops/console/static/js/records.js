// A zone's records (GET /zones/{zone}/records, every page), with a filter,
// and for a dynamic PRIMARY zone an editor: add, change, remove.  Each save
// is ONE PATCH with If-Match (the records' etag is the zone version), so
// each is one new version, serial + 1, and an edit made meanwhile by
// someone else is refused (412) rather than overwritten.

import { call } from "./api.js";
import { h, field, uid, notice, confirmDialog, showErrors, clearErrors, table } from "./ui.js";

const PAGE = 1000;
const MOST = 20000; // records read at most: a larger zone is narrowed by its filter on the server
export const RTYPES = ["A", "AAAA", "CAA", "CNAME", "DNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT"];

// The API names a field of the PATCH body ("items[1].rdata"); the forms name
// their inputs after the record's fields ("rdata").
export function formField(apiField) {
  return apiField ? apiField.replace(/^items\[\d+\]\./, "") : apiField;
}

// What the operator typed as a domain, as the API wants it: "www" and
// "www.example.net." are both www.example.net; "@" or nothing is the apex.
export function absolute(domain, zone) {
  const d = domain.trim().replace(/\.$/, "");
  const z = zone.replace(/\.$/, "");
  if (d === "" || d === "@") return z;
  const lower = d.toLowerCase();
  const zl = z.toLowerCase();
  return lower === zl || lower.endsWith(`.${zl}`) ? d : `${d}.${z}`;
}

function soaSerial(items) {
  const soa = items.find((r) => r.rtype === "SOA");
  if (!soa) return null;
  const n = Number(soa.rdata.trim().split(/\s+/)[2]);
  return Number.isFinite(n) ? n : null;
}

// Every page of the zone's records (following opc-next-page) and the etag.
async function readAll(zone, domainContains) {
  const path = `/zones/${encodeURIComponent(zone)}/records`;
  let items = [];
  let page;
  let etag = null;
  let more = false;
  for (;;) {
    const answer = await call("GET", path, { query: { limit: PAGE, page, domainContains } });
    if (etag === null) etag = answer.etag;
    items = items.concat(answer.data.items || []);
    page = answer.headers.get("opc-next-page");
    if (!page) break;
    if (items.length >= MOST) {
      more = true;
      break;
    }
  }
  return { items, etag, more };
}

function input(props) {
  return h("input", { id: uid("rec"), autocomplete: "off", spellcheck: "false", ...props });
}

function rtypeSelect(name, value = "A") {
  return h("select", { id: uid("rec"), name }, ...RTYPES.map((t) => h("option", { value: t, selected: t === value }, t)));
}

// Draws into `box` and reads the records; returns {ready, reload, serial}:
// the zone page calls reload() when the zone's serial is no longer the one
// the table shows (a transfer, a DNS UPDATE, another operator), except
// while a record is being changed here (its If-Match stays the version
// the operator saw).
export function renderRecords(box, zone, { editable, why, onChange = () => {} }) {
  const path = `/zones/${encodeURIComponent(zone)}/records`;
  let state = { items: [], etag: null, more: false };
  let filterText = "";

  const count = h("p", { class: "records-count", "aria-live": "polite" });
  const filter = input({ type: "search", name: "filter", placeholder: "www, MX, 192.0.2." });
  filter.addEventListener("input", () => {
    filterText = filter.value.trim().toLowerCase();
    paint();
  });
  const filterForm = h("form", { id: "records-filter-form", class: "inline-form", role: "search", onSubmit: (e) => e.preventDefault() },
    field("Filter records", filter, { hint: "Shows the records whose domain, type or data holds this text." }));
  const holder = h("div", {});

  // -- the add form
  const addDomain = input({ name: "domain", placeholder: "www", required: true });
  const addType = rtypeSelect("rtype");
  const addTtl = input({ name: "ttl", type: "number", min: "0", max: "2147483647", value: "3600", inputmode: "numeric", required: true });
  const addData = input({ name: "rdata", placeholder: "192.0.2.10", required: true, class: "rdata" });
  const addForm = h("form", { id: "record-add-form", class: "record-form", novalidate: true, "aria-labelledby": "record-add-title" },
    h("h3", { id: "record-add-title" }, "Add a record"),
    h("div", { class: "field-row" },
      field("Domain", addDomain, { hint: `A name in the zone: www means www.${zone}; @ is ${zone} itself.` }),
      field("Type", addType),
      field("TTL (seconds)", addTtl),
      field("Data", addData, { hint: "In zone-file form: 192.0.2.10, 10 mail (relative names end in the zone)." })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add record")));
  addForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const item = { operation: "ADD", domain: absolute(addDomain.value, zone), rtype: addType.value, rdata: addData.value.trim(), ttl: Number(addTtl.value) };
    if (await save(addForm, [item], `Added ${item.domain} ${item.rtype} ${item.rdata}`)) {
      addData.value = "";
      addData.focus();
    }
  });

  // -- the edit form (one record at a time: its TTL and data)
  const editTitle = h("h3", { id: "record-edit-title" }, "Change a record");
  const editWhat = h("p", { class: "record-edit-what" });
  const editTtl = input({ name: "ttl", type: "number", min: "0", max: "2147483647", inputmode: "numeric", required: true });
  const editData = input({ name: "rdata", required: true, class: "rdata" });
  const editCancel = h("button", { type: "button", onClick: () => closeEdit() }, "Cancel");
  const editForm = h("form", { id: "record-edit-form", class: "record-form", novalidate: true, hidden: true, "aria-labelledby": "record-edit-title" },
    editTitle, editWhat,
    h("div", { class: "field-row" }, field("TTL (seconds)", editTtl), field("Data", editData)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save change"), editCancel));
  let editing = null;
  let editReturn = null;
  function openEdit(record, button) {
    editing = record;
    editReturn = button;
    clearErrors(editForm);
    editWhat.textContent = `${record.domain} ${record.rtype} ${record.rdata}`;
    editTtl.value = String(record.ttl);
    editData.value = record.rdata;
    editForm.hidden = false;
    editData.focus();
  }
  function closeEdit() {
    editing = null;
    editForm.hidden = true;
    clearErrors(editForm);
    if (editReturn && editReturn.isConnected) editReturn.focus();
  }
  editForm.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeEdit();
  });
  editForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const old = editing;
    if (!old) return;
    // A change is the old record removed and the new one added, in one PATCH: one version.
    const items = [
      { operation: "REMOVE", domain: old.domain, rtype: old.rtype, rdata: old.rdata },
      { operation: "ADD", domain: old.domain, rtype: old.rtype, rdata: editData.value.trim(), ttl: Number(editTtl.value) },
    ];
    if (await save(editForm, items, `Changed ${old.domain} ${old.rtype}`)) closeEdit();
  });

  async function removeRecord(record) {
    const yes = await confirmDialog(`Remove ${record.domain} ${record.rtype} ${record.rdata} from zone ${zone}?`, { confirm: "Remove record" });
    if (!yes) return;
    const done = await save(null, [{ operation: "REMOVE", domain: record.domain, rtype: record.rtype, rdata: record.rdata }],
      `Removed ${record.domain} ${record.rtype} ${record.rdata}`);
    if (done) filter.focus(); // its row, and the button that had the focus, are gone

  }

  // One PATCH; true when it was taken.  Errors go beside their field.
  async function save(form, items, words) {
    if (form) clearErrors(form);
    const before = soaSerial(state.items);
    const buttons = form ? [...form.querySelectorAll("button")] : [];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await call("PATCH", path, { body: { items }, etag: state.etag });
    } catch (e) {
      if (e.status === 412) {
        notice(`Zone ${zone} changed since its records were read: they are read again; check and save once more.`, "error");
        await load();
      } else if (form) {
        showErrors(form, { message: e.message, field: formField(e.field) });
      } else {
        notice(`Not saved: ${e.message}`, "error");
      }
      return false;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
    await load();
    const after = soaSerial(state.items);
    notice(`${words}: zone ${zone} serial ${before ?? "?"} \u2192 ${after ?? "?"}.`, "ok");
    onChange();
    return true;
  }

  function shown() {
    if (!filterText) return state.items;
    return state.items.filter((r) => `${r.domain} ${r.rtype} ${r.rdata}`.toLowerCase().includes(filterText));
  }

  const columns = [
    { key: "domain", label: "Domain" },
    { key: "rtype", label: "Type" },
    { key: "ttl", label: "TTL" },
    { key: "rdata", label: "Data", class: "rdata" },
  ];
  if (editable) {
    columns.push({
      key: "actions", label: "Actions", sortable: false,
      render: (r) => (r.isProtected
        ? h("span", { class: "muted" }, "kept (apex)")
        : h("span", { class: "row-actions" },
          h("button", { type: "button", "data-action": "edit", "aria-label": `Change ${r.domain} ${r.rtype} ${r.rdata}`, onClick: (e) => openEdit(r, e.currentTarget) }, "Change"),
          h("button", { type: "button", class: "danger", "data-action": "remove", "aria-label": `Remove ${r.domain} ${r.rtype} ${r.rdata}`, onClick: () => removeRecord(r) }, "Remove"))),
    });
  }
  let grid = null;
  function paint() {
    const rows = shown();
    const total = state.items.length;
    count.textContent = (filterText ? `${rows.length} of ${total} records` : `${total} record${total === 1 ? "" : "s"}`) +
      (state.more ? ` (the first ${total}: narrow them with the filter)` : "");
    if (!grid) {
      // ui.table() gives the <table> (older: its scrolling box): keep the table, show it in a box.
      const made = table(columns, rows, { sortable: true, id: "records-table", rowName: (r) => r.domain, empty: "No records match." });
      grid = made.tagName === "TABLE" ? made : made.querySelector("table");
      grid.classList.add("cards");
      holder.replaceChildren(made.tagName === "TABLE" ? h("div", { class: "table-wrap" }, made) : made);
    } else {
      grid.update(rows);
    }
  }

  let loading = null;
  function load() {
    if (!loading) loading = readAndPaint().finally(() => { loading = null; });
    return loading;
  }

  async function readAndPaint() {
    try {
      state = await readAll(zone, state.more && filterText ? filterText : undefined);
      paint();
    } catch (e) {
      holder.replaceChildren(h("p", { class: "form-error" }, `Records not read: ${e.message}`));
      grid = null;
    }
  }

  box.replaceChildren(
    ...(why ? [h("p", { class: "hint records-readonly" }, why)] : []),
    ...(editable ? [addForm, editForm] : []),
    filterForm, count, holder,
  );
  return {
    ready: load(),
    reload: () => (editing ? Promise.resolve() : load()),
    serial: () => soaSerial(state.items),
  };
}
