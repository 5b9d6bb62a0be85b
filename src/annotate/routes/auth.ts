// Sign-in routes: CSRF token and current user, login (wrong passwords limited per account and address), logout.
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SecurityConfig } from '../config.js';
import type { SqlDriver } from '../db/driver.js';
import { HttpError, parseInput } from '../http-errors.js';
import { LOGIN_BODY_LIMIT } from '../limits.js';
import { MAX_PASSWORD_BYTES } from '../passwords.js';
import { deleteExpiredSessions, findLogin } from '../store/accounts.js';
import { claimLoginAttempt, deleteOldLoginRecords, recordSuccessfulLogin, type LoginLimitReason } from '../store/login-limits.js';
import { csrfToken, endSession, startSession } from '../security.js';
import { normaliseUsername } from '../usernames.js';

const LoginBody = z.object({ username: z.string().min(1).max(100), password: z.string().min(1).max(200) }).strict();

const LIMIT_MESSAGES: Record<LoginLimitReason, string> = {
  account: 'too many wrong passwords for this account',
  'account-at-address': 'too many wrong passwords for this account from your address',
  address: 'too many wrong passwords from your address',
};

/** Clean-up of expired sessions and stale failed logins, at most once a minute, on login attempts. */
const HOUSEKEEPING_MS = 60_000;

export function authRoutes(app: FastifyInstance, db: SqlDriver, config: SecurityConfig): void {
  let lastHousekeeping = 0;
  /** Compared against when the user does not exist, at the same cost, so both cases take as long. */
  const dummyHash = bcrypt.hashSync('safealign-no-such-user', config.bcryptRounds);
  app.get('/api/me', { config: { access: 'public' } }, async (req, reply) => {
    return { user: req.user, csrfToken: csrfToken(req, reply) };
  });

  app.post(
    '/api/login',
    { bodyLimit: LOGIN_BODY_LIMIT, config: { access: 'public', rateLimit: { max: config.loginRequestsPerMinute, timeWindow: 60_000 } } },
    async (req, reply) => {
      const body = parseInput(LoginBody, req.body, 'body');
      const windowMs = config.loginWindowMinutes * 60_000;
      if (Date.now() - lastHousekeeping > HOUSEKEEPING_MS) {
        lastHousekeeping = Date.now();
        await deleteExpiredSessions(db, new Date().toISOString(), new Date(Date.now() - config.sessionIdleMinutes * 60_000).toISOString());
        await deleteOldLoginRecords(
          db,
          new Date(Date.now() - windowMs).toISOString(),
          new Date(Date.now() - config.knownAddressDays * 86_400_000).toISOString(),
        );
      }
      // The attempt is recorded (as a failure) before the password is checked, atomically with
      // the counts, so parallel guesses cannot all pass the check; a right password clears it.
      // Limits count per normalised name, so `ADMIN` and `ａｄｍｉｎ` share the budget of `admin`.
      const username = normaliseUsername(body.username);
      const claim = await claimLoginAttempt(
        db,
        { username, ip: req.ip, now: new Date() },
        {
          maxPerAccount: config.loginMaxFailures,
          maxPerAddress: config.loginMaxFailuresPerAddress,
          windowMs,
          knownMs: config.knownAddressDays * 86_400_000,
        },
      );
      if (!claim.allowed) {
        void reply.header('retry-after', String(claim.retryAfterSeconds));
        throw new HttpError(429, `${LIMIT_MESSAGES[claim.reason]}; try again in ${claim.retryAfterSeconds} s`);
      }
      const found = await findLogin(db, body.username);
      // bcrypt reads 72 bytes: a longer password would match on its first 72 alone, so it never matches.
      const usable = Buffer.byteLength(body.password, 'utf8') <= MAX_PASSWORD_BYTES;
      const ok = await bcrypt.compare(body.password, found && usable ? found.passwordHash : dummyHash);
      if (!found || !ok) throw new HttpError(401, 'wrong username or password');
      // Only told after the right password; the attempt stays counted as a failure.
      if (found.disabled) throw new HttpError(403, 'this account is disabled; ask an admin');
      await recordSuccessfulLogin(db, username, req.ip, new Date());
      const { passwordHash: _, ...user } = found;
      return { user, csrfToken: await startSession(db, req, reply, user, config) };
    },
  );

  app.post('/api/logout', { config: { access: 'signed-in' } }, async (req, reply) => {
    return { ok: true, csrfToken: await endSession(db, req, reply) };
  });
}
