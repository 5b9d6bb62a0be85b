// The storage interface the annotation app talks to: parameterised SQL, write transactions, dialect name.

/** A value bound to a `$n` placeholder. Booleans are stored as 0/1 integers, JSON as text. */
export type SqlValue = string | number | null;

/** Runs parameterised statements. SQL uses `$1, $2, ...` placeholders on both backends. */
export interface SqlRunner {
  /** All rows of a query. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row of a query, or undefined. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement without result rows; `changes` is the number of rows written. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export type Dialect = 'sqlite' | 'postgres';

/**
 * A database connection (SQLite file or PostgreSQL pool). Two implementations: `SqliteDriver`
 * (better-sqlite3, WAL) and `PostgresDriver` (pg). Everything above this interface is shared.
 */
export interface SqlDriver extends SqlRunner {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in a write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN, READ COMMITTED)
   * and resolves only after COMMIT has returned, so a caller that then answers a request has
   * durably stored what it acknowledges. Rolls back and rethrows on error.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** A text describing where the data lives, without secrets (for logs). */
  readonly description: string;
  close(): Promise<void>;
}

/** A uniqueness constraint was violated (the same row already exists). */
export class UniqueViolationError extends Error {
  override name = 'UniqueViolationError';
}

/** The database URL or connection is unusable. */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

/** The database aborted a transaction that may succeed when run again (deadlock, serialisation failure). */
export class RetryableTransactionError extends Error {
  override name = 'RetryableTransactionError';
}
