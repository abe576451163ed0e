import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test server (trust auth): override with LETTA_STREAM_TEST_PG. */
export const PG_ADMIN_URL = process.env.LETTA_STREAM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `base` pointing at another database on the same server. */
export function databaseUrl(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A new empty database `ls_<random>` on the test server, so parallel test files never share
 * tables; `drop()` removes it, closing whatever connections are left (WITH FORCE).
 */
export async function freshDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `ls_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: databaseUrl(PG_ADMIN_URL, name),
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/**
 * `url` with its own new schema `s_<random>` first on the search path: a clean store per test
 * inside one database (cheaper than a database per test).
 */
export async function freshSchema(url: string): Promise<string> {
  const schema = `s_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await c.end();
  }
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
