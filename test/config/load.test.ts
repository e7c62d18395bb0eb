import t from 'tap';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/load.js';

t.test('defaults fill every key and env shorthands override', async (t) => {
  const config = loadConfig({ env: { AUDIT_PROXY_UPSTREAM: 'http://127.0.0.1:9', AUDIT_PROXY_PORT: '9090' } });
  t.equal(config.listen.port, 9090);
  t.equal(config.upstream.url, 'http://127.0.0.1:9');
  t.equal(config.store.path, './data');
  t.ok(Object.isFrozen(config.store));
});

t.test('every problem is reported at once, naming its key', async (t) => {
  const err = t.throws(() => parseConfig({ listen: { port: 'x' }, upstream: {}, bogus: 1 })) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, /listen\.port/);
  t.match(err.message, /upstream\.url: is required/);
  t.match(err.message, /bogus: unknown key/);
});
