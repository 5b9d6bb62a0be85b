// Self-service account routes: change your password, sign out everywhere (both end every session of the account).
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SecurityConfig } from '../config.js';
import type { SqlDriver } from '../db/driver.js';
import { HttpError, parseInput } from '../http-errors.js';
import { LOGIN_BODY_LIMIT } from '../limits.js';
import { passwordProblem } from '../passwords.js';
import { deleteUserSessions, passwordHashOf, setPasswordHash } from '../store/accounts.js';
import { currentUser, endSession, startSession } from '../security.js';

const PasswordChangeBody = z.object({ currentPassword: z.string().min(1).max(200), newPassword: z.string().max(200) }).strict();

export function accountRoutes(app: FastifyInstance, db: SqlDriver, config: SecurityConfig): void {
  const signedIn = { access: 'signed-in' as const };

  // Needs the current password (a borrowed session cannot take the account over), rate-limited
  // like the login; every session of the account ends, and this browser gets a new one.
  app.post(
    '/api/me/password',
    { bodyLimit: LOGIN_BODY_LIMIT, config: { ...signedIn, rateLimit: { max: config.loginRequestsPerMinute, timeWindow: 60_000 } } },
    async (req, reply) => {
      const body = parseInput(PasswordChangeBody, req.body, 'body');
      const user = currentUser(req);
      const hash = await passwordHashOf(db, user.id);
      if (!hash || !(await bcrypt.compare(body.currentPassword, hash))) throw new HttpError(403, 'the current password is wrong');
      const problem = passwordProblem(body.newPassword, user.username);
      if (problem) throw new HttpError(400, `invalid body: newPassword: ${problem}`);
      await setPasswordHash(db, user.id, await bcrypt.hash(body.newPassword, config.bcryptRounds));
      return { ok: true, csrfToken: await startSession(db, req, reply, user, config) };
    },
  );

  app.post('/api/logout/everywhere', { config: signedIn }, async (req, reply) => {
    const ended = await deleteUserSessions(db, currentUser(req).id);
    return { ok: true, ended, csrfToken: await endSession(db, req, reply) };
  });
}
