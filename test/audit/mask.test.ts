import t from 'tap';
import { maskHeaders } from '../../src/audit/mask.js';

t.test('issue 11: header name verdicts are remembered, and still right past the remembered names', async (t) => {
  const masked = new Set(['authorization']);
  const headers: Record<string, string> = {};
  for (let i = 0; i < 1_500; i++) {
    headers[`x-vendor-${i}-token`] = 'a-long-secret-value-123456';
    headers[`x-plain-${i}`] = 'visible';
  }
  for (let pass = 0; pass < 2; pass++) {
    const out = maskHeaders({ ...headers, authorization: 'Bearer sk_abcdefghijklmnopqrstuvwxyz' }, masked);
    t.ok(Object.entries(out).filter(([name]) => name.endsWith('-token')).every(([, value]) => value === 'a-l…3456'), `pass ${pass}: tokens hinted`);
    t.ok(Object.entries(out).filter(([name]) => name.startsWith('x-plain-')).every(([, value]) => value === 'visible'), `pass ${pass}: the rest kept`);
    t.equal(out.authorization, 'Bearer sk_…wxyz');
  }
});
