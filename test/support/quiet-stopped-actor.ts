import { afterAll, beforeAll, vi } from 'vitest';

/**
 * The model-based tests send events to finished actors on purpose (nothing may follow the end);
 * XState's development build warns about each. Swallow exactly that warning, keep all others.
 */
export function quietStoppedActorWarnings(): void {
  let restore: (() => void) | null = null;
  beforeAll(() => {
    const real = console.warn;
    const spy = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('was sent to stopped actor')) return;
      real(...args);
    });
    restore = () => spy.mockRestore();
  });
  afterAll(() => restore?.());
}
