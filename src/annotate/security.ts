// Cookies, sessions, CSRF and per-role access control for every route of the annotation server.
import { createHash, randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SecurityConfig } from './config.js';
import type { SqlDriver } from './db/driver.js';
import { HttpError } from './http-errors.js';
import type { Role, User } from './model.js';
import { createSession, deleteSession, sessionUser, settingOrCreate } from './store/accounts.js';

/** Who may call a route: anyone, or signed-in users with one of the roles. */
export type Access = 'public' | 'signed-in' | readonly Role[];

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, or null. */
    user: User | null;
    /** sha256 of the session token (what the database stores), or null. */
    sessionHash: string | null;
  }
  interface FastifyInstance {
    /** Every route with its access policy (for audits and tests). */
    routeAccess: { method: string; url: string; access: Access }[];
  }
  interface FastifyContextConfig {
    /** Required on every route: checked before the handler runs. */
    access?: Access;
  }
}

export const SESSION_COOKIE = 'safealign_session';
/** The signed cookie holding the CSRF secret (@fastify/csrf-protection's default name). */
const CSRF_COOKIE = '_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What a CSRF token of a request without a session cookie is bound to. */
const SIGNED_OUT = 'signed-out';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** What the request's CSRF token must be bound to: its session cookie (hashed), whether or not that session is still live. */
function csrfBinding(req: FastifyRequest): string {
  const token = req.cookies[SESSION_COOKIE];
  return token ? sha256(token) : SIGNED_OUT;
}

function cookieSecure(config: SecurityConfig): boolean | 'auto' {
  return config.secureCookies === 'auto' ? 'auto' : config.secureCookies === 'always';
}

/**
 * Installs, in this order for each request: cookie parsing, the CSRF check on every
 * state-changing method (token in the `x-csrf-token` header, secret in a signed HttpOnly
 * SameSite=Strict cookie, token bound to the session cookie so one session's token is useless
 * with another), session lookup, and the route's access policy (401 signed out, 403 wrong
 * role). A route registered without an access policy is refused at start.
 */
export async function installSecurity(app: FastifyInstance, db: SqlDriver, config: SecurityConfig): Promise<void> {
  const secret = await settingOrCreate(db, 'cookie_secret', () => randomBytes(32).toString('hex'));
  await app.register(fastifyCookie, { secret, hook: 'onRequest' });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true, signed: true, secure: cookieSecure(config) },
    getToken: (req: FastifyRequest) => {
      const t = req.headers['x-csrf-token'];
      return typeof t === 'string' ? t : '';
    },
    getUserInfo: csrfBinding,
    csrfOpts: { hmacKey: sha256(`csrf-binding:${secret}`) },
  });
  app.decorateRequest('user', null);
  app.decorateRequest('sessionHash', null);

  app.decorate('routeAccess', [] as FastifyInstance['routeAccess']);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} has no access policy (config.access)`);
    }
    for (const method of [route.method].flat()) app.routeAccess.push({ method, url: route.url, access });
  });

  app.addHook('onRequest', (req, reply, done) => {
    if (SAFE_METHODS.has(req.method)) {
      done();
      return;
    }
    app.csrfProtection(req, reply, done);
  });

  app.addHook('onRequest', async (req) => {
    const token = req.cookies[SESSION_COOKIE];
    if (!token) return;
    const hash = sha256(token);
    const user = await sessionUser(db, hash, new Date(), config.sessionIdleMinutes * 60_000);
    if (user) {
      req.user = user;
      req.sessionHash = hash;
    }
  });

  app.addHook('onRequest', async (req) => {
    // Unmatched URLs have no route options; the 404 handler answers them.
    if (req.routeOptions.url === undefined) return;
    const access = req.routeOptions.config.access;
    if (access === 'public') return;
    if (!req.user) throw new HttpError(401, 'sign in first');
    if (access === 'signed-in') return;
    if (!access || !access.includes(req.user.role)) {
      throw new HttpError(403, `this needs the role ${access ? access.join(' or ') : '(none)'}; you are signed in as ${req.user.role}`);
    }
  });
}

/** A CSRF token for the request's current session cookie (or for being signed out). */
export function csrfToken(req: FastifyRequest, reply: FastifyReply): string {
  return reply.generateCsrf({ userInfo: csrfBinding(req) });
}

/**
 * Starts a session for the user: ends the session this browser had (a new sign-in never keeps an
 * old token alive), sets the new session cookie (HttpOnly, SameSite=Strict, Secure per config),
 * and rotates the CSRF secret. Returns the CSRF token bound to the new session.
 */
export async function startSession(db: SqlDriver, req: FastifyRequest, reply: FastifyReply, user: User, config: SecurityConfig): Promise<string> {
  const previous = req.cookies[SESSION_COOKIE];
  if (previous) await deleteSession(db, sha256(previous));
  const token = randomBytes(32).toString('base64url');
  const hash = sha256(token);
  const expires = new Date(Date.now() + config.sessionHours * 3_600_000);
  await createSession(db, hash, user.id, expires.toISOString());
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: cookieSecure(config),
    expires,
  });
  // Without the request's secret, generateCsrf makes (and sets) a new one.
  delete req.cookies[CSRF_COOKIE];
  return reply.generateCsrf({ userInfo: hash });
}

/** Ends the request's session and clears its cookie; returns a CSRF token for being signed out. */
export async function endSession(db: SqlDriver, req: FastifyRequest, reply: FastifyReply): Promise<string> {
  if (req.sessionHash) await deleteSession(db, req.sessionHash);
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  return reply.generateCsrf({ userInfo: SIGNED_OUT });
}

/** The signed-in user of a route whose access policy already required one. */
export function currentUser(req: FastifyRequest): User {
  if (!req.user) throw new HttpError(401, 'sign in first');
  return req.user;
}
