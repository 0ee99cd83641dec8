/**
 * What an adapter contributes to the configuration: its option section (the `timescaledb:` block of a config
 * file, checked by the adapter's own zod schema) and its kind's defaults. Each adapter exports one of these from
 * its `options.ts`; src/adapter/registry.ts lists them, and src/config/schema.ts builds the configuration from
 * that list.
 */
import type { z } from 'zod';

export interface AdapterConfigSpec {
  /** `target.kind` and the name of the option section in config files. */
  readonly kind: string;
  /** The option section: a strict object of fields (src/config/fields.ts) — unknown keys are refused. */
  readonly options: z.ZodObject;
  /** `target.database` when unset (ClickHouse `default`, PostgreSQL schema `public`). */
  readonly defaultDatabase: string;
  /** `load` when unset. */
  readonly defaultLoad: 'server' | 'client';
  /** The database reads the object store itself, so `load: server` is possible. */
  readonly serverLoad: boolean;
  /** What `target.url` looks like for this kind (besides `embedded:<dir>`), and how to say it. */
  readonly url: { readonly pattern: RegExp; readonly example: string };
  /** Environment variables for the target's connection fields, first match wins. */
  readonly env: Readonly<
    Partial<Record<'target.url' | 'target.user' | 'target.password', readonly string[]>>
  >;
  /** One line for `--help` and the JSON Schema. */
  readonly description: string;
}
