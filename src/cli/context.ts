/** What every command gets: the process's streams and environment, and what the command line said. */
export interface CliContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
  /** `--settings.<name> <value>` flags (any ClickHouse setting), taken out of the command line before parsing. */
  readonly settings: Readonly<Record<string, string>>;
  /** Set from the command's `--verbose` / `--json` before its action runs (for the final error line). */
  verbose: boolean;
  json: boolean;
  /** The command's exit code, set by its action. */
  exitCode: number;
}
