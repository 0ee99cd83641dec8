/**
 * The command line in this process (runCli with captured streams): usage errors and exit codes, help and
 * version, `--settings.*` flags, the Ctrl-C handling, and failure notes printed once.
 */
import { describe, expect, it } from 'vitest';
import { handleInterrupts } from '../../src/cli/interrupts.ts';
import { createProgress } from '../../src/cli/progress.ts';
import { takeSettingsFlags } from '../../src/cli/settings-flags.ts';
import { configJsonSchema } from '../../src/config/schema.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { capturedStream, cli } from '../support/cli.ts';

describe('usage', () => {
  it('refuses unknown options with a suggestion, and options without their value, with exit code 2', async () => {
    expect(await cli('run', '--new-rnu')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--new-rnu' — did you mean --new-run?\n",
    });
    expect(await cli('demo', '--rows')).toMatchObject({
      code: 2,
      stderr: "error: option '--rows <n>' argument missing\n",
    });
    expect(await cli('demo', '--rows', '0')).toMatchObject({
      code: 2,
      stderr:
        "error: option '--rows <n>' argument '0' is invalid. use a positive whole number of rows per file\n",
    });
    expect(await cli('demo', '--target', 'mysql')).toMatchObject({ code: 2 });
    expect((await cli('plna')).stderr).toBe("error: unknown command 'plna' — did you mean plan?\n");
    expect(await cli('demo', '--settings.max_threads', '2')).toMatchObject({
      code: 2,
      stderr: 'error: --settings.max_threads applies to plan, run and status, not to demo\n',
    });
    expect(await cli('demo', '--target', 'clickhouse', '--target.url', 'http://h:8123')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error: --target\.url applies to --target timescaledb/),
    });
  });

  it('reports a configuration problem in one line with exit code 2', async () => {
    const r = await cli('plan', '--target.kind', 'clickhouse', '--target.url', 'ftp://x');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: missing `target.table` (the live table to backfill) — set target.table in a config file or pass --target.table\n',
    );
  });

  it('prints help, the version and the JSON Schema with exit code 0', async () => {
    const help = await cli();
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: shadowfill/);
    const runHelp = await cli('run', '--help');
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toMatch(/Configuration, batch:[\s\S]*--batch\.files <n>/);
    expect(runHelp.stdout).toContain('--settings.<name> <value>');
    expect((await cli('--version')).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const schema = await cli('config', 'schema');
    expect(JSON.parse(schema.stdout)).toEqual(configJsonSchema());
  });
});

describe('--settings.<name>', () => {
  it('takes any setting name with its value, in both spellings, and leaves the rest', () => {
    expect(
      takeSettingsFlags(['run', '--settings.max_insert_threads', '4', '--settings.async_insert=1', '--json']),
    ).toEqual({ argv: ['run', '--json'], settings: { max_insert_threads: '4', async_insert: '1' } });
    expect(() => takeSettingsFlags(['run', '--settings.max_insert_threads'])).toThrow(/argument missing/);
    expect(() => takeSettingsFlags(['run', '--settings.x', '--json'])).toThrow(/argument missing/);
  });
});

describe('Ctrl-C', () => {
  it('first stops after the step, second ends the process at once by the same signal', () => {
    const stderr = capturedStream();
    const kills: string[] = [];
    const interrupts = handleInterrupts({
      stderr,
      stopping: 'stopping after the current step',
      resume: 'shadowfill run',
      kill: (signal) => kills.push(signal),
    });
    try {
      process.emit('SIGINT', 'SIGINT');
      expect(interrupts.signal.aborted).toBe(true);
      expect(kills).toEqual([]);
      expect(stderr.text()).toContain('stopping after the current step — press Ctrl-C again');
      process.emit('SIGINT', 'SIGINT');
      expect(kills).toEqual(['SIGINT']);
      expect(process.listeners('SIGINT')).toHaveLength(0);
      expect(stderr.text()).toContain('aborting the step in progress');
    } finally {
      interrupts.dispose();
    }
  });
});

describe('failures are printed once', () => {
  const failedRun: RunEvent[] = [
    { type: 'run-started', runId: 'r1', resumed: false, batches: 2, objects: 2, bytes: 10 },
    { type: 'batch-started', batch: 0, attempt: 1, objects: 1, bytes: 5 },
    { type: 'batch-failed', batch: 0, attempt: 1, error: 'connection reset', willRetry: true },
    { type: 'batch-started', batch: 0, attempt: 2, objects: 1, bytes: 5 },
    { type: 'batch-failed', batch: 0, attempt: 2, error: 'unknown setting x', willRetry: false },
    { type: 'run-stopped', runId: 'r1', error: 'unknown setting x' },
  ];

  it('shows retries but leaves the final error to the error line, unless verbose', () => {
    for (const verbose of [false, true]) {
      const stderr = capturedStream(false);
      const sink = createProgress({ json: false, quiet: false, verbose, stdout: capturedStream(), stderr });
      for (const e of failedRun) sink(e);
      expect(stderr.text()).toContain('batch 1 attempt 1 failed: connection reset — retrying');
      expect(stderr.text().split('unknown setting x').length - 1).toBe(verbose ? 2 : 0);
    }
  });

  it('clears the live line on a TTY so the error line starts clean', () => {
    const stderr = capturedStream(true);
    const sink = createProgress({ json: false, quiet: false, stdout: capturedStream(), stderr });
    for (const e of failedRun) sink(e);
    expect(stderr.text().endsWith('\r\x1b[2K')).toBe(true);
  });
});
