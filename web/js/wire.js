// The pages' side of the wire format: the NaN/Inf codec and the scope rule, mirroring
// client_sdk/fitwatch/codec.py and client_sdk/fitwatch/scopes.py, whose facts arrive
// through the generated wire_facts.js. Pure: no DOM, so tests run it in node.

import { EPOCH_SCOPES, NON_FINITE, SCOPES } from "./wire_facts.js";

export { EPOCH_SCOPES, NON_FINITE, SCOPES };

/** A wire value (a number or one of the NON_FINITE names) as a JS number; absent is NaN. */
export function decodeValue(v) {
  if (typeof v === "number") return v;
  if (v === null || v === undefined) return NaN;
  if (Object.hasOwn(NON_FINITE, v)) return NON_FINITE[v];
  return Number(v);
}

/** A JS number for JSON: finite numbers as themselves, the rest by name. */
export function encodeValue(n) {
  if (Number.isFinite(n)) return n;
  for (const [name, value] of Object.entries(NON_FINITE)) if (Object.is(value, n)) return name;
  return n;
}

/** True for the scopes whose points carry the epoch they belong to (batch, batch_derived). */
export function carriesEpochs(scope) {
  return EPOCH_SCOPES.includes(scope);
}
