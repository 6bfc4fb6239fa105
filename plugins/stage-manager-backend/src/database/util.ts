import { Knex } from 'knex';
import { PermissionCriteria } from '@backstage/plugin-permission-common';
import { StageManagerColumnFilter } from '@internal/plugin-stage-manager-node';

/** Timestamps come back as Date (PostgreSQL) or as the stored string/number (SQLite). */
export function toIso(value: Date | string | number): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function toIsoOrUndefined(
  value: Date | string | number | null | undefined,
): string | undefined {
  return value === null || value === undefined ? undefined : toIso(value);
}

export function nowIso(): string {
  return new Date().toISOString();
}

export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function fromJson<T>(value: string | null | undefined): T | undefined {
  return value === null || value === undefined
    ? undefined
    : (JSON.parse(value) as T);
}

/** `count(*)` is a string on PostgreSQL and a number on SQLite. */
export function toCount(row: unknown): number {
  const value = row ? Object.values(row as object)[0] : 0;
  return Number(value ?? 0);
}

/** Limit and offset of a list query. */
export interface PageRequest {
  limit: number;
  offset: number;
}

/** Sort order of a page: columns, each ascending unless said otherwise. */
export type OrderBy = Array<
  string | { column: string; order?: 'asc' | 'desc' }
>;

/** Runs a filtered query as one page: how many rows match, and the rows of the page. */
export async function selectPage<TRow>(
  query: Knex.QueryBuilder,
  options: { page: PageRequest; orderBy: OrderBy; columns?: string },
): Promise<{ rows: TRow[]; totalCount: number }> {
  const [count] = await query.clone().count({ count: '*' });
  const rows = await query
    .select(options.columns ?? '*')
    .orderBy(options.orderBy)
    .limit(options.page.limit)
    .offset(options.page.offset);
  return { rows, totalCount: toCount(count) };
}

/** A query condition produced by the plugin's permission rules. */
export type ColumnFilter = StageManagerColumnFilter;

/** Applies permission criteria (allOf / anyOf / not of column filters) to a query. */
export function applyCriteria(
  query: Knex.QueryBuilder,
  criteria: PermissionCriteria<ColumnFilter>,
  table: string,
): Knex.QueryBuilder {
  if ('allOf' in criteria) {
    return query.where(q => {
      for (const c of criteria.allOf)
        q.andWhere(sub => applyCriteria(sub, c, table));
    });
  }
  if ('anyOf' in criteria) {
    return query.where(q => {
      for (const c of criteria.anyOf)
        q.orWhere(sub => applyCriteria(sub, c, table));
    });
  }
  if ('not' in criteria) {
    return query.whereNot(q => applyCriteria(q, criteria.not, table));
  }
  const column = `${table}.${criteria.column}`;
  return criteria.values.length === 0
    ? query.whereRaw('1 = 0')
    : query.whereIn(column, criteria.values);
}

/** Whether a database error is a primary key or unique constraint violation (PostgreSQL, SQLite). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed/.test(e?.message ?? '')
  );
}
