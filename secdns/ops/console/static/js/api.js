// The REST API client: every datum the console shows comes through call().
// The token lives in sessionStorage only (no cookie: no CSRF surface).

const BASE = "/20180115";
const KEY = "secdns.token";

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function token() {
  try {
    return sessionStorage.getItem(KEY);
  } catch (e) {
    return null;
  }
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function clearToken() {
  try {
    sessionStorage.removeItem(KEY);
  } catch (e) {
    /* storage unavailable: nothing kept */
  }
}

// Set by main.js: called on a 401 (the token was refused or is missing).
let onUnauthenticated = () => {};
export function whenUnauthenticated(fn) {
  onUnauthenticated = fn;
}

function url(path, query) {
  let u = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") params.append(k, String(v));
    }
    const s = params.toString();
    if (s) u += "?" + s;
  }
  return u;
}

// call("GET", "/zones", {query: {limit: 10}}) -> {data, etag, status, headers}
export async function call(method, path, { body, etag, query } = {}) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (etag) headers["If-Match"] = etag;
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch (e) {
    throw new ApiError(0, "NetworkError", "secdns did not answer: is it running?");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!response.ok) {
    const code = data && data.code;
    const message = (data && data.message) || `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, code, message, data ? data.field : undefined);
    if (response.status === 401) {
      clearToken();
      onUnauthenticated(error);
    }
    throw error;
  }
  return { data, etag: response.headers.get("etag"), status: response.status, headers: response.headers };
}
