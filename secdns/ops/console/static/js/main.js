// The console's router and login.  Pages are ES modules loaded on demand:
// each exports `async function render(view, params)` and may return a
// cleanup function (called when the route changes: stop timers there).

import { call, clearToken, setToken, token, whenUnauthenticated, ApiError } from "./api.js";
import { clearErrors, h, notice, showErrors } from "./ui.js";

// route name -> [module, nav entry it belongs to]
const ROUTES = {
  zones: (params) => (params.length ? "zone" : "zones"),
  create: () => "create",
  keys: () => "keys",
  alarms: () => "alarms",
  topics: () => "topics",
};

const TITLES = { zones: "Zones", zone: "Zone", create: "Create zone", keys: "TSIG keys", alarms: "Alarms", topics: "Topics" };

const view = document.getElementById("view");
const nav = document.getElementById("nav");
const login = document.getElementById("login");
const loginForm = document.getElementById("login-form");
const signOut = document.getElementById("sign-out");

let cleanup = null;
let generation = 0;
let signedIn = false;

function parse(hash) {
  const path = (hash || "").replace(/^#\/?/, "");
  const parts = path.split("/").filter((p, i) => p !== "" || i === 0);
  let decoded;
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch (e) {
    decoded = parts;
  }
  return { page: decoded[0] || "", params: decoded.slice(1) };
}

function stop() {
  if (typeof cleanup === "function") {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
  }
  cleanup = null;
}

function notYet(name) {
  return [
    h("h1", {}, TITLES[name] || "Not yet"),
    h("p", { class: "empty-state" }, "This page is not yet part of the console. Every action it will offer is already in the REST API (docs: The REST API)."),
    h("p", {}, h("a", { href: "#/zones" }, "Back to the zones")),
  ];
}

async function route(focus) {
  if (!signedIn) return;
  const { page, params } = parse(location.hash);
  if (!page) {
    location.replace("#/zones");
    return;
  }
  stop();
  const mine = ++generation;
  for (const a of nav.querySelectorAll("a[data-route]")) {
    if (a.dataset.route === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  view.replaceChildren();
  view.setAttribute("aria-busy", "true");
  const pick = ROUTES[page];
  if (!pick) {
    view.append(h("h1", {}, "No such page"), h("p", {}, h("a", { href: "#/zones" }, "Go to the zones")));
    document.title = "No such page \u00b7 secdns";
    view.removeAttribute("aria-busy");
    return;
  }
  const name = pick(params);
  let module;
  try {
    module = await import(`./${name}.js`);
  } catch (e) {
    console.warn(`console page ${name}.js not loaded:`, e);
    module = null;
  }
  if (mine !== generation) return;
  try {
    if (module && typeof module.render === "function") {
      const done = await module.render(view, params);
      if (mine !== generation) {
        if (typeof done === "function") done();
        return;
      }
      cleanup = done;
    } else {
      view.replaceChildren(...notYet(name));
    }
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.status === 401) return; // the login form is showing
    console.error(e);
    view.replaceChildren(h("h1", {}, TITLES[name] || "Error"), h("p", { class: "field-error form-error", role: "alert" }, e.message || String(e)));
  }
  view.removeAttribute("aria-busy");
  const heading = view.querySelector("h1");
  document.title = `${heading ? heading.textContent : TITLES[name] || "secdns"} \u00b7 secdns`;
  if (focus && !view.contains(document.activeElement)) view.focus({ preventScroll: true });
}

function showApp() {
  signedIn = true;
  login.hidden = true;
  nav.hidden = false;
  view.hidden = false;
  signOut.hidden = !token();
}

function showLogin(message) {
  signedIn = false;
  stop();
  generation++;
  view.replaceChildren();
  view.hidden = true;
  nav.hidden = true;
  login.hidden = false;
  document.title = "Sign in \u00b7 secdns";
  clearErrors(loginForm);
  if (message) showErrors(loginForm, { field: "token", message });
  const input = loginForm.elements.token;
  input.value = "";
  input.focus();
}

// Is the API usable as things are (a token kept, or loopback without a token file)?
async function probe() {
  await call("GET", "/zones", { query: { limit: 1 } });
}

whenUnauthenticated(() => {
  if (signedIn) showLogin("The API refused the token (it may have been revoked): sign in again.");
});

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(loginForm);
  const value = loginForm.elements.token.value.trim();
  if (!value) {
    showErrors(loginForm, { field: "token", message: "Enter an API token." });
    return;
  }
  setToken(value);
  try {
    await probe();
  } catch (e) {
    clearToken();
    const message = e.status === 401 ? "That token is not one of the appliance's tokens." : e.message;
    showErrors(loginForm, { field: "token", message });
    return;
  }
  loginForm.elements.token.value = "";
  showApp();
  if (!location.hash || location.hash === "#") location.replace("#/zones");
  route(true);
});

signOut.addEventListener("click", () => {
  clearToken();
  notice("Signed out: the token is forgotten.", "ok");
  showLogin();
});

window.addEventListener("hashchange", () => route(true));

async function start() {
  try {
    await probe();
  } catch (e) {
    if (e.status === 401) {
      showLogin(token() ? "The API refused the kept token: sign in again." : null);
      return;
    }
    view.hidden = false;
    view.replaceChildren(h("h1", {}, "secdns console"), h("p", { class: "field-error form-error", role: "alert" }, e.message));
    return;
  }
  showApp();
  route(false);
}

start();
