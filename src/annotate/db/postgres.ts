// PostgreSQL implementation of the storage interface: a pg pool, transactions on one pooled client.
import pg from 'pg';
import { DatabaseError, RetryableTransactionError, UniqueViolationError, type SqlDriver, type SqlRunner, type SqlValue } from './driver.js';

// int8 (count(*), sums) and numeric as JS numbers; every count here is far below 2^53.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

function mapError(e: unknown): unknown {
  const code = (e as { code?: string }).code;
  if (code === '23505') return new UniqueViolationError((e as Error).message);
  // deadlock_detected, serialization_failure
  if (code === '40P01' || code === '40001') return new RetryableTransactionError((e as Error).message);
  return e;
}

function runnerOf(client: pg.Pool | pg.PoolClient): SqlRunner {
  return {
    async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      try {
        return (await client.query(sql, params as SqlValue[])).rows as T[];
      } catch (e) {
        throw mapError(e);
      }
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
      try {
        return (await client.query(sql, params as SqlValue[])).rows[0] as T | undefined;
      } catch (e) {
        throw mapError(e);
      }
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
      try {
        return { changes: (await client.query(sql, params as SqlValue[])).rowCount ?? 0 };
      } catch (e) {
        throw mapError(e);
      }
    },
  };
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * A pg connection pool. The URL is passed to pg unchanged except for an optional `schema=NAME`
 * query parameter (safealign's own), which sets the search_path so several apps or test runs
 * can share one database; the schema is created when missing.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly runner: SqlRunner;
  readonly schema: string | undefined;

  constructor(url: string, options: { maxConnections?: number } = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new DatabaseError(`--db ${redactUrl(url)}: not a valid URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE`);
    }
    const schema = parsed.searchParams.get('schema') ?? undefined;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new DatabaseError(`--db: schema=${schema}: expected a lower-case identifier (letters, digits, _)`);
    }
    parsed.searchParams.delete('schema');
    this.schema = schema;
    this.description = redactUrl(url);
    this.pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: options.maxConnections ?? 10,
      types,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client losing its connection must not crash the server; the pool replaces it.
    this.pool.on('error', () => undefined);
    this.runner = runnerOf(this.pool);
  }

  /** Checks the connection and creates the schema named in the URL. */
  async connect(): Promise<void> {
    try {
      if (this.schema) await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      else await this.pool.query('SELECT 1');
    } catch (e) {
      throw new DatabaseError(`cannot connect to ${this.description}: ${(e as Error).message}`);
    }
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.runner.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.runner.get<T>(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.runner.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(runnerOf(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
