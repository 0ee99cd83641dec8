/**
 * CPU seconds spent by the parties of a benchmark, read from /proc (Linux): this process, its live descendants
 * (the S3 server child, a psql child), and a PostgreSQL server (the postmaster, its live backends and the
 * backends it already reaped), or the descendants whose command line matches a pattern (the embedded TimescaleDB
 * server child). Taking a snapshot before and after a step tells which party was saturated.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface CpuSnapshot {
  /** This process (all threads). */
  readonly self: number;
  /** Live descendants of this process, plus the ones it reaped. */
  readonly children: number;
  /** The PostgreSQL server: postmaster + live backends + reaped backends. */
  readonly postgres: number;
}

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime, seconds. */
  readonly own: number;
  /** cutime + cstime (reaped children), seconds. */
  readonly reaped: number;
}

function readStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(fields[i - 3] ?? 0);
  return {
    pid: pid === 'self' ? process.pid : pid,
    ppid: n(4),
    own: (n(14) + n(15)) / TICKS_PER_SECOND,
    reaped: (n(16) + n(17)) / TICKS_PER_SECOND,
  };
}

function allProcesses(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** Sum of `root` and its live descendants' own time, plus what `root` and they reaped; `skip`'s subtree excluded. */
function treeSeconds(all: readonly ProcStat[], root: number, includeRoot: boolean, skip?: number): number {
  const byParent = new Map<number, ProcStat[]>();
  for (const s of all) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const rootStat = all.find((s) => s.pid === root);
  let total = rootStat ? rootStat.reaped + (includeRoot ? rootStat.own : 0) : 0;
  const queue = [...(byParent.get(root) ?? [])];
  while (queue.length > 0) {
    const s = queue.pop()!;
    if (s.pid === skip) continue;
    total += s.own + s.reaped;
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  return total;
}

/** The postmaster of a backend (its parent process). */
export function postmasterOf(backendPid: number): number {
  const stat = readStat(backendPid);
  if (!stat) throw new Error(`no process ${backendPid} in /proc: is the PostgreSQL server on this machine?`);
  return stat.ppid;
}

export function cpuSnapshot(postmasterPid: number): CpuSnapshot {
  const all = allProcesses();
  const usage = process.cpuUsage();
  return {
    self: (usage.user + usage.system) / 1e6,
    children: treeSeconds(all, process.pid, false, postmasterPid),
    postgres: treeSeconds(all, postmasterPid, true),
  };
}

export function cpuSince(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  return {
    self: after.self - before.self,
    children: after.children - before.children,
    postgres: after.postgres - before.postgres,
  };
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** CPU seconds (own + reaped) of the live descendants of this process whose command line matches `pattern`. */
export function descendantSeconds(pattern: RegExp): number {
  const all = allProcesses();
  const byParent = new Map<number, ProcStat[]>();
  for (const s of all) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  let total = 0;
  const queue = [...(byParent.get(process.pid) ?? [])];
  while (queue.length > 0) {
    const s = queue.pop()!;
    if (pattern.test(commandLine(s.pid))) total += s.own + s.reaped;
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  return total;
}
