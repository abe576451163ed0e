import Database from 'better-sqlite3';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/types.js';

/** Every Store method that writes (what a full disk refuses). */
export const WRITE_METHODS = [
  'createAgent',
  'updateAgentConfig',
  'deleteAgent',
  'casTurnState',
  'releaseAgent',
  'putBlock',
  'createConversation',
  'updateConversationSummary',
  'deleteConversation',
  'createRun',
  'startUserTurn',
  'finishRun',
  'failInterruptedRuns',
  'requestCancel',
  'renewLease',
  'dropLease',
  'appendMessages',
  'appendHistory',
  'appendRunFrames',
  'deleteRunFrames',
  'pruneRunFrames',
  'appendRunTransitions',
] as const;

/**
 * A real SqliteStore whose chosen methods reject with what better-sqlite3 throws on a full disk
 * (SqliteError, code SQLITE_FULL). A full disk cannot be had on demand; everything else is real.
 * A transaction's view is faulty the same way (a write refused inside it rolls it back).
 */
export interface FaultyStore {
  store: Store;
  /** Make these methods fail (all writes by default) until `heal()`. */
  fail(methods?: readonly string[]): void;
  /** Make the first call of `method` whose arguments match `when` fail (once). */
  failOnce(method: string, when: (...args: unknown[]) => boolean): void;
  heal(): void;
  /** How many calls were refused. */
  readonly refused: number;
}

export function faultyStore(real: SqliteStore): FaultyStore {
  const failing = new Set<string>();
  const once = new Map<string, (...args: unknown[]) => boolean>();
  let refused = 0;
  const wrap = (target: Store): Store =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value: unknown = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function') return value;
        const name = String(prop);
        if (name === 'transaction') {
          return <T>(fn: (tx: Store) => Promise<T>) => t.transaction((tx) => fn(wrap(tx)));
        }
        return (...args: unknown[]) => {
          const when = once.get(name);
          const failOnce = when?.(...args) === true;
          if (failOnce) once.delete(name);
          if (!failOnce && !failing.has(name)) return (value as (...a: unknown[]) => unknown).apply(t, args);
          refused++;
          return Promise.reject(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'));
        };
      },
    });
  return {
    store: wrap(real),
    fail(methods = WRITE_METHODS) {
      for (const m of methods) failing.add(m);
    },
    failOnce(method, when) {
      once.set(method, when);
    },
    heal() {
      failing.clear();
    },
    get refused() {
      return refused;
    },
  };
}
