import type { Db } from '@calseta/db';
import { type RawBuilder, sql } from 'kysely';
import { validationError } from '../infra/errors.js';

export const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_MS = 30 * DAY_MS;

/** A metrics window over `created_at`: `from ≤ created_at < to` (`to` null: no upper bound). */
export interface Window {
  from: Date;
  to: Date | null;
}

/**
 * Resolve a requested window: `to` defaults to now and `from` to 30 days before `to`, each
 * independently. A window that ends before it starts is a validation error, not an empty result.
 */
export function resolveWindow(
  from: string | undefined,
  to: string | undefined,
  names: { from: string; to: string },
  now = new Date(),
): { from: Date; to: Date } {
  const end = to === undefined ? now : new Date(to);
  const start = from === undefined ? new Date(end.getTime() - DEFAULT_WINDOW_MS) : new Date(from);
  if (start.getTime() >= end.getTime()) {
    throw validationError('Request validation failed.', [
      { path: names.from, message: `${names.from} must be before ${names.to}` },
    ]);
  }
  return { from: start, to: end };
}

/** `<table>.created_at` inside the window. */
export function inWindow(table: string, window: Window): RawBuilder<boolean> {
  const column = sql.ref(`${table}.created_at`);
  return window.to === null
    ? sql<boolean>`${column} >= ${window.from}`
    : sql<boolean>`${column} >= ${window.from} AND ${column} < ${window.to}`;
}

/** UTC calendar day of `<table>.created_at` as `YYYY-MM-DD`. */
export function utcDay(table: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(`${table}.created_at`)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
}

/** `{ key: count }` from grouped rows, keys in ascending order. */
export function countMap(rows: readonly { k: string | null; n: number }[], nullKey = 'unset'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of [...rows].sort((a, b) => String(a.k ?? nullKey).localeCompare(String(b.k ?? nullKey)))) {
    out[row.k ?? nullKey] = row.n;
  }
  return out;
}

/** `numerator ÷ denominator`, 0 when the denominator is 0. */
export function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Grouped counts of one expression over alerts matching `where`. */
export async function groupAlerts(
  db: Db,
  key: RawBuilder<unknown>,
  where: RawBuilder<boolean>,
): Promise<Record<string, number>> {
  const { rows } = await sql<{ k: string | null; n: number }>`
    SELECT ${key} AS k, count(*)::int AS n FROM alerts WHERE ${where} GROUP BY 1
  `.execute(db);
  return countMap(rows);
}

/** Alerts (or any table's rows) matching `where`, per UTC creation day, ascending. */
export async function perDay(db: Db, table: string, where: RawBuilder<boolean>) {
  const { rows } = await sql<{ date: string; count: number }>`
    SELECT ${utcDay(table)} AS date, count(*)::int AS count
    FROM ${sql.table(table)} WHERE ${where} GROUP BY 1 ORDER BY 1
  `.execute(db);
  return rows;
}
