// The page's shared pieces: session state, DOM building from text nodes only, toasts, error boxes and the JSON API client.

export const state = { user: null, csrf: '', keyHandler: null };

// ---- DOM helpers ----------------------------------------------------------------------------------

/** Creates an element. Strings and numbers become text nodes; nothing is ever parsed as HTML. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function toast(message, kind = 'ok') {
  const t = document.getElementById('toast');
  t.className = `show ${kind}`;
  t.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.className = ''), 3000);
}

export function pct(x) {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`;
}
export function num(x, digits = 3) {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
}

/** A problem message box with optional detail lines. */
export function errorBox(err) {
  return h('div', { class: 'error-box', role: 'alert' }, h('p', {}, err.message), err.details ? h('ul', {}, err.details.slice(0, 30).map((d) => h('li', {}, d))) : null);
}

// ---- API ------------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/**
 * Calls the JSON API. A CSRF token is bound to the browser's session, so after this browser signs
 * in or out in another tab a POST is refused (403): the token is then fetched again and the
 * request repeated once, but only when the same user is still signed in.
 */
export async function api(method, path, body, retried = false) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = state.csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!res.ok) {
    if (res.status === 403 && /csrf/i.test(String(data.error)) && !retried) {
      const me = await api('GET', '/api/me');
      state.csrf = me.csrfToken;
      if (me.user?.id === state.user?.id) return api(method, path, body, true);
      state.user = me.user;
      location.hash = me.user ? '#/' : '#/login';
    }
    if (res.status === 401 && path !== '/api/login') {
      state.user = null;
      location.hash = '#/login';
    }
    throw new ApiError(res.status, data.error || `${res.status} ${res.statusText}`, data.details);
  }
  return data;
}

/** Renders the current screen again (the router listens for hash changes). */
export function rerender() {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** A button that calls the API and re-renders, showing a problem in `error`. */
export function actionButton(label, attrs, error, run) {
  return h('button', {
    type: 'button',
    ...attrs,
    onclick: async () => {
      error.replaceChildren();
      try {
        await run();
        rerender();
      } catch (err) {
        error.append(errorBox(err));
      }
    },
  }, label);
}

/** A pair's prompt as text, with its image beside it when it has one (`image`: where the server serves it; click for full size). */
export function promptBlock(prompt, image, id) {
  const text = h('div', { class: 'prompt text', id }, prompt);
  if (!image) return text;
  const img = h('img', { class: 'prompt-image', id: id ? `${id}-image` : undefined, src: image, alt: 'The image the prompt asks about' });
  return h('div', { class: 'prompt-with-image' }, h('a', { href: image, target: '_blank', rel: 'noopener', title: 'Open the image at full size' }, img), text);
}
