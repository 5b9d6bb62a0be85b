// Image + text pairs in the annotation app: BeaverTails-V and {"image"} imports, the image served to the assignment's
// annotator only, and the attacks on the import (path traversal, links out of the folder, size, content type).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../src/core/sharp.js';
import { addMembers, ADMIN, backends, type Client, signedIn, startServer, type TestServer } from './helpers.js';

const SAMPLE = 'data/beavertails-v-sample';
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = new URL('./screenshots/', import.meta.url).pathname;

/** A small PNG of one colour (encoded by sharp). */
async function png(r: number, g: number, b: number, size = 16): Promise<Buffer> {
  return (await openImage(Buffer.alloc(size * size * 3, Buffer.from([r, g, b])), { raw: { width: size, height: size, channels: 3 } })).png().toBuffer();
}

const SAFE = { safe: true, categories: [], severity: null };

interface Assignment {
  id: number;
  prompt: string;
  image?: string;
}

describe.each(backends())('image + text pairs on $name', (backend) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let admin: Client;
  /** The server's --image-dir, with one image inside; `secret.png` lies outside it. */
  let imageDir: string;
  let outside: string;
  let red: Buffer;
  let projectId: number;
  let users = 0;
  let work: string;

  beforeAll(async () => {
    const fresh = await backend.fresh();
    drop = fresh.drop;
    work = mkdtempSync(join(tmpdir(), 'safealign-images-'));
    imageDir = join(work, 'images');
    outside = join(work, 'secret.png');
    mkdirSync(join(imageDir, 'sub'), { recursive: true });
    red = await png(255, 0, 0);
    writeFileSync(join(imageDir, 'sub', 'red.png'), red);
    writeFileSync(outside, await png(0, 0, 255));
    writeFileSync(join(imageDir, 'not-an-image.png'), 'plain text, whatever the name says');
    symlinkSync(outside, join(imageDir, 'link.png'));
    server = await startServer(fresh.url, {}, { imageDir });
    admin = await signedIn(server.baseUrl, ADMIN.username, ADMIN.password);
    const r = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'images', settings: { annotatorsPerPair: 1, goldShare: 0, auditShare: 0 } });
    projectId = r.body.project.id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
    rmSync(work, { recursive: true, force: true });
  });

  const upload = (lines: readonly unknown[], kind = 'task') => admin.post<{ batch?: { itemCount: number }; error: string }>(`/api/projects/${projectId}/batches`, { name: `batch ${Date.now()}`, kind, jsonl: lines.map((l) => JSON.stringify(l)).join('\n') });
  const plain = (image: string, prompt = 'What is in the picture?') => ({ prompt, response_0: 'A red square.', response_1: 'Something else.', image });

  async function annotator(): Promise<Client> {
    const name = `ann${++users}`;
    expect((await admin.post('/api/users', { username: name, password: `pw-${name}-123`, role: 'annotator' })).status).toBe(201);
    await addMembers(admin, projectId, [name]);
    return signedIn(server.baseUrl, name, `pw-${name}-123`);
  }

  it('imports BeaverTails-V rows (images beside the data file, read in --image-dir) and base64 images; the annotator gets each image, nobody else', async () => {
    // the shipped sample, its image paths relative to the folder the server reads images in
    const sample = readFileSync(join(SAMPLE, 'data.jsonl'), 'utf8').trim().split('\n').slice(0, 2).map((l) => JSON.parse(l) as Record<string, unknown>);
    const local = await startServer((await backend.fresh()).url, {}, { imageDir: SAMPLE });
    const localAdmin = await signedIn(local.baseUrl, ADMIN.username, ADMIN.password);
    const p = await localAdmin.post<{ project: { id: number } }>('/api/projects', { name: 'sample', settings: { goldShare: 0 } });
    const imported = await localAdmin.post<{ batch: { itemCount: number } }>(`/api/projects/${p.body.project.id}/batches`, { name: 'sample', kind: 'gold', jsonl: sample.map((l) => JSON.stringify(l)).join('\n') });
    await local.close();
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body.batch.itemCount).toBe(2);

    const r = await upload([plain(`data:image/png;base64,${red.toString('base64')}`, 'first'), plain('sub/red.png', 'second'), { prompt: 'third, text only', response_0: 'a', response_1: 'b' }]);
    expect(r.status, r.text).toBe(201);
    const ann = await annotator();
    const other = await annotator();
    const seen = new Map<string, Assignment>();
    for (let i = 0; i < 3; i++) {
      const next = await ann.post<{ assignment: Assignment }>(`/api/projects/${projectId}/assignments/next`);
      const a = next.body.assignment;
      seen.set(a.prompt, a);
      if (a.image) {
        const img = await ann.request('GET', a.image);
        expect(img.status).toBe(200);
        expect(img.headers.get('content-type')).toBe('image/png');
        expect(img.headers.get('x-content-type-options')).toBe('nosniff');
        expect(img.headers.get('content-security-policy')).toContain("default-src 'none'");
        // another annotator (and a signed-out visitor) cannot read it: the same answer as a missing assignment
        expect((await other.get(a.image)).status).toBe(404);
        expect((await fetch(`${server.baseUrl}${a.image}`)).status).toBe(401);
        const bytes = Buffer.from(await (await fetch(`${server.baseUrl}${a.image}`, { headers: { cookie: ann.cookieHeader() } })).arrayBuffer());
        expect(bytes.equals(red)).toBe(true);
      }
      await ann.post(`/api/assignments/${a.id}/label`, { moreHelpful: 'left', moreHarmless: 'left', left: SAFE, right: SAFE });
    }
    expect(seen.get('first')?.image).toMatch(/^\/api\/assignments\/\d+\/image$/);
    expect(seen.get('second')?.image).toMatch(/^\/api\/assignments\/\d+\/image$/);
    expect(seen.get('third, text only')).not.toHaveProperty('image');
  });

  it("shows a qualification pair's image to the annotator whose attempt holds it, nobody else", async () => {
    const row = JSON.parse(readFileSync(join(SAMPLE, 'data.jsonl'), 'utf8').trim().split('\n')[0] as string) as Record<string, unknown>;
    const p = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'qualified by pictures', settings: {} });
    const qid = p.body.project.id;
    const imported = await admin.post(`/api/projects/${qid}/batches`, { name: 'q', kind: 'qualification', jsonl: JSON.stringify({ ...row, image: `data:image/png;base64,${red.toString('base64')}` }) });
    expect(imported.status, imported.text).toBe(201);
    const [mine, theirs] = [await annotator(), await annotator()];
    await addMembers(admin, qid, [`ann${users - 1}`, `ann${users}`]);
    const test = await mine.post<{ test: { attemptId: number; items: { itemId: number; image?: string }[] } }>(`/api/projects/${qid}/qualification/start`);
    const item = test.body.test.items[0];
    expect(item?.image).toBe(`/api/projects/${qid}/qualification/${test.body.test.attemptId}/items/${item?.itemId}/image`);
    const img = await mine.request('GET', item?.image as string);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect((await theirs.get(item?.image as string)).status).toBe(404);
    expect((await mine.get(`/api/projects/${qid}/qualification/${test.body.test.attemptId}/items/${(item?.itemId as number) + 1000}/image`)).status).toBe(404);
  });

  it("shows reviewers the image in the audit queue (and serves it to them only, for the project's own pairs)", async () => {
    const p = await admin.post<{ project: { id: number } }>('/api/projects', { name: 'audited pictures', settings: { annotatorsPerPair: 1, goldShare: 0, auditShare: 1 } });
    const pid = p.body.project.id;
    expect((await admin.post(`/api/projects/${pid}/batches`, { name: 'a', kind: 'task', jsonl: JSON.stringify(plain(`data:image/png;base64,${red.toString('base64')}`)) })).status).toBe(201);
    const ann = await annotator();
    await addMembers(admin, pid, [`ann${users}`]);
    const next = await ann.post<{ assignment: Assignment }>(`/api/projects/${pid}/assignments/next`);
    await ann.post(`/api/assignments/${next.body.assignment.id}/label`, { moreHelpful: 'left', moreHarmless: 'left', left: SAFE, right: SAFE });
    expect((await admin.post('/api/users', { username: 'rev1', password: 'pw-rev1-123', role: 'reviewer' })).status).toBe(201);
    const rev = await signedIn(server.baseUrl, 'rev1', 'pw-rev1-123');
    const queue = await rev.get<{ queue: { itemId: number; image?: string }[] }>(`/api/projects/${pid}/audits`);
    const entry = queue.body.queue[0];
    expect(entry?.image).toBe(`/api/projects/${pid}/items/${entry?.itemId}/image`);
    const img = await rev.request('GET', entry?.image as string);
    expect([img.status, img.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect((await ann.get(entry?.image as string)).status).toBe(403);
    // another project's pair through this project's route: as missing
    expect((await rev.get(`/api/projects/${projectId}/items/${entry?.itemId}/image`)).status).toBe(404);
  });

  it('refuses the path traversal attacks on --image-dir, by line, and imports nothing', async () => {
    const before = (await admin.get<{ batches: unknown[] }>(`/api/projects/${projectId}/batches`)).body.batches.length;
    const attacks = ['../secret.png', 'sub/../../secret.png', outside, 'link.png', '../../../../../../etc/passwd', 'sub/../sub/../../images/../secret.png'];
    const r = await upload([plain('sub/red.png'), ...attacks.map((a) => plain(a))]);
    expect(r.status).toBe(400);
    const text = r.body.error;
    expect(text).toMatch(/line 2: image: "\.\.\/secret\.png" leads outside the image folder/);
    expect(text).toMatch(/line 3: image: .* leads outside the image folder/);
    expect(text).toMatch(/line 4: image: .* is an absolute path/);
    expect(text).toMatch(/line 5: image: "link\.png" leads outside the image folder/);
    expect(text).not.toMatch(/line 1:/);
    expect((await admin.get<{ batches: unknown[] }>(`/api/projects/${projectId}/batches`)).body.batches.length).toBe(before);
  });

  it('refuses images over the size limit, of other formats (SVG, text named .png) and paths without an image folder', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 10, 1).toString('base64');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><script>alert(1)</script><rect width="8" height="8"/></svg>').toString('base64');
    const r = await upload([plain(`data:image/png;base64,${big}`), plain(`data:image/svg+xml;base64,${svg}`), plain('not-an-image.png'), plain(`data:image/png;base64,${Buffer.from('GIF89a is not all it takes').toString('base64')}`)]);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/line 1: image: the image is \d+ bytes; the limit is 5242880/);
    expect(r.body.error).toMatch(/line 2: image: the image is svg; the app shows png, jpeg, webp, gif images/);
    expect(r.body.error).toMatch(/line 3: image: not a readable image/);
    expect(r.body.error).toMatch(/line 4: image: not a readable image/);
    // a server without --image-dir reads no path at all
    const bare = await startServer((await backend.fresh()).url);
    const bareAdmin = await signedIn(bare.baseUrl, ADMIN.username, ADMIN.password);
    const p = await bareAdmin.post<{ project: { id: number } }>('/api/projects', { name: 'bare', settings: {} });
    const refused = await bareAdmin.post<{ error: string }>(`/api/projects/${p.body.project.id}/batches`, { name: 'b', kind: 'task', jsonl: JSON.stringify(plain('sub/red.png')) });
    await bare.close();
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/line 1: image: "sub\/red\.png" is a file path, but the server has no image folder: start it with --image-dir DIR/);
  });

  it('shows the image beside the prompt in headless Chromium, with severity asked per response', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium`);
    const sample = readFileSync(join(SAMPLE, 'data.jsonl'), 'utf8').trim().split('\n')[0] as string;
    const row = JSON.parse(sample) as Record<string, unknown>;
    const knife = readFileSync(join(SAMPLE, row.image as string));
    expect((await upload([{ ...row, image: `data:image/png;base64,${knife.toString('base64')}` }])).status).toBe(201);
    await annotator();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.baseUrl}/`);
      await page.locator('#username').fill(`ann${users}`);
      await page.locator('#password').fill(`pw-ann${users}-123`);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      await page.goto(`${server.baseUrl}/#/project/${projectId}/annotate`);
      await page.locator('#prompt-image').waitFor();
      await expect.poll(() => page.evaluate("document.getElementById('prompt-image').complete && document.getElementById('prompt-image').naturalWidth")).toBeGreaterThan(0);
      expect(await page.locator('#prompt').textContent()).toBe(row.question);
      // the image sits beside the prompt text, not above or below it
      const img = await page.locator('#prompt-image').boundingBox();
      const text = await page.locator('#prompt').boundingBox();
      expect(img && text && img.x + img.width <= text.x && img.y < text.y + text.height).toBe(true);
      // severity is asked of each response once it is marked unsafe
      for (const side of ['left', 'right']) {
        await page.locator(`input[name="safe-${side}"][value="unsafe"]`).click();
        await expect.poll(() => page.locator(`input[name="sev-${side}"]`).count()).toBe(3);
      }
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, `annotator-image-${backend.name}.png`) });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

