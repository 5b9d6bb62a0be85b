// Test helper: a small OpenAI-compatible judge over node:http that answers by a rule and misbehaves on request (delays, hangs, 429, 500, bad JSON).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  messages: { role: string; content: string }[];
  /** 1-based count of chat requests so far, this one included. */
  n: number;
}

/** What the fake does with one chat request. */
export type FakeAction =
  | { answer: string; usage?: { prompt_tokens: number; completion_tokens: number }; delayMs?: number }
  | { status: number; body?: string; headers?: Record<string, string> }
  | { hang: true };

export interface FakeJudge {
  url: string;
  /** Chat requests received (retries included). */
  requests: FakeRequest[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => resolve(body));
  });
}

/** Starts the fake on a free port; `act` decides each chat request. */
export async function startFakeJudge(act: (r: FakeRequest) => FakeAction): Promise<FakeJudge> {
  const requests: FakeRequest[] = [];
  const hung: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'fake-judge', object: 'model' }] }));
        return;
      }
      const parsed = JSON.parse(body) as { messages: FakeRequest['messages'] };
      const r: FakeRequest = { messages: parsed.messages, n: requests.length + 1 };
      requests.push(r);
      const a = act(r);
      if ('hang' in a) {
        hung.push(req);
        return;
      }
      if ('status' in a) {
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? JSON.stringify({ error: { message: `fake ${a.status}` } }));
        return;
      }
      if (a.delayMs) await new Promise((resolve) => setTimeout(resolve, a.delayMs));
      const usage = a.usage ?? { prompt_tokens: 100, completion_tokens: 3 };
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ id: 'x', object: 'chat.completion', model: 'fake-judge', choices: [{ index: 0, message: { role: 'assistant', content: a.answer }, finish_reason: 'stop' }], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } }),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const h of hung) h.socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The question a request asks, and the responses it shows (A first), read back from the templates. */
export function readQuestion(r: FakeRequest): { kind: 'helpful' | 'harmless' | 'safety'; shown: string[] } {
  const text = r.messages[r.messages.length - 1]?.content ?? '';
  const section = (name: string) => new RegExp(`\\[${name}\\]\\n([\\s\\S]*?)(?:\\n\\n\\[|\\n\\nAnswer)`).exec(text)?.[1] ?? '';
  if (text.includes('[Response]')) return { kind: 'safety', shown: [section('Response')] };
  return { kind: text.includes('more helpful') ? 'helpful' : 'harmless', shown: [section('Response A'), section('Response B')] };
}

/**
 * A consistent judge: the longer response is more helpful; one containing "weapon" is unsafe
 * (Violence), the other more harmless.
 */
export function ruleJudge(r: FakeRequest): string {
  const q = readQuestion(r);
  const unsafe = (s: string) => s.includes('weapon');
  if (q.kind === 'safety') return unsafe(q.shown[0] ?? '') ? 'Safety: unsafe\nCategories: Violence' : 'Safety: safe\nCategories: none';
  const [a, b] = q.shown as [string, string];
  if (q.kind === 'helpful') return `Verdict: ${a.length >= b.length ? 'A' : 'B'}`;
  return `Verdict: ${unsafe(a) && !unsafe(b) ? 'B' : 'A'}`;
}
