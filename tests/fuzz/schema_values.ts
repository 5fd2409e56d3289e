/**
 * Values from JSON Schemas (an OpenAPI document's, or `z.toJSONSchema` of a
 * tool's input): valid ones as far as the hints allow, valid ones spoiled in
 * one spot, and hostile ones. Valid-looking values get past validation and
 * reach the code behind it; the spoiled ones probe each field's checks.
 *
 * @module
 */
import fc from "fast-check";
import { anyString, hostileJson, longString, NASTY_PIECES } from "./harness.ts";

/** A JSON Schema, loosely. */
// deno-lint-ignore no-explicit-any
export type Schema = any;

/** What the generator knows beyond the schema. */
export interface SchemaHints {
  /** Plausible strings by field name (a field without hints takes `generic`). */
  hints: Record<string, readonly string[]>;
  generic: readonly string[];
  /**
   * Payload schemas by kind: an object with an enum `kind` and a payload
   * field (`after` by default) gets a payload that fits its kind.
   */
  payloads?: Record<string, Schema>;
  /** The payload field's name (default `after`). */
  payloadField?: string;
}

/** Follows `$ref`s (`#/...`) from `root`. */
export function resolve(schema: Schema, root: Schema): Schema {
  for (let hops = 0; schema?.$ref && hops < 8; hops++) {
    let at = root;
    for (const part of (schema.$ref as string).replace(/^#\//, "").split("/")) at = at?.[part];
    schema = at;
  }
  return schema;
}

/** Every path to a value inside `value`, the root first. */
function paths(value: unknown, at: PropertyKey[] = []): PropertyKey[][] {
  const out = [at];
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(...paths(v, [...at, Array.isArray(value) ? Number(k) : k]));
    }
  }
  return out;
}

/** How to spoil one spot of a valid value. */
type Spoil =
  | { kind: "replace"; with: unknown }
  | { kind: "splice"; piece: string; at: number }
  | { kind: "delete" }
  | { kind: "add"; key: string; with: unknown };

const spoilArb: fc.Arbitrary<Spoil> = fc.oneof(
  { weight: 3, arbitrary: hostileJson(2).map((v): Spoil => ({ kind: "replace", with: v })) },
  { weight: 1, arbitrary: longString.map((v): Spoil => ({ kind: "replace", with: v })) },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom(...NASTY_PIECES), fc.nat()).map(([piece, at]): Spoil => ({
      kind: "splice",
      piece,
      at,
    })),
  },
  { weight: 1, arbitrary: fc.constant<Spoil>({ kind: "delete" }) },
  {
    weight: 1,
    arbitrary: fc.tuple(anyString(["__proto__", "constructor", "status", "id"]), hostileJson(1))
      .map(([key, v]): Spoil => ({ kind: "add", key, with: v })),
  },
);

/** Sets an own, enumerable property (even `__proto__`). */
function setOwn(target: Record<PropertyKey, unknown>, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `value` with one spot (chosen by `pick`) spoiled as `how` says. */
export function spoil(value: unknown, pick: number, how: Spoil): unknown {
  const copy = structuredClone(value);
  const all = paths(copy);
  const path = all[pick % all.length];
  if (path.length === 0) {
    if (how.kind === "replace") return how.with;
    if (how.kind === "splice") {
      return typeof copy === "string" ? copy.slice(0, how.at % (copy.length + 1)) + how.piece : how.piece;
    }
    if (how.kind === "delete") return undefined;
  }
  // deno-lint-ignore no-explicit-any
  const parent = path.slice(0, -1).reduce<any>((v, k) => v[k], copy);
  const key = path.at(-1)!;
  const target = path.length ? parent[key] : copy;
  switch (how.kind) {
    case "replace":
      setOwn(parent, key, how.with);
      break;
    case "splice":
      if (typeof target === "string") {
        const i = how.at % (target.length + 1);
        setOwn(parent, key, target.slice(0, i) + how.piece + target.slice(i));
      } else setOwn(parent, key, how.piece);
      break;
    case "delete":
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case "add": {
      const holder = target && typeof target === "object" && !Array.isArray(target) ? target : parent;
      if (holder && typeof holder === "object") setOwn(holder, how.key, how.with);
    }
  }
  return copy;
}

/** Builds arbitraries from schemas with a set of hints. */
export class SchemaValues {
  constructor(readonly known: SchemaHints) {}

  /** A string for `field`: in `valid` mode one the schema likely accepts, else most often a hostile one. */
  string(schema: Schema, field: string, valid = false): fc.Arbitrary<string> {
    if (schema?.enum) return fc.constantFrom(...(schema.enum as string[]));
    if (typeof schema?.const === "string") return fc.constant(schema.const);
    const plausible = [...(this.known.hints[field] ?? this.known.generic)];
    if (valid) return fc.constantFrom(...plausible);
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...plausible) },
      { weight: 6, arbitrary: anyString(plausible) },
      { weight: 1, arbitrary: longString },
    );
  }

  number(schema: Schema, valid = false): fc.Arbitrary<number> {
    const min = schema?.minimum ?? -1e6;
    const max = schema?.maximum ?? 1e6;
    const inRange = fc.integer({ min: Math.max(min, -1e9), max: Math.min(max, 1e9) });
    if (valid) return inRange;
    return fc.oneof(
      { weight: 4, arbitrary: inRange },
      { weight: 2, arbitrary: fc.constantFrom(min - 1, max + 1, 0, -0, 0.5, 1e308, -1e308, 2 ** 53 + 2) },
      { weight: 1, arbitrary: fc.double() },
    );
  }

  /**
   * An arbitrary for `schema`. In `valid` mode it keeps to the schema as far
   * as the hints allow; otherwise hostile values are mixed in at every level,
   * required fields go missing and unknown ones appear.
   */
  build(schema: Schema, root: Schema, field: string, depth: number, valid: boolean): fc.Arbitrary<unknown> {
    const payloads = this.known.payloads;
    schema = resolve(schema, root);
    if (field === (this.known.payloadField ?? "after") && payloads) {
      return fc.oneof(...Object.values(payloads).map((s) => this.build(s, s, "", depth - 1, valid)));
    }
    if (!schema || depth <= 0) return valid ? fc.constant(null) : hostileJson(2);
    const nullable = schema.nullable ? [{ weight: 1, arbitrary: fc.constant(null) }] : [];
    const noise = valid ? [] : [{ weight: 1, arbitrary: hostileJson(2) }];
    const variants = schema.anyOf ?? schema.oneOf;
    if (variants) {
      const options = variants.map((s: Schema) => this.build(s, root, field, depth - 1, valid));
      return fc.oneof(...options, ...noise.map((n) => n.arbitrary));
    }
    if (schema.allOf) return this.build(schema.allOf[0], root, field, depth, valid);
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    let own: fc.Arbitrary<unknown>;
    if (schema.enum || typeof schema.const === "string" || type === "string") {
      own = this.string(schema, field, valid);
    } else if (type === "integer" || type === "number") own = this.number(schema, valid);
    else if (type === "boolean") own = fc.boolean();
    else if (type === "null") own = fc.constant(null);
    else if (type === "array") {
      const minLength = valid ? schema.minItems ?? 0 : 0;
      own = fc.array(this.build(schema.items, root, field, depth - 1, valid), {
        minLength,
        maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 4, 4)),
      });
    } else if (type === "object" || schema.properties) {
      own = this.#object(schema, root, depth, valid);
    } else own = valid ? fc.constant({}) : hostileJson(3);
    return fc.oneof({ weight: 10, arbitrary: own }, ...noise, ...nullable);
  }

  #object(schema: Schema, root: Schema, depth: number, valid: boolean): fc.Arbitrary<unknown> {
    const props = Object.entries<Schema>(schema.properties ?? {});
    const required = new Set<string>(schema.required ?? []);
    const requiredKeys = props.map(([k]) => k).filter((k) => required.has(k)) as never;
    const fields: Record<string, fc.Arbitrary<unknown>> = Object.fromEntries(
      props.map(([k, s]) => [k, this.build(s, root, k, depth - 1, valid)]),
    );
    const kinds: string[] | undefined = resolve(schema.properties?.kind, root)?.enum;
    const payloads = this.known.payloads;
    // A change body: in valid mode its payload fits its kind.
    const payloadField = this.known.payloadField ?? "after";
    const record = valid && kinds && payloads && payloadField in fields
      ? fc.constantFrom(...kinds.filter((k) => k in payloads)).chain((kind) =>
        fc.record<Record<string, unknown>>({
          ...fields,
          kind: fc.constant(kind),
          [payloadField]: this.build(payloads[kind], payloads[kind], "", depth - 1, true),
        }, { requiredKeys })
      )
      : fc.record(fields, { requiredKeys });
    if (valid) return record;
    return fc.tuple(
      record,
      fc.option(fc.tuple(anyString(["__proto__", "constructor", "status", "extra"]), hostileJson(1))),
      fc.option(fc.constantFrom(...(required.size ? [...required] : ["-"]))),
    ).map(([value, extra, drop]) => {
      const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      if (extra) setOwn(out, extra[0], extra[1]);
      if (drop) delete out[drop];
      return out;
    });
  }

  /** Values for `schema`: valid ones, valid ones spoiled in one spot, and hostile ones. */
  values(schema: Schema, root: Schema, depth = 7): fc.Arbitrary<unknown> {
    const valid = this.build(schema, root, "", depth, true);
    return fc.oneof(
      { weight: 4, arbitrary: valid },
      {
        weight: 6,
        arbitrary: fc.tuple(valid, fc.nat(), spoilArb).map(([value, pick, how]) => spoil(value, pick, how)),
      },
      { weight: 3, arbitrary: this.build(schema, root, "", depth, false) },
    );
  }
}
