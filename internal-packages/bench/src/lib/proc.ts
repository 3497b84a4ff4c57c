/**
 * Linux /proc readers for benchmark accounting: CPU time of a process (or a process tree such as a
 * Postgres cluster), whole-machine CPU, and resident memory. Everything returns null off Linux.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of the CPU fields in /proc/<pid>/stat. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, seconds. */
  self: number;
  /** cutime + cstime: CPU of children it has reaped, seconds. */
  reaped: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 (comm) is in parentheses and may contain spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  const hz = ticksPerSecond();
  return { ppid: field(4), self: (field(14) + field(15)) / hz, reaped: (field(16) + field(17)) / hz };
}

/** CPU seconds (user + system) one process has used so far; null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  return readStat(pid)?.self ?? null;
}

/**
 * CPU seconds used by a process and all its direct children, including children that have already
 * exited and been reaped (their time is in the parent's cutime/cstime). For a Postgres cluster pass
 * the postmaster pid: backends come and go, but their CPU is never lost between two samples.
 */
export function processTreeCpuSeconds(rootPid: number): number | null {
  const root = readStat(rootPid);
  if (!root) return null;
  let total = root.self + root.reaped;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === rootPid) continue;
    const stat = readStat(pid);
    if (stat?.ppid === rootPid) total += stat.self;
  }
  return total;
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | null {
  let line: string | undefined;
  try {
    line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return null;
  }
  if (!line?.startsWith('cpu ')) return null;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  // Steal is time the hypervisor gave to other guests: neither ours nor idle; count it as unavailable.
  const busy = user + nice + system + irq + softirq;
  const hz = ticksPerSecond();
  return { busy: busy / hz, total: (busy + idle + iowait + steal) / hz };
}

/** Resident and peak resident memory of a process, in MiB; null when it is gone. */
export function processMemoryMiB(pid: number): { rss: number; peak: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The postmaster pid of a running cluster, from the first line of `<pgdata>/postmaster.pid`. */
export function postmasterPid(pgData: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(`${pgData}/postmaster.pid`, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** A CPU meter over a window: `start()`, run the load, `stop()` → average % of one core. */
export class CpuMeter {
  private startValue: number | null = null;
  private startTime = 0;
  constructor(private readonly sample: () => number | null) {}
  start(): void {
    this.startValue = this.sample();
    this.startTime = performance.now();
  }
  /** Average CPU over the window as % of one core (200% = both cores of a 2-core box); null if unknown. */
  stop(): number | null {
    const end = this.sample();
    const seconds = (performance.now() - this.startTime) / 1000;
    if (this.startValue === null || end === null || seconds <= 0) return null;
    return ((end - this.startValue) / seconds) * 100;
  }
}
