import { useEffect, useRef, useState } from 'preact/hooks';
import type { AuditRecord } from './api.js';
import { formatMs, formatTime, principalOf, statusClass } from './format.js';

interface Props {
  record: AuditRecord;
  onClose: () => void;
}

/** One whole record: headers (credentials already masked by the proxy), redacted body and query, timings, outcome. */
export function Drawer({ record: r, onClose }: Props) {
  const closeButton = useRef<HTMLButtonElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    closeButton.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => {
      removeEventListener('keydown', onKey);
      opener?.focus();
    };
  }, [onClose]);
  const copy = () => {
    navigator.clipboard.writeText(JSON.stringify(r, null, 2))
      .then(() => setCopied('Copied'), () => setCopied('Copy failed: the browser refused clipboard access'));
  };
  const principal = principalOf(r);
  const facts: [string, string][] = [
    ['Time (UTC)', formatTime(r.createdAt)], ['Request id', r.requestId], ['Record id', r.id],
    ['Method', r.method], ['Path', r.path], ['Route', r.routePattern], ['Resource / action', `${r.resourceType} / ${r.action}`],
    ['Status', String(r.statusCode)], ['Outcome', r.outcome], ['Duration', formatMs(r.durationMs)], ['Time to first byte', formatMs(r.ttfbMs)],
    ['Bytes in / out', `${r.requestBytes} / ${r.responseBytes}`], ['Principal', `${principal.type} ${principal.id}`],
    ['Organization', r.organizationId ?? '–'], ['Workspace', r.workspaceId ?? '–'], ['Auth error', r.authError ?? '–'],
    ['Client IP', r.clientIp], ['Country', r.country ?? '–'], ['User agent', r.userAgent ?? '–'], ['Upstream', r.upstream],
  ];
  return (
    <div class="drawer-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="drawer" role="dialog" aria-modal="true" aria-labelledby="drawer-title">
        <header>
          <h2 id="drawer-title"><span class={`status ${statusClass(r.statusCode)}`}>{r.statusCode || '–'}</span> {r.method} <span class="p">{r.path}</span></h2>
          <div class="actions">
            <button type="button" onClick={copy}>Copy as JSON</button>
            <button type="button" ref={closeButton} onClick={onClose} aria-label="Close record">Close</button>
          </div>
        </header>
        {copied && <p role="status" class="notice">{copied}</p>}
        <dl class="facts">
          {facts.map(([name, value]) => <div key={name}><dt>{name}</dt><dd>{value}</dd></div>)}
        </dl>
        <h3>Query</h3>
        <pre>{Object.keys(r.query).length ? JSON.stringify(r.query, null, 2) : '(none)'}</pre>
        <h3>Request headers</h3>
        <table class="headers">
          <tbody>
            {Object.entries(r.requestHeaders).map(([name, value]) => <tr key={name}><th scope="row">{name}</th><td>{value}</td></tr>)}
          </tbody>
        </table>
        <h3>Request body{r.requestBodyTruncated ? ' (truncated)' : ''}</h3>
        <pre>{r.requestBody ?? '(not captured)'}</pre>
        {r.responseBody !== null && <><h3>Response body</h3><pre>{r.responseBody}</pre></>}
      </div>
    </div>
  );
}
