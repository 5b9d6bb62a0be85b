// SQLite implementation of the storage interface: better-sqlite3, WAL journal, synchronous=FULL, serialised writers.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseError, RetryableTransactionError, UniqueViolationError, type SqlDriver, type SqlRunner, type SqlValue } from './driver.js';

type Statement = Database.Statement<unknown[]>;

/** Rewrites `$n` placeholders to `?` and orders the parameters to match. */
export function toPositional(sql: string, params: readonly SqlValue[]): { sql: string; params: SqlValue[] } {
  const ordered: SqlValue[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new DatabaseError(`placeholder $${n} has no parameter (got ${params.length}) in: ${sql}`);
    ordered.push(params[i] as SqlValue);
    return '?';
  });
  return { sql: text, params: ordered };
}

function mapError(e: unknown): unknown {
  const code = (e as { code?: string }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new UniqueViolationError((e as Error).message);
  }
  // Another process held the write lock for longer than the busy timeout.
  if (code === 'SQLITE_BUSY') return new RetryableTransactionError((e as Error).message);
  return e;
}

/**
 * One better-sqlite3 connection. Statements are synchronous, but a transaction spans awaits, so
 * an in-process lock queues every statement behind an open transaction; other processes on the
 * same file are kept out by BEGIN IMMEDIATE and wait up to `busyTimeoutMs`.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 10_000 });
    } catch (e) {
      throw new DatabaseError(`cannot open SQLite database ${path}: ${(e as Error).message}`);
    }
    this.description = `sqlite:${path}`;
    this.db.pragma('journal_mode = WAL');
    // FULL: a committed transaction survives power loss, not only a killed process.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
  }

  private statement(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Direct execution, for use while holding the lock. */
  private readonly direct: SqlRunner = {
    all: async <T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> => {
      const p = toPositional(sql, params);
      try {
        return this.statement(p.sql).all(...p.params) as T[];
      } catch (e) {
        throw mapError(e);
      }
    },
    get: async <T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> => {
      const p = toPositional(sql, params);
      try {
        return this.statement(p.sql).get(...p.params) as T | undefined;
      } catch (e) {
        throw mapError(e);
      }
    },
    run: async (sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> => {
      const p = toPositional(sql, params);
      try {
        return { changes: this.statement(p.sql).run(...p.params).changes };
      } catch (e) {
        throw mapError(e);
      }
    },
  };

  /** Runs `fn` after everything queued before it has finished. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.locked(() => this.direct.all<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.locked(() => this.direct.get<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.locked(() => this.direct.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.locked(async () => {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (e) {
        throw mapError(e);
      }
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.locked(async () => {
      this.statements.clear();
      if (this.db.open) this.db.close();
    });
  }
}
