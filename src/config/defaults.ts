// Nested config defaults that survive partial input.
import { z } from 'zod';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: values in `over` win; nested objects merge key by key. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * `schema` with different defaults for some of its fields, in a parent that embeds it (e.g. the
 * RL actor's learning rate). Unlike zod's `.prefault(x)`, which applies `x` only when the whole
 * object is absent, these defaults also hold when the user sets other fields of the object:
 * `{ actorOptim: { gradClip: 0.5 } }` keeps the actor's lr at its own default.
 */
export function withDefaults<S extends z.ZodObject>(schema: S, defaults: Partial<z.input<S>>) {
  const merge = (v: unknown) => (isPlainObject(v) ? deepMerge(defaults as Record<string, unknown>, v) : v);
  // prefault({}): the key is optional in the parent's input; an absent object becomes {} and then the defaults.
  return z.preprocess(merge, schema).prefault({});
}
