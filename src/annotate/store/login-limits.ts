// Limits on wrong passwords: attempts recorded atomically before the check, per account, per address, known addresses.
import type { SqlDriver, SqlRunner } from '../db/driver.js';
import { LOCKS, lockKey } from '../db/locks.js';

/** The limits of `claimLoginAttempt` (see the policy in src/annotate/README.md). */
export interface LoginLimits {
  /** Failures per account in the window: from addresses it has not signed in from, together; from each known address, apart. */
  maxPerAccount: number;
  /** Failures per address in the window, over all accounts (not applied to an account's own known address). */
  maxPerAddress: number;
  windowMs: number;
  /** An address counts as known for an account this long after a successful sign-in from it. */
  knownMs: number;
}

/** What limited an attempt: the account (from unknown addresses), the account at its known address, or the address. */
export type LoginLimitReason = 'account' | 'account-at-address' | 'address';

export type LoginClaim = { allowed: true } | { allowed: false; reason: LoginLimitReason; retryAfterSeconds: number };

interface Count {
  n: number;
  oldest: string | null;
}

/**
 * Records a login attempt as a failure BEFORE its password is checked, unless a limit is
 * reached (then nothing is recorded and the attempt is refused). From an address the account
 * signed in from within `knownMs`, only the account's failures from that address count, so
 * guesses made elsewhere cannot lock its owner out; from any other address, the account's
 * failures from all its unknown addresses count, and so do the address's failures on every
 * account. Count and insert run in one write transaction, serialised per username and per
 * address (SQLite: BEGIN IMMEDIATE; PostgreSQL: transaction-scoped advisory locks, always
 * username first), so parallel attempts from any number of server processes never check more
 * passwords than the limits allow.
 */
export async function claimLoginAttempt(
  db: SqlDriver,
  attempt: { username: string; ip: string; now: Date },
  limits: LoginLimits,
): Promise<LoginClaim> {
  const now = attempt.now.getTime();
  const since = new Date(now - limits.windowMs).toISOString();
  const knownSince = new Date(now - limits.knownMs).toISOString();
  const refuse = (reason: LoginLimitReason, c: Count): LoginClaim => {
    const freeAt = c.oldest ? Date.parse(c.oldest) + limits.windowMs : now + 60_000;
    return { allowed: false, reason, retryAfterSeconds: Math.max(1, Math.ceil((freeAt - now) / 1000)) };
  };
  return db.transaction(async (tx) => {
    await lockKey(db, tx, LOCKS.loginUsername, attempt.username);
    await lockKey(db, tx, LOCKS.loginAddress, attempt.ip);
    const known = await tx.get('SELECT 1 AS k FROM known_logins WHERE username = $1 AND ip = $2 AND last_at > $3', [
      attempt.username,
      attempt.ip,
      knownSince,
    ]);
    if (known) {
      const c = await count(tx, 'username = $1 AND ip = $2 AND at > $3', [attempt.username, attempt.ip, since]);
      if (c.n >= limits.maxPerAccount) return refuse('account-at-address', c);
    } else {
      const account = await count(
        tx,
        'username = $1 AND at > $2 AND ip NOT IN (SELECT ip FROM known_logins WHERE username = $1 AND last_at > $3)',
        [attempt.username, since, knownSince],
      );
      if (account.n >= limits.maxPerAccount) return refuse('account', account);
      const address = await count(tx, 'ip = $1 AND at > $2', [attempt.ip, since]);
      if (address.n >= limits.maxPerAddress) return refuse('address', address);
    }
    await tx.run('INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)', [attempt.username, attempt.ip, attempt.now.toISOString()]);
    return { allowed: true };
  });
}

async function count(tx: SqlRunner, where: string, params: string[]): Promise<Count> {
  const r = await tx.get<{ n: number; oldest: string | null }>(
    `SELECT CAST(COUNT(*) AS INTEGER) AS n, MIN(at) AS oldest FROM login_failures WHERE ${where}`,
    params,
  );
  return { n: r?.n ?? 0, oldest: r?.oldest ?? null };
}

/**
 * A successful sign-in: the address becomes (or stays) known for the account, and the
 * account's failures from this address (its own attempt included) are forgotten. Failures
 * from other addresses stay until they leave the window.
 */
export async function recordSuccessfulLogin(db: SqlDriver, username: string, ip: string, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO known_logins (username, ip, last_at) VALUES ($1, $2, $3)
       ON CONFLICT (username, ip) DO UPDATE SET last_at = excluded.last_at`,
      [username, ip, now.toISOString()],
    );
    await tx.run('DELETE FROM login_failures WHERE username = $1 AND ip = $2', [username, ip]);
  });
}

/** Forgets failed logins older than `failuresBefore` and known addresses not used since `knownBefore`. */
export async function deleteOldLoginRecords(db: SqlRunner, failuresBefore: string, knownBefore: string): Promise<void> {
  await db.run('DELETE FROM login_failures WHERE at <= $1', [failuresBefore]);
  await db.run('DELETE FROM known_logins WHERE last_at <= $1', [knownBefore]);
}
