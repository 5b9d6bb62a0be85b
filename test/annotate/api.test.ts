// The annotation app's behaviour over HTTP, one suite run against SQLite and PostgreSQL: import, qualification,
// assignment rules, gold, audits, agreement, export, roles, CSRF, injection strings, login rate limit, concurrency.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPreferences, readPkuSafeRlhf } from '../../src/data/index.js';
import { PkuSafeRlhfRowSchema } from '../../src/data/pku-saferlhf.js';
import { openDatabase } from '../../src/annotate/db/open.js';
import { migrate, MIGRATIONS } from '../../src/annotate/db/migrations.js';
import { PostgresDriver } from '../../src/annotate/db/postgres.js';
import { SqliteDriver } from '../../src/annotate/db/sqlite.js';
import { addMembers, ADMIN, backends, Client, fixtureByPrompt, type FixturePair, GOLD_PAIRS, INJECTION_PROMPT, pkuJsonl, plainJsonl, QUALIFICATION_PAIRS, serverWithAdmin, signedIn, startChildServer, startServer, submissionFor, TASK_PAIRS, type TestServer } from './helpers.js';

interface AssignmentView {
  id: number;
  prompt: string;
  left: string;
  right: string;
}
interface NextBody {
  assignment: AssignmentView | null;
  progress: { done: number; total: number; batchName: string } | null;
}

describe.each(backends())('annotation app on $name', (backend) => {
  const suite = serverWithAdmin(backend);
  let server: TestServer;
  let dbUrl: string;
  let admin: Client;
  beforeAll(() => ({ server, dbUrl, admin } = suite));

  async function makeUser(username: string, role: 'admin' | 'reviewer' | 'annotator'): Promise<Client> {
    const r = await admin.post('/api/users', { username, password: `pw-${username}-123`, role });
    expect(r.status, r.text).toBe(201);
    return signedIn(server.baseUrl, username, `pw-${username}-123`);
  }

  async function makeProject(name: string, settings: Record<string, unknown>): Promise<number> {
    const r = await admin.post<{ project: { id: number } }>('/api/projects', { name, settings });
    expect(r.status, r.text).toBe(201);
    return r.body.project.id;
  }

  async function importBatch(projectId: number, kind: string, jsonl: string, name = `${kind} batch`) {
    return admin.post<{ batch: { id: number; itemCount: number; auditCount: number } }>(`/api/projects/${projectId}/batches`, { name, kind, jsonl });
  }

  async function qualify(c: Client, projectId: number, correct: boolean) {
    const start = await c.post<{ test: { attemptId: number; items: (AssignmentView & { itemId: number })[] } }>(
      `/api/projects/${projectId}/qualification/start`,
    );
    expect(start.status, start.text).toBe(200);
    const answers = start.body.test.items.map((it) => {
      const p = fixtureByPrompt(it.prompt);
      const truth = correct ? p.truth : { ...p.truth, better: (1 - p.truth.better) as 0 | 1, safer: (1 - p.truth.safer) as 0 | 1 };
      return { itemId: it.itemId, answer: submissionFor(p, it.left, truth) };
    });
    return c.post<{ result: { score: number; passed: boolean } }>(`/api/projects/${projectId}/qualification/${start.body.test.attemptId}`, { answers });
  }

  /** Labels until nothing is left; `choose` gives the label per pair. Returns the prompts seen, in order. */
  async function labelAll(c: Client, projectId: number, choose: (p: FixturePair) => FixturePair['truth'] = (p) => p.truth): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const r = await c.post<NextBody>(`/api/projects/${projectId}/assignments/next`);
      expect(r.status, r.text).toBe(200);
      const a = r.body.assignment;
      if (!a) return seen;
      seen.push(a.prompt);
      const p = fixtureByPrompt(a.prompt);
      expect([a.left, a.right].sort()).toEqual([...p.responses].sort());
      const s = await c.post(`/api/assignments/${a.id}/label`, submissionFor(p, a.left, choose(p)));
      expect(s.status, s.text).toBe(200);
    }
  }

  it('applies the versioned schema migrations once', async () => {
    const again = await openDatabase(dbUrl);
    try {
      expect(await migrate(again)).toEqual([]);
      const rows = await again.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await again.close();
    }
  });

  it('makes the annotators who worked on a project before membership existed its members (migration 6)', async () => {
    const fresh = await backend.fresh();
    const db = fresh.url.startsWith('sqlite:') ? new SqliteDriver(fresh.url.slice('sqlite:'.length)) : new PostgresDriver(fresh.url);
    try {
      if (db instanceof PostgresDriver) await db.connect();
      expect(await migrate(db, MIGRATIONS.slice(0, 5))).toEqual([1, 2, 3, 4, 5]);
      const now = new Date().toISOString();
      const user = async (name: string) =>
        ((await db.get<{ id: number }>(`INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, 'x', 'annotator', $2) RETURNING id`, [name, now])) as { id: number }).id;
      const [worker, tester, idle] = [await user('worker'), await user('tester'), await user('idle')];
      const project = ((await db.get<{ id: number }>(`INSERT INTO projects (name, settings, created_at) VALUES ('old', '{}', $1) RETURNING id`, [now])) as { id: number }).id;
      const batch = ((await db.get<{ id: number }>(`INSERT INTO batches (project_id, name, kind, source, item_count, created_at) VALUES ($1, 'b', 'task', 'upload', 1, $2) RETURNING id`, [project, now])) as { id: number }).id;
      const item = ((await db.get<{ id: number }>(`INSERT INTO items (project_id, batch_id, kind, prompt, response_0, response_1, created_at) VALUES ($1, $2, 'task', 'p', 'a', 'b', $3) RETURNING id`, [project, batch, now])) as { id: number }).id;
      await db.run(`INSERT INTO assignments (project_id, item_id, user_id, swapped, status, created_at) VALUES ($1, $2, $3, 0, 'open', $4)`, [project, item, worker, now]);
      await db.run(`INSERT INTO qualification_attempts (project_id, user_id, items, status, created_at) VALUES ($1, $2, '[]', 'failed', $3)`, [project, tester, now]);
      expect(await migrate(db)).toEqual(MIGRATIONS.slice(5).map((m) => m.version));
      const members = await db.all<{ user_id: number }>('SELECT user_id FROM project_members WHERE project_id = $1 ORDER BY user_id', [project]);
      expect(members.map((m) => m.user_id)).toEqual([worker, tester]);
      expect(members.map((m) => m.user_id)).not.toContain(idle);
    } finally {
      await db.close();
      await fresh.drop();
    }
  });

  it('sets HttpOnly SameSite=Strict session cookies, Secure behind https, and ends sessions on logout', async () => {
    const c = new Client(server.baseUrl);
    const me = await c.get<{ csrfToken: string }>('/api/me');
    c.csrf = me.body.csrfToken;
    const res = await fetch(`${server.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': c.csrf, cookie: c.cookieHeader() },
      body: JSON.stringify(ADMIN),
    });
    expect(res.status).toBe(200);
    const session = res.headers.getSetCookie().find((h) => h.startsWith('safealign_session='));
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    expect(session).not.toMatch(/Secure/i);

    // Behind a TLS-terminating proxy (trusted), the cookies get the Secure flag.
    const proxied = await startServer(dbUrl, { trustProxy: '127.0.0.1' });
    try {
      const r = await proxied.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-forwarded-proto': 'https' } });
      const csrfCookie = [r.headers['set-cookie']].flat().find((h) => String(h).startsWith('_csrf='));
      expect(String(csrfCookie)).toMatch(/Secure/);
      expect(String(csrfCookie)).toMatch(/HttpOnly/);
      const token = (r.json() as { csrfToken: string }).csrfToken;
      const login = await proxied.app.inject({
        method: 'POST',
        url: '/api/login',
        headers: { 'x-forwarded-proto': 'https', 'x-csrf-token': token, cookie: String(csrfCookie).split(';')[0] as string },
        payload: ADMIN,
      });
      expect(login.statusCode).toBe(200);
      const s = [login.headers['set-cookie']].flat().find((h) => String(h).startsWith('safealign_session='));
      expect(String(s)).toMatch(/Secure/);
      expect(String(s)).toMatch(/SameSite=Strict/);
    } finally {
      await proxied.close();
    }

    const u = await makeUser('leaving-user', 'annotator');
    expect((await u.get<{ user: { username: string } }>('/api/me')).body.user.username).toBe('leaving-user');
    expect((await u.post('/api/logout')).status).toBe(200);
    expect((await u.get<{ user: unknown }>('/api/me')).body.user).toBeNull();
    expect((await u.get('/api/projects')).status).toBe(401);
  });

  it('refuses state-changing requests without a valid CSRF token', async () => {
    const noToken = await admin.post('/api/projects', { name: 'no token' }, { csrf: false });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toMatch(/csrf/i);
    // A token minted for another browser's secret does not fit this browser's cookie.
    const other = new Client(server.baseUrl);
    const otherToken = (await other.get<{ csrfToken: string }>('/api/me')).body.csrfToken;
    const wrong = await admin.request('POST', '/api/projects', { name: 'wrong token' }, { csrf: false, headers: { 'x-csrf-token': otherToken } });
    expect(wrong.status).toBe(403);
    // Even the login needs one.
    const anon = new Client(server.baseUrl);
    expect((await anon.post('/api/login', ADMIN)).status).toBe(403);
    const ok = await admin.post('/api/projects', { name: 'with token' });
    expect(ok.status).toBe(201);
  });

  it('checks the role on every endpoint: 401 signed out, 403 for the wrong role', async () => {
    const ann = await makeUser('matrix-annotator', 'annotator');
    const rev = await makeUser('matrix-reviewer', 'reviewer');
    const anon = new Client(server.baseUrl);
    anon.csrf = (await anon.get<{ csrfToken: string }>('/api/me')).body.csrfToken;
    const routes = server.app.routeAccess.filter((r) => r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(15);
    // Admin-only endpoints stay admin-only.
    const policy = (m: string, u: string) => routes.find((r) => r.method === m && r.url === u)?.access;
    for (const [m, u] of [
      ['GET', '/api/users'],
      ['POST', '/api/users'],
      ['POST', '/api/users/:userId/:action'],
      ['POST', '/api/projects'],
      ['GET', '/api/projects/:projectId/batches'],
      ['POST', '/api/projects/:projectId/batches'],
      ['GET', '/api/projects/:projectId/export'],
      ['GET', '/api/projects/:projectId/jobs'],
      ['GET', '/api/jobs/:id'],
      ['GET', '/api/projects/:projectId/members'],
      ['POST', '/api/projects/:projectId/members/:userId/:action'],
    ] as const) {
      expect(policy(m, u), `${m} ${u}`).toEqual(['admin']);
    }
    let checked = 0;
    for (const r of routes) {
      if (r.access === 'public') continue;
      const path = r.url.replace(/:[A-Za-z]+/g, '1');
      expect((await anon.request(r.method, path, r.method === 'GET' ? undefined : {})).status, `${r.method} ${r.url} signed out`).toBe(401);
      for (const [client, role] of [
        [ann, 'annotator'],
        [rev, 'reviewer'],
      ] as const) {
        if (r.access === 'signed-in' || r.access.includes(role)) continue;
        const res = await client.request(r.method, path, r.method === 'GET' ? undefined : {});
        expect(res.status, `${r.method} ${r.url} as ${role}`).toBe(403);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('stores SQL-injection and script strings verbatim and never executes them', async () => {
    const name = `x'); DROP TABLE users; -- <script>alert(1)</script>`;
    const id = await makeProject(name, {});
    const got = await admin.get<{ project: { name: string } }>(`/api/projects/${id}`);
    expect(got.body.project.name).toBe(name);
    // Usernames take letters, digits and . _ - @ ' (the quote of o'brien), nothing that spells more SQL.
    expect((await admin.post('/api/users', { username: `o'brien" OR "1"="1`, password: 'password-123', role: 'annotator' })).status).toBe(400);
    expect((await admin.post('/api/users', { username: `o'brien`, password: 'password-123', role: 'annotator' })).status).toBe(201);
    const injected = new Client(server.baseUrl);
    expect((await injected.login(`' OR '1'='1`, `' OR '1'='1`)).status).toBe(401);
    expect((await injected.login(`o'brien' --`, 'password-123')).status).toBe(401);
    expect((await injected.login(`o'brien`, 'password-123')).status).toBe(200);
    const batch = await importBatch(id, 'task', plainJsonl(TASK_PAIRS));
    expect(batch.status).toBe(201);
    const raw = await server.db.get<{ prompt: string }>('SELECT prompt FROM items WHERE project_id = $1 AND prompt LIKE $2', [id, '%DROP TABLE labels%']);
    expect(raw?.prompt).toBe(INJECTION_PROMPT);
    // The tables are all still there.
    for (const t of ['users', 'items', 'labels', 'projects']) {
      expect(await server.db.get(`SELECT COUNT(*) AS n FROM ${t}`)).toBeDefined();
    }
    // JSON answers carry the text as data; the page script is the only thing that renders it (with textContent).
    const page = await fetch(`${server.baseUrl}/`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
  });

  describe('a project from import to export', () => {
    let projectId: number;
    let ann1: Client;
    let ann2: Client;
    let ann3: Client;
    let ann4: Client;
    let rev: Client;
    let taskBatchAudits = 0;
    /** Gold items each annotator was served (their number varies: gold sits at random places). */
    const goldSeen: Record<string, number> = {};

    beforeAll(async () => {
      projectId = await makeProject('helpful vs harmless', {
        annotatorsPerPair: 2,
        passMark: 0.9,
        goldShare: 0.25,
        auditShare: 0.5,
        maxQualificationAttempts: 2,
      });
      ann1 = await makeUser('ann1', 'annotator');
      ann2 = await makeUser('ann2', 'annotator');
      ann3 = await makeUser('ann3', 'annotator');
      ann4 = await makeUser('ann4', 'annotator');
      await addMembers(admin, projectId, ['ann1', 'ann2', 'ann3', 'ann4']);
      rev = await makeUser('rev1', 'reviewer');
    });

    it('imports PKU-SafeRLHF and {prompt, response_0, response_1} batches and names bad lines', async () => {
      const q = await importBatch(projectId, 'qualification', pkuJsonl(QUALIFICATION_PAIRS));
      expect(q.status, q.text).toBe(201);
      expect(q.body.batch.itemCount).toBe(4);
      const g = await importBatch(projectId, 'gold', pkuJsonl(GOLD_PAIRS));
      expect(g.status, g.text).toBe(201);
      const t = await importBatch(projectId, 'task', plainJsonl(TASK_PAIRS), 'batch 1');
      expect(t.status, t.text).toBe(201);
      expect(t.body.batch.itemCount).toBe(4);
      // round(0.5 * 4) pairs sampled for audit.
      expect(t.body.batch.auditCount).toBe(2);
      taskBatchAudits = t.body.batch.auditCount;

      const bad = await importBatch(projectId, 'task', `${plainJsonl(TASK_PAIRS.slice(0, 1))}{"prompt": "x"}\nnot json\n`);
      expect(bad.status).toBe(400);
      expect(bad.text).toMatch(/line 2: response_0/);
      expect(bad.text).toMatch(/line 3: not valid JSON/);
      const unlabelledGold = await importBatch(projectId, 'gold', plainJsonl(TASK_PAIRS));
      expect(unlabelledGold.status).toBe(400);
      expect(unlabelledGold.text).toMatch(/need known answers/);
      const batches = await admin.get<{ batches: unknown[] }>(`/api/projects/${projectId}/batches`);
      expect(batches.body.batches).toHaveLength(3);
    });

    it('requires the qualification test before real work, scores it against gold and limits attempts', async () => {
      const before = await ann1.post(`/api/projects/${projectId}/assignments/next`);
      expect(before.status).toBe(403);
      expect(before.text).toMatch(/qualification/);
      const pass = await qualify(ann1, projectId, true);
      expect(pass.body.result).toMatchObject({ score: 1, passed: true });
      expect((await qualify(ann2, projectId, true)).body.result.passed).toBe(true);
      expect((await qualify(ann4, projectId, true)).body.result.passed).toBe(true);
      // Wrong preferences, right safety: 2 of 4 judgements per pair -> 50% < 90%.
      const fail = await qualify(ann3, projectId, false);
      expect(fail.body.result).toMatchObject({ score: 0.5, passed: false });
      expect((await qualify(ann3, projectId, false)).body.result.passed).toBe(false);
      const third = await ann3.post(`/api/projects/${projectId}/qualification/start`);
      expect(third.status).toBe(403);
      expect(third.text).toMatch(/no qualification attempts left/);
      expect((await ann3.post(`/api/projects/${projectId}/assignments/next`)).status).toBe(403);
      const status = await ann1.get<{ qualification: { passed: boolean; lastScore: number } }>(`/api/projects/${projectId}/qualification`);
      expect(status.body.qualification).toMatchObject({ passed: true, lastScore: 1 });
    });

    it('gives each pair to N different annotators, once each, mixing in gold, and never again once answered', async () => {
      const seen1 = await labelAll(ann1, projectId);
      // ann2 disagrees with ann1 on which joke is more helpful.
      const seen2 = await labelAll(ann2, projectId, (p) =>
        p.prompt.startsWith('Tell me a joke') ? { ...p.truth, better: (1 - p.truth.better) as 0 | 1 } : p.truth,
      );
      for (const [name, seen] of [['ann1', seen1], ['ann2', seen2]] as const) {
        expect(new Set(seen).size).toBe(seen.length);
        // All four task pairs, plus gold: with goldShare 0.25, one at a random place among the
        // first four assignments, and a second one when it falls on the fifth.
        expect(seen.filter((s) => TASK_PAIRS.some((p) => p.prompt === s))).toHaveLength(4);
        const gold = seen.flatMap((s, i) => (GOLD_PAIRS.some((p) => p.prompt === s) ? [i] : []));
        expect(gold[0]).toBeLessThan(4);
        expect(gold.slice(1)).toEqual(gold.length === 2 ? [4] : []);
        goldSeen[name] = gold.length;
      }
      // Both annotators took every pair, so with N = 2 nothing is left for a third one.
      const third = await ann4.post<NextBody>(`/api/projects/${projectId}/assignments/next`);
      expect(third.body.assignment).toBeNull();
      const again = await ann1.post<NextBody>(`/api/projects/${projectId}/assignments/next`);
      expect(again.body.assignment).toBeNull();
      // Gold counts towards the batch like any pair.
      expect(again.body.progress).toMatchObject({ done: 4 + (goldSeen.ann1 ?? 0), total: 4 + (goldSeen.ann1 ?? 0), batchName: 'batch 1' });
      const perItem = await server.db.all<{ n: number }>(
        `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM assignments a JOIN items i ON i.id = a.item_id WHERE i.project_id = $1 AND i.kind = 'task' GROUP BY a.item_id`,
        [projectId],
      );
      expect(perItem.map((r) => r.n)).toEqual([2, 2, 2, 2]);
    });

    it('lets annotators see and answer only their own assignments', async () => {
      const mine = await server.db.get<{ id: number }>(
        `SELECT a.id FROM assignments a JOIN users u ON u.id = a.user_id WHERE u.username = 'ann1' AND a.project_id = $1 ORDER BY a.id LIMIT 1`,
        [projectId],
      );
      const id = (mine as { id: number }).id;
      expect((await ann1.get(`/api/assignments/${id}`)).status).toBe(200);
      expect((await ann2.get(`/api/assignments/${id}`)).status).toBe(404);
      expect((await rev.get(`/api/assignments/${id}`)).status).toBe(403);
      expect((await admin.get(`/api/assignments/${id}`)).status).toBe(200);
      const p = TASK_PAIRS[0] as FixturePair;
      const answer = submissionFor(p, p.responses[0]);
      expect((await ann2.post(`/api/assignments/${id}/label`, answer)).status).toBe(404);
      expect((await ann1.post(`/api/assignments/${id}/label`, answer)).status).toBe(409);
      expect((await ann1.get(`/api/assignments/999999`)).status).toBe(404);
      // Validation at the edge: an unsafe answer without category or severity is refused.
      const invalid = await ann1.post(`/api/assignments/${id}/label`, { ...answer, left: { safe: false, categories: [], severity: null } });
      expect(invalid.status).toBe(400);
      expect(invalid.text).toMatch(/harm category/);
    });

    it('computes agreement per question and per annotator, and flags tied pairs', async () => {
      const r = await admin.get<{ stats: StatsBody }>(`/api/projects/${projectId}/stats`);
      expect(r.status).toBe(200);
      const s = r.body.stats;
      expect(s.counts.pairs).toEqual({ task: 4, gold: 2, qualification: 4 });
      expect(s.counts.labels).toEqual({ task: 8, gold: (goldSeen.ann1 ?? 0) + (goldSeen.ann2 ?? 0) });
      expect(s.counts.completePairs).toBe(4);
      expect(s.counts.auditSample).toBe(taskBatchAudits);
      const q = Object.fromEntries(s.agreement.map((a) => [a.question, a]));
      // better: ann1 [0,1,0,0], ann2 [0,1,0,1] over the task pairs (hand computed):
      // agreement 3/4; Cohen p_o .75, p_e .75*.5+.25*.5 = .5 -> .5; Fleiss P-bar .75, P-bar_e (5/8)^2+(3/8)^2 -> 0.46667.
      expect(q.better?.percentAgreement).toBeCloseTo(0.75, 12);
      expect(q.better?.cohen.kappa).toBeCloseTo(0.5, 12);
      expect(q.better?.cohen.method).toBe('two annotators');
      expect(q.better?.fleiss.kappa).toBeCloseTo((0.75 - 34 / 64) / (1 - 34 / 64), 12);
      expect(q.safer?.percentAgreement).toBe(1);
      expect(q.safer?.fleiss.kappa).toBeCloseTo(1, 12);
      expect(q.safe?.units).toBe(8);
      expect(q.safe?.percentAgreement).toBe(1);
      const a1 = s.annotators.find((a) => a.username === 'ann1');
      expect(a1).toMatchObject({ taskLabels: 4, goldLabels: goldSeen.ann1, goldAccuracy: 1, qualification: { passed: true, bestScore: 1 } });
      // 16 judgements compared with the other annotator, one differs.
      expect(a1?.agreementWithOthers).toBeCloseTo(15 / 16, 12);
      const a3 = s.annotators.find((a) => a.username === 'ann3');
      expect(a3?.qualification).toMatchObject({ attempts: 2, passed: false, bestScore: 0.5 });
      expect(s.resolution.resolved).toBe(3);
      expect(s.resolution.tied).toHaveLength(1);
      expect(s.resolution.tied[0]).toMatchObject({ ties: ['better'], votes: 2 });
      expect(s.resolution.tied[0]?.prompt).toMatch(/^Tell me a joke/);
    });

    it('samples the audit queue; reviewers approve or reject, and a rejected pair goes to one more annotator', async () => {
      expect((await ann1.get(`/api/projects/${projectId}/audits`)).status).toBe(403);
      const queue = await rev.get<{ queue: { labelId: number; annotator: string; prompt: string }[] }>(`/api/projects/${projectId}/audits`);
      expect(queue.status).toBe(200);
      // Both labels of each sampled pair.
      expect(queue.body.queue).toHaveLength(taskBatchAudits * 2);
      const rejected = queue.body.queue.find((e) => e.annotator === 'ann2');
      if (!rejected) throw new Error('ann2 has no label in the audit sample');
      for (const e of queue.body.queue) {
        const verdict = e === rejected ? 'rejected' : 'approved';
        const r = await rev.post(`/api/projects/${projectId}/audits/${e.labelId}`, { verdict, note: verdict === 'rejected' ? `not careful'; --` : '' });
        expect(r.status, r.text).toBe(200);
      }
      expect((await rev.post(`/api/projects/${projectId}/audits/${rejected.labelId}`, { verdict: 'approved' })).status).toBe(409);
      expect((await rev.get<{ queue: unknown[] }>(`/api/projects/${projectId}/audits`)).body.queue).toHaveLength(0);
      // The rejected pair is offered again, to someone who has not seen it.
      const seen4 = await labelAll(ann4, projectId);
      expect(seen4.filter((s) => !GOLD_PAIRS.some((p) => p.prompt === s))).toEqual([rejected.prompt]);
      goldSeen.ann4 = seen4.length - 1;
      const stats = await admin.get<{ stats: StatsBody }>(`/api/projects/${projectId}/stats`);
      // ann4's new label is on a sampled pair, so it joins the queue.
      expect(stats.body.stats.counts.audits).toEqual({ pending: 1, approved: taskBatchAudits * 2 - 1, rejected: 1 });
      const queueAfter = await rev.get<{ queue: { annotator: string }[] }>(`/api/projects/${projectId}/audits`);
      expect(queueAfter.body.queue.map((e) => e.annotator)).toEqual(['ann4']);
      const a2 = stats.body.stats.annotators.find((a) => a.username === 'ann2');
      expect(a2?.audits).toEqual({ approved: taskBatchAudits - 1, rejected: 1 });
      // Keep for the export check.
      rejectedPrompt = rejected.prompt;
    });

    let rejectedPrompt = '';

    it('exports majority labels that the training data loader reads, and raw per-annotator labels', async () => {
      const res = await admin.get(`/api/projects/${projectId}/export?kind=aggregated`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/attachment; filename=".*pku-saferlhf\.jsonl"/);
      const dir = mkdtempSync(join(tmpdir(), 'safealign-export-'));
      const file = join(dir, 'export.jsonl');
      writeFileSync(file, res.text);
      const loaded = await readPkuSafeRlhf(file, { strict: true });
      expect(loaded.problems).toEqual([]);
      // The joke pair stays tied unless ann2's dissenting label on it was the one rejected.
      const jokeResolved = rejectedPrompt.startsWith('Tell me a joke');
      const expected = TASK_PAIRS.filter((p) => jokeResolved || !p.prompt.startsWith('Tell me a joke'));
      expect(loaded.records).toHaveLength(expected.length);
      expect(Number(res.headers.get('x-safealign-tied'))).toBe(jokeResolved ? 0 : 1);
      for (const p of expected) {
        const rec = loaded.records.find((r) => r.prompt === p.prompt);
        expect(rec, p.prompt).toBeDefined();
        expect(rec?.responses).toEqual(p.responses);
        expect(rec?.betterResponseId).toBe(p.truth.better);
        expect(rec?.saferResponseId).toBe(p.truth.safer);
        expect(rec?.isSafe).toEqual(p.truth.isSafe);
        expect(rec?.categories).toEqual(p.truth.categories);
        expect(rec?.severity).toEqual(p.truth.severity);
      }
      // Format detection of the generic loader agrees.
      const generic = await loadPreferences(file);
      expect(generic.format).toBe('pku');
      expect(generic.records).toHaveLength(expected.length);

      const raw = await admin.get(`/api/projects/${projectId}/export?kind=raw`);
      const lines = raw.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      // 8 task labels + the gold ones + 1 relabel.
      const gold = (goldSeen.ann1 ?? 0) + (goldSeen.ann2 ?? 0) + (goldSeen.ann4 ?? 0);
      expect(lines).toHaveLength(9 + gold);
      for (const l of lines) expect(PkuSafeRlhfRowSchema.safeParse(l).success).toBe(true);
      expect(lines.filter((l) => l.audit_verdict === 'rejected')).toHaveLength(1);
      expect(new Set(lines.map((l) => l.annotator))).toEqual(new Set(['ann1', 'ann2', 'ann4']));
      expect(lines.filter((l) => l.item_kind === 'gold')).toHaveLength(gold);
    });
  });

  it('rate-limits wrong passwords per account', async () => {
    const strict = await startServer(dbUrl, { loginMaxFailures: 3, loginWindowMinutes: 10 });
    try {
      const victim = await admin.post('/api/users', { username: 'victim', password: 'right-password', role: 'annotator' });
      expect(victim.status).toBe(201);
      const attacker = new Client(strict.baseUrl);
      for (let i = 0; i < 3; i++) expect((await attacker.login('victim', `guess-${i}`)).status).toBe(401);
      const blocked = await attacker.login('victim', 'right-password');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Other accounts are not affected.
      expect((await new Client(strict.baseUrl).login(ADMIN.username, ADMIN.password)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('never hands a pair to more than N annotators under concurrent requests from two server processes', async () => {
    const projectId = await makeProject('concurrency', { annotatorsPerPair: 3, goldShare: 0 });
    const pairs: FixturePair[] = Array.from({ length: 8 }, (_, i) => ({
      ...(TASK_PAIRS[0] as FixturePair),
      prompt: `concurrent pair ${i}`,
    }));
    expect((await importBatch(projectId, 'task', plainJsonl(pairs))).status).toBe(201);
    const other = await startChildServer(dbUrl);
    try {
      const names = Array.from({ length: 10 }, (_, i) => `racer${i}`);
      for (const n of names) expect((await admin.post('/api/users', { username: n, password: `pw-${n}-123`, role: 'annotator' })).status).toBe(201);
      await addMembers(admin, projectId, names);
      const clients = await Promise.all(names.map((n, i) => signedIn(i % 2 ? other.baseUrl : server.baseUrl, n, `pw-${n}-123`)));
      const acked: number[] = [];
      await Promise.all(
        clients.map(async (c) => {
          for (;;) {
            // Three simultaneous requests from the same annotator get the same open assignment.
            const rs = await Promise.all([0, 1, 2].map(() => c.post<NextBody>(`/api/projects/${projectId}/assignments/next`)));
            for (const r of rs) expect(r.status, r.text).toBe(200);
            const ids = new Set(rs.map((r) => r.body.assignment?.id ?? null));
            expect(ids.size).toBe(1);
            const a = rs[0]?.body.assignment;
            if (!a) return;
            const p = pairs.find((x) => x.prompt === a.prompt) as FixturePair;
            const s = await c.post(`/api/assignments/${a.id}/label`, submissionFor(p, a.left));
            expect(s.status, s.text).toBe(200);
            acked.push(a.id);
          }
        }),
      );
      expect(acked).toHaveLength(8 * 3);
      const perItem = await server.db.all<{ n: number; users: number }>(
        `SELECT CAST(COUNT(*) AS INTEGER) AS n, CAST(COUNT(DISTINCT a.user_id) AS INTEGER) AS users FROM assignments a
         WHERE a.project_id = $1 GROUP BY a.item_id`,
        [projectId],
      );
      expect(perItem).toHaveLength(8);
      for (const r of perItem) expect(r).toEqual({ n: 3, users: 3 });
      const labels = await server.db.get<{ n: number }>('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM labels WHERE project_id = $1', [projectId]);
      expect(labels?.n).toBe(24);
    } finally {
      other.child.kill('SIGTERM');
      await other.exited;
    }
  });
});

interface StatsBody {
  counts: {
    pairs: Record<string, number>;
    labels: Record<string, number>;
    completePairs: number;
    auditSample: number;
    audits: Record<string, number>;
  };
  agreement: {
    question: string;
    units: number;
    percentAgreement: number | null;
    fleiss: { kappa: number | null };
    cohen: { kappa: number | null; method: string };
  }[];
  annotators: {
    username: string;
    taskLabels: number;
    goldLabels: number;
    goldAccuracy: number | null;
    agreementWithOthers: number | null;
    qualification: { attempts: number; bestScore: number | null; passed: boolean } | null;
    audits: { approved: number; rejected: number };
  }[];
  resolution: { resolved: number; tied: { prompt: string; ties: string[]; votes: number }[] };
}
