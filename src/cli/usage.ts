/** Every command's usage text, apart from the commands, so `help` and errors load no command module. */

export const SERVE_USAGE = `usage: letta-stream serve [--host 127.0.0.1] [--port 8283] [--data-dir DIR] [--inspect WS_URL]
                          [--allow-origin ORIGIN]... [--max-connections N]
                          [--database-url postgres://…] [--redis-url redis://…]
                          [--workspace-dir DIR] [--shutdown-grace SECONDS]

Starts HTTP and WebSocket (/v1/ws) on one port. Without ANTHROPIC_API_KEY it runs against the
built-in Anthropic-compatible server; with it, the real API (ANTHROPIC_BASE_URL honoured).
Binding anything but loopback requires LETTA_STREAM_TOKEN. Browser pages may call the service
only from its own origin, or from an origin given with --allow-origin (e.g. http://localhost:5173).
One instance per data directory. Several instances share one PostgreSQL database
(--database-url or LETTA_STREAM_DATABASE_URL) and one Redis (--redis-url or LETTA_STREAM_REDIS_URL)
for run logs and cancels; they must share the tool workspace (--workspace-dir, default DIR/workspace).
SIGTERM/SIGINT: no new turns, live runs get --shutdown-grace seconds (default 10) to finish, then
are cancelled; a second signal cancels them at once. The inspector page is at /inspect; --inspect also forwards
the actors' inspection events to a Stately inspector at WS_URL. See docs/security.md.`;

export const REPLAY_USAGE = `usage: letta-stream replay FILE.sse [--interface simple|kwargs] [--approval-tool NAME]...
                           [--inner-thoughts-in-kwargs] [--use-assistant-message]
                           [--run-id ID] [--step-id ID]

Replays a recorded Anthropic SSE stream through the stream machine and prints every Letta frame
as one JSON object per line, then one stop_reason and one usage_statistics frame.
Exit 0; 1 when the stream broke an integrity rule (stop_reason "error"); 2 for bad input.`;

export const CHART_USAGE = `usage: letta-stream chart [run|stream|agent] [--format svg|mermaid|json]
       letta-stream chart --write DIR      (writes every machine as DIR/<name>.svg and .mmd)

Prints a state chart drawn from the live machine definition.`;

export const CHAT_USAGE = `usage: letta-stream chat [--url ws://127.0.0.1:8283/v1/ws] [--agent demo] [--json]

An interactive prompt that streams each turn as it happens. Ctrl-C cancels the running turn; at
the prompt, Ctrl-C twice exits. An approval request asks "approve? [y/n/reason]".`;

export const REPLAY_RUN_USAGE = `usage: letta-stream replay-run RUN_ID [--data-dir DIR] [--json]

Prints a stored run from the database: its state changes (run chart › step chart, with their
times and the seq_id they happened after) and its frames, in the order they happened. Works while
a server runs on the same data directory (the file is only read). RUN_ID may be a unique prefix.
--json prints one JSON object per line: {"type":"transition",…} and {"type":"frame",…}.
A run's frames are kept for 5 minutes after it ended; later its stored messages are printed.
Exit 0; 1 when there is no such run or no database.`;
