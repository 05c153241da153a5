// The alarm query language (docs/alarms.rst, secdns/alarms/query.py),
// as far as the alarm form writes and reads it: pure functions, no DOM.
//
//   ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3

/** The metrics alarms watch (secdns/alarms/model.py METRICS), with what each is. */
export const METRICS = {
  ZoneTransferFailureCount: "refresh attempts that failed, per minute",
  ZoneTransferSuccessCount: "transfers (AXFR or IXFR) applied, per minute",
  ZoneExpirationInHours: "hours until a secondary zone expires (0: expired)",
  MasterUp: "masters that answered the last request, of those configured (0 to 1)",
  NotifyFailureCount: "NOTIFYs to downstreams that failed, per minute",
  ZoneSerial: "the serial served",
  FailingForRetries: "how long refreshes have been failing, in SOA retry intervals",
};
export const STATISTICS = ["count", "sum", "max", "min", "mean", "rate"];
export const OPERATORS = [">", ">=", "<", "<=", "==", "!="];
export const SEVERITIES = ["CRITICAL", "ERROR", "WARNING", "INFO"];
/** The intervals the form offers; any whole number of minutes from 1m to 1d parses. */
export const INTERVALS = ["1m", "5m", "10m", "15m", "30m", "1h", "2h", "6h", "12h", "1d"];

const UNITS = { s: 1, m: 60, h: 3600, d: 86400 };
const NUMBER = /^[-+]?\d+(?:\.\d+)?$/;
const QUERY = new RegExp(
  "^\\s*([A-Za-z][A-Za-z0-9_]*)"
  + "\\s*\\[\\s*(\\d+[smhd])\\s*\\]"
  + "\\s*(?:\\{\\s*([A-Za-z]+)\\s*(=~|=)\\s*\"([^\"]*)\"\\s*\\})?"
  + "\\s*\\.\\s*([a-z]+)\\s*\\(\\s*\\)"
  + "\\s*(>=|<=|==|!=|>|<)"
  + "\\s*([-+]?\\d+(?:\\.\\d+)?)\\s*$",
);

/** Seconds of an interval such as `5m`; null when it is not one. */
export function seconds(interval) {
  const match = /^(\d+)([smhd])$/.exec(String(interval).trim());
  return match ? Number(match[1]) * UNITS[match[2]] : null;
}

/** The shortest exact form of `secs` (as query.duration_text writes it). */
export function intervalText(secs) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (secs && secs % size === 0) return `${secs / size}${unit}`;
  }
  return `${secs}s`;
}

/** The threshold as the server writes it back: `3`, not `3.0`. */
export function numberText(text) {
  const value = Number(text);
  return String(value);
}

/**
 * What is wrong with the fields, as {field, message} items (field: the
 * form input's name); empty when they make a query.
 */
export function problems(fields) {
  const found = [];
  if (!(fields.metric in METRICS)) found.push({ field: "metric", message: `choose a metric (one of: ${Object.keys(METRICS).join(", ")})` });
  const secs = seconds(fields.interval || "");
  if (secs === null || secs < 60 || secs % 60 || secs > 86400) {
    found.push({ field: "interval", message: "the interval must be whole minutes, from 1m to 1d (such as 5m, 1h or 1d)" });
  }
  if (!STATISTICS.includes(fields.statistic)) found.push({ field: "statistic", message: `choose a statistic (one of: ${STATISTICS.join(", ")})` });
  if (!OPERATORS.includes(fields.operator)) found.push({ field: "operator", message: "choose a comparison" });
  if (!NUMBER.test(String(fields.threshold ?? "").trim())) {
    found.push({ field: "threshold", message: "the threshold must be a number such as 0, 3 or 0.5" });
  }
  const zone = (fields.zone || "").trim();
  if (zone && !/^[A-Za-z0-9*_.-]+$/.test(zone)) {
    found.push({ field: "zone", message: "the zone must be a zone name, or a glob such as *.example.com" });
  }
  return found;
}

/**
 * The query the fields make: {metric, interval, zone ("" or "*": every
 * zone), statistic, operator, threshold}.  Fields with problems are
 * written as given (the preview shows what would be sent).
 */
export function queryText(fields) {
  const zone = (fields.zone || "").trim().replace(/\.$/, "").toLowerCase();
  let selector = "";
  if (zone && zone !== "*") selector = `{resourceName ${zone.includes("*") ? "=~" : "="} "${zone}"}`;
  const secs = seconds(fields.interval || "");
  const interval = secs === null ? (fields.interval || "?") : intervalText(secs);
  const threshold = NUMBER.test(String(fields.threshold ?? "").trim()) ? numberText(fields.threshold) : String(fields.threshold ?? "").trim() || "?";
  return `${fields.metric}[${interval}]${selector}.${fields.statistic}() ${fields.operator} ${threshold}`;
}

/**
 * The fields of `query`, or null when the form cannot express it (it does
 * not parse, or names a metric, statistic or dimension the form lacks):
 * the page then edits the query text itself.
 */
export function parseQuery(query) {
  const match = QUERY.exec(query || "");
  if (!match) return null;
  const [, metric, interval, dimension, op, value, statistic, operator, threshold] = match;
  if (!(metric in METRICS) || !STATISTICS.includes(statistic)) return null;
  const secs = seconds(interval);
  if (secs < 60 || secs % 60 || secs > 86400) return null;
  let zone = "";
  if (dimension !== undefined) {
    if (dimension !== "resourceName") return null;
    zone = value.replace(/\.$/, "").toLowerCase();
    if (zone === "*") zone = "";
    if (op === "=" && zone.includes("*")) return null;
  }
  return { metric, interval: intervalText(secs), zone, statistic, operator, threshold: numberText(threshold) };
}
