/** A streamed Letta chunk as the tests read it (the client types every chunk as a wide union). */
export type Chunk = { message_type?: string; stop_reason?: string; content?: unknown; run_id?: string; seq_id?: number };

/** Every chunk of a client stream, in order. */
export async function collect<T = Chunk>(stream: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of stream) out.push(c as T);
  return out;
}
