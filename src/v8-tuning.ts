import v8 from 'node:v8';

/**
 * V8 settings for a letta-stream process, applied before any run starts (the CLI's `main`, the
 * bench). Safe to call more than once.
 *
 * `--no-allocation-site-pretenuring`: V8 decides per allocation site whether to allocate its
 * objects straight in the old generation when most of them survive a young collection. Under a
 * stream of events into an XState actor it decides so for the list `microstep` collects each
 * event's executed actions in (XState 5, `raise-*.js`; its code is deoptimized for the change, and
 * a copy of XState without that `push` keeps nothing). Those lists then lie in the old generation
 * as garbage until the next full collection, and every young object they point to — the action
 * record, its arguments, the event and its text — is kept and promoted by each scavenge: ≈ 180
 * bytes copied twice per delta, 7% of the SDK → machine → JSON pipeline's instructions
 * (docs/benchmarks.md, "Stream machine pipeline"). The SDK's own accumulation does not change.
 */
export function tuneV8(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
