import type { AuditRecord } from './api.js';

/** "2026-11-23 14:02:31.123" in UTC: sortable, unambiguous, the same for everyone a view is shared with. */
export function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1_000).toFixed(2)} s`;
}

export function statusClass(code: number): string {
  return code >= 100 && code <= 599 ? `s${Math.floor(code / 100)}xx` : 'snone';
}

const TYPE_LABELS: Record<AuditRecord['principalType'], string> = {
  api_key: 'API key', service_account: 'Service account', user: 'User', anonymous: 'Anonymous',
};

/** The principal as a type label and the id that names it. */
export function principalOf(record: AuditRecord): { type: string; id: string } {
  const id = record.principalType === 'api_key' ? record.apiKeyId
    : record.principalType === 'service_account' ? record.serviceAccountId
      : record.principalType === 'user' ? record.userId : null;
  return { type: TYPE_LABELS[record.principalType] ?? record.principalType, id: id ?? record.principalId ?? '' };
}
