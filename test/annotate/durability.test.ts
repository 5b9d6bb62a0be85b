// Durability: SIGKILL the server (a child process running `safealign annotate serve`) while annotators submit;
// after a restart every acknowledged label is stored, and the only extra ones were in flight at the kill.
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/annotate/db/open.js';
import { addMembers, ADMIN, backends, type ChildServer, Client, type FixturePair, plainJsonl, signedIn, startChildServer, submissionFor, TASK_PAIRS } from './helpers.js';

interface NextBody {
  assignment: { id: number; prompt: string; left: string } | null;
}

describe.each(backends())('durability on $name', (backend) => {
  const children: ChildServer[] = [];
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await drop?.();
  });

  it('loses no acknowledged submission when the server is killed mid-stream', async () => {
    const fresh = await backend.fresh();
    drop = fresh.drop;
    const first = await startChildServer(fresh.url);
    children.push(first);
    const admin = await signedIn(first.baseUrl, ADMIN.username, ADMIN.password);
    const project = await admin.post<{ project: { id: number } }>('/api/projects', {
      name: 'durability',
      settings: { annotatorsPerPair: 2, goldShare: 0, auditShare: 0 },
    });
    const projectId = project.body.project.id;
    const pairs: FixturePair[] = Array.from({ length: 60 }, (_, i) => ({ ...(TASK_PAIRS[0] as FixturePair), prompt: `durable pair ${i}` }));
    expect((await admin.post(`/api/projects/${projectId}/batches`, { name: 'b', kind: 'task', jsonl: plainJsonl(pairs) })).status).toBe(201);
    const names = ['d1', 'd2', 'd3', 'd4'];
    for (const n of names) expect((await admin.post('/api/users', { username: n, password: `pw-${n}-123`, role: 'annotator' })).status).toBe(201);
    await addMembers(admin, projectId, names);
    const clients = await Promise.all(names.map((n) => signedIn(first.baseUrl, n, `pw-${n}-123`)));

    const acked = new Set<number>();
    const inFlight = new Set<number>();
    let inFlightAtKill = new Set<number>();
    let killed = false;
    const kill = (): void => {
      if (killed) return;
      killed = true;
      inFlightAtKill = new Set(inFlight);
      first.child.kill('SIGKILL');
    };
    const work = async (c: Client): Promise<void> => {
      while (!killed) {
        let id: number;
        try {
          const r = await c.post<NextBody>(`/api/projects/${projectId}/assignments/next`);
          const a = r.body.assignment;
          if (r.status !== 200 || !a) return;
          id = a.id;
          const p = pairs.find((x) => x.prompt === a.prompt) as FixturePair;
          inFlight.add(id);
          // After 20 acknowledged labels, kill while at least two submissions are on their way
          // (a few ms after sending, so that the server is mid-request); at 40, kill regardless.
          if ((acked.size >= 20 && inFlight.size >= 2) || acked.size >= 40) setTimeout(kill, 3);
          const s = await c.post(`/api/assignments/${id}/label`, submissionFor(p, a.left));
          inFlight.delete(id);
          if (s.status === 200) acked.add(id);
        } catch {
          // The server is gone: the request was never acknowledged.
          return;
        }
      }
    };
    await Promise.all(clients.map(work));
    expect(killed).toBe(true);
    expect(await first.exited).toBeNull();
    expect(first.child.signalCode).toBe('SIGKILL');

    // Restart on the same database and count what was stored.
    const second = await startChildServer(fresh.url);
    children.push(second);
    const db = await openDatabase(fresh.url);
    try {
      const stored = new Set((await db.all<{ assignment_id: number }>('SELECT assignment_id FROM labels')).map((r) => r.assignment_id));
      for (const id of acked) expect(stored.has(id), `acknowledged assignment ${id} was lost`).toBe(true);
      const extra = [...stored].filter((id) => !acked.has(id));
      // A label committed just before the kill whose answer never arrived is fine; anything else is not.
      for (const id of extra) expect(inFlightAtKill.has(id), `label for assignment ${id} was stored but never sent`).toBe(true);
      expect(stored.size - extra.length).toBe(acked.size);
      console.log(`durability (${backend.name}): ${acked.size} acknowledged, ${stored.size} stored, ${inFlightAtKill.size} in flight at SIGKILL`);
    } finally {
      await db.close();
    }

    // Work resumes after the restart: unanswered assignments come back to their annotator.
    const again = await signedIn(second.baseUrl, 'd1', 'pw-d1-123');
    const next = await again.post<NextBody>(`/api/projects/${projectId}/assignments/next`);
    expect(next.status).toBe(200);
    expect(next.body.assignment).not.toBeNull();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
