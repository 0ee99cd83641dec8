/**
 * `shadowfill demo --scenario add-view` on the embedded default (small): the guide's pypi_downloads_per_day
 * added to the demo's live pypi while its writer keeps inserting; the reconciliation and the exact check pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { addViewDemo, addViewDemoText } from '../../demo/add-view.ts';
import type { AddViewEvent } from '../../src/addview/events.ts';

const root = mkdtempSync(join(tmpdir(), 'shadowfill-addview-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

it('the add-view demo adds pypi_downloads_per_day while rows keep arriving, exactly', async () => {
  const events: AddViewEvent[] = [];
  const lines: string[] = [];
  const result = await addViewDemo({
    dir: join(root, 'demo'),
    rowsPerFile: 2000,
    onEvent: (e) => events.push(e),
    log: (l) => lines.push(l),
  });
  expect(result.ok).toBe(true);
  expect(result.differingGroups).toBe(0);
  expect(result.perDaySum).toBe(result.pypiRows);
  expect(result.pypiRows).toBe(48_000 + result.liveRows);
  expect(result.liveBeforeCutoff).toBeGreaterThan(0);
  expect(result.liveAfterCutoff).toBeGreaterThan(0);
  expect(result.report.reconciliation.ok).toBe(true);
  expect(events.map((e) => e.type)).toContain('view-created');
  expect(addViewDemoText(result)).toMatch(/groups differing from the view's SELECT over all of pypi: 0 → OK/);
  expect(lines.some((l) => l.includes('shadowfill add-view --config'))).toBe(true);
});
