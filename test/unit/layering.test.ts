/**
 * The layering rules of docs/ARCHITECTURE.md, checked on every import of the source tree:
 * - the engine (`src/`) reaches an adapter only through a registry (`src/adapter/registry.ts`,
 *   `src/addview/registry.ts`), so a target is added without touching the engine;
 * - adapters never import the runner or the CLI (they never decide batching, ordering or retries);
 * - nothing that ships (`src/`, `adapters/`, `demo/`) imports test code or test fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every relative module specifier a file imports (static, dynamic and re-exports), resolved from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map(
    (m) => m[1]!,
  );
  return specifiers.map((s) => relative(root, resolve(root, dirname(file), s)));
}

function violations(files: string[], forbidden: (target: string, file: string) => boolean): string[] {
  return files.flatMap((file) =>
    importsOf(file)
      .filter((t) => forbidden(t, file))
      .map((t) => `${file} → ${t}`),
  );
}

/**
 * The modules `roots` load at run time: relative imports followed (type-only imports are erased, so skipped),
 * and the packages any of them imports.
 */
function runtimeGraph(roots: readonly string[]): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(relative(root, resolve(root, dirname(file), spec)));
      else if (!spec.startsWith('node:'))
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  roots.forEach(visit);
  return { files: [...files], packages: [...packages] };
}

const isRegistry = (file: string) => /^src\/[a-z-]+\/registry\.ts$/.test(file);

describe('layering', () => {
  it('src/ imports adapters/ only through a registry', () => {
    const bad = violations(sourceFiles('src'), (t, file) => t.startsWith('adapters/') && !isRegistry(file));
    expect(bad).toEqual([]);
  });

  it('adapters/ never import the runner, the scheduler or the CLI', () => {
    const bad = violations(sourceFiles('adapters'), (t) => /^src\/(runner|scheduler|cli)\//.test(t));
    expect(bad).toEqual([]);
  });

  it('shipped code (src/, adapters/, demo/) never imports tests or test fixtures', () => {
    const shipped = [...sourceFiles('src'), ...sourceFiles('adapters'), ...sourceFiles('demo')];
    const bad = violations(shipped, (t) => /^(test|fixtures|bench)\//.test(t));
    expect(bad).toEqual([]);
  });

  it('decode threads never load the AWS SDK (the pool reads their objects on the main thread)', () => {
    // What a decode thread runs: decode-worker.ts and the encoder modules adapters hand it (by URL).
    const roots = ['src/workers/decode-worker.ts', 'adapters/timescaledb/copy-encoder.ts'];
    const { files, packages } = runtimeGraph(roots);
    expect(files).toContain('src/parquet/row-group-bytes.ts');
    expect(packages).toContain('hyparquet');
    expect(packages.filter((p) => p.startsWith('@aws-sdk/'))).toEqual([]);
  });

  it('the check sees imports (a rule that finds nothing to check cannot fail)', () => {
    expect(runtimeGraph(['src/workers/pool.ts']).packages).toContain('@aws-sdk/client-s3');
    expect(importsOf('src/adapter/registry.ts').some((t) => t.startsWith('adapters/'))).toBe(true);
    expect(importsOf('demo/clickhouse.ts')).toContain('demo/data/pypi.ts');
  });
});
