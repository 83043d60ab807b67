/**
 * Hrana values and their conversion to and from what the `libsql` engine binds and returns.
 *
 * Integers travel as decimal strings and are bound and read as BigInt (the connections run with safe
 * integers on), so 64-bit values stay exact. Every JS number is a float on the wire.
 */
import { randomBytes } from "node:crypto";
import { StoreError } from "./store-error";

/** A Hrana value as it appears in JSON. */
export type HranaValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

/** A value the engine binds: null, 64-bit integer, double, text or bytes. */
export type SqlValue = null | bigint | number | string | Uint8Array;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d{1,20}$/;

/** Reads a Hrana value from untrusted JSON; throws a `StoreError` (`ARGS_INVALID`) when it is malformed. */
export function valueFromHrana(raw: unknown): SqlValue {
  if (typeof raw !== "object" || raw === null) {
    throw new StoreError("ARGS_INVALID", "A value must be an object with a type");
  }
  const obj = raw as Record<string, unknown>;
  switch (obj["type"]) {
    case "null":
      return null;
    case "integer":
      return integerFromHrana(obj["value"]);
    case "float": {
      const value = obj["value"];
      if (typeof value !== "number") throw new StoreError("ARGS_INVALID", "A float value must be a JSON number");
      return value;
    }
    case "text": {
      const value = obj["value"];
      if (typeof value !== "string") throw new StoreError("ARGS_INVALID", "A text value must be a JSON string");
      if (value.includes("\u0000")) {
        // The libsql package cuts bound text at the first NUL; refuse rather than store something else.
        throw new StoreError("ARGS_INVALID", "Text values containing NUL characters are not supported by this server");
      }
      return value;
    }
    case "blob": {
      const base64 = obj["base64"];
      if (typeof base64 !== "string") throw new StoreError("ARGS_INVALID", "A blob value must carry base64 text");
      return Buffer.from(base64, "base64");
    }
    default:
      throw new StoreError("ARGS_INVALID", `Unknown value type ${JSON.stringify(obj["type"])}`);
  }
}

function integerFromHrana(value: unknown): bigint {
  let n: bigint;
  if (typeof value === "string" && INTEGER_TEXT.test(value)) {
    n = BigInt(value);
  } else if (typeof value === "number" && Number.isSafeInteger(value)) {
    n = BigInt(value);
  } else {
    throw new StoreError("ARGS_INVALID", "An integer value must be a decimal string");
  }
  if (n < INT64_MIN || n > INT64_MAX) {
    throw new StoreError("ARGS_INVALID", `Integer ${n} does not fit in 64 bits`);
  }
  return n;
}

/**
 * A float that JSON cannot spell (SQLite can hold infinities) is carried through `JSON.stringify` as this
 * marker string and then written as `1e999` / `-1e999`, which JSON parsers read back as infinities. The
 * random part makes a collision with real text impossible in practice.
 */
const NON_FINITE_MARK = `\u0001non-finite-${randomBytes(12).toString("hex")}`;
const NON_FINITE_PATTERN = new RegExp(`"\\\\u0001non-finite-${NON_FINITE_MARK.slice(12)}([+-])"`, "g");

/** Converts an engine value to a Hrana value. */
export function valueToHrana(value: unknown): HranaValue {
  if (value === null || value === undefined) return { type: "null" };
  switch (typeof value) {
    case "bigint":
      return { type: "integer", value: value.toString() };
    case "number":
      if (Number.isFinite(value)) return { type: "float", value };
      if (Number.isNaN(value)) return { type: "null" };
      return { type: "float", value: `${NON_FINITE_MARK}${value > 0 ? "+" : "-"}` as unknown as number };
    case "string":
      return { type: "text", value };
    case "boolean":
      return { type: "integer", value: value ? "1" : "0" };
    default:
      if (value instanceof Uint8Array) {
        return { type: "blob", base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
      }
      if (value instanceof ArrayBuffer) return { type: "blob", base64: Buffer.from(value).toString("base64") };
      return { type: "text", value: String(value) };
  }
}

/** Serialises a response body to JSON, spelling infinite floats (from `valueToHrana`) as `±1e999`. */
export function stringifyResponse(body: unknown): string {
  const json = JSON.stringify(body);
  if (!json.includes("non-finite-")) return json;
  return json.replace(NON_FINITE_PATTERN, (_match, sign: string) => (sign === "-" ? "-1e999" : "1e999"));
}
