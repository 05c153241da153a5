// Small DOM helpers shared by the pages.  Text is always set with
// textContent (zone names and error messages are untrusted): never parsed as markup.

let counter = 0;
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

// h("a", {href: "#/zones", class: "x", onClick: fn}, "text", node, [more])
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === "class") {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    } else if (k === "for") {
      el.htmlFor = v;
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value" && "value" in el) {
      el.value = v;
    } else if (k === "checked" || k === "selected" || k === "disabled" || k === "hidden" || k === "required") {
      el[k] = Boolean(v);
    } else if (k === "style") {
      throw new Error("no style attributes: the CSP forbids them; use a class");
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// "just now", "4 min ago", "3 h ago", "2 days ago"; "never" for null.
export function timeAgo(rfc3339, now = Date.now()) {
  if (!rfc3339) return "never";
  const then = Date.parse(rfc3339);
  if (Number.isNaN(then)) return String(rfc3339);
  let s = Math.round((now - then) / 1000);
  const future = s < 0;
  s = Math.abs(s);
  let words;
  if (s < 45) return "just now";
  if (s < 90 * 60) words = `${Math.max(1, Math.round(s / 60))} min`;
  else if (s < 48 * 3600) words = `${Math.round(s / 3600)} h`;
  else words = `${Math.round(s / 86400)} days`;
  return future ? `in ${words}` : `${words} ago`;
}

// An absolute time for a title attribute: "2026-12-03 06:21:35 UTC".
export function utc(rfc3339) {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return String(rfc3339);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

export const HEALTH_WORDS = {
  serving: "serving",
  loading: "loading",
  refreshing: "refreshing",
  failing: "failing",
  expired: "expired",
  "never-loaded": "never loaded",
};

const HEALTH_ICONS = {
  serving: "\u25cf", // ●
  loading: "\u25cc", // ◌
  refreshing: "\u21bb", // ↻
  failing: "\u26a0", // ⚠
  expired: "\u2716", // ✖
  "never-loaded": "\u25cb", // ○
};

// A badge that says its state in words (colour is only a second cue).
export function healthBadge(health) {
  const known = Object.prototype.hasOwnProperty.call(HEALTH_WORDS, health);
  const name = known ? health : "unknown";
  return h(
    "span",
    { class: `badge badge-${name}`, "data-health": health || "unknown" },
    h("span", { class: "badge-icon", "aria-hidden": "true" }, HEALTH_ICONS[name] || "?"),
    known ? HEALTH_WORDS[health] : String(health || "unknown"),
  );
}

// A labelled field: <div class="field"><label>..</label>input<p class="hint">..</p></div>
export function field(label, input, { hint } = {}) {
  if (!input.id) input.id = uid("f");
  const children = [h("label", { for: input.id }, label), input];
  if (hint) {
    const hintId = uid("hint");
    children.push(h("p", { class: "hint", id: hintId }, hint));
    describe(input, hintId);
  }
  return h("div", { class: "field" }, ...children);
}

function describe(input, id) {
  const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  if (!ids.includes(id)) ids.push(id);
  input.setAttribute("aria-describedby", ids.join(" "));
}

function undescribe(input, id) {
  const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((x) => x && x !== id);
  if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
  else input.removeAttribute("aria-describedby");
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) {
    el.remove();
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/);
    for (const id of ids) if (id.startsWith("err-")) undescribe(input, id);
  }
}

// An error without a field whose message starts with an input's name
// ("externalMasters[0].address is not an IP address") concerns that input.
function leadingField(form, message) {
  const m = /^([A-Za-z][A-Za-z0-9]*(?:\[\d+\])?(?:\.[A-Za-z][A-Za-z0-9]*)?)\b/.exec(message || "");
  return m && form.querySelector(`[name="${CSS.escape(m[1])}"]`) ? m[1] : null;
}

// The API error's message beside the input named error.field (or at the
// form's top when no input has that name); the input is marked invalid.
export function showErrors(form, error) {
  clearErrors(form);
  const message = (error && error.message) || String(error);
  let input = null;
  const path = (error && error.field) || leadingField(form, message);
  if (path) {
    input = form.querySelector(`[name="${CSS.escape(path)}"]`);
    if (!input) {
      // "externalMasters[0]" or "externalMasters": the item or list, not one of its inputs
      input = form.querySelector(`[name^="${CSS.escape(path)}."], [name^="${CSS.escape(path)}["]`);
    }
  }
  const id = uid("err");
  const p = h("p", { class: "field-error", id, role: "alert" }, message);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    describe(input, id);
    const holder = input.closest(".field") || input.parentElement;
    holder.appendChild(p);
    input.focus();
  } else {
    p.classList.add("form-error");
    form.prepend(p);
    p.tabIndex = -1;
    p.focus();
  }
  return p;
}

let noticeTimer = null;
// The status line under the header: kind is "info", "ok" or "error".
export function notice(message, kind = "info") {
  const el = document.getElementById("notice");
  if (!el) return;
  clearTimeout(noticeTimer);
  el.textContent = message || "";
  el.className = message ? `notice notice-${kind}` : "notice";
  if (message && kind !== "error") {
    noticeTimer = setTimeout(() => notice(""), 8000);
  }
}

// A modal <dialog> asking text; resolves true (confirmed) or false.
export function confirmDialog(text, { confirm = "Confirm", cancel = "Cancel", danger = true } = {}) {
  return new Promise((resolve) => {
    const message = h("p", { id: uid("dlg") }, text);
    const no = h("button", { type: "button", value: "cancel" }, cancel);
    const yes = h("button", { type: "button", value: "confirm", class: danger ? "danger" : "primary" }, confirm);
    const dialog = h("dialog", { class: "confirm", "aria-describedby": message.id }, message, h("div", { class: "actions" }, no, yes));
    let answer = false;
    no.addEventListener("click", () => dialog.close());
    yes.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    no.focus();
  });
}

function compare(a, b) {
  const ea = a === null || a === undefined || a === "";
  const eb = b === null || b === undefined || b === "";
  if (ea || eb) return ea && eb ? 0 : ea ? 1 : -1; // empty last
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
}

// table(columns, rows, {sortable, id, caption, sort: {key, dir}, onSort, rowName, empty})
// columns: [{key, label, render(row) -> node|string, value(row) -> sort value, class}]
// Sortable headers are buttons; the sorted one has aria-sort.  With onSort
// the caller keeps the sort state (it is called with (key, dir)); without,
// the table sorts its own rows.  Returns the <table>; its update(rows)
// repaints the body keeping the sort.
export function table(columns, rows, options = {}) {
  const { sortable = false, id, caption, rowName, empty = "Nothing here yet." } = options;
  let sort = options.sort || null;
  const tbody = h("tbody");
  const heads = columns.map((col) => {
    const th = h("th", { scope: "col", class: col.class });
    if (sortable && col.sortable !== false) {
      const button = h("button", { type: "button", class: "sort", "data-key": col.key }, col.label, h("span", { class: "sort-mark", "aria-hidden": "true" }));
      button.addEventListener("click", () => {
        const dir = sort && sort.key === col.key && sort.dir === "asc" ? "desc" : "asc";
        sort = { key: col.key, dir };
        if (options.onSort) options.onSort(col.key, dir);
        paint();
      });
      th.appendChild(button);
    } else {
      th.textContent = col.label;
    }
    return th;
  });
  const valueOf = (col, row) => (col.value ? col.value(row) : row[col.key]);
  function paint() {
    heads.forEach((th, i) => {
      const col = columns[i];
      if (!sortable || col.sortable === false) return;
      const on = sort && sort.key === col.key;
      th.setAttribute("aria-sort", on ? (sort.dir === "asc" ? "ascending" : "descending") : "none");
      th.querySelector(".sort-mark").textContent = on ? (sort.dir === "asc" ? " \u25b2" : " \u25bc") : "";
    });
    let ordered = rows.slice();
    if (sort) {
      const col = columns.find((c) => c.key === sort.key);
      if (col) {
        ordered.sort((a, b) => {
          const r = compare(valueOf(col, a), valueOf(col, b));
          return sort.dir === "desc" ? -r : r;
        });
      }
    }
    tbody.replaceChildren();
    if (!ordered.length) {
      tbody.appendChild(h("tr", { class: "empty" }, h("td", { colspan: String(columns.length) }, empty)));
    }
    for (const row of ordered) {
      const tr = h("tr", { "data-name": rowName ? rowName(row) : row.name });
      for (const col of columns) {
        const content = col.render ? col.render(row) : valueOf(col, row);
        tr.appendChild(h("td", { class: col.class, "data-label": col.label }, content === "" ? null : content));
      }
      tbody.appendChild(tr);
    }
  }
  paint();
  const t = h("table", { id, class: "data" }, caption ? h("caption", {}, caption) : null, h("thead", {}, h("tr", {}, ...heads)), tbody);
  // Replace the rows, keeping the sort (for pages that refresh themselves).
  t.update = (newRows) => {
    rows = newRows;
    paint();
  };
  return t;
}

// A table in a box that scrolls sideways on narrow screens.
export function scroller(node) {
  return h("div", { class: "table-wrap" }, node);
}
