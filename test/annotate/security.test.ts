// Attacks on the annotation server's sign-in and request handling (issue 18), each run against SQLite and PostgreSQL:
// the raced per-account login limit, spoofed X-Forwarded-For, huge bodies before sign-in, capped error details, weak passwords,
// probing others' assignments by id, racing the qualification attempt limit,
// look-alike usernames, CSRF tokens of another session, sessions kept past a new sign-in, a password change,
// a disabled account or idleness, gold items told apart by position, progress or settings.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecuritySchema } from '../../src/annotate/config.js';
import { openDatabase } from '../../src/annotate/db/open.js';
import { ensureAdmin } from '../../src/annotate/serve.js';
import { addMembers, ADMIN, type ApiResponse, backends, Client, fixtureByPrompt, type FixturePair, GOLD_PAIRS, pkuJsonl, plainJsonl, QUALIFICATION_PAIRS, serverWithAdmin, signedIn, startServer, submissionFor, TASK_PAIRS, type TestServer } from './helpers.js';

/** `n` clients that each hold a CSRF token (from GET /api/me), ready to post at once. */
async function readyClients(baseUrl: string, n: number): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new Client(baseUrl);
      c.csrf = (await c.get<{ csrfToken: string }>('/api/me')).body.csrfToken;
      return c;
    }),
  );
}

/** One sign-in as a client at `ip` (the server trusts X-Forwarded-For from loopback); its status. */
async function loginFrom(baseUrl: string, ip: string, username: string, password: string): Promise<number> {
  const c = new Client(baseUrl);
  const headers = { 'x-forwarded-for': ip };
  c.csrf = (await c.request<{ csrfToken: string }>('GET', '/api/me', undefined, { headers })).body.csrfToken;
  return (await c.request('POST', '/api/login', { username, password }, { headers })).status;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function tally(statuses: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

describe.each(backends())('annotation server under attack on $name', (backend) => {
  const suite = serverWithAdmin(backend);
  let server: TestServer;
  let dbUrl: string;
  let admin: Client;
  beforeAll(() => ({ server, dbUrl, admin } = suite));

  it('checks at most loginMaxFailures passwords of one account when wrong guesses arrive in parallel on two servers', async () => {
    // Two servers on one database (two connections / pools): the limit must hold across them.
    // bcrypt cost 8 makes each check take long enough that unsynchronised checks would overlap.
    // Each guess comes from its own address (through a trusted proxy on loopback).
    const limits = { loginMaxFailures: 5, loginWindowMinutes: 10, bcryptRounds: 8, trustProxy: '127.0.0.1' };
    const a = await startServer(dbUrl, limits);
    const b = await startServer(dbUrl, limits);
    try {
      expect((await admin.post('/api/users', { username: 'race-victim', password: 'the-right-password', role: 'annotator' })).status).toBe(201);
      const clients = [...(await readyClients(a.baseUrl, 10)), ...(await readyClients(b.baseUrl, 10))];
      const results = await Promise.all(
        clients.map((c, i) =>
          c.request('POST', '/api/login', { username: 'race-victim', password: `guess-${i}` }, { headers: { 'x-forwarded-for': `198.51.100.${i}` } }),
        ),
      );
      const counts = tally(results.map((r) => r.status));
      expect(counts, JSON.stringify(counts)).toEqual({ 401: 5, 429: 15 });
      for (const r of results.filter((x) => x.status === 429)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      // At the limit even the right password is refused (the limit is not a hint).
      expect((await new Client(a.baseUrl).login('race-victim', 'the-right-password')).status).toBe(429);
      const recorded = await server.db.get<{ n: number }>(
        'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM login_failures WHERE username = $1',
        ['race-victim'],
      );
      expect(recorded?.n).toBe(5);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a successful login does not count as a failure, also when logins run in parallel', async () => {
    const strict = await startServer(dbUrl, { loginMaxFailures: 3, loginWindowMinutes: 10 });
    try {
      expect((await admin.post('/api/users', { username: 'busy-user', password: 'busy-password-1', role: 'annotator' })).status).toBe(201);
      const clients = await readyClients(strict.baseUrl, 6);
      const results = await Promise.all(clients.map((c) => c.post('/api/login', { username: 'busy-user', password: 'busy-password-1' })));
      // Attempts in flight count against the limit while they run, so some of six simultaneous
      // logins may be told to wait; but none is recorded as a failure once it has succeeded.
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
      for (const r of results) expect([200, 429]).toContain(r.status);
      const left = await server.db.get<{ n: number }>('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM login_failures WHERE username = $1', ['busy-user']);
      expect(left?.n).toBe(0);
      expect((await new Client(strict.baseUrl).login('busy-user', 'busy-password-1')).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  describe('lockout policy', () => {
    const policy = { trustProxy: '127.0.0.1', loginMaxFailures: 3, loginMaxFailuresPerAddress: 4, loginWindowMinutes: 10 };

    it("guesses from elsewhere do not lock an account's owner out of an address they signed in from before", async () => {
      const s = await startServer(dbUrl, policy);
      try {
        expect((await admin.post('/api/users', { username: 'owner', password: 'owner-password-1', role: 'annotator' })).status).toBe(201);
        const home = '203.0.113.10';
        expect(await loginFrom(s.baseUrl, home, 'owner', 'owner-password-1')).toBe(200);
        // An attacker (two addresses) exhausts the account's budget for unknown addresses...
        const guesses = [];
        for (let i = 0; i < 4; i++) guesses.push(await loginFrom(s.baseUrl, '198.51.100.1', 'owner', `guess-${i}`));
        expect(guesses).toEqual([401, 401, 401, 429]);
        expect(await loginFrom(s.baseUrl, '198.51.100.2', 'owner', 'guess-x')).toBe(429);
        // ...so from an unknown address not even the right password is checked,
        expect(await loginFrom(s.baseUrl, '198.51.100.2', 'owner', 'owner-password-1')).toBe(429);
        // but the owner still signs in from home,
        expect(await loginFrom(s.baseUrl, home, 'owner', 'owner-password-1')).toBe(200);
        // where wrong passwords have a budget of their own.
        const typos = [];
        for (let i = 0; i < 4; i++) typos.push(await loginFrom(s.baseUrl, home, 'owner', `typo-${i}`));
        expect(typos).toEqual([401, 401, 401, 429]);
      } finally {
        await s.close();
      }
    });

    it('limits wrong passwords per address over all accounts, except for accounts known at that address', async () => {
      const s = await startServer(dbUrl, policy);
      try {
        expect((await admin.post('/api/users', { username: 'regular', password: 'regular-password-1', role: 'annotator' })).status).toBe(201);
        const office = '198.51.100.50';
        expect(await loginFrom(s.baseUrl, office, 'regular', 'regular-password-1')).toBe(200);
        const sprayed = [];
        for (let i = 0; i < 6; i++) sprayed.push(await loginFrom(s.baseUrl, office, `spray-${i}`, 'password123'));
        expect(sprayed).toEqual([401, 401, 401, 401, 429, 429]);
        expect(await loginFrom(s.baseUrl, office, 'admin', ADMIN.password)).toBe(429);
        // The account that signed in from this address before is not shut out by others' failures there.
        expect(await loginFrom(s.baseUrl, office, 'regular', 'regular-password-1')).toBe(200);
        // Another address is unaffected.
        expect(await loginFrom(s.baseUrl, '198.51.100.51', 'spray-9', 'password123')).toBe(401);
      } finally {
        await s.close();
      }
    });

    it('holds the per-address limit when one address sprays many accounts in parallel on two servers', async () => {
      const a = await startServer(dbUrl, { ...policy, bcryptRounds: 8 });
      const b = await startServer(dbUrl, { ...policy, bcryptRounds: 8 });
      try {
        const sprayer = '198.51.100.77';
        const statuses = await Promise.all(
          Array.from({ length: 16 }, (_, i) => loginFrom(i % 2 ? b.baseUrl : a.baseUrl, sprayer, `parallel-spray-${i}`, 'password123')),
        );
        expect(tally(statuses)).toEqual({ 401: 4, 429: 12 });
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('--security-trust-proxy', () => {
    /** Login attempts (unknown users, so no account limit) with the given X-Forwarded-For; their statuses. */
    async function loginsVia(baseUrl: string, forwardedFor: (i: number) => string, n: number): Promise<number[]> {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = new Client(baseUrl);
        const me = await c.request<{ csrfToken: string }>('GET', '/api/me', undefined, { headers: { 'x-forwarded-for': forwardedFor(i) } });
        c.csrf = me.body.csrfToken;
        const r = await c.request('POST', '/api/login', { username: `nobody-${i}`, password: 'whatever-1' }, { headers: { 'x-forwarded-for': forwardedFor(i) } });
        statuses.push(r.status);
      }
      return statuses;
    }

    it('refuses "trust every hop", which would let any client pick its address', () => {
      expect(SecuritySchema.safeParse({ trustProxy: true }).success).toBe(false);
      expect(SecuritySchema.safeParse({ trustProxy: 'true' }).success).toBe(false);
      expect(SecuritySchema.safeParse({ trustProxy: '10.0.0.0/33' }).success).toBe(false);
      expect(SecuritySchema.safeParse({ trustProxy: 'proxy.example.org' }).success).toBe(false);
      for (const ok of [0, 1, 2, '1', '', '127.0.0.1', '10.0.0.0/8, ::1', 'loopback', 'fd00::/8']) {
        expect(SecuritySchema.safeParse({ trustProxy: ok }).success, String(ok)).toBe(true);
      }
    });

    it('with a hop count, spoofed X-Forwarded-For entries do not escape the per-address login limit', async () => {
      const s = await startServer(dbUrl, { trustProxy: 1, loginRequestsPerMinute: 3 });
      try {
        // The client writes a fresh address each time; the proxy (us, on loopback) appends the real one.
        const statuses = await loginsVia(s.baseUrl, (i) => `198.51.100.${i}, 203.0.113.7`, 8);
        expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
        // Another real client behind the same proxy has its own budget.
        expect(await loginsVia(s.baseUrl, () => '203.0.113.8', 1)).toEqual([401]);
      } finally {
        await s.close();
      }
    });

    it('with a list of proxy addresses, only those proxies are believed', async () => {
      const listed = await startServer(dbUrl, { trustProxy: '10.0.0.0/8, 127.0.0.1', loginRequestsPerMinute: 3 });
      try {
        const statuses = await loginsVia(listed.baseUrl, (i) => `198.51.100.${i}, 203.0.113.7`, 6);
        expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
      } finally {
        await listed.close();
      }
      // We connect from loopback, which is not a listed proxy: X-Forwarded-For is ignored altogether.
      const other = await startServer(dbUrl, { trustProxy: '10.1.2.3', loginRequestsPerMinute: 3 });
      try {
        const statuses = await loginsVia(other.baseUrl, (i) => `198.51.100.${i}`, 6);
        expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
        const r = await other.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-forwarded-proto': 'https' } });
        expect(String([r.headers['set-cookie']].flat()[0])).not.toMatch(/Secure/);
      } finally {
        await other.close();
      }
    });
  });

  describe('password policy', () => {
    it('refuses passwords over 72 bytes, common ones and the username; a longer guess never matches on its first 72 bytes', async () => {
      const create = (username: string, password: string) => admin.post<{ error: string }>('/api/users', { username, password, role: 'annotator' });
      const tooLong = await create('long-pw', 'x'.repeat(73));
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error).toMatch(/at most 72 bytes/);
      const common = await create('common-pw', 'Password123');
      expect(common.status).toBe(400);
      expect(common.body.error).toMatch(/common/);
      const same = await create('same-as-name', 'Same-As-Name');
      expect(same.status).toBe(400);
      expect(same.body.error).toMatch(/username/);
      // Exactly 72 bytes is allowed; bcrypt would accept anything appended to it, the server does not.
      const full = `${'k'.repeat(60)}-0123456789a`;
      expect(Buffer.byteLength(full)).toBe(72);
      expect((await create('full-pw', full)).status).toBe(201);
      expect((await new Client(server.baseUrl).login('full-pw', `${full}-and-more`)).status).toBe(401);
      expect((await new Client(server.baseUrl).login('full-pw', full)).status).toBe(200);
    });

    it('refuses to create a first admin with a common password or the username as password', async () => {
      const fresh = await backend.fresh();
      const db = await openDatabase(fresh.url);
      try {
        await expect(ensureAdmin(db, 'root', 'changeme123', 4)).rejects.toThrow(/common/);
        await expect(ensureAdmin(db, 'rootuser', 'RootUser', 4)).rejects.toThrow(/username/);
        await expect(ensureAdmin(db, 'root', 'a-much-better-one', 4)).resolves.toMatch(/created admin/);
      } finally {
        await db.close();
        await fresh.drop();
      }
    });
  });

  it("answers the same for another annotator's assignment or qualification attempt as for one that does not exist", async () => {
    const project = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'probing', settings: { goldShare: 0, auditShare: 0 } });
    const id = project.body.project.id;
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 'q', kind: 'qualification', jsonl: pkuJsonl(QUALIFICATION_PAIRS) })).status).toBe(201);
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 't', kind: 'task', jsonl: plainJsonl(TASK_PAIRS) })).status).toBe(201);
    for (const u of ['prober', 'probed']) expect((await admin.post('/api/users', { username: u, password: `pw-${u}-123`, role: 'annotator' })).status).toBe(201);
    await addMembers(admin, id, ['prober', 'probed']);
    const [prober, probed] = [await signedIn(server.baseUrl, 'prober', 'pw-prober-123'), await signedIn(server.baseUrl, 'probed', 'pw-probed-123')];
    // The probed annotator passes the test and holds an open assignment.
    const start = await probed.post<{ test: { attemptId: number; items: { itemId: number; prompt: string; left: string }[] } }>(`/api/projects/${id}/qualification/start`);
    const answers = start.body.test.items.map((it) => {
      const p = fixtureByPrompt(it.prompt);
      return { itemId: it.itemId, answer: submissionFor(p, it.left) };
    });
    const theirs = start.body.test.attemptId;
    expect((await probed.post(`/api/projects/${id}/qualification/${theirs}`, { answers })).status).toBe(200);
    const next = await probed.post<{ assignment: { id: number; left: string; prompt: string } }>(`/api/projects/${id}/assignments/next`);
    const assignment = next.body.assignment.id;
    const missing = 999_999;
    const same = async (probe: (n: number) => Promise<ApiResponse<{ error?: string }>>, existing: number) => {
      const [a, b] = [await probe(existing), await probe(missing)];
      expect(a.status).toBe(b.status);
      expect(a.body.error?.replace(String(existing), 'N')).toBe(b.body.error?.replace(String(missing), 'N'));
      return a.status;
    };
    expect(await same((n) => prober.get(`/api/assignments/${n}`), assignment)).toBe(404);
    const label = submissionFor(fixtureByPrompt(next.body.assignment.prompt), next.body.assignment.left);
    expect(await same((n) => prober.post(`/api/assignments/${n}/label`, label), assignment)).toBe(404);
    // The prober's own (open) attempt is still a real one; the probed's finished attempt looks like none.
    expect(await same((n) => prober.post(`/api/projects/${id}/qualification/${n}`, { answers }), theirs)).toBe(404);
    // The assignment is untouched and still answerable by its owner.
    expect((await probed.post(`/api/assignments/${assignment}/label`, label)).status).toBe(200);
  });

  it('keeps a project from annotators who are not its members: not listed, not readable, not workable, the same 404 as a missing project', async () => {
    const project = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'members only', settings: { goldShare: 0, auditShare: 0, annotatorsPerPair: 1 } });
    const id = project.body.project.id;
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 'q', kind: 'qualification', jsonl: pkuJsonl(QUALIFICATION_PAIRS) })).status).toBe(201);
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 't', kind: 'task', jsonl: plainJsonl(TASK_PAIRS) })).status).toBe(201);
    for (const u of ['insider', 'outsider']) expect((await admin.post('/api/users', { username: u, password: `pw-${u}-123`, role: 'annotator' })).status).toBe(201);
    await addMembers(admin, id, ['insider']);
    const [insider, outsider] = [await signedIn(server.baseUrl, 'insider', 'pw-insider-123'), await signedIn(server.baseUrl, 'outsider', 'pw-outsider-123')];
    const listed = async (c: Client) => (await c.get<{ projects: { id: number }[] }>('/api/projects')).body.projects.map((p) => p.id);
    expect(await listed(insider)).toContain(id);
    expect(await listed(outsider)).not.toContain(id);
    // The insider qualifies and holds an assignment.
    const start = await insider.post<{ test: { attemptId: number; items: { itemId: number; prompt: string; left: string }[] } }>(`/api/projects/${id}/qualification/start`);
    const answers = start.body.test.items.map((it) => ({ itemId: it.itemId, answer: submissionFor(fixtureByPrompt(it.prompt), it.left) }));
    expect((await insider.post(`/api/projects/${id}/qualification/${start.body.test.attemptId}`, { answers })).status).toBe(200);
    const next = await insider.post<{ assignment: { id: number; left: string; prompt: string } }>(`/api/projects/${id}/assignments/next`);
    const label = submissionFor(fixtureByPrompt(next.body.assignment.prompt), next.body.assignment.left);
    // Every project route answers the outsider exactly as for a project that does not exist.
    const missing = 999_999;
    const probes: [string, (p: number) => Promise<ApiResponse<{ error?: string }>>][] = [
      ['read', (p) => outsider.get(`/api/projects/${p}`)],
      ['qualification status', (p) => outsider.get(`/api/projects/${p}/qualification`)],
      ['qualification start', (p) => outsider.post(`/api/projects/${p}/qualification/start`)],
      ['qualification answers', (p) => outsider.post(`/api/projects/${p}/qualification/${start.body.test.attemptId}`, { answers })],
      ['next pair', (p) => outsider.post(`/api/projects/${p}/assignments/next`)],
      ['progress', (p) => outsider.get(`/api/projects/${p}/progress`)],
    ];
    for (const [what, probe] of probes) {
      const [a, b] = [await probe(id), await probe(missing)];
      expect(a.status, what).toBe(404);
      expect(a.body.error?.replace(String(id), 'N'), what).toBe(b.body.error?.replace(String(missing), 'N'));
    }
    expect(await server.db.get('SELECT COUNT(*) AS n FROM qualification_attempts WHERE user_id = (SELECT id FROM users WHERE username = $1)', ['outsider'])).toEqual({ n: 0 });
    // Removed from the project, the insider loses it too, the open assignment included; added again, it is back.
    const users = (await admin.get<{ users: { id: number; username: string }[] }>('/api/users')).body.users;
    const insiderId = users.find((u) => u.username === 'insider')?.id ?? 0;
    expect((await admin.post(`/api/projects/${id}/members/${insiderId}/remove`)).status).toBe(200);
    expect(await listed(insider)).not.toContain(id);
    expect((await insider.get(`/api/projects/${id}`)).status).toBe(404);
    expect((await insider.get(`/api/assignments/${next.body.assignment.id}`)).status).toBe(404);
    expect((await insider.post(`/api/assignments/${next.body.assignment.id}/label`, label)).status).toBe(404);
    expect(await server.db.get('SELECT COUNT(*) AS n FROM labels WHERE assignment_id = $1', [next.body.assignment.id])).toEqual({ n: 0 });
    // Only annotators are members; reviewers and admins see every project.
    const adminId = users.find((u) => u.username === ADMIN.username)?.id ?? 0;
    expect((await admin.post(`/api/projects/${id}/members/${adminId}/add`)).status).toBe(400);
    expect((await admin.post(`/api/projects/${id}/members/${insiderId}/add`)).status).toBe(200);
    expect((await insider.post(`/api/assignments/${next.body.assignment.id}/label`, label)).status).toBe(200);
    const members = await admin.get<{ members: { username: string; addedAt: string }[] }>(`/api/projects/${id}/members`);
    expect(members.body.members.map((m) => m.username)).toEqual(['insider']);
  });

  it('never opens a qualification attempt past the limit when a submission and new starts race, on two servers', async () => {
    const project = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'retakes', settings: { maxQualificationAttempts: 1 } });
    const id = project.body.project.id;
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 'q', kind: 'qualification', jsonl: pkuJsonl(QUALIFICATION_PAIRS) })).status).toBe(201);
    const a = await startServer(dbUrl);
    const b = await startServer(dbUrl);
    try {
      for (let round = 0; round < 3; round++) {
        const name = `retaker-${round}`;
        expect((await admin.post('/api/users', { username: name, password: `pw-${name}-123`, role: 'annotator' })).status).toBe(201);
        await addMembers(admin, id, [name]);
        const clients = [await signedIn(a.baseUrl, name, `pw-${name}-123`), await signedIn(b.baseUrl, name, `pw-${name}-123`)];
        const start = await (clients[0] as Client).post<{ test: { attemptId: number; items: { itemId: number; prompt: string; left: string }[] } }>(
          `/api/projects/${id}/qualification/start`,
        );
        const wrong = start.body.test.items.map((it) => {
          const p = fixtureByPrompt(it.prompt);
          return { itemId: it.itemId, answer: submissionFor(p, it.left, { ...p.truth, better: (1 - p.truth.better) as 0 | 1, safer: (1 - p.truth.safer) as 0 | 1 }) };
        });
        const starts = () => Array.from({ length: 6 }, (_, i) => (clients[i % 2] as Client).post(`/api/projects/${id}/qualification/start`));
        const results = await Promise.all([
          ...starts(),
          (clients[round % 2] as Client).post(`/api/projects/${id}/qualification/${start.body.test.attemptId}`, { answers: wrong }),
          ...starts(),
        ]);
        expect(results[6]?.status, results[6]?.text).toBe(200);
        // Each start either returned the one open attempt (before the submission) or was refused (after it).
        for (const r of results) expect([200, 403], r.text).toContain(r.status);
        const attempts = await server.db.all<{ id: number }>(
          'SELECT q.id FROM qualification_attempts q JOIN users u ON u.id = q.user_id WHERE u.username = $1 AND q.project_id = $2',
          [name, id],
        );
        expect(attempts.map((x) => x.id)).toEqual([start.body.test.attemptId]);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe('look-alike usernames', () => {
    it('refuses names that imitate an existing one: case, width, Cyrillic letters, accents, invisible and bidi characters', async () => {
      const imitations = ['ADMIN', 'Admin', 'ａｄｍｉｎ', '\u0430dmin', '\u0430\u0501\u043cin', 'admín', 'adrnin', 'ad\u200bmin', 'admin\u200d', '\u202eadmin', 'adm\u0131n'];
      for (const username of imitations) {
        const r = await admin.post<{ error: string }>('/api/users', { username, password: 'imitation-pw-1', role: 'admin' });
        expect([400, 409], `${JSON.stringify(username)}: ${r.text}`).toContain(r.status);
      }
      const users = await admin.get<{ users: { username: string }[] }>('/api/users');
      expect(users.body.users.filter((u) => u.username !== 'admin' && u.username.includes('min'))).toEqual([]);
      // Names are stored normalised and signed in with in any case or width.
      expect((await admin.post<{ user: { username: string } }>('/api/users', { username: 'Zoë.Adams', password: 'zoe-password-1', role: 'annotator' })).body.user.username).toBe('zoë.adams');
      for (const typed of ['zoë.adams', 'ZOË.ADAMS', 'ｚｏë.adams']) expect((await new Client(server.baseUrl).login(typed, 'zoe-password-1')).status, typed).toBe(200);
    });

    it('counts wrong passwords of one account together whatever case or width the name is typed in', async () => {
      const s = await startServer(dbUrl, { loginMaxFailures: 3, loginWindowMinutes: 10 });
      try {
        expect((await admin.post('/api/users', { username: 'casey', password: 'casey-password-1', role: 'annotator' })).status).toBe(201);
        const statuses = [];
        for (const typed of ['casey', 'CASEY', 'ｃａｓｅｙ', 'Casey']) statuses.push((await new Client(s.baseUrl).login(typed, 'wrong-guess-1')).status);
        expect(statuses).toEqual([401, 401, 401, 429]);
      } finally {
        await s.close();
      }
    });

    it('lets only one of several look-alike names created at once on two servers in', async () => {
      const a = await startServer(dbUrl);
      const b = await startServer(dbUrl);
      try {
        const admins = [await signedIn(a.baseUrl, ADMIN.username, ADMIN.password), await signedIn(b.baseUrl, ADMIN.username, ADMIN.password)];
        const names = ['jane.doe', 'jane_doe', 'jane-doe', 'Jane.Doe', 'jané.doe', 'jane.doe', 'JANE_DOE', 'jane.dōe'];
        const statuses = await Promise.all(
          names.map((username, i) => (admins[i % 2] as Client).post('/api/users', { username, password: `pw-jane-${i}-xyz`, role: 'annotator' })),
        );
        expect(tally(statuses.map((r) => r.status))).toEqual({ 201: 1, 409: names.length - 1 });
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('sessions and CSRF tokens', () => {
    it('binds the CSRF token to the session: a planted secret cookie with its own token does not pass', async () => {
      expect((await admin.post('/api/users', { username: 'csrf-victim', password: 'csrf-victim-pw-1', role: 'annotator' })).status).toBe(201);
      const victim = await signedIn(server.baseUrl, 'csrf-victim', 'csrf-victim-pw-1');
      expect((await victim.post('/api/logout', {})).status).toBe(200);
      const again = await signedIn(server.baseUrl, 'csrf-victim', 'csrf-victim-pw-1');
      // The attacker's own, valid pair of secret cookie and token (signed out, or from their own session)...
      const attacker = new Client(server.baseUrl);
      attacker.csrf = (await attacker.get<{ csrfToken: string }>('/api/me')).body.csrfToken;
      const attackerSignedIn = await signedIn(server.baseUrl, ADMIN.username, ADMIN.password);
      for (const [secret, token] of [
        [attacker.cookie('_csrf'), attacker.csrf],
        [attackerSignedIn.cookie('_csrf'), attackerSignedIn.csrf],
      ]) {
        // ...planted into the victim's browser (cookie tossing) is refused with the victim's session.
        const planted = new Client(server.baseUrl);
        planted.setCookie('safealign_session', again.cookie('safealign_session') as string);
        planted.setCookie('_csrf', secret as string);
        planted.csrf = token as string;
        const r = await planted.post('/api/logout', {});
        expect(r.status, r.text).toBe(403);
      }
      // The victim's own token works.
      expect((await again.post('/api/logout', {})).status).toBe(200);
    });

    it('rotates the CSRF secret at sign-in and ends the session a browser had before signing in again', async () => {
      const c = new Client(server.baseUrl);
      const before = (await c.get<{ csrfToken: string }>('/api/me')).body.csrfToken;
      const secretBefore = c.cookie('_csrf');
      expect((await c.login(ADMIN.username, ADMIN.password)).status).toBe(200);
      expect(c.cookie('_csrf')).not.toBe(secretBefore);
      const current = c.csrf;
      c.csrf = before;
      expect((await c.post('/api/logout', {})).status).toBe(403);
      c.csrf = current;
      const firstSession = c.cookie('safealign_session') as string;
      // Signing in again (same browser) ends the first session: a copy of its cookie is dead.
      expect((await c.login(ADMIN.username, ADMIN.password)).status).toBe(200);
      const stolen = new Client(server.baseUrl);
      stolen.setCookie('safealign_session', firstSession);
      expect((await stolen.get('/api/users')).status).toBe(401);
      expect((await c.get('/api/users')).status).toBe(200);
    });

    /** A new annotator signed in on `n` browsers; its id. */
    async function annotatorOn(name: string, n: number): Promise<{ id: number; browsers: Client[] }> {
      const r = await admin.post<{ user: { id: number } }>('/api/users', { username: name, password: `pw-${name}-123`, role: 'annotator' });
      expect(r.status, r.text).toBe(201);
      const browsers = [];
      for (let i = 0; i < n; i++) browsers.push(await signedIn(server.baseUrl, name, `pw-${name}-123`));
      return { id: r.body.user.id, browsers };
    }

    it('disabling an account ends its sessions at once and refuses its sign-in until it is enabled', async () => {
      const { id, browsers } = await annotatorOn('to-disable', 2);
      expect((await admin.post(`/api/users/${id}/disable`)).status).toBe(200);
      for (const b of browsers) expect((await b.get('/api/projects')).status).toBe(401);
      const refused = await new Client(server.baseUrl).login('to-disable', 'pw-to-disable-123');
      expect(refused.status).toBe(403);
      expect(refused.text).toMatch(/disabled/);
      // A wrong password is told nothing about the account's state.
      expect((await new Client(server.baseUrl).login('to-disable', 'not-the-password')).status).toBe(401);
      const me = await admin.get<{ users: { id: number; disabled: boolean }[] }>('/api/users');
      expect(me.body.users.find((u) => u.id === id)?.disabled).toBe(true);
      expect((await admin.post(`/api/users/${id}/enable`)).status).toBe(200);
      // The sessions were ended, not paused: enabling does not bring them back.
      for (const b of browsers) expect((await b.get('/api/projects')).status).toBe(401);
      expect((await new Client(server.baseUrl).login('to-disable', 'pw-to-disable-123')).status).toBe(200);
      // An admin cannot lock themself out; a missing user is a 404.
      const self = (await admin.get<{ user: { id: number } }>('/api/me')).body.user.id;
      expect((await admin.post(`/api/users/${self}/disable`)).status).toBe(409);
      expect((await admin.post('/api/users/999999/disable')).status).toBe(404);
    });

    it('a password change needs the current password, follows the policy and ends every other session', async () => {
      const { browsers } = await annotatorOn('changer', 2);
      const [here, there] = browsers as [Client, Client];
      const change = (currentPassword: string, newPassword: string) => here.post<{ csrfToken?: string }>('/api/me/password', { currentPassword, newPassword });
      expect((await change('stolen-session-guess', 'new-changer-pw-1')).status).toBe(403);
      expect((await change('pw-changer-123', 'password123')).status).toBe(400);
      expect((await change('pw-changer-123', 'x'.repeat(73))).status).toBe(400);
      const ok = await change('pw-changer-123', 'new-changer-pw-1');
      expect(ok.status, ok.text).toBe(200);
      here.csrf = ok.body.csrfToken as string;
      expect((await there.get('/api/projects')).status).toBe(401);
      expect((await here.get('/api/projects')).status).toBe(200);
      expect((await here.post('/api/logout', {})).status).toBe(200);
      expect((await new Client(server.baseUrl).login('changer', 'pw-changer-123')).status).toBe(401);
      expect((await new Client(server.baseUrl).login('changer', 'new-changer-pw-1')).status).toBe(200);
    });

    it('signs out everywhere', async () => {
      const { browsers } = await annotatorOn('everywhere', 3);
      const r = await (browsers[0] as Client).post<{ ended: number }>('/api/logout/everywhere');
      expect(r.body.ended).toBe(3);
      for (const b of browsers) expect((await b.get('/api/projects')).status).toBe(401);
    });

    it('ends a session after --security-session-idle-minutes without a request, and keeps a used one alive', async () => {
      const { id, browsers } = await annotatorOn('idler', 2);
      const [idle, busy] = browsers as [Client, Client];
      const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
      const setSeen = (c: Client, at: string) =>
        server.db.run('UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2 AND token_hash = $3', [at, id, sha256(c.cookie('safealign_session') as string)]);
      // The default idle limit is 60 minutes (the sessions' 12 hours are far off).
      await setSeen(idle, ago(61));
      await setSeen(busy, ago(59));
      expect((await idle.get('/api/projects')).status).toBe(401);
      expect((await busy.get('/api/projects')).status).toBe(200);
      // The request counted as use: 59 minutes later (from now) the session is still alive.
      const seen = await server.db.get<{ last_seen_at: string }>('SELECT last_seen_at FROM sessions WHERE token_hash = $1', [
        sha256(busy.cookie('safealign_session') as string),
      ]);
      expect(Date.now() - Date.parse(seen?.last_seen_at ?? '')).toBeLessThan(60_000);
    });
  });

  it('gives gold items away by nothing: random places, progress that moves the same, the share hidden from annotators', async () => {
    const share = 0.25;
    const project = await admin.post<{ project: { id: number } }>('/api/projects', {
      name: 'gold hunt',
      settings: { annotatorsPerPair: 3, goldShare: share, auditShare: 0 },
    });
    const id = project.body.project.id;
    const tasks = Array.from({ length: 24 }, (_, i) => ({ ...(TASK_PAIRS[0] as FixturePair), prompt: `task pair ${i}` }));
    const gold = Array.from({ length: 12 }, (_, i) => ({ ...(GOLD_PAIRS[i % 2] as FixturePair), prompt: `gold pair ${i}` }));
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 'gold', kind: 'gold', jsonl: pkuJsonl(gold) })).status).toBe(201);
    expect((await admin.post(`/api/projects/${id}/batches`, { name: 'work', kind: 'task', jsonl: plainJsonl(tasks) })).status).toBe(201);
    const positions: string[] = [];
    for (const name of ['hunter-a', 'hunter-b', 'hunter-c']) {
      expect((await admin.post('/api/users', { username: name, password: `pw-${name}-123`, role: 'annotator' })).status).toBe(201);
      await addMembers(admin, id, [name]);
      const c = await signedIn(server.baseUrl, name, `pw-${name}-123`);
      const seen = await c.get<{ project: { settings: Record<string, unknown> } }>(`/api/projects/${id}`);
      expect(Object.keys(seen.body.project.settings)).not.toContain('goldShare');
      expect(Object.keys(seen.body.project.settings)).not.toContain('auditShare');
      const listed = await c.get<{ projects: { id: number; settings: Record<string, unknown> }[] }>('/api/projects');
      expect(listed.body.projects.find((p) => p.id === id)?.settings.goldShare).toBeUndefined();
      const steps: { kind: string; done: number; total: number }[] = [];
      let before = 0;
      for (;;) {
        const next = await c.post<{ assignment: { id: number; prompt: string; left: string } | null; progress: { done: number; total: number } }>(
          `/api/projects/${id}/assignments/next`,
        );
        const a = next.body.assignment;
        if (!a) break;
        // What the annotator sees of the pair: the same fields for gold and task.
        expect(Object.keys(a).sort()).toEqual(['id', 'left', 'projectId', 'prompt', 'right', 'status']);
        const p = [...tasks, ...gold].find((x) => x.prompt === a.prompt) as FixturePair;
        const r = await c.post<{ progress: { done: number; total: number } }>(`/api/assignments/${a.id}/label`, submissionFor(p, a.left));
        expect(r.status).toBe(200);
        const kind = (await server.db.get<{ kind: string }>('SELECT i.kind FROM assignments a JOIN items i ON i.id = a.item_id WHERE a.id = $1', [a.id]))?.kind;
        steps.push({ kind: kind as string, ...r.body.progress });
        // Every answer, gold or not, moves progress by one.
        expect(r.body.progress.done).toBe(before + 1);
        before = r.body.progress.done;
      }
      const golds = steps.flatMap((x, i) => (x.kind === 'gold' ? [i] : []));
      // One gold item in each block of four assignments, as long as task pairs are left (the
      // last block's falls on its last place, after the last pair, one time in four).
      expect(golds.map((i) => Math.floor(i / 4))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].slice(0, golds.length));
      expect(golds.length).toBeGreaterThanOrEqual(7);
      expect(steps).toHaveLength(24 + golds.length);
      // The planned total does not move when gold is served (24 pairs / 0.75 = 32); once all is done, it is what was done.
      expect(new Set(steps.slice(0, -1).map((x) => x.total))).toEqual(new Set([32]));
      expect(steps.at(-1)).toMatchObject({ done: steps.length, total: steps.length });
      positions.push(golds.join(','));
    }
    // Three annotators, three different gold schedules (a fixed schedule would repeat; chance of a repeat ~ 3 x 4^-8).
    expect(new Set(positions).size).toBe(3);
    const asAdmin = await admin.get<{ project: { settings: Record<string, unknown> } }>(`/api/projects/${id}`);
    expect(asAdmin.body.project.settings.goldShare).toBe(share);
  });

  describe('request bodies', () => {
    it('refuses a huge JSON body to /api/login without parsing it (413)', async () => {
      const [c] = (await readyClients(server.baseUrl, 1)) as [Client];
      const huge: Record<string, number> = { username: 0, password: 0 } as unknown as Record<string, number>;
      for (let i = 0; i < 200_000; i++) huge[`k${i}`] = 0;
      const r = await c.post('/api/login', huge);
      expect(r.status, r.text.slice(0, 200)).toBe(413);
      expect(r.text.length).toBeLessThan(500);
    });

    it('caps the error details of a body with many unknown keys', async () => {
      const [c] = (await readyClients(server.baseUrl, 1)) as [Client];
      const body: Record<string, unknown> = { username: 'x', password: 'y' };
      for (let i = 0; i < 120; i++) body[`unknown_key_number_${i}`] = 0; // about 3 KB: under the sign-in limit
      const r = await c.post<{ error: string; details?: string[] }>('/api/login', body);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/unknown_key_number_0/);
      expect(r.text.length).toBeLessThan(2000);
      expect((r.body.details ?? []).length).toBeLessThanOrEqual(10);
      // Many bad fields: a few are named, and the rest counted.
      const many = await admin.post<{ error: string; details?: string[] }>('/api/projects', {
        name: '',
        settings: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`s${i}`, 'x'])),
      });
      expect(many.status).toBe(400);
      expect(many.text.length).toBeLessThan(2000);
      expect(many.body.error).toMatch(/more/);
    });

    it('keeps large bodies for imports only: 2 MB to the import route is read, to other routes refused', async () => {
      const project = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'bodies' });
      expect(project.status, project.text).toBe(201);
      const id = project.body.project.id;
      const big = 'x'.repeat(2 * 1024 * 1024);
      // Read and rejected for its content (not one JSON line), not for its size.
      const imported = await admin.post(`/api/projects/${id}/batches`, { name: 'big', kind: 'task', jsonl: big });
      expect(imported.status, imported.text.slice(0, 200)).toBe(400);
      expect(imported.text.length).toBeLessThan(5000);
      expect((await admin.post('/api/projects', { name: big })).status).toBe(413);
      expect((await admin.post('/api/users', { username: 'u', password: big, role: 'annotator' })).status).toBe(413);
    });
  });
});
