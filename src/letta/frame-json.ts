import type { LettaFrame, StreamedMessage, ToolCallDelta } from './frames.js';

/** Where serialized pieces go; a line ends after each frame's last piece. */
export interface TextSink {
  part(text: string): void;
}

/**
 * JSON text of a frame built by FrameWriter (its key order), byte for byte what
 * `JSON.stringify(frame)` gives, faster for a run of frames of one part: everything before the
 * payload (id, date, type, otid, run and step id) is the same for every delta of a part, so it is
 * serialized once and reused; only the delta's own text is escaped per frame. `write` hands the
 * pieces to a sink without joining them (no string built per frame at all). Frames with other
 * shapes (seq_id, stop_reason, …) go to JSON.stringify.
 */
export class FrameSerializer {
  private key: StreamedMessage | null = null;
  private head = '';
  private callHead = '';
  private callTail = '';
  /** The last `prefix` call started a new part. */
  private fresh = false;

  /** The frame's JSON text as one string: the same pieces as `write`, concatenated in place. */
  json(frame: LettaFrame): string {
    switch (frame.message_type) {
      case 'assistant_message':
        if (frame.seq_id !== undefined) break;
        return this.prefix(frame, ',"content":') + JSON.stringify(frame.content) + '}';
      case 'reasoning_message':
        if (frame.seq_id !== undefined) break;
        return (
          this.prefix(frame, `,"source":"${frame.source}","reasoning":`) +
          JSON.stringify(frame.reasoning) +
          (frame.signature === null ? ',"signature":null}' : `,"signature":${JSON.stringify(frame.signature)}}`)
        );
      case 'tool_call_message':
      case 'approval_request_message': {
        if (frame.seq_id !== undefined || frame.tool_call !== frame.tool_calls) break;
        const head = this.prefix(frame, ',"tool_call":');
        if (this.fresh) this.callParts(frame.tool_call);
        const call = this.callHead + JSON.stringify(frame.tool_call.arguments) + this.callTail;
        return head + call + ',"tool_calls":' + call + '}';
      }
    }
    return JSON.stringify(frame);
  }

  write(frame: LettaFrame, out: TextSink): void {
    switch (frame.message_type) {
      case 'assistant_message':
        if (frame.seq_id !== undefined) break;
        out.part(this.prefix(frame, ',"content":'));
        out.part(JSON.stringify(frame.content));
        out.part('}');
        return;
      case 'reasoning_message':
        if (frame.seq_id !== undefined) break;
        out.part(this.prefix(frame, `,"source":"${frame.source}","reasoning":`));
        out.part(JSON.stringify(frame.reasoning));
        out.part(frame.signature === null ? ',"signature":null}' : `,"signature":${JSON.stringify(frame.signature)}}`);
        return;
      case 'tool_call_message':
      case 'approval_request_message': {
        if (frame.seq_id !== undefined || frame.tool_call !== frame.tool_calls) break;
        out.part(this.prefix(frame, ',"tool_call":'));
        const call = frame.tool_call;
        if (this.fresh) this.callParts(call);
        const args = JSON.stringify(call.arguments);
        out.part(this.callHead);
        out.part(args);
        out.part(this.callTail);
        out.part(',"tool_calls":');
        out.part(this.callHead);
        out.part(args);
        out.part(this.callTail);
        out.part('}');
        return;
      }
    }
    out.part(JSON.stringify(frame));
  }

  /** `{"id":…,"step_id":…` + `rest`, reused while the frame belongs to the same part as the last. */
  private prefix(frame: StreamedMessage, rest: string): string {
    const k = this.key;
    this.key = frame;
    if (
      k !== null &&
      k.otid === frame.otid &&
      k.id === frame.id &&
      k.date === frame.date &&
      k.message_type === frame.message_type &&
      k.run_id === frame.run_id &&
      k.step_id === frame.step_id &&
      !(k.message_type === 'reasoning_message' && frame.message_type === 'reasoning_message' && k.source !== frame.source) &&
      sameCall(k, frame)
    ) {
      this.fresh = false;
      return this.head;
    }
    this.fresh = true;
    this.head =
      `{"id":${JSON.stringify(frame.id)},"date":${JSON.stringify(frame.date)},"message_type":"${frame.message_type}",` +
      `"otid":${JSON.stringify(frame.otid)},"run_id":${JSON.stringify(frame.run_id)},"step_id":${JSON.stringify(frame.step_id)}` +
      rest;
    return this.head;
  }

  private callParts(call: ToolCallDelta): void {
    this.callHead = `{"name":${JSON.stringify(call.name)},"arguments":`;
    this.callTail = `,"tool_call_id":${JSON.stringify(call.tool_call_id)}}`;
  }
}

function sameCall(a: StreamedMessage, b: StreamedMessage): boolean {
  if (!('tool_call' in a) || !('tool_call' in b)) return true;
  return a.tool_call.name === b.tool_call.name && a.tool_call.tool_call_id === b.tool_call.tool_call_id;
}
