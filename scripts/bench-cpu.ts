import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds a process has used, with those of its children it has reaped when `reaped` (a postmaster's backends). */
async function cpuSeconds(pid: number, reaped: boolean): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return 0;
  // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const [utime, stime, cutime, cstime] = fields.slice(11, 15) as [number, number, number, number];
  return (utime + stime + (reaped ? cutime + cstime : 0)) / TICKS_PER_SECOND;
}

/** A postmaster's CPU seconds: its own, its live backends' and those of the backends that have exited. */
async function serverCpuSeconds(postmaster: number): Promise<number> {
  const children = await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').catch(() => '');
  const pids = children.split(' ').filter(Boolean).map(Number);
  const parts = await Promise.all([cpuSeconds(postmaster, true), ...pids.map((pid) => cpuSeconds(pid, false))]);
  return parts.reduce((sum, n) => sum + n, 0);
}

/** The processes a benchmark cell spends CPU in: this one (the handlers), and others by pid. */
export interface CpuParts {
  postmaster: number;
  /** Other processes measured whole (the delay proxy, PgBouncer). */
  others: Record<string, number | undefined>;
}

export type CpuSplit = Record<string, number>;

/**
 * CPU seconds spent by each part from now until the returned function is called (Linux /proc; zeros elsewhere),
 * so a cell's table row can say where a registration's CPU goes and how much of the machine the cell used.
 */
export async function cpuMeter(parts: CpuParts): Promise<() => Promise<CpuSplit>> {
  const sample = async (): Promise<CpuSplit> => {
    const own = process.cpuUsage();
    const split: CpuSplit = { node: (own.user + own.system) / 1e6, postgres: await serverCpuSeconds(parts.postmaster) };
    for (const [name, pid] of Object.entries(parts.others)) if (pid !== undefined) split[name] = await cpuSeconds(pid, false);
    return split;
  };
  const before = await sample();
  return async () => {
    const after = await sample();
    return Object.fromEntries(Object.entries(after).map(([name, seconds]) => [name, seconds - (before[name] ?? 0)]));
  };
}
