// Turns a zod config schema into command-line flags, and resolves a config from defaults < YAML file < flags.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { deepMerge, isPlainObject } from './defaults.js';

/** A config problem at the edge: says which file/flag and field path, and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type AnySchema = z.ZodType;
interface Leaf {
  /** Field path inside the config object, e.g. ['optim', 'lr']. */
  path: string[];
  /** Commander's attribute name for the flag, e.g. 'optimLr'. */
  attribute: string;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'pipe']);

/** Strips default/optional wrappers; returns the inner schema and the default if one is set. */
function unwrap(schema: AnySchema): { inner: AnySchema; defaultValue: unknown; description: string | undefined } {
  let inner = schema;
  let defaultValue: unknown = undefined;
  const description = schema.description;
  while (WRAPPERS.has(inner.def.type)) {
    if (inner.def.type === 'pipe') {
      // withDefaults(): a preprocess step in front of the object schema; its defaults show up in the resolved config.
      inner = (inner.def as unknown as { out: AnySchema }).out;
      continue;
    }
    const def = inner.def as unknown as { defaultValue?: unknown; innerType: AnySchema };
    if ((inner.def.type === 'default' || inner.def.type === 'prefault') && defaultValue === undefined) {
      defaultValue = def.defaultValue;
    }
    inner = def.innerType;
  }
  return { inner, defaultValue, description: description ?? inner.description };
}

function kebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
function camel(s: string): string {
  return s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseNumber(flag: string, integer: boolean) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new ConfigError(`--${flag}: expected ${integer ? 'an integer' : 'a number'}, got '${raw}'`);
    }
    return n;
  };
}

function isInteger(schema: AnySchema): boolean {
  const checks = (schema.def as unknown as { checks?: { _zod?: { def?: { format?: string } } }[] }).checks ?? [];
  return checks.some((c) => c._zod?.def?.format === 'safeint' || c._zod?.def?.format === 'int32');
}

/**
 * Adds one flag per leaf field of `schema` to `cmd` (nested objects become `--outer-inner`).
 * Returns the leaves so that `flagsToConfig` can rebuild the nested object. No commander
 * defaults are set, so only flags the user typed override the file and schema defaults.
 */
export function addSchemaOptions(
  cmd: Command,
  schema: z.ZodObject,
  prefix: string[] = [],
  resolved: Record<string, unknown> | undefined = resolvedDefaults(schema),
): Leaf[] {
  const leaves: Leaf[] = [];
  for (const [key, field] of Object.entries(schema.shape) as [string, AnySchema][]) {
    const unwrapped = unwrap(field);
    const { inner, description } = unwrapped;
    const path = [...prefix, key];
    const flag = path.map(kebab).join('-');
    const sub = resolved?.[key];
    if (inner.def.type === 'object') {
      // a parent with required fields resolves to nothing: an object field that may be absent still has its own defaults (withDefaults())
      const own = field.safeParse(undefined);
      const subDefaults = isPlainObject(sub) ? sub : own.success && isPlainObject(own.data) ? own.data : undefined;
      leaves.push(...addSchemaOptions(cmd, inner as z.ZodObject, path, subDefaults));
      continue;
    }
    // The default a user gets: from the fully resolved schema (a parent's withDefaults() can override a field's own default).
    const defaultValue = resolved !== undefined && key in resolved ? sub : unwrapped.defaultValue;
    const shown = defaultValue === undefined ? '' : ` (default: ${JSON.stringify(defaultValue)})`;
    const help = `${description ?? ''}${shown}`;
    let opt: Option;
    switch (inner.def.type) {
      case 'boolean':
        // The positive flag must be declared before its negation, or commander defaults it to true.
        cmd.addOption(new Option(`--${flag}`, help));
        cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`).hideHelp());
        leaves.push({ path, attribute: camel(flag) });
        continue;
      case 'number':
        opt = new Option(`--${flag} <n>`, help).argParser(parseNumber(flag, isInteger(inner)));
        break;
      case 'enum':
        opt = new Option(`--${flag} <choice>`, help).choices(
          (inner as z.ZodEnum).options.map((o) => String(o)),
        );
        break;
      case 'array': {
        // a list of strings keeps numeric-looking items (folder names) as strings
        const strings = unwrap((inner as z.ZodArray).element as AnySchema).inner.def.type === 'string';
        // the flag repeated appends: `--model a --model b` is the same as `--model a,b`
        opt = new Option(`--${flag} <list>`, `${help} [comma-separated or repeated]`).argParser((raw: string, previous: unknown) => [
          ...(Array.isArray(previous) ? (previous as unknown[]) : []),
          ...raw.split(',').map((s) => {
            const n = Number(s);
            return !strings && s.trim() !== '' && Number.isFinite(n) ? n : s.trim();
          }),
        ]);
        break;
      }
      default:
        opt = new Option(`--${flag} <value>`, help);
    }
    cmd.addOption(opt);
    leaves.push({ path, attribute: camel(flag) });
  }
  return leaves;
}

/** The config an empty input resolves to, or undefined if the schema has required fields. */
function resolvedDefaults(schema: z.ZodObject): Record<string, unknown> | undefined {
  const r = schema.safeParse({});
  return r.success && isPlainObject(r.data) ? r.data : undefined;
}

/** Rebuilds the nested config object from the flags the user actually passed. */
export function flagsToConfig(leaves: Leaf[], opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { path, attribute } of leaves) {
    const value = opts[attribute];
    if (value === undefined) continue;
    let node = out;
    for (const p of path.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1] as string] = value;
  }
  return out;
}

/** Reads a YAML (or JSON) config file into a plain object, with a clear error on bad syntax. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) throw new ConfigError(`${file}: expected a mapping of config fields at the top level`);
  return data;
}

/** Formats zod issues as `source: field.path: message` lines. */
export function formatIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('\n');
}

/**
 * Resolves a config: schema defaults, then the YAML file (if any), then the flags.
 * Unknown keys are rejected (schemas are strict); errors name the source and field path.
 */
export function resolveConfig<S extends z.ZodType>(
  schema: S,
  sources: { file?: string | undefined; flags?: Record<string, unknown> },
): z.output<S> {
  const fromFile = sources.file ? readConfigFile(sources.file) : {};
  const merged = deepMerge(fromFile, sources.flags ?? {});
  const result = schema.safeParse(merged);
  if (!result.success) {
    const source = sources.file ? `${sources.file} (+ flags)` : 'flags';
    throw new ConfigError(`invalid config:\n${formatIssues(result.error, source)}`);
  }
  return result.data;
}
