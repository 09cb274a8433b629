// Page state <-> URL query string. Pure: no DOM, no window; pages pass location.search in
// and push the returned string out, so a link reproduces the view.
//
// A schema maps each field to {type, default}: type is "string", "number", "bool" or "list"
// (comma-separated). Fields equal to their default are left out of the URL.

export function parseState(search, schema) {
  const query = new URLSearchParams(search || "");
  const state = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = query.get(name);
    state[name] = raw === null ? copy(spec.default) : decode(raw, spec);
  }
  return state;
}

export function serializeState(state, schema) {
  const query = new URLSearchParams();
  for (const [name, spec] of Object.entries(schema)) {
    const value = state[name];
    if (value === undefined || equal(value, spec.default)) continue;
    query.set(name, encode(value, spec));
  }
  const text = query.toString().replace(/%2C/gi, ",");
  return text ? `?${text}` : "";
}

function decode(raw, spec) {
  switch (spec.type) {
    case "number": {
      const n = Number(raw);
      return raw.trim() !== "" && Number.isFinite(n) ? n : copy(spec.default);
    }
    case "bool":
      return raw === "1" || raw === "true";
    case "list":
      return raw.split(",").map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

function encode(value, spec) {
  switch (spec.type) {
    case "bool":
      return value ? "1" : "0";
    case "list":
      return value.join(",");
    default:
      return String(value);
  }
}

function copy(value) {
  return Array.isArray(value) ? [...value] : value;
}

function equal(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
  }
  return a === b;
}
