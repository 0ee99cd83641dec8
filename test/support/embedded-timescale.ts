/**
 * The embedded-only form of `useTimescale` (test/support/timescale-targets.ts), for tests of what only the
 * embedded server does (its quirks). Tests of adapter behaviour loop over TIMESCALE_TARGETS instead.
 */
import { useTimescale, type TimescaleHarness } from './timescale-targets.ts';

export interface EmbeddedTimescaleHarness extends TimescaleHarness {
  /** The server's directory (`embedded:<dir>`). */
  readonly dir: string;
}

export function useEmbeddedTimescale(prefix: string): EmbeddedTimescaleHarness {
  const harness = useTimescale('embedded', prefix);
  return Object.create(harness, {
    dir: { get: () => harness.url.slice('embedded:'.length) },
  }) as EmbeddedTimescaleHarness;
}
