import { Portkey } from 'portkey-ai';
import t from 'tap';
import { KEY, startFixture } from './fixtures/audit.js';

// Passes once the credential precedence of branch trust-pipeline is merged: a known key beside an unknown
// credential identifies by the known one (issue 16, item 2). Before that, Authorization wins and this is a 401.
t.test('a Portkey client sending its audit key and a provider key (Authorization: Bearer) is identified by the audit key', async (t) => {
  const f = await startFixture();
  t.teardown(() => f.close());
  const portkey = new Portkey({ apiKey: KEY.aReader, baseURL: `${f.proxy.url}/v1`, Authorization: 'Bearer sk-provider-key-the-proxy-does-not-know' });
  const answer = (await portkey.get('/audit-logs?page_size=1')) as unknown as { records: unknown[]; total: number };
  await f.flush();
  t.equal(typeof answer.total, 'number', '200 with Portkey\'s shape');
  const direct = await f.get('/v1/audit-logs?page_size=1', { 'x-portkey-api-key': KEY.aReader, authorization: 'Bearer sk-provider-key-the-proxy-does-not-know' });
  t.equal(direct.status, 200, JSON.stringify(direct.body));
  t.equal(direct.body.records[0]?.user_id, 'key-a-reader', 'the SDK\'s read was recorded as the audit key\'s');
});
