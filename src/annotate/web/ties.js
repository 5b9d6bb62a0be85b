// The page's tie screen (admin, reviewer): pairs whose vote is tied, every vote, and a decision on the tied judgements.
import { api, errorBox, h, promptBlock, rerender, toast } from './core.js';

/** Each voted judgement: its name in words and its two choices (value, words). */
const JUDGEMENTS = {
  better: ['More helpful', [[0, 'Response 1'], [1, 'Response 2']]],
  safer: ['More harmless', [[0, 'Response 1'], [1, 'Response 2']]],
  safe0: ['Response 1 is', [[true, 'safe'], [false, 'unsafe']]],
  safe1: ['Response 2 is', [[true, 'safe'], [false, 'unsafe']]],
};

function voteText(name, value) {
  return JUDGEMENTS[name][1].find(([v]) => v === value)[1];
}

function tieCard(projectId, tie) {
  const error = h('div', { class: 'form-error' });
  const fields = tie.ties.map((name) => {
    const [title, choices] = JUDGEMENTS[name];
    const current = tie.decision?.decision[name];
    return h(
      'fieldset',
      {},
      h('legend', {}, title),
      h(
        'div',
        { class: 'choices' },
        choices.map(([value, words]) =>
          h('label', { class: 'choice' }, h('input', { type: 'radio', name: `${name}-${tie.itemId}`, value: String(value), required: true, checked: current === value }), words),
        ),
      ),
    );
  });
  const note = h('input', { name: 'note', maxlength: 2000, 'aria-label': 'Note (optional)', placeholder: 'Note (optional)', value: tie.decision?.note ?? '' });
  const form = h('form', { class: 'tie-decision' }, fields, h('div', { class: 'row' }, note, h('button', { type: 'submit' }, tie.decision ? 'Change decision' : 'Record decision')), error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    const body = { note: note.value.trim() };
    for (const name of tie.ties) {
      const raw = form.querySelector(`input[name="${name}-${tie.itemId}"]:checked`)?.value;
      body[name] = name === 'better' || name === 'safer' ? Number(raw) : raw === 'true';
    }
    try {
      await api('POST', `/api/projects/${projectId}/ties/${tie.itemId}`, body);
      toast(`Decision recorded for pair ${tie.itemId}`);
      rerender();
    } catch (err) {
      error.append(errorBox(err));
    }
  });
  const judgements = Object.keys(JUDGEMENTS);
  return h(
    'article',
    { class: 'card tie', 'data-item': tie.itemId },
    h('h2', {}, `Pair ${tie.itemId}: tied on ${tie.ties.map((n) => JUDGEMENTS[n][0].toLowerCase()).join(', ')}`),
    h('h3', {}, 'Prompt'),
    promptBlock(tie.prompt, tie.image),
    h(
      'div',
      { class: 'responses' },
      h('div', { class: 'response' }, h('h3', {}, 'Response 1'), h('div', { class: 'text' }, tie.responses[0])),
      h('div', { class: 'response' }, h('h3', {}, 'Response 2'), h('div', { class: 'text' }, tie.responses[1])),
    ),
    h(
      'table',
      { class: 'data votes' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Annotator'), judgements.map((n) => h('th', {}, JUDGEMENTS[n][0])))),
      h('tbody', {}, tie.votes.map((v) => h('tr', {}, h('td', {}, v.annotator), judgements.map((n) => h('td', { class: tie.ties.includes(n) ? 'tied' : '' }, voteText(n, v[n])))))),
    ),
    tie.decision
      ? h('p', { class: 'decided' }, `Decided by ${tie.decision.decidedBy} at ${tie.decision.decidedAt.slice(0, 16).replace('T', ' ')}${tie.decision.note ? `: ${tie.decision.note}` : ''}`)
      : h('p', { class: 'muted' }, 'Not decided yet: the pair is left out of the export.'),
    form,
  );
}

export async function viewTies(main, projectId) {
  const [{ project }, { ties }] = await Promise.all([api('GET', `/api/projects/${projectId}`), api('GET', `/api/projects/${projectId}/ties`)]);
  const open = ties.filter((t) => !t.decision);
  main.append(
    h('h1', {}, `Tied pairs: ${project.name}`),
    h('p', { class: 'muted' }, `${open.length} of ${ties.length} tied pairs wait for a decision. A decision settles only the tied judgements; the majority decides the rest, and the export then includes the pair.`),
  );
  if (ties.length === 0) main.append(h('p', { id: 'ties-empty' }, 'No tied pairs.'));
  // Undecided first.
  for (const tie of [...open, ...ties.filter((t) => t.decision)]) main.append(tieCard(projectId, tie));
}
