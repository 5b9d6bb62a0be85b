// Serialising a check-then-write on one key inside a write transaction, on both databases.
import type { SqlDriver, SqlRunner } from './driver.js';

/** Advisory-lock namespaces (any constant int4, one per kind of key); the lock's second key is the hash of the key text. */
export const LOCKS = {
  loginUsername: 0x5afe_106,
  loginAddress: 0x5afe_107,
  qualification: 0x5afe_108,
  usernames: 0x5afe_109,
} as const;

/**
 * Inside `db.transaction`: waits until no other transaction, in any process, holds `key` in
 * `namespace`, and holds it until this one ends. PostgreSQL: a transaction-scoped advisory
 * lock; SQLite: nothing to do, BEGIN IMMEDIATE already lets one writer in at a time. Take
 * several locks always in the same order.
 */
export async function lockKey(db: SqlDriver, tx: SqlRunner, namespace: number, key: string): Promise<void> {
  if (db.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock($1, hashtext($2))', [namespace, key]);
}
