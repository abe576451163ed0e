import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/letta-stream.js', import.meta.url));

/** `letta-stream serve` as its own process, the way a user runs it (dist/ must be built). */
export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  wsUrl: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** Still running? */
  alive(): boolean;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface ServeOptions {
  dataDir: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra flags for node itself (e.g. --max-old-space-size=…). */
  nodeArgs?: string[];
}

/** Starts a server on a free port and waits for it to listen; rejects with its output if it exits first. */
export async function startServerProcess(o: ServeOptions): Promise<ServerProcess> {
  const env = { ...process.env, ANTHROPIC_API_KEY: '', LETTA_STREAM_TOKEN: '', ...o.env };
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), BIN, 'serve', '--port', '0', '--data-dir', o.dataDir, ...(o.args ?? [])], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let ended = false;
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => ((ended = true), resolve(code ?? signal ?? -1))));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m && stdout.includes('demo agent:')) return resolve(m[1]!);
      if (ended) return reject(new Error(`serve exited before listening:\n${stdout}\n${stderr}`));
      setTimeout(check, 20);
    };
    check();
  });
  return {
    child,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/v1/ws`,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    alive: () => !ended,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!ended) child.kill(signal);
      return exited;
    },
  };
}
