/** TimescaleDB version checks (`2.23.0-dev`, `2.28.3`). */

/** The version is at least major.minor. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [a, b] = [Number(match[1]), Number(match[2])];
  return a > major || (a === major && b >= minor);
}
