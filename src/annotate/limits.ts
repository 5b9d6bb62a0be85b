// Size limits of what the annotation server reads and writes back: request bodies per route, error messages.

/** Bytes of a request body on any route that does not say otherwise (labels, projects, accounts, audits). */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Bytes of a sign-in body: the only body read before anyone is signed in (username and password fit easily). */
export const LOGIN_BODY_LIMIT = 4 * 1024;

/** Bytes of a qualification test's answers (up to 1000 judgements of about 300 bytes). */
export const QUALIFICATION_BODY_LIMIT = 1024 * 1024;

/** Default bytes of an import or generation body (`--body-limit-mb`); the only large bodies. */
export const LARGE_BODY_LIMIT = 50 * 1024 * 1024;

/** Bytes of one imported pair's image (its file, or its base64 decoded). */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** Pixels of the longer side of an imported image (a small file may decode to a huge bitmap in the browser). */
export const MAX_IMAGE_SIDE = 8192;

/** At most this many problems are named in an error message; the rest are counted. */
export const MAX_NAMED_PROBLEMS = 5;

/** At most this many entries in an error's `details`. */
export const MAX_ERROR_DETAILS = 10;

/** Characters of one problem, of an error message, kept (longer ones are cut with an ellipsis). */
export const MAX_PROBLEM_CHARS = 300;
export const MAX_MESSAGE_CHARS = 2000;

/** `s` cut to `max` characters, with an ellipsis that says how much was left out. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters)`;
}
