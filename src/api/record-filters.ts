import { z } from 'zod';
import type { AuditRecord } from '../audit/record.js';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditFilter } from '../store/store.js';
import { isDenial, organizationScope, type Denial } from './access.js';
import { idParam, storeFilter, storeFilterParams } from './params.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The filters of the records and stats endpoints (the viewer's): the store's, plus status class and route. */
export const recordFilterParams = {
  ...storeFilterParams,
  statusClass: z.enum(STATUS_CLASSES, 'must be one of 1xx, 2xx, 3xx, 4xx, 5xx').optional(),
  routePattern: idParam.optional(),
};

type RecordFilterParams = z.output<z.ZodObject<typeof recordFilterParams>>;

/** What to read: the store's filter, and a check for what the store cannot filter (null when nothing is left). */
export interface RecordSelection {
  filter: AuditFilter;
  match: ((record: AuditRecord) => boolean) | null;
  /** Everything that selects records, for the cursor's filter digest. */
  digest: AuditFilter;
}

/** The selection the parameters ask for, confined to the caller's organization unless it may read them all. */
export function recordSelection(ctx: RequestContext, p: RecordFilterParams): RecordSelection | Denial {
  if (p.from !== undefined && p.to !== undefined && p.to < p.from) return { status: 400, message: 'to must not be before from' };
  const scope = organizationScope(ctx.principal, p.organizationId, 'organizationId');
  if (isDenial(scope)) return scope;
  const filter = storeFilter(p, scope.organizationId);
  const { statusClass, routePattern } = p;
  const classDigit = statusClass === undefined ? undefined : Number(statusClass[0]);
  const match = classDigit === undefined && routePattern === undefined ? null : (record: AuditRecord) =>
    (classDigit === undefined || Math.floor(record.statusCode / 100) === classDigit)
    && (routePattern === undefined || record.routePattern === routePattern);
  const digest = { ...filter, ...(statusClass && { statusClass }), ...(routePattern !== undefined && { routePattern }) } as AuditFilter;
  return { filter, match, digest };
}

/** True when the store filter asks for no more than an organization and a time range. */
export function onlyOrganizationAndTime(filter: AuditFilter): boolean {
  return Object.entries(filter).every(([name, value]) => value === undefined || ['organizationId', 'fromMs', 'toMs'].includes(name));
}
