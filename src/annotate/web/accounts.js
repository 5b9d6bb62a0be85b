// The page's account screens: the admin's account list (create, disable, enable) and each user's own account (password, sessions).
import { actionButton, api, errorBox, h, rerender, state, toast } from './core.js';

/** The password policy in words (the server checks it: src/annotate/passwords.ts). */
const PASSWORD_RULE = '8 characters to 72 bytes; not a common one, not the username';

export async function viewUsers(main) {
  const { users } = await api('GET', '/api/users');
  const rowError = h('div');
  main.append(h('h1', {}, 'Accounts'));
  main.append(
    h(
      'table',
      { class: 'data', id: 'users' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Username'), h('th', {}, 'Role'), h('th', {}, 'Created'), h('th', {}, 'Status'), h('th', {}, ''))),
      h(
        'tbody',
        {},
        users.map((u) =>
          h(
            'tr',
            { 'data-user': u.username },
            h('td', {}, u.username),
            h('td', {}, u.role),
            h('td', {}, u.createdAt.slice(0, 16).replace('T', ' ')),
            h('td', {}, u.disabled ? h('span', { class: 'badge warn' }, 'disabled') : 'active'),
            h(
              'td',
              {},
              u.id === state.user.id
                ? h('span', { class: 'muted' }, 'you')
                : actionButton(u.disabled ? 'Enable' : 'Disable', { class: 'secondary small', 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.username}` }, rowError, async () => {
                    await api('POST', `/api/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`);
                    toast(u.disabled ? `Enabled “${u.username}”` : `Disabled “${u.username}”; their sessions ended`);
                  }),
            ),
          ),
        ),
      ),
    ),
    rowError,
  );
  const error = h('div');
  const form = h(
    'form',
    { class: 'card', id: 'create-user' },
    h('h2', {}, 'New account'),
    h(
      'div',
      { class: 'grid3' },
      h('div', {}, h('label', { for: 'new-username' }, 'Username (letters and digits of one script, . _ - @ \u2019)'), h('input', { id: 'new-username', name: 'username', required: true, maxlength: 64, autocomplete: 'off' })),
      h('div', {}, h('label', { for: 'new-password' }, `Password (${PASSWORD_RULE})`), h('input', { id: 'new-password', name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })),
      h(
        'div',
        {},
        h('label', { for: 'new-role' }, 'Role'),
        h('select', { id: 'new-role', name: 'role' }, ['annotator', 'reviewer', 'admin'].map((r) => h('option', { value: r }, r))),
      ),
    ),
    error,
    h('button', { type: 'submit' }, 'Create account'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    try {
      const r = await api('POST', '/api/users', { username: form.username.value, password: form.password.value, role: form.role.value });
      toast(`Created ${r.user.role} “${r.user.username}”`);
      rerender();
    } catch (err) {
      error.append(errorBox(err));
    }
  });
  main.append(form);
}

/** The signed-in user's own account: change the password, sign out on every device. */
export async function viewAccount(main) {
  main.append(h('h1', {}, 'My account'), h('p', { class: 'muted' }, `Signed in as ${state.user.username} (${state.user.role}).`));
  const error = h('div');
  const form = h(
    'form',
    { class: 'card narrow', id: 'change-password' },
    h('h2', {}, 'Change password'),
    h('label', { for: 'current-password' }, 'Current password'),
    h('input', { id: 'current-password', name: 'current', type: 'password', required: true, autocomplete: 'current-password' }),
    h('label', { for: 'next-password' }, `New password (${PASSWORD_RULE})`),
    h('input', { id: 'next-password', name: 'next', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' }),
    h('p', { class: 'muted' }, 'Your other sessions end; this one continues.'),
    error,
    h('button', { type: 'submit' }, 'Change password'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.replaceChildren();
    try {
      const r = await api('POST', '/api/me/password', { currentPassword: form.current.value, newPassword: form.next.value });
      state.csrf = r.csrfToken;
      form.reset();
      toast('Password changed; your other sessions ended');
    } catch (err) {
      error.append(errorBox(err));
    }
  });
  const everywhereError = h('div');
  const everywhere = h(
    'div',
    { class: 'card narrow', id: 'sessions' },
    h('h2', {}, 'Sessions'),
    h('p', {}, 'Signed in on a shared or lost device? End every session of this account, this one included.'),
    everywhereError,
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        id: 'sign-out-everywhere',
        onclick: async () => {
          everywhereError.replaceChildren();
          try {
            const r = await api('POST', '/api/logout/everywhere');
            state.user = null;
            state.csrf = r.csrfToken;
            toast(`Signed out of ${r.ended} session(s)`);
            location.hash = '#/login';
          } catch (err) {
            everywhereError.append(errorBox(err));
          }
        },
      },
      'Sign out everywhere',
    ),
  );
  main.append(form, everywhere);
}
