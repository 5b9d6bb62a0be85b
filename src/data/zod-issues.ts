// Turns zod validation errors on one JSON line into loader issues with field paths.
import type { z } from 'zod';
import type { LineIssue } from './loader.js';

/**
 * One `schema` issue per zod issue, with the dotted field path and zod's expected/received
 * message; an unknown key becomes one issue per key, with the key in the path.
 */
export function issuesFromZod(error: z.ZodError): LineIssue[] {
  const out: LineIssue[] = [];
  const push = (path: PropertyKey[], message: string): void => {
    const field = path.map(String).join('.');
    out.push(field === '' ? { kind: 'schema', message } : { kind: 'schema', field, message });
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) push([...issue.path, key], `unknown key ${JSON.stringify(key)}`);
    } else {
      push(issue.path, issue.message);
    }
  }
  return out;
}
