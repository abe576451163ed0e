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

  it('one arrow per source and target: the integrity failures into `failed` are one arrow per mode, their events in a legend', () => {
    for (const name of Object.keys(MACHINES)) {
      const svg = chartFiles()[`${name}.svg`]!;
      const arrows = [...svg.matchAll(/<g class="transition" data-source="([^"]+)" data-target="([^"]+)"/g)].map((m) => `${m[1]} → ${m[2]}`);
      expect(new Set(arrows).size, name).toBe(arrows.length);
    }
    const stream = chartFiles()['stream.svg']!;
    const intoFailed = [...stream.matchAll(/data-target="failed"/g)].length;
    const sources = new Set(chartOf(streamMachine).edges.filter((e) => e.target === 'failed').map((e) => e.source));
    expect(intoFailed).toBe(sources.size); // 7 arrows where there were 17 transitions
    expect(chartOf(streamMachine).edges.filter((e) => e.target === 'failed').length).toBeGreaterThan(2 * intoFailed);
    expect(stream).toContain('<tspan font-weight="bold">①</tspan> CONTENT_BLOCK_DELTA [isKnownDelta] · CONTENT_BLOCK_START · MESSAGE_STOP');
    // CANCEL leaves from any mode, not from the initial one
    expect(stream).toMatch(/<g class="transition" data-source="streaming" data-target="cancelled">/);
    expect(stream).toContain('data-any="streaming"');
  });

  it('every machine renders as SVG with one group per state', () => {
    for (const [name, machine] of Object.entries(MACHINES)) {
      const svg = chartFiles()[`${name}.svg`]!;
      for (const n of chartOf(machine).nodes) expect(svg, `${name}: ${n.id}`).toContain(`data-state="${n.id}"`);
    }
  });
});
