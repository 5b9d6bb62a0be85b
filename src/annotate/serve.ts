// Runs the annotation server: opens the database, creates the first admin when asked, listens, returns the URL.
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import type { ServeConfig } from './config.js';
import type { SqlDriver } from './db/driver.js';
import { openDatabase } from './db/open.js';
import { passwordProblem } from './passwords.js';
import { normaliseUsername, usernameProblem } from './usernames.js';
import { countUsers, createUser } from './store/accounts.js';
import { createAnnotationServer } from './server.js';

/** The first-admin request cannot be honoured. */
export class AdminSetupError extends Error {
  override name = 'AdminSetupError';
}

/**
 * Creates the admin `username` when the database has no admin yet. Returns what happened, for
 * the start-up message; with no admin and no credentials it says how to create one.
 */
export async function ensureAdmin(db: SqlDriver, typedName: string, password: string, bcryptRounds: number): Promise<string> {
  if ((await countUsers(db, 'admin')) > 0) return typedName ? `an admin exists already; --admin-user ${typedName} ignored` : '';
  if (!typedName) {
    return 'no admin account yet: restart with --admin-user NAME and SAFEALIGN_ADMIN_PASSWORD=... (or --admin-password) to create one';
  }
  const username = normaliseUsername(typedName);
  const nameProblem = usernameProblem(username);
  if (nameProblem) throw new AdminSetupError(`--admin-user ${JSON.stringify(typedName)} is refused: ${nameProblem}`);
  const problem = passwordProblem(password, username);
  if (problem) throw new AdminSetupError(`the password of admin '${username}' is refused: ${problem} (--admin-password or SAFEALIGN_ADMIN_PASSWORD)`);
  await createUser(db, { username, passwordHash: await bcrypt.hash(password, bcryptRounds), role: 'admin' });
  return `created admin '${username}'`;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  db: SqlDriver;
  /** A start-up note about the admin account ('' when there is nothing to say). */
  adminNote: string;
  close(): Promise<void>;
}

/** Opens `config.db`, applies migrations, prepares the admin, and listens on host:port. */
export async function serve(config: ServeConfig): Promise<RunningServer> {
  const db = await openDatabase(config.db);
  try {
    const adminNote = await ensureAdmin(db, config.adminUser, config.adminPassword, config.security.bcryptRounds);
    const app = await createAnnotationServer({
      db,
      security: config.security,
      bodyLimit: config.bodyLimitMb * 1024 * 1024,
      logger: config.log,
      ...(config.modelsDir ? { modelsDir: config.modelsDir } : {}),
      ...(config.imageDir ? { imageDir: config.imageDir } : {}),
      jobTiming: { staleMs: config.jobStaleSeconds * 1000, heartbeatMs: (config.jobStaleSeconds * 1000) / 4 },
    });
    const address = await app.listen({ host: config.host, port: config.port });
    const url = `${address.replace('://[::1]', '://localhost')}/`;
    return {
      url,
      app,
      db,
      adminNote,
      async close() {
        await app.close();
        await db.close();
      },
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}
