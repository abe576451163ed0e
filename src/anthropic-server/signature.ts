import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Thinking signatures and redacted-thinking data the server issues, and checks when a client
 * sends them back — as the real API rejects a thinking block whose signature it did not issue.
 */
export class Signer {
  constructor(private readonly secret: string = randomBytes(32).toString('hex')) {}

  private mac(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }

  sign(thinking: string): string {
    return this.mac(`thinking:${thinking}`).toString('base64');
  }

  verify(thinking: string, signature: string): boolean {
    const want = this.mac(`thinking:${thinking}`);
    const got = Buffer.from(signature, 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** Opaque data for a redacted_thinking block: a nonce and its MAC. */
  redacted(seed: string): string {
    const nonce = createHmac('sha256', 'nonce').update(seed).digest('hex').slice(0, 24);
    return Buffer.from(`${nonce}.${this.mac(`redacted:${nonce}`).toString('base64')}`).toString('base64');
  }

  verifyRedacted(data: string): boolean {
    const [nonce, mac] = Buffer.from(data, 'base64').toString('utf8').split('.');
    if (!nonce || !mac) return false;
    const want = this.mac(`redacted:${nonce}`);
    const got = Buffer.from(mac, 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
