// HTTP-facing errors: a status code and a message that says what was expected; zod parsing at the edge.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AssignmentError } from './store/assignments.js';
import { UserExistsError } from './store/accounts.js';
import { QualityError } from './store/quality.js';
import { ImportError } from './import.js';
import { clip, MAX_ERROR_DETAILS, MAX_MESSAGE_CHARS, MAX_NAMED_PROBLEMS, MAX_PROBLEM_CHARS } from './limits.js';

/** An error with the HTTP status to answer. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: string[],
  ) {
    super(message);
  }
}

/**
 * Validates untrusted input (body, params, query); a 400 names the first few bad fields and
 * counts the rest (never one line per unknown key of a hostile body).
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const details = issues
    .slice(0, MAX_ERROR_DETAILS)
    .map((i) => clip(`${where}${i.path.length ? `.${i.path.slice(0, 5).join('.')}` : ''}: ${i.message}`, MAX_PROBLEM_CHARS));
  const more = issues.length - MAX_NAMED_PROBLEMS;
  const named = details.slice(0, MAX_NAMED_PROBLEMS).join('; ');
  throw new HttpError(400, `invalid ${where}: ${named}${more > 0 ? `; and ${more} more problem(s)` : ''}`, details);
}

/** Details capped in number and length, the left-out ones counted in a last entry. */
function cappedDetails(details: readonly string[]): string[] {
  const kept = details.slice(0, MAX_ERROR_DETAILS).map((d) => clip(d, MAX_PROBLEM_CHARS));
  if (details.length > MAX_ERROR_DETAILS) kept.push(`... and ${details.length - MAX_ERROR_DETAILS} more`);
  return kept;
}

const STATUS: Record<string, number> = { 'not-found': 404, 'already-answered': 409, conflict: 409, closed: 403 };

/** Maps errors to JSON answers, message and details capped in size; never leaks internals of unexpected errors. */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let status = 500;
  let message = 'internal error; see the server log';
  let details: string[] | undefined;
  if (error instanceof HttpError) {
    status = error.statusCode;
    message = error.message;
    details = error.details;
  } else if (error instanceof AssignmentError || error instanceof QualityError) {
    status = STATUS[error.reason] ?? 400;
    message = error.message;
  } else if (error instanceof UserExistsError) {
    status = 409;
    message = error.message;
  } else if (error instanceof ImportError) {
    status = 400;
    message = error.message;
    details = error.problems;
  } else if ('statusCode' in error && typeof error.statusCode === 'number' && error.statusCode < 500) {
    // Framework errors: bad JSON, body too large, CSRF (403), rate limit (429).
    status = error.statusCode;
    message = error.message;
  }
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  void reply.status(status).send({ error: clip(message, MAX_MESSAGE_CHARS), ...(details ? { details: cappedDetails(details) } : {}) });
}
