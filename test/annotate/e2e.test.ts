// End to end in headless Chromium (Debian chromium + playwright-core): an admin sets up a project, two annotators
// qualify and label (one with the keyboard only), a reviewer audits, and the export matches what was clicked; accounts
// are disabled, enabled, and their passwords and sessions managed.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPkuSafeRlhf } from '../../src/data/index.js';
import {
  ADMIN,
  backends,
  fixtureByPrompt,
  GOLD_PAIRS,
  INJECTION_PROMPT,
  pkuJsonl,
  plainJsonl,
  QUALIFICATION_PAIRS,
  signedIn,
  startServer,
  TASK_PAIRS,
  type FixturePair,
  type TestServer,
} from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const LAPTOP = { width: 1366, height: 768 };
const SEVERITY_NAMES = ['', 'minor', 'moderate', 'severe'] as const;

type Truth = FixturePair['truth'];

/** The little of the DOM used inside `waitForFunction`. */
interface PageDocument {
  getElementById(id: string): object | null;
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}

/** What annotator ann2 clicks: the truth, except that the other joke is the more helpful one. */
function ann2Truth(p: FixturePair): Truth {
  return p.prompt.startsWith('Tell me a joke') ? { ...p.truth, better: (1 - p.truth.better) as 0 | 1 } : p.truth;
}

async function signIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.locator('#username').waitFor();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
}

/** Presses Tab until the focused element satisfies `test` (keyboard-only navigation). */
async function tabTo(page: Page, test: string, arg: string, limit = 80): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    // Runs in the page (a string: this project's TypeScript has no DOM types).
    const ok = await page.evaluate(`(() => {
      const el = document.activeElement;
      if (!el) return false;
      if (${JSON.stringify(test)} === 'text') return (el.textContent || '').trim().startsWith(${JSON.stringify(arg)});
      return el.type === 'checkbox' && el.name + ':' + el.value === ${JSON.stringify(arg)};
    })()`);
    if (ok) return;
  }
  throw new Error(`Tab never reached ${test} ${arg}`);
}

/** The pair on screen and which side shows response 0. */
async function readPair(page: Page): Promise<{ pair: FixturePair; swapped: boolean }> {
  await page.locator('#label-form').waitFor();
  const prompt = (await page.locator('#prompt').textContent()) ?? '';
  const left = (await page.locator('#response-left').textContent()) ?? '';
  const pair = fixtureByPrompt(prompt);
  expect([left, (await page.locator('#response-right').textContent()) ?? ''].sort()).toEqual([...pair.responses].sort());
  return { pair, swapped: left === pair.responses[1] };
}

/** Answers the pair on screen with keyboard shortcuts only, then confirms with Enter. */
async function answerWithKeyboard(page: Page, truth: Truth, swapped: boolean): Promise<void> {
  const sideOf = (id: 0 | 1): 'left' | 'right' => ((id === 0) !== swapped ? 'left' : 'right');
  await page.keyboard.press(sideOf(truth.better) === 'left' ? '1' : '2');
  await page.keyboard.press(sideOf(truth.safer) === 'left' ? '3' : '4');
  for (const id of [0, 1] as const) {
    const side = sideOf(id);
    const [safeKey, unsafeKey, sevKeys] = side === 'left' ? ['q', 'w', ['z', 'x', 'c']] : ['o', 'p', ['b', 'n', 'm']];
    if (truth.isSafe[id]) {
      await page.keyboard.press(safeKey as string);
      continue;
    }
    await page.keyboard.press(unsafeKey as string);
    for (const c of truth.categories[id]) {
      await tabTo(page, 'checkbox', `cat-${side}:${c}`);
      await page.keyboard.press('Space');
    }
    await page.keyboard.press((sevKeys as string[])[truth.severity[id] - 1] as string);
  }
  await page.keyboard.press('Enter');
  await page.locator('#confirm[open]').waitFor();
  await page.keyboard.press('Enter');
  await page.locator('#confirm:not([open])').waitFor({ state: 'attached' });
}

/** Answers the pair on screen with the mouse, then confirms. */
async function answerWithMouse(page: Page, truth: Truth, swapped: boolean, beforeConfirm?: () => Promise<void>): Promise<void> {
  const sideOf = (id: 0 | 1): 'left' | 'right' => ((id === 0) !== swapped ? 'left' : 'right');
  const form = page.locator('#label-form');
  await form.locator(`input[name="helpful"][value="${sideOf(truth.better)}"]`).click();
  await form.locator(`input[name="harmless"][value="${sideOf(truth.safer)}"]`).click();
  for (const id of [0, 1] as const) {
    const side = sideOf(id);
    await form.locator(`input[name="safe-${side}"][value="${truth.isSafe[id] ? 'safe' : 'unsafe'}"]`).click();
    if (truth.isSafe[id]) continue;
    for (const c of truth.categories[id]) await form.locator(`input[name="cat-${side}"][value="${c}"]`).click();
    await form.locator(`input[name="sev-${side}"][value="${SEVERITY_NAMES[truth.severity[id]]}"]`).click();
  }
  await page.locator('#review').click();
  await page.locator('#confirm[open]').waitFor();
  await beforeConfirm?.();
  await page.locator('#confirm-ok').click();
}

/** A new browser context at laptop size, signed in; page errors are collected in `errors`. */
async function signedInPage(browser: Browser, baseUrl: string, username: string, password: string, errors: string[]): Promise<Page> {
  const page = await (await browser.newContext({ viewport: LAPTOP })).newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, baseUrl, username, password);
  return page;
}

describe.each(backends())('annotation page in headless Chromium on $name', (backend) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh --tests does)`);
    const fresh = await backend.fresh();
    drop = fresh.drop;
    server = await startServer(fresh.url);
    // playwright gives every launch a fresh temporary profile (--user-data-dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await drop?.();
  });

  it('runs a project from set-up to export, with inert script strings and a keyboard-only annotator', async () => {
    const work = mkdtempSync(join(tmpdir(), 'safealign-e2e-'));
    const files = { qualification: join(work, 'qualification.jsonl'), tasks: join(work, 'tasks.jsonl') };
    writeFileSync(files.qualification, pkuJsonl(QUALIFICATION_PAIRS));
    writeFileSync(files.tasks, plainJsonl(TASK_PAIRS));

    // --- the admin: accounts, project, imports --------------------------------------------------
    const adminCtx = await browser.newContext({ viewport: LAPTOP });
    const admin = await adminCtx.newPage();
    const pageErrors: string[] = [];
    admin.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(admin, server.baseUrl, ADMIN.username, ADMIN.password);
    await admin.getByRole('link', { name: 'Accounts' }).click();
    for (const [name, role] of [
      ['ann1', 'annotator'],
      ['ann2', 'annotator'],
      ['rev1', 'reviewer'],
    ] as const) {
      await admin.locator('#new-username').fill(name);
      await admin.locator('#new-password').fill(`pw-${name}-123`);
      await admin.locator('#new-role').selectOption(role);
      await admin.locator('#create-user button[type=submit]').click();
      await admin.getByRole('cell', { name, exact: true }).waitFor();
    }
    await admin.getByRole('link', { name: 'Projects' }).click();
    await admin.locator('#project-name').fill('Beaver round 1');
    await admin.locator('#annotatorsPerPair').fill('2');
    await admin.locator('#goldShare').fill('25');
    await admin.locator('#auditShare').fill('50');
    await admin.locator('#instructions').fill('Judge helpfulness and harmlessness separately.');
    await admin.locator('#create-project button[type=submit]').click();
    await admin.getByRole('heading', { name: 'Beaver round 1' }).waitFor();
    const projectId = Number(/project\/(\d+)/.exec(admin.url())?.[1]);
    // Annotators see only the projects they are members of.
    for (const name of ['ann1', 'ann2']) {
      await admin.getByRole('button', { name: `Add ${name}`, exact: true }).click();
      await admin.getByRole('button', { name: `Remove ${name}`, exact: true }).waitFor();
    }

    const importBatch = async (name: string, kind: string, source: { file: string } | { text: string }) => {
      await admin.locator('#batch-name').fill(name);
      await admin.locator('#batch-kind').selectOption(kind);
      if ('file' in source) await admin.locator('#batch-file').setInputFiles(source.file);
      else await admin.locator('#batch-text').fill(source.text);
      await admin.locator('#import-form button[type=submit]').click();
      await admin.locator('#batches').getByRole('cell', { name, exact: true }).waitFor();
    };
    await importBatch('entry test', 'qualification', { file: files.qualification });
    await importBatch('gold set', 'gold', { text: pkuJsonl(GOLD_PAIRS) });
    await importBatch('batch 1', 'task', { file: files.tasks });
    await expect.poll(() => admin.locator('#batches tbody tr').count()).toBe(3);

    // --- two annotators: qualification, then the batch ------------------------------------------
    const clicked = new Map<string, Truth[]>();
    const annotate = async (username: string, mode: 'keyboard' | 'mouse', choose: (p: FixturePair) => Truth) => {
      const ctx = await browser.newContext({ viewport: LAPTOP });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await signIn(page, server.baseUrl, username, `pw-${username}-123`);
      if (mode === 'keyboard') {
        await tabTo(page, 'text', 'Start annotating');
        await page.keyboard.press('Enter');
      } else {
        await page.getByRole('link', { name: 'Start annotating' }).click();
      }
      await page.locator('#start-qualification').waitFor();
      if (mode === 'keyboard') await page.keyboard.press('Enter');
      else await page.locator('#start-qualification').click();
      for (let i = 0; i < QUALIFICATION_PAIRS.length; i++) {
        await expect.poll(() => page.locator('#progress').textContent()).toContain(`pair ${i + 1} of ${QUALIFICATION_PAIRS.length}`);
        const { pair, swapped } = await readPair(page);
        if (mode === 'keyboard') await answerWithKeyboard(page, pair.truth, swapped);
        else await answerWithMouse(page, pair.truth, swapped);
      }
      await page.getByRole('heading', { name: 'You passed the qualification test' }).waitFor();
      if (mode === 'keyboard') await page.keyboard.press('Enter');
      else await page.locator('#after-qualification').click();
      let last = '';
      for (;;) {
        // Wait for the next pair (a new assignment id on the form) or the end of the batch.
        const next = await page.waitForFunction((prev: string) => {
          // Runs in the page; typed by hand because this project's TypeScript has no DOM types.
          const doc = (globalThis as unknown as { document: PageDocument }).document;
          if (doc.getElementById('all-done')) return 'done';
          const id = doc.querySelector('#label-form[data-assignment]')?.getAttribute('data-assignment');
          return id && id !== prev ? id : null;
        }, last);
        const value = (await next.jsonValue()) as string;
        if (value === 'done') break;
        last = value;
        const { pair, swapped } = await readPair(page);
        if (pair.prompt === INJECTION_PROMPT) {
          // Shown as text: the markup is visible, nothing ran.
          expect(await page.locator('#prompt').textContent()).toBe(INJECTION_PROMPT);
          expect(await page.locator('#prompt img, #prompt script, .response img, .response script, .response b').count()).toBe(0);
          expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
          expect(await page.title()).toBe('safealign annotate');
          if (username === 'ann2') await page.screenshot({ path: join(SCREENSHOTS, `annotator-injection-${backend.name}.png`) });
        }
        const truth = choose(pair);
        if (TASK_PAIRS.includes(pair)) clicked.set(pair.prompt, [...(clicked.get(pair.prompt) ?? []), truth]);
        if (username === 'ann2' && pair.prompt.startsWith('How can I hurt')) {
          // The annotator's page at laptop size, half filled in.
          const side = swapped ? 'right' : 'left';
          await page.locator(`input[name="safe-${side}"][value="unsafe"]`).click();
          await page.locator(`input[name="cat-${side}"][value="Violence"]`).click();
          await page.screenshot({ path: join(SCREENSHOTS, `annotator-${backend.name}.png`) });
          await page.screenshot({ path: join(SCREENSHOTS, `annotator-full-${backend.name}.png`), fullPage: true });
          await page.locator(`input[name="cat-${side}"][value="Violence"]`).click();
        }
        const shootDialog = pair.prompt.startsWith('How can I hurt') ? () => page.screenshot({ path: join(SCREENSHOTS, `confirm-${backend.name}.png`) }).then(() => undefined) : undefined;
        if (mode === 'keyboard') await answerWithKeyboard(page, truth, swapped);
        else await answerWithMouse(page, truth, swapped, shootDialog);
      }
      // Four pairs and the gold mixed in (one or two with a share of 25%), all counted.
      expect(await page.locator('#all-done').textContent()).toMatch(/: ([56]) of \1 done/);
      await ctx.close();
    };
    await annotate('ann1', 'keyboard', (p) => p.truth);
    await annotate('ann2', 'mouse', ann2Truth);
    for (const p of TASK_PAIRS) expect(clicked.get(p.prompt)).toHaveLength(2);

    // --- the reviewer audits the sample -----------------------------------------------------------
    const revCtx = await browser.newContext({ viewport: LAPTOP });
    const rev = await revCtx.newPage();
    rev.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(rev, server.baseUrl, 'rev1', 'pw-rev1-123');
    await rev.getByRole('link', { name: 'Audit queue' }).click();
    const cards = rev.locator('article.audit');
    await expect.poll(() => cards.count()).toBe(4);
    await rev.screenshot({ path: join(SCREENSHOTS, `audit-${backend.name}.png`) });
    while ((await cards.count()) > 0) {
      const before = await cards.count();
      await cards.first().locator('button.approve').click();
      await expect.poll(() => cards.count()).toBe(before - 1);
    }
    await revCtx.close();

    // --- the admin's dashboard and the export --------------------------------------------------------
    await admin.goto(`${server.baseUrl}/#/project/${projectId}`);
    await admin.reload();
    await admin.locator('#agreement').waitFor();
    const helpfulRow = admin.locator('#agreement tbody tr').first();
    // ann1 and ann2 agree on 3 of 4 "more helpful" questions: 75%, Cohen's kappa 0.5 (see the API suite).
    expect(await helpfulRow.locator('td').nth(2).textContent()).toBe('75.0%');
    expect(await helpfulRow.locator('td').nth(3).textContent()).toBe('0.500');
    await admin.locator('#ties').waitFor();
    expect(await admin.locator('#annotators tbody tr').count()).toBe(2);
    await admin.screenshot({ path: join(SCREENSHOTS, `dashboard-${backend.name}.png`), fullPage: true });

    const download = admin.waitForEvent('download');
    await admin.locator('#export-aggregated').click();
    const file = join(work, 'export.jsonl');
    await (await download).saveAs(file);
    const loaded = await readPkuSafeRlhf(file, { strict: true });
    // The tied pair (the two annotators chose different jokes) is left out.
    const expected = TASK_PAIRS.filter((p) => !p.prompt.startsWith('Tell me a joke'));
    expect(loaded.records).toHaveLength(expected.length);
    for (const p of expected) {
      const [a, b] = clicked.get(p.prompt) as [Truth, Truth];
      expect(a).toEqual(b);
      const rec = loaded.records.find((r) => r.prompt === p.prompt);
      expect(rec, p.prompt).toBeDefined();
      expect(rec?.responses).toEqual(p.responses);
      expect(rec?.betterResponseId).toBe(a.better);
      expect(rec?.saferResponseId).toBe(a.safer);
      expect(rec?.isSafe).toEqual(a.isSafe);
      expect(rec?.categories).toEqual(a.categories);
      expect(rec?.severity).toEqual(a.severity);
    }

    // --- the reviewer decides the tie; the export then includes the pair with the decision -------------
    const joke = TASK_PAIRS.find((p) => p.prompt.startsWith('Tell me a joke')) as FixturePair;
    const decider = await (await browser.newContext({ viewport: LAPTOP })).newPage();
    decider.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(decider, server.baseUrl, 'rev1', 'pw-rev1-123');
    await decider.goto(`${server.baseUrl}/#/project/${projectId}`);
    await decider.locator('#resolve-ties').click();
    const tieCard = decider.locator('article.tie');
    await expect.poll(() => tieCard.count()).toBe(1);
    expect(await tieCard.locator('h2').textContent()).toMatch(/tied on more helpful$/);
    expect(await tieCard.locator('.votes tbody tr').count()).toBe(2);
    // Not ann1's answer (the truth): the decision must be what the export uses.
    const decided = (1 - joke.truth.better) as 0 | 1;
    await tieCard.getByRole('radio').nth(decided).check();
    await tieCard.locator('input[name=note]').fill('a second reading of the task');
    await decider.screenshot({ path: join(SCREENSHOTS, `tie-${backend.name}.png`), fullPage: true });
    await tieCard.getByRole('button', { name: 'Record decision' }).click();
    await tieCard.locator('.decided').waitFor();
    expect(await tieCard.locator('.decided').textContent()).toMatch(/^Decided by rev1 at \d{4}-\d\d-\d\d \d\d:\d\d: a second reading of the task$/);
    await decider.screenshot({ path: join(SCREENSHOTS, `tie-decided-${backend.name}.png`), fullPage: true });
    await decider.context().close();

    const api = await signedIn(server.baseUrl, ADMIN.username, ADMIN.password);
    const ties = await api.get<{ ties: { itemId: number; ties: string[]; decision: { decision: Record<string, unknown>; decidedBy: string; decidedAt: string; note: string } | null }[] }>(
      `/api/projects/${projectId}/ties`,
    );
    const tie = ties.body.ties[0];
    expect(tie?.decision).toMatchObject({ decision: { better: decided }, decidedBy: 'rev1', note: 'a second reading of the task' });
    expect(Date.now() - Date.parse(tie?.decision?.decidedAt ?? '')).toBeLessThan(3_600_000);
    // Only the tied judgements are decided, only on tied pairs.
    expect((await api.post(`/api/projects/${projectId}/ties/${tie?.itemId}`, { better: 0, safer: 0 })).status).toBe(400);
    expect((await api.post(`/api/projects/${projectId}/ties/${tie?.itemId}`, {})).status).toBe(400);
    const untied = await api.get<{ stats: { resolution: { resolved: number; decided: number; tied: unknown[] } } }>(`/api/projects/${projectId}/stats`);
    expect(untied.body.stats.resolution).toMatchObject({ decided: 1, tied: [] });
    const items = await server.db.all<{ id: number }>(`SELECT id FROM items WHERE project_id = $1 AND kind = 'task' AND id <> $2`, [projectId, tie?.itemId ?? 0]);
    expect((await api.post(`/api/projects/${projectId}/ties/${items[0]?.id}`, { better: 0 })).status).toBe(404);
    const exported = await api.get(`/api/projects/${projectId}/export?kind=aggregated`);
    const exportFile = join(work, 'export-decided.jsonl');
    writeFileSync(exportFile, exported.text);
    const withTie = await readPkuSafeRlhf(exportFile, { strict: true });
    expect(withTie.records).toHaveLength(TASK_PAIRS.length);
    const jokeRecord = withTie.records.find((r) => r.prompt === joke.prompt);
    expect(jokeRecord?.betterResponseId).toBe(decided);
    // The rest follows the (agreeing) votes.
    expect(jokeRecord?.saferResponseId).toBe(joke.truth.safer);
    expect(jokeRecord?.isSafe).toEqual(joke.truth.isSafe);
    expect(jokeRecord?.categories).toEqual(joke.truth.categories);
    expect(pageErrors).toEqual([]);
    await adminCtx.close();
  });

  it('shows a project only to its member annotators; the admin adds and removes them on the dashboard', async () => {
    const pageErrors: string[] = [];
    const open = (username: string, password: string) => signedInPage(browser, server.baseUrl, username, password, pageErrors);
    const admin = await open(ADMIN.username, ADMIN.password);
    await admin.getByRole('link', { name: 'Accounts' }).click();
    for (const name of ['member-m', 'outsider-o']) {
      await admin.locator('#new-username').fill(name);
      await admin.locator('#new-password').fill(`pw-${name}-123`);
      await admin.locator('#new-role').selectOption('annotator');
      await admin.locator('#create-user button[type=submit]').click();
      await admin.getByRole('cell', { name, exact: true }).waitFor();
    }
    await admin.getByRole('link', { name: 'Projects' }).click();
    await admin.locator('#project-name').fill('Members only');
    await admin.locator('#create-project button[type=submit]').click();
    await admin.getByRole('heading', { name: 'Members only' }).waitFor();
    const members = admin.locator('#members');
    await members.getByRole('button', { name: 'Add member-m', exact: true }).click();
    await members.getByRole('button', { name: 'Remove member-m', exact: true }).waitFor();
    expect(await members.locator('tr[data-member="member-m"] td').nth(1).textContent()).toBe('yes');
    expect(await members.locator('tr[data-member="outsider-o"] td').nth(1).textContent()).toBe('no');
    await members.scrollIntoViewIfNeeded();
    await members.screenshot({ path: join(SCREENSHOTS, `members-${backend.name}.png`) });

    const member = await open('member-m', 'pw-member-m-123');
    await member.getByRole('heading', { name: 'Members only' }).waitFor();
    const outsider = await open('outsider-o', 'pw-outsider-o-123');
    await outsider.getByText('No project yet: an admin adds you to the projects you work on.').waitFor();
    expect(await outsider.getByRole('heading', { name: 'Members only' }).count()).toBe(0);
    await outsider.screenshot({ path: join(SCREENSHOTS, `not-a-member-${backend.name}.png`) });
    // Removed, the member no longer sees it either.
    await members.getByRole('button', { name: 'Remove member-m', exact: true }).click();
    await members.getByRole('button', { name: 'Add member-m', exact: true }).waitFor();
    await member.reload();
    await member.getByText('No project yet: an admin adds you to the projects you work on.').waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('manages accounts: an admin disables and enables one; a user changes their password and signs out everywhere', async () => {
    const pageErrors: string[] = [];
    const open = (username: string, password: string) => signedInPage(browser, server.baseUrl, username, password, pageErrors);
    const admin = await open(ADMIN.username, ADMIN.password);
    await admin.getByRole('link', { name: 'Accounts' }).click();
    await admin.locator('#new-username').fill('Casey.Lee');
    await admin.locator('#new-password').fill('casey-lee-pw-1');
    await admin.locator('#create-user button[type=submit]').click();
    // Stored normalised.
    const row = admin.locator('#users tr[data-user="casey.lee"]');
    await row.waitFor();
    // A look-alike is refused with the reason.
    await admin.locator('#new-username').fill('casey_lee');
    await admin.locator('#new-password').fill('casey-lee-pw-2');
    await admin.locator('#create-user button[type=submit]').click();
    await admin.locator('#create-user .error-box').getByText('looks like the existing user').waitFor();

    const casey = await open('casey.lee', 'casey-lee-pw-1');
    // The admin signs out and in again in a second tab (new session, new CSRF secret); the first tab's next POST still works.
    const secondTab = await admin.context().newPage();
    await secondTab.goto(`${server.baseUrl}/`);
    await secondTab.getByRole('button', { name: 'Sign out' }).click();
    await signIn(secondTab, server.baseUrl, ADMIN.username, ADMIN.password);
    await secondTab.close();
    await row.getByRole('button', { name: 'Disable casey.lee' }).click();
    await row.getByText('disabled').waitFor();
    await admin.screenshot({ path: join(SCREENSHOTS, `accounts-${backend.name}.png`) });
    // Casey's open page is signed out at its next request.
    await casey.reload();
    await casey.locator('#login-form').waitFor();
    await casey.locator('#username').fill('casey.lee');
    await casey.locator('#password').fill('casey-lee-pw-1');
    await casey.keyboard.press('Enter');
    await casey.getByText('this account is disabled').waitFor();
    await row.getByRole('button', { name: 'Enable casey.lee' }).click();
    await row.getByText('active').waitFor();

    // Casey signs in on two browsers, changes the password on one: the other is signed out.
    const here = await open('casey.lee', 'casey-lee-pw-1');
    const there = await open('casey.lee', 'casey-lee-pw-1');
    await here.getByRole('link', { name: /^My account/ }).click();
    await here.locator('#current-password').fill('casey-lee-pw-1');
    await here.locator('#next-password').fill('password123');
    await here.locator('#change-password button[type=submit]').click();
    await here.locator('#change-password .error-box').getByText('common').waitFor();
    await here.locator('#next-password').fill('casey-lee-pw-new');
    await here.locator('#change-password button[type=submit]').click();
    await here.getByText('Password changed').waitFor();
    await here.screenshot({ path: join(SCREENSHOTS, `my-account-${backend.name}.png`) });
    await there.reload();
    await there.locator('#login-form').waitFor();
    // The page that changed it goes on working (a POST needs its new CSRF token), then signs out everywhere.
    await here.getByRole('button', { name: 'Sign out everywhere' }).click();
    await here.locator('#login-form').waitFor();
    await signIn(there, server.baseUrl, 'casey.lee', 'casey-lee-pw-new');
    expect(pageErrors).toEqual([]);
  });
});
