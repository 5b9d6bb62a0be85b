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
  disabled: number;
  created_at: string;
}

const USER_COLUMNS = 'id, username, role, disabled, created_at';

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, role: r.role, disabled: r.disabled === 1, createdAt: r.created_at };
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
        `INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING ${USER_COLUMNS}`,
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
    `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE username = $1 OR username = $2 ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END LIMIT 1`,
    [normaliseUsername(typed), typed],
  );
  return r && { ...toUser(r), passwordHash: r.password_hash };
}

export async function getUser(db: SqlRunner, id: number): Promise<User | undefined> {
  const r = await db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return r && toUser(r);
}

/** The stored bcrypt hash of a user's password. */
export async function passwordHashOf(db: SqlRunner, id: number): Promise<string | undefined> {
  return (await db.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]))?.password_hash;
}

export async function listUsers(db: SqlRunner): Promise<User[]> {
  return (await db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`)).map(toUser);
}

/** Stores a new password hash and ends every session of the user, in one transaction. */
export async function setPasswordHash(db: SqlDriver, id: number, passwordHash: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run('UPDATE users SET password_hash = $1 WHERE id = $2', [passwordHash, id]);
    await tx.run('DELETE FROM sessions WHERE user_id = $1', [id]);
  });
}

/** Disables (ending every session) or enables an account; false when there is no such user. */
export async function setDisabled(db: SqlDriver, id: number, disabled: boolean): Promise<boolean> {
  return db.transaction(async (tx) => {
    const changed = await tx.run('UPDATE users SET disabled = $1 WHERE id = $2', [disabled ? 1 : 0, id]);
    if (disabled) await tx.run('DELETE FROM sessions WHERE user_id = $1', [id]);
    return changed.changes > 0;
  });
}

/** Ends every session of the user (sign out everywhere); returns how many there were. */
export async function deleteUserSessions(db: SqlRunner, userId: number): Promise<number> {
  return (await db.run('DELETE FROM sessions WHERE user_id = $1', [userId])).changes;
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

/**
 * The user of a live session: known, not expired, used within the last `idleMs`, account
 * enabled. Records the use (at most once a minute, or every idleMs/2 when shorter, to spare
 * writes); undefined for a dead session.
 */
export async function sessionUser(db: SqlRunner, tokenHash: string, now: Date, idleMs: number): Promise<User | undefined> {
  const idleSince = new Date(now.getTime() - idleMs);
  const r = await db.get<UserRow & { seen: string }>(
    `SELECT u.id, u.username, u.role, u.disabled, u.created_at, COALESCE(s.last_seen_at, s.created_at) AS seen
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > $2 AND COALESCE(s.last_seen_at, s.created_at) > $3 AND u.disabled = 0`,
    [tokenHash, now.toISOString(), idleSince.toISOString()],
  );
  if (!r) return undefined;
  if (Date.parse(r.seen) < now.getTime() - Math.min(60_000, idleMs / 2)) {
    await db.run('UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2', [now.toISOString(), tokenHash]);
  }
  return toUser(r);
}

export async function deleteSession(db: SqlRunner, tokenHash: string): Promise<void> {
  await db.run('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
}

/** Deletes sessions past their end or unused since `idleSince`. */
export async function deleteExpiredSessions(db: SqlRunner, now: string, idleSince: string): Promise<number> {
  return (await db.run('DELETE FROM sessions WHERE expires_at <= $1 OR COALESCE(last_seen_at, created_at) <= $2', [now, idleSince])).changes;
}

/** A server-wide setting, created with `make()` the first time (race-free across processes). */
export async function settingOrCreate(db: SqlRunner, key: string, make: () => string): Promise<string> {
  await db.run('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, make()]);
  const r = await db.get<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
  return (r as { value: string }).value;
}
