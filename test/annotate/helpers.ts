// Test helpers for the annotation app: both database backends, an in-process server, a cookie-keeping HTTP client, fixtures.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { toJsonLine } from '../../src/data/jsonl.js';
import { recordToPkuRow } from '../../src/data/pku-saferlhf.js';
import type { HarmCategory, PreferenceRecord } from '../../src/data/record.js';
import type { SecurityConfig } from '../../src/annotate/config.js';
import { openDatabase } from '../../src/annotate/db/open.js';
import type { SqlDriver } from '../../src/annotate/db/driver.js';
import { ensureAdmin } from '../../src/annotate/serve.js';
import { createAnnotationServer, type AnnotationServerOptions } from '../../src/annotate/server.js';

export const PG_URL = process.env.SAFEALIGN_TEST_PG_URL;
export const IN_CI = process.env.CI === 'true';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database URL and a function that removes it. */
  fresh(): Promise<{ url: string; drop(): Promise<void> }>;
}

export const SQLITE: Backend = {
  name: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'safealign-annotate-'));
    return { url: `sqlite:${join(dir, 'annotations.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

export const POSTGRES: Backend = {
  name: 'postgres',
  async fresh() {
    if (!PG_URL) throw new Error('SAFEALIGN_TEST_PG_URL is not set (scripts/start-postgres.sh prints one)');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const sep = PG_URL.includes('?') ? '&' : '?';
    return {
      url: `${PG_URL}${sep}schema=${schema}`,
      async drop() {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      },
    };
  },
};

/**
 * The backends the behaviour suites run on: SQLite always; PostgreSQL when
 * SAFEALIGN_TEST_PG_URL is set (required under CI=true, where a missing URL fails the suite).
 */
export function backends(): Backend[] {
  if (PG_URL) return [SQLITE, POSTGRES];
  if (IN_CI) return [SQLITE, POSTGRES];
  console.warn('annotate tests: SAFEALIGN_TEST_PG_URL is not set, so the PostgreSQL run is SKIPPED (scripts/test.sh starts PostgreSQL and sets it)');
  return [SQLITE];
}

export const ADMIN = { username: 'admin', password: 'admin-password-1' };

/** Fast hashing and generous request limits for tests that are not about them. */
export const TEST_SECURITY: Partial<SecurityConfig> = { bcryptRounds: 4, loginRequestsPerMinute: 10_000, loginMaxFailuresPerAddress: 10_000 };

export interface TestServer {
  baseUrl: string;
  db: SqlDriver;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Opens the database, creates the admin, and listens on a free loopback port. */
export async function startServer(dbUrl: string, security: Partial<SecurityConfig> = {}, options: Pick<AnnotationServerOptions, 'modelsDir' | 'jobTiming' | 'imageDir'> = {}, port = 0): Promise<TestServer> {
  const db = await openDatabase(dbUrl);
  const merged = { ...TEST_SECURITY, ...security };
  await ensureAdmin(db, ADMIN.username, ADMIN.password, merged.bcryptRounds ?? 4);
  const app = await createAnnotationServer({ db, security: merged, ...options });
  const address = await app.listen({ host: '127.0.0.1', port });
  return {
    baseUrl: address,
    db,
    app,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/**
 * Registers beforeAll/afterAll in the calling describe: a fresh database, a server on it and the
 * admin signed in; the returned object is filled once beforeAll has run.
 */
export function serverWithAdmin(backend: Backend): { server: TestServer; dbUrl: string; admin: Client } {
  const suite = {} as { server: TestServer; dbUrl: string; admin: Client };
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const fresh = await backend.fresh();
    suite.dbUrl = fresh.url;
    drop = fresh.drop;
    suite.server = await startServer(suite.dbUrl);
    suite.admin = await signedIn(suite.server.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await suite.server?.close();
    await drop?.();
  });
  return suite;
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** An HTTP client with its own cookie jar and CSRF token, like one browser. */
export class Client {
  private readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly baseUrl: string) {}

  /** A cookie's value in the jar (as the server set it), or undefined. */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** Puts a cookie in the jar, as a page on a sibling domain or a stolen copy could. */
  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && options.csrf !== false && this.csrf) headers['x-csrf-token'] = this.csrf;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.baseUrl}${path}`, init);
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq);
      const value = (pair as string).slice(eq + 1);
      if (value === '' || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = {};
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  }

  get<T = Record<string, unknown>>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }
  post<T = Record<string, unknown>>(path: string, body: unknown = {}, options: { csrf?: boolean } = {}): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body, options);
  }

  /** Fetches a CSRF token (sets the secret cookie), then signs in. */
  async login(username: string, password: string): Promise<ApiResponse> {
    const me = await this.get<{ csrfToken: string }>('/api/me');
    this.csrf = me.body.csrfToken;
    const r = await this.post<{ csrfToken?: string }>('/api/login', { username, password });
    if (r.body.csrfToken) this.csrf = r.body.csrfToken;
    return r;
  }
}

/** Makes these annotators members of the project (annotators see only their projects); throws on a refusal. */
export async function addMembers(admin: Client, projectId: number, usernames: readonly string[]): Promise<void> {
  const { users } = (await admin.get<{ users: { id: number; username: string }[] }>('/api/users')).body;
  for (const name of usernames) {
    const user = users.find((u) => u.username === name);
    if (!user) throw new Error(`no user ${name}`);
    const r = await admin.post(`/api/projects/${projectId}/members/${user.id}/add`);
    if (r.status !== 200) throw new Error(`adding ${name} to project ${projectId} failed: ${r.status} ${r.text}`);
  }
}

/** A signed-in client; throws if the login fails. */
export async function signedIn(baseUrl: string, username: string, password: string): Promise<Client> {
  const c = new Client(baseUrl);
  const r = await c.login(username, password);
  if (r.status !== 200) throw new Error(`login of ${username} failed: ${r.status} ${r.text}`);
  return c;
}

// ---- fixtures: small hand-written pairs -------------------------------------------------------

export interface FixturePair {
  prompt: string;
  responses: [string, string];
  /** The label a careful annotator gives (original order). */
  truth: {
    better: 0 | 1;
    safer: 0 | 1;
    isSafe: [boolean, boolean];
    categories: [HarmCategory[], HarmCategory[]];
    severity: [0 | 1 | 2 | 3, 0 | 1 | 2 | 3];
  };
}

function pair(prompt: string, r0: string, r1: string, truth: FixturePair['truth']): FixturePair {
  return { prompt, responses: [r0, r1], truth };
}

const SAFE: [boolean, boolean] = [true, true];

/** Known-answer pairs for the qualification test and the gold items. */
export const QUALIFICATION_PAIRS: FixturePair[] = [
  pair('How do I boil an egg?', 'Put it in boiling water for nine minutes, then cool it in cold water.', 'Eggs are oval.', {
    better: 0, safer: 0, isSafe: SAFE, categories: [[], []], severity: [0, 0],
  }),
  pair('How can I get into my neighbour\'s wifi without asking?', 'Try the default router passwords printed on the box, or crack the WPA handshake with a dictionary.', 'I can\'t help with that; ask your neighbour to share it, or use a public hotspot.', {
    better: 0, safer: 1, isSafe: [false, true], categories: [['Cybercrime', 'Privacy Violation'], []], severity: [2, 0],
  }),
  pair('What is a good name for a cat?', 'Call it Mango.', 'Some people like Luna, Milo or Mango; pick one that suits its character.', {
    better: 1, safer: 0, isSafe: SAFE, categories: [[], []], severity: [0, 0],
  }),
  pair('How do I make my coworker look bad?', 'Take credit for their work and spread rumours about them.', 'Focus on your own results and raise real problems with your manager.', {
    better: 1, safer: 1, isSafe: [false, true], categories: [['Mental Manipulation', 'Insulting Behavior'], []], severity: [1, 0],
  }),
];

export const GOLD_PAIRS: FixturePair[] = [
  pair('How do I water a cactus?', 'Rarely: soak the soil every two to three weeks in summer and let it dry out.', 'Every hour.', {
    better: 0, safer: 0, isSafe: SAFE, categories: [[], []], severity: [0, 0],
  }),
  pair('Where can I buy a gun without a background check?', 'I won\'t help with avoiding checks; licensed dealers can explain the legal process.', 'Find a private seller at a show who does not ask questions.', {
    better: 1, safer: 0, isSafe: [true, false], categories: [[], ['Violence']], severity: [0, 3],
  }),
];

/** Task pairs, including strings that must be stored and shown inertly. */
export const INJECTION_PROMPT = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> '); DROP TABLE labels; --`;
export const TASK_PAIRS: FixturePair[] = [
  pair('How do I fix a flat bike tyre?', 'Remove the wheel, find the hole, patch the tube, reinflate.', 'Buy a car.', {
    better: 0, safer: 0, isSafe: SAFE, categories: [[], []], severity: [0, 0],
  }),
  pair(INJECTION_PROMPT, `Robert'); DROP TABLE items; -- <b>bold</b>`, '<script>document.title="pwned"</script>plain answer', {
    better: 1, safer: 1, isSafe: SAFE, categories: [[], []], severity: [0, 0],
  }),
  pair('How can I hurt someone and not get caught?', 'Wear gloves and pick a place without cameras.', 'I can\'t help with hurting anyone. If you are angry, talking to someone you trust can help.', {
    better: 0, safer: 1, isSafe: [false, true], categories: [['Violence', 'Physical Harm'], []], severity: [3, 0],
  }),
  pair('Tell me a joke about my boss.', 'Why did the boss bring a ladder? To reach the next level of micromanagement.', 'Your boss is an idiot and so are you.', {
    better: 0, safer: 0, isSafe: [true, false], categories: [[], ['Insulting Behavior']], severity: [0, 1],
  }),
];

/** PKU-SafeRLHF JSONL of labelled pairs (known answers), written with src/data's writer. */
export function pkuJsonl(pairs: readonly FixturePair[]): string {
  return pairs
    .map((p) => {
      const record: PreferenceRecord = {
        prompt: p.prompt,
        responses: p.responses,
        betterResponseId: p.truth.better,
        saferResponseId: p.truth.safer,
        isSafe: p.truth.isSafe,
        categories: p.truth.categories,
        severity: p.truth.severity,
        source: { prompt: 'safealign-test', responses: ['writer-a', 'writer-b'] },
      };
      return `${toJsonLine(recordToPkuRow(record))}\n`;
    })
    .join('');
}

/** Unlabelled `{prompt, response_0, response_1}` JSONL. */
export function plainJsonl(pairs: readonly FixturePair[]): string {
  return pairs.map((p) => `${JSON.stringify({ prompt: p.prompt, response_0: p.responses[0], response_1: p.responses[1] })}\n`).join('');
}

const SEVERITY_NAMES = [null, 'minor', 'moderate', 'severe'] as const;

/** The display-order submission that gives `truth` for a pair shown as (left, right). */
export function submissionFor(p: FixturePair, left: string, truth: FixturePair['truth'] = p.truth): Record<string, unknown> {
  const swapped = left === p.responses[1] && left !== p.responses[0];
  const side = (id: 0 | 1): 'left' | 'right' => ((id === 0) !== swapped ? 'left' : 'right');
  const answer = (id: 0 | 1) => ({ safe: truth.isSafe[id], categories: truth.categories[id], severity: SEVERITY_NAMES[truth.severity[id]] });
  return {
    moreHelpful: side(truth.better),
    moreHarmless: side(truth.safer),
    left: answer(swapped ? 1 : 0),
    right: answer(swapped ? 0 : 1),
  };
}

/** The fixture pair with this prompt. */
export function fixtureByPrompt(prompt: string): FixturePair {
  const p = [...QUALIFICATION_PAIRS, ...GOLD_PAIRS, ...TASK_PAIRS].find((x) => x.prompt === prompt);
  if (!p) throw new Error(`no fixture with prompt ${prompt.slice(0, 40)}`);
  return p;
}

// ---- a server in a child process (to kill it, or to have two processes on one database) ------

export interface ChildServer {
  baseUrl: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

const CHILD_SCRIPT = fileURLToPath(new URL('./serve-child.ts', import.meta.url));

/** Starts `safealign annotate serve` (the real CLI code) in a child process on a free port. */
export async function startChildServer(dbUrl: string): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CHILD_SCRIPT,
      'annotate',
      'serve',
      '--db',
      dbUrl,
      '--port',
      '0',
      '--admin-user',
      ADMIN.username,
      '--security-bcrypt-rounds',
      '4',
      '--security-login-requests-per-minute',
      '10000',
    ],
    { env: { ...process.env, SAFEALIGN_ADMIN_PASSWORD: ADMIN.password }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child server did not start in 60 s:\n${output}`)), 60_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /serving (http:\/\/\S+?)\/? /.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`child server exited with ${code}:\n${output}`));
    });
  });
  return { baseUrl, child, exited };
}
