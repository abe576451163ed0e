import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Letta Code (the CLI) installed the way under .letta-code/ (gitignored); once per checkout. */
export const LETTA_CODE_VERSION = '0.32.18';
const DIR = path.resolve('.letta-code');
const PACKAGE = path.join(DIR, 'package');
export const LETTA_CODE_BIN = path.join(PACKAGE, 'letta.js');

function run(cmd: string, args: string[], cwd: string, timeout: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr.slice(-2000)}`)) : resolve(stdout))),
  );
}

/**
 * The installed CLI's path, or why it could not be installed (no registry, no network). The
 * recipe of issue #10: the packed package with sharp-electron pinned to a published version and
 * the two packages that are not public dropped, installed without dev dependencies or scripts.
 */
export async function ensureLettaCode(): Promise<{ bin: string } | { reason: string }> {
  const version = (): string | null => {
    try {
      return (JSON.parse(readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
    } catch {
      return null;
    }
  };
  if (existsSync(LETTA_CODE_BIN) && existsSync(path.join(PACKAGE, 'node_modules')) && version() === LETTA_CODE_VERSION) return { bin: LETTA_CODE_BIN };
  try {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const tgz = (await run(npm, ['pack', `@letta-ai/letta-code@${LETTA_CODE_VERSION}`, '--silent'], DIR, 120_000)).trim().split('\n').pop()!;
    await run('tar', ['xzf', tgz], DIR, 60_000);
    const file = path.join(PACKAGE, 'package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { dependencies: Record<string, string>; devDependencies?: unknown };
    pkg.dependencies['@janhapke/sharp-electron'] = '0.35.4-electron.1';
    delete pkg.dependencies['@letta-ai/letta-agent-sdk'];
    delete pkg.dependencies['@letta-ai/trajectory'];
    delete pkg.devDependencies;
    writeFileSync(file, JSON.stringify(pkg, null, 2));
    await run(npm, ['install', '--omit=dev', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund'], PACKAGE, 600_000);
    return existsSync(LETTA_CODE_BIN) ? { bin: LETTA_CODE_BIN } : { reason: `the package has no ${path.basename(LETTA_CODE_BIN)}` };
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

/**
 * Letta Code headless (`-p … --output-format json`) against `baseUrl`, with its own HOME and
 * working directory; without `agentId` it uses (on a first run: creates) its own default agent.
 */
export async function lettaCodeHeadless(bin: string, o: { baseUrl: string; agentId?: string; prompt: string; home: string; cwd: string }): Promise<Record<string, unknown>> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [bin, ...(o.agentId ? ['-a', o.agentId] : []), '-p', o.prompt, '--output-format', 'json'],
      { cwd: o.cwd, timeout: 90_000, env: { PATH: process.env.PATH ?? '', HOME: o.home, LETTA_BASE_URL: o.baseUrl, LETTA_API_KEY: 'local' } },
      (err, stdout, stderr) => (err ? reject(new Error(`letta: ${err.message}\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`)) : resolve(stdout)),
    ),
  );
  return JSON.parse(out) as Record<string, unknown>;
}
