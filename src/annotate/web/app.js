// The annotation page: sign-in, admin projects/imports/dashboard, the annotator's labelling form, the reviewer's audit queue.
// All data is put into the page as text nodes (never parsed as HTML); the server's CSP forbids inline script.
import { viewAccount, viewUsers } from './accounts.js';
import { membersCard } from './members.js';
import { viewTies } from './ties.js';
import { api, ApiError, errorBox, h, num, pct, promptBlock, state, toast } from './core.js';

const HARM_CATEGORIES = [
  'Endangering National Security',
  'Insulting Behavior',
  'Discriminatory Behavior',
  'Endangering Public Health',
  'Copyright Issues',
  'Violence',
  'Drugs',
  'Privacy Violation',
  'Economic Crime',
  'Mental Manipulation',
  'Human Trafficking',
  'Physical Harm',
  'Sexual Content',
  'Cybercrime',
  'Disrupting Public Order',
  'Environmental Damage',
  'Psychological Harm',
  'White-Collar Crime',
  'Animal Abuse',
];
const SEVERITIES = ['minor', 'moderate', 'severe'];

/** Keyboard shortcuts of the labelling form: key -> [what it does, action]. */
const SHORTCUTS = [
  ['1', 'Response A is more helpful'],
  ['2', 'Response B is more helpful'],
  ['3', 'Response A is more harmless'],
  ['4', 'Response B is more harmless'],
  ['Q', 'Response A is safe'],
  ['W', 'Response A is unsafe'],
  ['O', 'Response B is safe'],
  ['P', 'Response B is unsafe'],
  ['Z X C', 'Response A severity: minor, moderate, severe'],
  ['B N M', 'Response B severity: minor, moderate, severe'],
  ['Tab, Space', 'move to a harm category and tick it'],
  ['Enter', 'review and submit'],
  ['?', 'show or hide this list'],
];

// ---- chrome and routing -----------------------------------------------------------------------------

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  nav.replaceChildren();
  who.replaceChildren();
  if (!state.user) return;
  nav.append(h('a', { href: '#/' }, 'Projects'));
  if (state.user.role === 'admin') nav.append(h('a', { href: '#/users' }, 'Accounts'));
  who.append(
    h('a', { href: '#/account', title: 'My account', 'aria-label': `My account (${state.user.username}, ${state.user.role})` }, state.user.username, ' ', h('span', { class: 'role' }, state.user.role)),
    h('button', { type: 'button', class: 'link', onclick: logout }, 'Sign out'),
  );
}

async function logout() {
  await api('POST', '/api/logout').catch(() => undefined);
  state.user = null;
  const me = await api('GET', '/api/me');
  state.csrf = me.csrfToken;
  location.hash = '#/login';
}

const ROUTES = [
  [/^#\/login$/, viewLogin],
  [/^#\/?$/, viewHome],
  [/^#\/users$/, viewUsers],
  [/^#\/account$/, viewAccount],
  [/^#\/project\/(\d+)$/, viewProject],
  [/^#\/project\/(\d+)\/annotate$/, viewAnnotate],
  [/^#\/project\/(\d+)\/audit$/, viewAudit],
  [/^#\/project\/(\d+)\/ties$/, viewTies],
];

async function render() {
  const main = document.getElementById('main');
  if (state.keyHandler) document.removeEventListener('keydown', state.keyHandler);
  state.keyHandler = null;
  const hash = location.hash || '#/';
  if (!state.user && hash !== '#/login') {
    location.hash = '#/login';
    return;
  }
  renderChrome();
  const route = ROUTES.find(([re]) => re.test(hash));
  main.replaceChildren();
  if (!route) {
    main.append(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the projects')));
    return;
  }
  const params = hash.match(route[0]).slice(1).map(Number);
  try {
    await route[1](main, ...params);
  } catch (err) {
    main.append(errorBox(err));
  }
}

function setKeyHandler(fn) {
  if (state.keyHandler) document.removeEventListener('keydown', state.keyHandler);
  state.keyHandler = fn;
  if (fn) document.addEventListener('keydown', fn);
}

// ---- sign in --------------------------------------------------------------------------------------

async function viewLogin(main) {
  const error = h('div', { 'aria-live': 'assertive' });
  const form = h(
    'form',
    { class: 'card narrow', id: 'login-form' },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'username' }, 'Username'),
    h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true }),
    h('label', { for: 'password' }, 'Password'),
    h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    try {
      const r = await api('POST', '/api/login', { username: form.username.value, password: form.password.value });
      state.user = r.user;
      state.csrf = r.csrfToken;
      location.hash = '#/';
    } catch (err) {
      error.append(errorBox(err));
    }
  });
  main.append(form);
  form.username.focus();
}

// ---- projects ---------------------------------------------------------------------------------------

function settingsSummary(s) {
  return `${s.annotatorsPerPair} annotators per pair · pass mark ${pct(s.passMark)} · gold ${pct(s.goldShare)} · audit ${pct(s.auditShare)}`;
}

async function viewHome(main) {
  const { projects } = await api('GET', '/api/projects');
  const role = state.user.role;
  main.append(h('h1', {}, 'Projects'));
  if (projects.length === 0) main.append(h('p', { class: 'muted' }, role === 'admin' ? 'No project yet: create one below.' : role === 'annotator' ? 'No project yet: an admin adds you to the projects you work on.' : 'No project yet.'));
  const list = h('ul', { class: 'project-list' });
  for (const p of projects) {
    const links = [];
    if (role === 'annotator') links.push(h('a', { class: 'button', href: `#/project/${p.id}/annotate` }, 'Start annotating'));
    if (role !== 'annotator') links.push(h('a', { class: 'button secondary', href: `#/project/${p.id}` }, 'Dashboard'));
    if (role !== 'annotator') links.push(h('a', { class: 'button secondary', href: `#/project/${p.id}/audit` }, 'Audit queue'));
    list.append(h('li', { class: 'card' }, h('h2', {}, p.name), h('p', { class: 'muted' }, settingsSummary(p.settings)), h('div', { class: 'row' }, links)));
  }
  main.append(list);
  if (role === 'admin') main.append(createProjectForm());
}

function numberField(id, label, value, attrs) {
  return [h('label', { for: id }, label), h('input', { id, name: id, type: 'number', value, required: true, ...attrs })];
}

function createProjectForm() {
  const error = h('div');
  const form = h(
    'form',
    { class: 'card', id: 'create-project' },
    h('h2', {}, 'New project'),
    h('label', { for: 'project-name' }, 'Name'),
    h('input', { id: 'project-name', name: 'name', required: true, maxlength: 200 }),
    h(
      'div',
      { class: 'grid4' },
      h('div', {}, numberField('annotatorsPerPair', 'Annotators per pair', 3, { min: 1, max: 50 })),
      h('div', {}, numberField('passMark', 'Qualification pass mark (%)', 90, { min: 0, max: 100 })),
      h('div', {}, numberField('goldShare', 'Gold items mixed in (%)', 10, { min: 0, max: 100 })),
      h('div', {}, numberField('auditShare', 'Audit sample per batch (%)', 10, { min: 0, max: 100 })),
    ),
    h('label', { for: 'instructions' }, 'Instructions for annotators'),
    h('textarea', { id: 'instructions', name: 'instructions', rows: 3, maxlength: 20000 }),
    error,
    h('button', { type: 'submit' }, 'Create project'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    try {
      const r = await api('POST', '/api/projects', {
        name: form.elements.name.value,
        settings: {
          annotatorsPerPair: Number(form.annotatorsPerPair.value),
          passMark: Number(form.passMark.value) / 100,
          goldShare: Number(form.goldShare.value) / 100,
          auditShare: Number(form.auditShare.value) / 100,
          instructions: form.instructions.value,
        },
      });
      toast(`Created project “${r.project.name}”`);
      location.hash = `#/project/${r.project.id}`;
    } catch (err) {
      error.append(errorBox(err));
    }
  });
  return form;
}

// ---- project dashboard (admin, reviewer) ------------------------------------------------------------------

async function viewProject(main, projectId) {
  const isAdmin = state.user.role === 'admin';
  const [{ project, stats }, batches, jobs, members] = await Promise.all([
    api('GET', `/api/projects/${projectId}/stats`),
    isAdmin ? api('GET', `/api/projects/${projectId}/batches`).then((r) => r.batches) : Promise.resolve(null),
    isAdmin ? api('GET', `/api/projects/${projectId}/jobs`).then((r) => r.jobs) : Promise.resolve(null),
    isAdmin ? membersCard(projectId) : Promise.resolve(null),
  ]);
  main.append(
    h('h1', {}, project.name),
    h('p', { class: 'muted' }, settingsSummary(project.settings)),
    h(
      'div',
      { class: 'row' },
      h('a', { class: 'button secondary', href: `#/project/${projectId}/audit` }, `Audit queue (${stats.counts.audits.pending} waiting)`),
      h('a', { class: 'button secondary', id: 'resolve-ties', href: `#/project/${projectId}/ties` }, `Tied pairs (${stats.resolution.tied.length} waiting)`),
    ),
  );
  const c = stats.counts;
  main.append(
    h('h2', {}, 'Counts'),
    h(
      'div',
      { class: 'cards', id: 'counts' },
      statCard('Task pairs', c.pairs.task),
      statCard('Labelled pairs', c.labelledPairs),
      statCard('Complete pairs', `${c.completePairs} / ${c.pairs.task}`),
      statCard('Labels', c.labels.task),
      statCard('Gold labels', c.labels.gold),
      statCard('Open assignments', c.assignments.open),
      statCard('Audit sample', c.auditSample),
      statCard('Audits ✓ / ✗', `${c.audits.approved} / ${c.audits.rejected}`),
    ),
  );
  main.append(
    h('h2', {}, 'Agreement per question'),
    h(
      'table',
      { class: 'data', id: 'agreement' },
      headRow(['Question', '#Rated units', '#Percent agreement', "#Cohen's κ", "#Fleiss' κ"]),
      h(
        'tbody',
        {},
        stats.agreement.map((a) =>
          h(
            'tr',
            {},
            h('td', {}, a.text),
            h('td', { class: 'num' }, a.units),
            h('td', { class: 'num' }, pct(a.percentAgreement)),
            h('td', { class: 'num', title: a.cohen.method }, num(a.cohen.kappa)),
            h('td', { class: 'num' }, num(a.fleiss.kappa)),
          ),
        ),
      ),
    ),
    h('p', { class: 'muted small' }, "Cohen's κ: between the two annotators, or the mean over annotator pairs (Light's κ) when there are more."),
  );
  main.append(
    h('h2', {}, 'Annotators'),
    h(
      'table',
      { class: 'data', id: 'annotators' },
      headRow(['Annotator', '#Task labels', '#Gold labels', '#Gold accuracy', '#Agreement with others', 'Qualification', '#Audits ✓ / ✗']),
      h(
        'tbody',
        {},
        stats.annotators.map((a) =>
          h(
            'tr',
            {},
            h('td', {}, a.username),
            h('td', { class: 'num' }, a.taskLabels),
            h('td', { class: 'num' }, a.goldLabels),
            h('td', { class: 'num' }, pct(a.goldAccuracy)),
            h('td', { class: 'num' }, pct(a.agreementWithOthers)),
            h('td', {}, a.qualification ? `${a.qualification.passed ? 'passed' : 'not passed'} (best ${pct(a.qualification.bestScore)}, ${a.qualification.attempts} ${a.qualification.attempts === 1 ? 'try' : 'tries'})` : '–'),
            h('td', { class: 'num' }, `${a.audits.approved} / ${a.audits.rejected}`),
          ),
        ),
      ),
    ),
  );
  const r = stats.resolution;
  main.append(
    h('h2', {}, 'Majority resolution'),
    h('p', {}, `${r.resolved} complete pairs resolved by majority (${r.decided} of them with tied judgements decided by hand); ${r.tied.length} tied (left out of the export until decided under Tied pairs); ${r.inconsistent} with the safer response labelled unsafe.`),
    r.tied.length
      ? h(
          'table',
          { class: 'data', id: 'ties' },
          headRow(['#Pair', 'Prompt', 'Tied judgements', '#Votes']),
          h('tbody', {}, r.tied.map((t) => h('tr', {}, h('td', { class: 'num' }, t.itemId), h('td', { class: 'clip' }, t.prompt), h('td', {}, t.ties.join(', ')), h('td', { class: 'num' }, t.votes)))),
        )
      : null,
  );
  if (isAdmin) {
    main.append(
      h('h2', {}, 'Export'),
      h(
        'div',
        { class: 'row' },
        h('a', { class: 'button', id: 'export-aggregated', href: `/api/projects/${projectId}/export?kind=aggregated`, download: '' }, 'PKU-SafeRLHF JSONL (majority)'),
        h('a', { class: 'button secondary', id: 'export-raw', href: `/api/projects/${projectId}/export?kind=raw`, download: '' }, 'Raw labels JSONL'),
      ),
      members,
      importForm(projectId),
      generateForm(projectId),
      jobs.length ? jobsTable(jobs) : null,
      h('h2', {}, 'Batches'),
      h(
        'table',
        { class: 'data', id: 'batches' },
        headRow(['Batch', 'Kind', '#Pairs', '#Audit sample', 'Imported']),
        h(
          'tbody',
          {},
          batches.map((b) =>
            h('tr', {}, h('td', {}, b.name), h('td', {}, b.kind), h('td', { class: 'num' }, b.itemCount), h('td', { class: 'num' }, b.auditCount), h('td', {}, b.createdAt.slice(0, 16).replace('T', ' '))),
          ),
        ),
      ),
    );
  }
}

/** A table head; a leading '#' marks a numeric (right-aligned) column. */
function headRow(titles) {
  return h('thead', {}, h('tr', {}, titles.map((t) => (t.startsWith('#') ? h('th', { class: 'num' }, t.slice(1)) : h('th', {}, t)))));
}

function statCard(label, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

function importForm(projectId) {
  const error = h('div');
  const form = h(
    'form',
    { class: 'card', id: 'import-form' },
    h('h2', {}, 'Import a batch'),
    h('p', { class: 'muted small' }, 'JSONL, one pair per line: PKU-SafeRLHF rows, BeaverTails-V image + text rows, or {"prompt", "response_0", "response_1"} (optionally "image": base64, a data: URL, or a path inside the server\'s --image-dir). Gold and qualification items need labelled rows.'),
    h(
      'div',
      { class: 'grid3' },
      h('div', {}, h('label', { for: 'batch-name' }, 'Batch name'), h('input', { id: 'batch-name', name: 'batchName', required: true, maxlength: 200 })),
      h(
        'div',
        {},
        h('label', { for: 'batch-kind' }, 'Kind'),
        h(
          'select',
          { id: 'batch-kind', name: 'kind' },
          h('option', { value: 'task' }, 'task pairs'),
          h('option', { value: 'gold' }, 'gold items (mixed into batches)'),
          h('option', { value: 'qualification' }, 'qualification test'),
        ),
      ),
      h('div', {}, h('label', { for: 'batch-file' }, 'File'), h('input', { id: 'batch-file', name: 'file', type: 'file', accept: '.jsonl,.json,.txt' })),
    ),
    h('label', { for: 'batch-text' }, 'or paste JSONL'),
    h('textarea', { id: 'batch-text', name: 'text', rows: 3, spellcheck: 'false' }),
    error,
    h('button', { type: 'submit' }, 'Import'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    const file = form.file.files[0];
    const jsonl = file ? await file.text() : form.text.value;
    try {
      const r = await api('POST', `/api/projects/${projectId}/batches`, { name: form.batchName.value, kind: form.kind.value, jsonl });
      toast(`Imported ${r.batch.itemCount} pairs into “${r.batch.name}”`);
      await render();
    } catch (err) {
      error.append(errorBox(err));
    }
  });
  return form;
}

/** Generation jobs, newest first; they survive a server restart (resumed, or failed with the reason). */
function jobsTable(jobs) {
  const started = (j) => `${j.startedAt.slice(0, 16).replace('T', ' ')}${j.runs > 1 ? ` (started ${j.runs} times)` : ''}`;
  const outcome = (j) => (j.status === 'done' && j.batch ? `${j.batch.itemCount} pair${j.batch.itemCount === 1 ? '' : 's'} in “${j.batch.name}”` : j.status === 'failed' ? j.error : `${j.done} of ${j.total} responses`);
  return h(
    'div',
    {},
    h('h2', {}, 'Generation jobs'),
    h(
      'table',
      { class: 'data', id: 'jobs' },
      headRow(['Batch', 'Status', 'Outcome', 'Started']),
      h('tbody', {}, jobs.map((j) => h('tr', {}, h('td', {}, j.name), h('td', {}, j.status), h('td', { class: 'clip' }, outcome(j)), h('td', {}, started(j))))),
    ),
  );
}

function generateForm(projectId) {
  const status = h('div', { 'aria-live': 'polite', id: 'generate-status' });
  const form = h(
    'form',
    { class: 'card', id: 'generate-form' },
    h('h2', {}, 'Generate a batch with model checkpoints'),
    h('p', { class: 'muted small' }, "Response 0 comes from model A, response 1 from model B (or a second sample from A). Model folders are relative to the server's models folder."),
    h(
      'div',
      { class: 'grid3' },
      h('div', {}, h('label', { for: 'gen-name' }, 'Batch name'), h('input', { id: 'gen-name', name: 'genName', required: true, maxlength: 200 })),
      h('div', {}, h('label', { for: 'gen-model-a' }, 'Model A folder'), h('input', { id: 'gen-model-a', name: 'modelA', required: true, placeholder: 'e.g. pipeline/sft' })),
      h('div', {}, h('label', { for: 'gen-model-b' }, 'Model B folder (optional)'), h('input', { id: 'gen-model-b', name: 'modelB' })),
    ),
    h(
      'div',
      { class: 'grid3' },
      h('div', {}, numberField('gen-max-tokens', 'Max new tokens', 64, { min: 1, max: 1024 })),
      h('div', {}, numberField('gen-temperature', 'Temperature', 1, { min: 0.05, max: 10, step: 0.05 })),
      h('div', {}, numberField('gen-seed', 'Seed', 0, { min: 0 })),
    ),
    h('label', { for: 'gen-prompts' }, 'Prompts, one per line'),
    h('textarea', { id: 'gen-prompts', name: 'prompts', rows: 4, required: true }),
    status,
    h('button', { type: 'submit' }, 'Generate'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.replaceChildren();
    try {
      let { job } = await api('POST', `/api/projects/${projectId}/batches/generate`, {
        name: form.genName.value,
        modelA: form.modelA.value,
        modelB: form.modelB.value,
        prompts: form.prompts.value,
        maxNewTokens: Number(form['gen-max-tokens'].value),
        temperature: Number(form['gen-temperature'].value),
        seed: Number(form['gen-seed'].value),
      });
      while (job.status === 'running' || job.status === 'queued') {
        status.replaceChildren(h('p', {}, `Generating: ${job.done} of ${job.total} responses…`));
        await new Promise((r) => setTimeout(r, 1000));
        ({ job } = await api('GET', `/api/jobs/${job.id}`));
      }
      if (job.status === 'failed') throw new ApiError(500, job.error);
      toast(`Generated and imported ${job.batch.itemCount} pairs into “${job.batch.name}”`);
      await render();
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  return form;
}

// ---- the labelling form (annotation and qualification) ----------------------------------------------

/**
 * Renders one pair with the questions; resolves `onSubmit(answer)` after the confirmation dialog.
 * `answer` is in display terms: { moreHelpful, moreHarmless: 'left'|'right', left, right: {safe, categories, severity} }.
 */
function labelForm({ prompt, image, left, right, instructions, progress, onSubmit }) {
  const sides = { left: 'A', right: 'B' };
  const form = h('form', { class: 'pair', id: 'label-form', novalidate: true });
  const radio = (name, value, label, key) =>
    h('label', { class: 'choice' }, h('input', { type: 'radio', name, value }), h('span', {}, label), key ? h('kbd', { 'aria-hidden': 'true' }, key) : null);

  const progressRow = h(
    'div',
    { class: 'progress-row' },
    progress ? h('span', { id: 'progress' }, progress.text) : null,
    progress ? h('progress', { max: progress.max, value: progress.value, 'aria-label': progress.text }) : null,
    instructions ? h('details', { class: 'instructions' }, h('summary', {}, 'Instructions'), h('div', { class: 'text' }, instructions)) : null,
  );
  const promptHeading = h('h2', { tabindex: '-1', id: 'prompt-heading' }, 'Prompt');
  const responseColumn = (side, text) => {
    const name = sides[side];
    const safeKeys = side === 'left' ? ['Q', 'W'] : ['O', 'P'];
    const sevKeys = side === 'left' ? ['Z', 'X', 'C'] : ['B', 'N', 'M'];
    const harm = h(
      'fieldset',
      { class: 'harm', hidden: true, disabled: true },
      h('legend', {}, `Harm categories of response ${name}`),
      h('div', { class: 'categories' }, HARM_CATEGORIES.map((c) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: `cat-${side}`, value: c }), h('span', {}, c)))),
    );
    const severity = h(
      'fieldset',
      { class: 'severity', hidden: true, disabled: true },
      h('legend', {}, `Severity of response ${name}`),
      h('div', { class: 'choices' }, SEVERITIES.map((s, i) => radio(`sev-${side}`, s, s, sevKeys[i]))),
    );
    const safety = h(
      'fieldset',
      { class: 'safety' },
      h('legend', {}, `Is response ${name} safe?`),
      h('div', { class: 'choices' }, radio(`safe-${side}`, 'safe', 'Safe', safeKeys[0]), radio(`safe-${side}`, 'unsafe', 'Unsafe', safeKeys[1])),
    );
    safety.addEventListener('change', () => {
      const unsafe = form.elements[`safe-${side}`].value === 'unsafe';
      for (const fs of [harm, severity]) {
        fs.hidden = !unsafe;
        fs.disabled = !unsafe;
      }
      if (!unsafe) {
        for (const cb of form.querySelectorAll(`input[name="cat-${side}"]`)) cb.checked = false;
        for (const r of form.querySelectorAll(`input[name="sev-${side}"]`)) r.checked = false;
      }
    });
    return h('article', { class: `response ${side}`, 'aria-label': `Response ${name}` }, h('h3', {}, `Response ${name}`), h('div', { class: 'text', id: `response-${side}` }, text), safety, harm, severity);
  };
  const error = h('div', { class: 'form-error', 'aria-live': 'assertive', id: 'form-error' });
  const help = h(
    'div',
    { class: 'shortcuts', id: 'shortcuts', hidden: true },
    h('h3', {}, 'Keyboard shortcuts'),
    h('dl', {}, SHORTCUTS.map(([k, what]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, what)])),
  );
  const submitButton = h('button', { type: 'submit', id: 'review' }, 'Review and submit ', h('kbd', {}, 'Enter'));
  const toggleHelp = () => {
    help.hidden = !help.hidden;
    if (!help.hidden) help.scrollIntoView({ block: 'nearest' });
  };
  // The comparison questions and the submit button stay in view at the bottom of the screen.
  const decision = h(
    'div',
    { class: 'decision' },
    error,
    h('fieldset', {}, h('legend', {}, 'Which response is more helpful?'), h('div', { class: 'choices' }, radio('helpful', 'left', 'Response A', '1'), radio('helpful', 'right', 'Response B', '2'))),
    h('fieldset', {}, h('legend', {}, 'Which response is more harmless?'), h('div', { class: 'choices' }, radio('harmless', 'left', 'Response A', '3'), radio('harmless', 'right', 'Response B', '4'))),
    h(
      'div',
      { class: 'actions' },
      submitButton,
      h('button', { type: 'button', class: 'secondary', title: 'Keyboard shortcuts', 'aria-label': 'Keyboard shortcuts', onclick: toggleHelp }, h('kbd', {}, '?')),
    ),
  );
  form.append(
    progressRow,
    promptHeading,
    promptBlock(prompt, image, 'prompt'),
    h('div', { class: 'responses' }, responseColumn('left', left), responseColumn('right', right)),
    help,
    decision,
  );

  const collect = () => {
    const value = (name) => form.elements[name]?.value || null;
    const side = (s) => {
      const safe = value(`safe-${s}`);
      return {
        safe: safe === 'safe',
        categories: [...form.querySelectorAll(`input[name="cat-${s}"]:checked`)].map((c) => c.value),
        severity: safe === 'unsafe' ? value(`sev-${s}`) : null,
        answered: safe !== null,
      };
    };
    return { moreHelpful: value('helpful'), moreHarmless: value('harmless'), left: side('left'), right: side('right') };
  };

  const missing = (a) => {
    const out = [];
    if (!a.moreHelpful) out.push(['helpful', 'which response is more helpful']);
    if (!a.moreHarmless) out.push(['harmless', 'which response is more harmless']);
    for (const s of ['left', 'right']) {
      const r = a[s];
      if (!r.answered) out.push([`safe-${s}`, `whether response ${sides[s]} is safe`]);
      else if (!r.safe && r.categories.length === 0) out.push([`cat-${s}`, `at least one harm category for response ${sides[s]}`]);
      if (r.answered && !r.safe && !r.severity) out.push([`sev-${s}`, `the severity for response ${sides[s]}`]);
    }
    return out;
  };

  let busy = false;
  const review = async () => {
    if (busy) return;
    const a = collect();
    const gaps = missing(a);
    error.replaceChildren();
    if (gaps.length) {
      error.append(h('p', {}, 'Still to answer: ', gaps.map((g) => g[1]).join('; '), '.'));
      form.querySelector(`input[name="${gaps[0][0]}"]`)?.focus();
      return;
    }
    const describe = (s) => {
      const r = a[s];
      return r.safe ? `Response ${sides[s]}: safe` : `Response ${sides[s]}: unsafe — ${r.categories.join(', ')}; ${r.severity}`;
    };
    const harmlessSide = a.moreHarmless;
    const other = harmlessSide === 'left' ? 'right' : 'left';
    const warning = !a[harmlessSide].safe && a[other].safe ? `Check: you chose response ${sides[harmlessSide]} as more harmless, but marked it unsafe and response ${sides[other]} safe.` : '';
    busy = true;
    const ok = await confirmDialog(
      [`More helpful: response ${sides[a.moreHelpful]}`, `More harmless: response ${sides[a.moreHarmless]}`, describe('left'), describe('right')],
      warning,
    );
    if (!ok) {
      busy = false;
      submitButton.focus();
      return;
    }
    const strip = (r) => ({ safe: r.safe, categories: r.categories, severity: r.severity });
    try {
      form.classList.add('sending');
      await onSubmit({ moreHelpful: a.moreHelpful, moreHarmless: a.moreHarmless, left: strip(a.left), right: strip(a.right) });
    } catch (err) {
      error.replaceChildren(errorBox(err));
    } finally {
      form.classList.remove('sending');
      busy = false;
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void review();
  });

  const check = (name, value) => {
    const input = form.querySelector(`input[name="${name}"][value="${value}"]`);
    if (!input || input.disabled || input.closest('fieldset')?.disabled) return false;
    input.checked = true;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    input.focus();
    return true;
  };
  const keys = {
    1: () => check('helpful', 'left'),
    2: () => check('helpful', 'right'),
    3: () => check('harmless', 'left'),
    4: () => check('harmless', 'right'),
    q: () => check('safe-left', 'safe'),
    w: () => check('safe-left', 'unsafe'),
    o: () => check('safe-right', 'safe'),
    p: () => check('safe-right', 'unsafe'),
    z: () => check('sev-left', 'minor'),
    x: () => check('sev-left', 'moderate'),
    c: () => check('sev-left', 'severe'),
    b: () => check('sev-right', 'minor'),
    n: () => check('sev-right', 'moderate'),
    m: () => check('sev-right', 'severe'),
    '?': () => {
      toggleHelp();
      return true;
    },
  };
  setKeyHandler((e) => {
    if (document.getElementById('confirm').open || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t instanceof HTMLInputElement && !['radio', 'checkbox'].includes(t.type))) return;
    if (e.key === 'Enter') {
      if (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement || t instanceof HTMLElement && t.tagName === 'SUMMARY') return;
      e.preventDefault();
      void review();
      return;
    }
    const action = keys[e.key.toLowerCase()] ?? keys[e.key];
    if (action && action()) e.preventDefault();
  });
  return { form, focus: () => promptHeading.focus() };
}

/** Shows the confirmation dialog; resolves true when the annotator confirms. */
function confirmDialog(lines, warning) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-summary').replaceChildren(...lines.map((l) => h('li', {}, l)));
  const w = document.getElementById('confirm-warning');
  w.textContent = warning;
  w.hidden = !warning;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    document.getElementById('confirm-ok').focus();
  });
}

// ---- annotator: qualification, then the batch ----------------------------------------------------

async function viewAnnotate(main, projectId) {
  const [{ project }, { qualification }] = await Promise.all([api('GET', `/api/projects/${projectId}`), api('GET', `/api/projects/${projectId}/qualification`)]);
  main.append(h('h1', {}, project.name));
  const area = h('div');
  main.append(area);
  if (qualification.required && !qualification.passed) {
    await qualificationIntro(area, project, qualification);
    return;
  }
  await nextPair(area, project);
}

async function qualificationIntro(area, project, q) {
  area.replaceChildren();
  const left = q.attemptsAllowed - q.attemptsUsed;
  const box = h(
    'div',
    { class: 'card', id: 'qualification-intro' },
    h('h2', {}, 'Qualification test'),
    h('p', {}, `Before real work, label a few pairs whose answers are known. You pass with ${pct(project.settings.passMark)} of the judgements right (which response is more helpful, which more harmless, and whether each response is safe).`),
    q.lastScore !== null ? h('p', { class: 'warning' }, `Your last score: ${pct(q.lastScore)}.`) : null,
    left > 0 ? h('p', {}, `Attempts left: ${left}.`) : h('p', { class: 'warning' }, 'No attempts left; ask an admin.'),
  );
  if (left > 0) {
    const start = h('button', { type: 'button', id: 'start-qualification' }, 'Start the test');
    start.addEventListener('click', () => runQualification(area, project));
    box.append(start);
    area.append(box);
    start.focus();
  } else {
    area.append(box);
  }
}

async function runQualification(area, project) {
  const { test } = await api('POST', `/api/projects/${project.id}/qualification/start`);
  const answers = [];
  const showItem = (i) => {
    const item = test.items[i];
    const { form, focus } = labelForm({
      prompt: item.prompt,
      image: item.image,
      left: item.left,
      right: item.right,
      instructions: project.settings.instructions,
      progress: { text: `Qualification: pair ${i + 1} of ${test.items.length}`, value: i, max: test.items.length },
      onSubmit: async (answer) => {
        answers.push({ itemId: item.itemId, answer });
        if (i + 1 < test.items.length) {
          showItem(i + 1);
          return;
        }
        const { result } = await api('POST', `/api/projects/${project.id}/qualification/${test.attemptId}`, { answers });
        setKeyHandler(null);
        area.replaceChildren(qualificationResult(area, project, result));
      },
    });
    area.replaceChildren(form);
    window.scrollTo(0, 0);
    focus();
  };
  showItem(0);
}

function qualificationResult(area, project, result) {
  const box = h(
    'div',
    { class: 'card', id: 'qualification-result' },
    h('h2', {}, result.passed ? 'You passed the qualification test' : 'Not passed this time'),
    h('p', {}, `Score: ${pct(result.score)} (${result.correct} of ${result.judgements} judgements).`),
  );
  const next = h('button', { type: 'button', id: 'after-qualification' }, result.passed ? 'Start annotating' : 'Back');
  next.addEventListener('click', async () => {
    if (result.passed) await nextPair(area, project);
    else await render();
  });
  box.append(next);
  queueMicrotask(() => next.focus());
  return box;
}

function progressOf(p) {
  if (!p) return null;
  return { text: `Batch “${p.batchName}”: ${p.done} of ${p.total} done`, value: p.done, max: Math.max(1, p.total) };
}

async function nextPair(area, project) {
  const { assignment, progress } = await api('POST', `/api/projects/${project.id}/assignments/next`);
  if (!assignment) {
    setKeyHandler(null);
    const p = progressOf(progress);
    area.replaceChildren(
      h(
        'div',
        { class: 'card', id: 'all-done' },
        h('h2', {}, 'All done'),
        h('p', {}, 'There is nothing left for you in this project right now. Thank you!'),
        p ? h('p', { class: 'muted' }, p.text) : null,
        h('a', { class: 'button', href: '#/' }, 'Back to the projects'),
      ),
    );
    area.querySelector('a')?.focus();
    return;
  }
  const { form, focus } = labelForm({
    prompt: assignment.prompt,
    image: assignment.image,
    left: assignment.left,
    right: assignment.right,
    instructions: project.settings.instructions,
    progress: progressOf(progress),
    onSubmit: async (answer) => {
      try {
        await api('POST', `/api/assignments/${assignment.id}/label`, answer);
      } catch (err) {
        // Expired or already answered: move on to a fresh pair rather than being stuck.
        if (err.status !== 404 && err.status !== 409) throw err;
        toast(err.message, 'warn');
      }
      toast('Saved');
      await nextPair(area, project);
    },
  });
  form.dataset.assignment = String(assignment.id);
  area.replaceChildren(form);
  window.scrollTo(0, 0);
  focus();
}

// ---- reviewer: audit queue ------------------------------------------------------------------------------

function describeLabel(label) {
  const r = (i) => (label.isSafe[i] ? 'safe' : `unsafe — ${label.categories[i].join(', ')}; ${SEVERITIES[label.severity[i] - 1]}`);
  return [`More helpful: response ${label.better + 1}`, `More harmless: response ${label.safer + 1}`, `Response 1: ${r(0)}`, `Response 2: ${r(1)}`];
}

async function viewAudit(main, projectId) {
  const [{ project }, { queue }] = await Promise.all([api('GET', `/api/projects/${projectId}`), api('GET', `/api/projects/${projectId}/audits`)]);
  main.append(h('h1', {}, `Audit queue: ${project.name}`), h('p', { class: 'muted' }, `${queue.length} labels waiting. The audit sample is ${pct(project.settings.auditShare)} of each batch.`));
  if (queue.length === 0) main.append(h('p', { id: 'audit-empty' }, 'Nothing to audit right now.'));
  for (const entry of queue) {
    const note = h('input', { name: 'note', maxlength: 2000, 'aria-label': 'Note (optional)', placeholder: 'Note (optional)' });
    const card = h(
      'article',
      { class: 'card audit', 'data-label': entry.labelId },
      h('h2', {}, `Label by ${entry.annotator}`),
      h('h3', {}, 'Prompt'),
      promptBlock(entry.prompt, entry.image),
      h(
        'div',
        { class: 'responses' },
        h('div', { class: 'response' }, h('h3', {}, 'Response 1'), h('div', { class: 'text' }, entry.responses[0])),
        h('div', { class: 'response' }, h('h3', {}, 'Response 2'), h('div', { class: 'text' }, entry.responses[1])),
      ),
      h('ul', { class: 'label-summary' }, describeLabel(entry.label).map((l) => h('li', {}, l))),
    );
    const decide = async (verdict) => {
      try {
        await api('POST', `/api/projects/${projectId}/audits/${entry.labelId}`, { verdict, note: note.value.trim() });
        toast(verdict === 'approved' ? 'Approved' : 'Rejected: the pair goes to one more annotator');
        card.remove();
      } catch (err) {
        card.append(errorBox(err));
      }
    };
    card.append(
      h(
        'div',
        { class: 'row' },
        note,
        h('button', { type: 'button', class: 'approve', onclick: () => decide('approved') }, 'Approve'),
        h('button', { type: 'button', class: 'reject danger', onclick: () => decide('rejected') }, 'Reject'),
      ),
    );
    main.append(card);
  }
}

// ---- start --------------------------------------------------------------------------------------------

async function boot() {
  try {
    const me = await api('GET', '/api/me');
    state.user = me.user;
    state.csrf = me.csrfToken;
  } catch (err) {
    document.getElementById('main').replaceChildren(errorBox(err));
    return;
  }
  window.addEventListener('hashchange', () => void render());
  await render();
}

void boot();
