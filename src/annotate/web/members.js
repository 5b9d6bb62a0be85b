// The page's project members card (admin): annotators see only the projects they are members of.
import { actionButton, api, h, toast } from './core.js';

/** Every annotator account with whether it is a member of the project, and a button to change that. */
export async function membersCard(projectId) {
  const [{ members }, { users }] = await Promise.all([api('GET', `/api/projects/${projectId}/members`), api('GET', '/api/users')]);
  const isMember = new Set(members.map((m) => m.userId));
  const annotators = users.filter((u) => u.role === 'annotator');
  const error = h('div');
  return h(
    'section',
    { class: 'card', id: 'members' },
    h('h2', {}, `Members (${members.length} of ${annotators.length} annotators)`),
    h('p', { class: 'muted small' }, 'Annotators see and work on only the projects they are members of; admins and reviewers see every project.'),
    annotators.length
      ? h(
          'table',
          { class: 'data' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Annotator'), h('th', {}, 'Member'), h('th', {}, ''))),
          h(
            'tbody',
            {},
            annotators.map((u) => {
              const member = isMember.has(u.id);
              const verb = member ? 'Remove' : 'Add';
              return h(
                'tr',
                { 'data-member': u.username },
                h('td', {}, u.username, u.disabled ? h('span', { class: 'badge warn' }, 'disabled') : null),
                h('td', {}, member ? 'yes' : 'no'),
                h(
                  'td',
                  {},
                  actionButton(verb, { class: member ? 'secondary small' : 'small', 'aria-label': `${verb} ${u.username}` }, error, async () => {
                    await api('POST', `/api/projects/${projectId}/members/${u.id}/${member ? 'remove' : 'add'}`);
                    toast(member ? `Removed “${u.username}” from the project` : `Added “${u.username}” to the project`);
                  }),
                ),
              );
            }),
          ),
        )
      : h('p', {}, 'No annotator accounts yet: create them under Accounts.'),
    error,
  );
}
