// Opens the database named by a `--db` URL (sqlite:PATH or postgres://...) and brings its schema up to date.
import { DatabaseError, type SqlDriver } from './driver.js';
import { migrate } from './migrations.js';
import { PostgresDriver } from './postgres.js';
import { SqliteDriver } from './sqlite.js';

/**
 * `sqlite:PATH` (a file, created with its folder; `sqlite::memory:` for a throw-away database) or
 * `postgres://USER:PASSWORD@HOST:PORT/DB` (`postgresql://` too; optional `?schema=NAME`).
 */
export async function openDatabase(url: string): Promise<SqlDriver> {
  let db: SqlDriver;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new DatabaseError(`--db ${url}: expected a file path after 'sqlite:', e.g. sqlite:runs/annotate/annotations.sqlite`);
    db = new SqliteDriver(path);
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pgDriver = new PostgresDriver(url);
    try {
      await pgDriver.connect();
    } catch (e) {
      await pgDriver.close();
      throw e;
    }
    db = pgDriver;
  } else {
    throw new DatabaseError(
      `--db ${url.split(':')[0]}:...: unknown database; expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE`,
    );
  }
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
