import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { connect, type RunFrame, type RunHandle } from '../transport/client.js';
import { UsageError } from './errors.js';

export { CHAT_USAGE } from './usage.js';


const DIM = '\x1b[2m';
const CYAN = '\x1b[36m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[0m';
const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Renders a run's frames for a person: reasoning dimmed, answer plain, tools as → and ←. */
class Renderer {
  private part = '';
  private calls = new Map<string, { name: string; args: string }>();
  approvals: Array<{ id: string; name: string; args: string }> = [];
  constructor(private readonly out: NodeJS.WritableStream) {}

  frame(f: RunFrame): void {
    const type = f.message_type;
    const key = 'otid' in f ? `${type}/${f.otid}` : type;
    if (key !== this.part && (type === 'reasoning_message' || type === 'assistant_message')) this.out.write('\n');
    this.part = key;
    switch (f.message_type) {
      case 'reasoning_message':
        this.out.write(`${DIM}${f.reasoning}${RESET}`);
        return;
      case 'hidden_reasoning_message':
        this.out.write(`\n${DIM}[hidden reasoning]${RESET}`);
        return;
      case 'assistant_message':
        this.out.write(f.content);
        return;
      case 'tool_call_message':
      case 'approval_request_message': {
        const id = f.tool_call.tool_call_id ?? '';
        const call = this.calls.get(id) ?? { name: f.tool_call.name ?? '?', args: '' };
        call.args += f.tool_call.arguments ?? '';
        this.calls.set(id, call);
        if (f.message_type === 'approval_request_message' && !this.approvals.some((a) => a.id === id)) this.approvals.push({ id, name: call.name, args: '' });
        return;
      }
      case 'tool_return_message': {
        const call = this.calls.get(f.tool_call_id);
        if (call) this.out.write(`\n${CYAN}→ ${call.name}(${call.args})${RESET}`);
        this.out.write(`\n${CYAN}← ${f.status === 'error' ? 'error: ' : ''}${f.tool_return}${RESET}`);
        return;
      }
      case 'stop_reason':
        for (const a of this.approvals) a.args = this.calls.get(a.id)?.args ?? '';
        if (f.stop_reason !== 'end_turn') this.out.write(`\n${YELLOW}[${f.stop_reason}]${RESET}`);
        return;
      default:
        return;
    }
  }
}

export async function runChat(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: { url: { type: 'string' }, agent: { type: 'string' }, json: { type: 'boolean' } } }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const url = values.url ?? 'ws://127.0.0.1:8283/v1/ws';
  const agent = values.agent ?? 'demo';
  const out = process.stdout;
  const token = process.env.LETTA_STREAM_TOKEN;
  let client;
  try {
    client = await connect(url, token ? { token } : {});
  } catch (err) {
    process.stderr.write(`letta-stream chat: cannot connect to ${url}: ${(err as Error).message}\n`);
    return 1;
  }
  const rl = readline.createInterface({ input: process.stdin, output: out, prompt: 'you> ' });
  let active: RunHandle | null = null;
  let armedExit = false;
  out.write(`connected to ${url} · agent ${agent} · Ctrl-C cancels a turn, twice at the prompt exits\n`);

  rl.on('SIGINT', () => {
    if (active) {
      void active.cancel().catch(() => {});
      return;
    }
    if (armedExit) {
      rl.close();
      return;
    }
    armedExit = true;
    out.write('\n(press Ctrl-C again to exit)\n');
    rl.prompt();
  });

  const ask = (q: string) => new Promise<string>((resolve) => rl.question(q, resolve));

  const play = async (run: RunHandle): Promise<Renderer> => {
    const r = new Renderer(out);
    active = run;
    let spin = 0;
    let spinning = false;
    let lastFrame = Date.now();
    // The spinner only shows while nothing streams, on a line of its own, and is wiped before text.
    const clearSpinner = () => {
      if (spinning) process.stderr.write('\r\x1b[2K');
      spinning = false;
    };
    const spinner = values.json
      ? null
      : setInterval(() => {
          if (Date.now() - lastFrame < 150) return;
          if (!spinning) process.stderr.write('\n');
          spinning = true;
          process.stderr.write(`\r${SPIN[spin++ % SPIN.length]} waiting for the model…`);
        }, 100);
    try {
      for await (const f of run) {
        clearSpinner();
        lastFrame = Date.now();
        if (values.json) out.write(JSON.stringify(f) + '\n');
        else r.frame(f);
      }
    } catch (err) {
      out.write(`\n${YELLOW}error: ${(err as Error).message}${RESET}`);
    } finally {
      if (spinner) clearInterval(spinner);
      clearSpinner();
      active = null;
    }
    if (!values.json) out.write(`\n${run.end?.stop_reason === 'cancelled' ? `${YELLOW}(cancelled)${RESET}\n` : ''}`);
    return r;
  };

  const turn = async (text: string) => {
    let r = await play(client.start(agent, [{ role: 'user', content: text }]));
    // Approval requests: ask, then run the decision (which may ask again).
    while (r.approvals.length) {
      const a = r.approvals[0]!;
      const answer = (await ask(`${YELLOW}approve ${a.name}(${a.args})? [y/n/reason] ${RESET}`)).trim();
      const yes = /^y(es)?$/i.test(answer);
      const reason = yes || /^no?$/i.test(answer) ? undefined : answer;
      r = await play(client.approve(agent, a.id, { approve: yes, ...(reason ? { reason } : {}) }));
    }
  };

  rl.prompt();
  for await (const line of rl) {
    armedExit = false;
    if (line.trim()) await turn(line.trim());
    rl.prompt();
  }
  client.close();
  return 0;
}
