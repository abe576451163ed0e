import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chartFiles, chartOf, MACHINES } from '../src/charts/index.js';
import { streamMachine } from '../src/machines/stream.machine.js';

describe('state charts drawn from the machine definitions', () => {
  it('docs/charts matches the machines (regenerate with `npm run charts`)', () => {
    for (const [file, text] of Object.entries(chartFiles())) {
      expect(readFileSync(new URL(`../docs/charts/${file}`, import.meta.url), 'utf8'), `docs/charts/${file} is stale: run npm run charts`).toBe(text);
    }
  });

  it('the stream chart has every mode, the final states, and the guarded block transitions', () => {
    const chart = chartOf(streamMachine);
    expect(chart.nodes.map((n) => n.id)).toEqual(
      expect.arrayContaining(['streaming', 'streaming.betweenBlocks', 'streaming.text', 'streaming.thinking', 'streaming.redacted_thinking', 'streaming.tool_use', 'done', 'failed', 'cancelled']),
    );
    expect(chart.edges).toContainEqual({ source: 'streaming.betweenBlocks', target: 'streaming.text', event: 'CONTENT_BLOCK_START', guard: 'isTextBlock' });
    expect(chart.edges).toContainEqual({ source: 'streaming', target: 'cancelled', event: 'CANCEL', guard: null });
  });

  it('every machine renders as SVG with one group per state', () => {
    for (const [name, machine] of Object.entries(MACHINES)) {
      const svg = chartFiles()[`${name}.svg`]!;
      for (const n of chartOf(machine).nodes) expect(svg, `${name}: ${n.id}`).toContain(`data-state="${n.id}"`);
    }
  });
});
