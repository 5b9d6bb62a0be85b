// Accounts in the database: users, sessions and server settings (all queries parameterised).
import { UniqueViolationError, type SqlDriver, type SqlRunner } from '../db/driver.js';
import { LOCKS, lockKey } from '../db/locks.js';
import type { Role, User } from '../model.js';
import { normaliseUsername, usernameSkeleton } from '../usernames.js';

/** A username that is already taken. */
export class UserExistsError extends Error {
  override name = 'UserExistsError';
}

interface UserRow {
  id: number;
  username: string;
  role: Role;
  created_at: string;
}

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, role: r.role, createdAt: r.created_at };
}

/**
 * Creates a user named `u.username` (normalised with `normaliseUsername`, checked by the caller
 * with `usernameProblem`). Refused when the name, or its look-alike skeleton, is taken; the
 * comparison with every existing name runs in the inserting transaction, serialised across
 * processes, so two look-alikes created at once cannot both get in.
 */
export async function createUser(db: SqlDriver, u: { username: string; passwordHash: string; role: Role }): Promise<User> {
  const skeleton = usernameSkeleton(u.username);
  try {
    return await db.transaction(async (tx) => {
      await lockKey(db, tx, LOCKS.usernames, 'users');
      const names = await tx.all<{ username: string }>('SELECT username FROM users');
      const twin = names.find((n) => usernameSkeleton(normaliseUsername(n.username)) === skeleton);
      if (twin) {
        const same = twin.username === u.username;
        throw new UserExistsError(`user '${u.username}' ${same ? 'already exists' : `looks like the existing user '${twin.username}'`}; choose another name`);
      }
      const row = await tx.get<UserRow>(
        'INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id, username, role, created_at',
        [u.username, u.passwordHash, u.role, new Date().toISOString()],
      );
      return toUser(row as UserRow);
    });
  } catch (e) {
    if (e instanceof UniqueViolationError) throw new UserExistsError(`user '${u.username}' already exists; choose another name`);
    throw e;
  }
}

/** The account a sign-in names: by its normalised name, or (accounts made before names were normalised) as typed. */
export async function findLogin(db: SqlRunner, typed: string): Promise<(User & { passwordHash: string }) | undefined> {
  const r = await db.get<UserRow & { password_hash: string }>(
    'SELECT id, username, role, created_at, password_hash FROM users WHERE username = $1 OR username = $2 ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END LIMIT 1',
    [normaliseUsername(typed), typed],
  );
  return r && { ...toUser(r), passwordHash: r.password_hash };
}

export async function getUser(db: SqlRunner, id: number): Promise<User | undefined> {
  const r = await db.get<UserRow>('SELECT id, username, role, created_at FROM users WHERE id = $1', [id]);
  return r && toUser(r);
}

export async function listUsers(db: SqlRunner): Promise<User[]> {
  return (await db.all<UserRow>('SELECT id, username, role, created_at FROM users ORDER BY id')).map(toUser);
}

export async function countUsers(db: SqlRunner, role: Role): Promise<number> {
  const r = await db.get<{ n: number }>('SELECT CAST(COUNT(*) AS INTEGER) AS n FROM users WHERE role = $1', [role]);
  return r?.n ?? 0;
}

export async function createSession(db: SqlRunner, tokenHash: string, userId: number, expiresAt: string): Promise<void> {
  await db.run('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
    tokenHash,
    userId,
    new Date().toISOString(),
    expiresAt,
  ]);
}

/** The user of a live session, or undefined when the session is unknown or expired. */
export async function sessionUser(db: SqlRunner, tokenHash: string, now: string): Promise<User | undefined> {
  const r = await db.get<UserRow>(
    `SELECT u.id, u.username, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > $2`,
    [tokenHash, now],
  );
  return r && toUser(r);
}

export async function deleteSession(db: SqlRunner, tokenHash: string): Promise<void> {
  await db.run('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
}

export async function deleteExpiredSessions(db: SqlRunner, now: string): Promise<number> {
  return (await db.run('DELETE FROM sessions WHERE expires_at <= $1', [now])).changes;
}

/** A server-wide setting, created with `make()` the first time (race-free across processes). */
export async function settingOrCreate(db: SqlRunner, key: string, make: () => string): Promise<string> {
  await db.run('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, make()]);
  const r = await db.get<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
  return (r as { value: string }).value;
}
