// The OpenAI request bodies the server accepts (chat and text completions), validated at the edge, and its error shape.
import { z } from 'zod';

/** Sampling fields shared by chat and text completions. */
const sampling = {
  model: z.string().max(256),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  max_tokens: z.number().int().min(1).optional(),
  stop: z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).max(4)]).nullish(),
  n: z.number().int().min(1).optional(),
  seed: z.number().int().nullish(),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
  user: z.string().max(256).optional(),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
/** OpenAI's image part: the image inline as a data URL (a remote URL is refused when the request is read, not fetched). */
const imagePart = z
  .object({
    type: z.literal('image_url'),
    image_url: z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }).strict(),
  })
  .strict();
/** Message content: a string, or text and image parts (other part types, e.g. input_audio, are refused). */
const content = z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, imagePart])).min(1)]);

export const ChatRequestSchema = z
  .object({
    ...sampling,
    messages: z
      .array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content, name: z.string().optional() }).strict())
      .min(1)
      .max(256),
    max_completion_tokens: z.number().int().min(1).optional(),
    /** safealign's extension: verbalized sampling with this many answers (0 = off), overriding the server's --verbalized. */
    verbalized: z.number().int().min(0).max(20).optional(),
  })
  .strict();

export const CompletionRequestSchema = z
  .object({
    ...sampling,
    prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  })
  .strict();

export type ChatRequest = z.output<typeof ChatRequestSchema>;
export type CompletionRequest = z.output<typeof CompletionRequestSchema>;

/** The text of a message's content (text parts joined; image parts are read by `imageParts`). */
export function contentText(c: ChatRequest['messages'][number]['content']): string {
  return typeof c === 'string' ? c : c.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
}

/** An image part of a request: its URL, the message it is in and its field (e.g. `messages.0.content.1`). */
export interface ImagePart {
  url: string;
  message: number;
  field: string;
}

/** Every image part of a chat request, in reading order. */
export function imageParts(messages: ChatRequest['messages']): ImagePart[] {
  return messages.flatMap((m, i) =>
    typeof m.content === 'string' ? [] : m.content.flatMap((p, j) => (p.type === 'image_url' ? [{ url: p.image_url.url, message: i, field: `messages.${i}.content.${j}` }] : [])),
  );
}

/** An error answered in OpenAI's shape: `{ error: { message, type, param, code } }`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  get body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] };

/**
 * The issues under a union that matched no branch, as the branch that came furthest reports them (a content array's bad
 * part, not "expected string"); others as they are.
 */
function leafIssues(issue: Issue): Issue[] {
  const branches = issue.code === 'invalid_union' ? (issue.errors ?? []).filter((b) => b.length > 0) : [];
  if (!branches.length) return [issue];
  const depth = (b: Issue[]) => Math.max(...b.map((i) => i.path.length));
  const furthest = branches.reduce((best, b) => (depth(b) > depth(best) ? b : best));
  if (depth(furthest) === 0) return [issue];
  return furthest.flatMap((i) => leafIssues({ ...i, path: [...issue.path, ...i.path] }));
}

/** Validates a body; a 400 names the first few bad fields. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const leaves = (r.error.issues as Issue[]).flatMap(leafIssues);
  const issues = leaves.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
  const first = leaves[0];
  throw new ApiError(400, `invalid request: ${issues.join('; ')}`, 'invalid_request_error', null, first?.path.length ? first.path.join('.') : null);
}
