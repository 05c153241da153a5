// The TSIG keys page (#/keys): list, create, delete.
//
// A key's secret goes in once (POST /tsigKeys) and never comes back: the
// API does not return it, so the page shows it once, in a dialog, right
// after creation, and drops every reference to it when the dialog closes.

import { call, ApiError } from "./api.js";
import { h, showErrors, clearErrors, notice, confirmDialog, table, scroller } from "./ui.js";

// The API's algorithms (GET /openapi.json says them too; this is the
// fallback), each with its HMAC output size: the natural secret length.
const FALLBACK_ALGORITHMS = ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"];
const OUTPUT_BYTES = {
  "hmac-md5": 16, "hmac-sha1": 20, "hmac-sha224": 28,
  "hmac-sha256": 32, "hmac-sha384": 48, "hmac-sha512": 64,
};
export const DEFAULT_ALGORITHM = "hmac-sha256";

/** Bytes of secret to generate for `algorithm`: its HMAC's output size. */
export function secretBytes(algorithm) {
  return OUTPUT_BYTES[algorithm] || 32;
}

/** Base64 of `bytes` (a Uint8Array). */
export function base64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** A fresh random secret for `algorithm`, base64, from the browser's CSPRNG. */
export function generateSecret(algorithm) {
  const bytes = new Uint8Array(secretBytes(algorithm));
  crypto.getRandomValues(bytes);
  return base64(bytes);
}

/** The key as a BIND `key` statement, for the peer's named.conf. */
export function bindSnippet(name, algorithm, secret) {
  return `key "${name}" {\n    algorithm ${algorithm};\n    secret "${secret}";\n};\n`;
}

/** The key as a Knot `key:` section, for the peer's knot.conf. */
export function knotSnippet(name, algorithm, secret) {
  return `key:\n  - id: ${name}\n    algorithm: ${algorithm}\n    secret: ${secret}\n`;
}

/** The algorithms the API takes, from its OpenAPI document; the known list if that fails. */
async function algorithms() {
  try {
    const { data } = await call("GET", "/openapi.json");
    const listed = data.components.schemas.CreateTsigKeyDetails.properties.algorithm.enum;
    if (Array.isArray(listed) && listed.length) return listed;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
  }
  return FALLBACK_ALGORITHMS;
}

/** Copy `text` to the clipboard; if the browser refuses, select it in `field` for Ctrl+C. */
async function copy(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    notice("Copied to the clipboard.", "ok");
  } catch (e) {
    field.focus();
    field.select();
    notice("Copying was refused by the browser: the text is selected, press Ctrl+C.", "info");
  }
}

function copyable(label, text, id, rows) {
  const field = h("textarea", { id, class: "secret-text", readonly: "", rows: String(rows), spellcheck: "false" });
  field.value = text;
  const button = h("button", { type: "button", class: "copy", onClick: () => copy(field.value, field) }, `Copy ${label.toLowerCase()}`);
  return h("div", { class: "copyable" }, h("label", { for: id }, label), field, button);
}

/**
 * Show the new key's secret once, with BIND and Knot snippets.  Nothing
 * outside the dialog holds the secret; closing removes the dialog from the
 * document, so the secret is gone from the page too.
 */
function showSecretOnce(key, secret) {
  const dialog = h("dialog", { id: "secret-dialog", class: "confirm secret-dialog", "aria-labelledby": "secret-dialog-title" },
    h("h2", { id: "secret-dialog-title" }, `Key ${key.name} created`),
    h("p", { class: "warning", role: "alert" },
      "This is the only time the secret is shown: copy it now. secdns never shows it again (the API does not return it)."),
    copyable("Secret", secret, "secret-value", 2),
    copyable("BIND key statement", bindSnippet(key.name, key.algorithm, secret), "secret-bind", 5),
    copyable("Knot key section", knotSnippet(key.name, key.algorithm, secret), "secret-knot", 5),
  );
  const done = h("button", { type: "button", id: "secret-done", onClick: () => dialog.close() }, "I have copied it: close");
  dialog.append(h("div", { class: "actions" }, done));
  dialog.addEventListener("close", () => {
    for (const field of dialog.querySelectorAll("textarea")) field.value = "";
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  done.focus();
}

function zonesCell(key) {
  if (!key.zones || !key.zones.length) return h("span", { class: "muted" }, "none");
  return h("ul", { class: "inline-list" },
    ...key.zones.map((z) => h("li", {}, h("a", { href: `#/zones/${encodeURIComponent(z)}` }, z))));
}

function keyTable(keys, remove) {
  const columns = [
    { key: "name", label: "Name", render: (k) => h("strong", {}, k.name) },
    { key: "algorithm", label: "Algorithm" },
    { key: "zones", label: "Zones using it", render: zonesCell, value: (k) => (k.zones || []).length },
    { key: "declaredIn", label: "Declared in", render: (k) => (k.declaredIn ? `declared in ${k.declaredIn}` : "API") },
    {
      key: "actions", label: "Actions", sortable: false,
      render: (k) => (k.isProtected || k.declaredIn
        ? h("span", { class: "muted declared" }, "read-only")
        : h("button", { type: "button", class: "danger", "aria-label": `Delete key ${k.name}`, onClick: () => remove(k) }, "Delete")),
    },
  ];
  const grid = table(columns, keys, {
    sortable: true, id: "keys-table", caption: "TSIG keys", sort: { key: "name", dir: "asc" },
    empty: "No TSIG keys yet.",
  });
  grid.classList.add("cards"); // a card per row on narrow screens (console.css)
  return scroller(grid);
}

function createForm(algorithmList, created) {
  const select = h("select", { id: "key-algorithm", name: "algorithm" },
    ...algorithmList.map((a) => h("option", { value: a }, a)));
  select.value = algorithmList.includes(DEFAULT_ALGORITHM) ? DEFAULT_ALGORITHM : algorithmList[0];
  const secret = h("input", {
    id: "key-secret", name: "secret", type: "password", autocomplete: "off", spellcheck: "false",
    "aria-describedby": "key-secret-help",
  });
  const generate = h("button", { type: "button", id: "key-generate", onClick: () => {
    secret.value = generateSecret(select.value);
    secret.type = "password";
    notice(`A ${secretBytes(select.value)}-byte secret was generated in this browser; it is shown once the key is created.`, "ok");
  } }, "Generate");
  const form = h("form", { id: "key-form", class: "stacked", novalidate: "" },
    h("h2", {}, "Create a TSIG key"),
    h("div", { class: "field" }, h("label", { for: "key-name" }, "Name"),
      h("input", { id: "key-name", name: "name", required: true, autocomplete: "off", spellcheck: "false" })),
    h("div", { class: "field" }, h("label", { for: "key-algorithm" }, "Algorithm"), select),
    h("div", { class: "field" }, h("label", { for: "key-secret" }, "Secret (base64)"),
      h("div", { class: "input-with-button" }, secret, generate),
      h("p", { id: "key-secret-help", class: "help" },
        "Generate one here (random bytes from this browser, as many as the algorithm's output), or paste the peer's.")),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "key-create" }, "Create key")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { name: form.elements.name.value.trim(), algorithm: select.value, secret: secret.value.trim() };
    try {
      const { data } = await call("POST", "/tsigKeys", { body });
      form.reset();
      select.value = body.algorithm;
      showSecretOnce(data, body.secret);
      await created();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      showErrors(form, e);
    } finally {
      body.secret = "";
    }
  });
  return form;
}

export async function render(view, params) {
  const message = h("div", { id: "keys-message", class: "page-message", role: "alert" });
  const list = h("div", { id: "keys-list" });
  const load = async () => {
    const { data } = await call("GET", "/tsigKeys");
    const keys = Array.isArray(data) ? data : data.items || [];
    list.replaceChildren(keyTable(keys, remove));
  };
  const remove = async (key) => {
    message.replaceChildren();
    if (!(await confirmDialog(`Delete the TSIG key ${key.name}? Peers that sign with it will be refused.`))) return;
    try {
      await call("DELETE", `/tsigKeys/${encodeURIComponent(key.name)}`);
      notice(`Key ${key.name} deleted.`, "ok");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      message.replaceChildren(h("p", { class: "error" }, e.message));
    }
    await load();
  };
  view.replaceChildren(
    h("h1", {}, "TSIG keys"),
    h("p", {}, "Shared secrets that sign zone transfers, NOTIFYs and UPDATEs with a peer. "
      + "A key's secret is shown once, when it is created."),
    message, list, createForm(await algorithms(), load),
  );
  await load();
}
