import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRouteClassifier, RouteClassifier } from '../../src/audit/route.js';
import { parseConfig } from '../../src/config/load.js';
import { TestUpstream } from '../helpers/upstream.js';

function routesConfig(routes: unknown) {
  return parseConfig({ upstream: { url: 'http://127.0.0.1:1' }, routes }).routes;
}

t.test('the heuristic turns ids into :id and takes the resource after a version prefix', async (t) => {
  const classifier = await createRouteClassifier(routesConfig({}));
  const cases: [string, string, string, string, string][] = [
    ['GET', '/v1/users/123', '/v1/users/:id', 'users', 'read'],
    ['DELETE', '/v2/orders/3f2b8c1e-9d4a-4b6e-8f00-1234567890ab/items/77', '/v2/orders/:id/items/:id', 'orders', 'delete'],
    ['PATCH', '/api/v1.2/docs/0123456789abcdef0123', '/api/v1.2/docs/:id', 'docs', 'update'],
    ['GET', '/internal/things', '/internal/things', 'internal', 'read'],
    ['PUT', '/files/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/files/:id', 'files', 'update'],
    ['POST', '/v1/keys/key_abcdefghijkl1234', '/v1/keys/:id', 'keys', 'create'],
    ['HEAD', '/', '/', 'root', 'read'],
    ['OPTIONS', '/v1/health', '/v1/health', 'health', 'options'],
  ];
  for (const [method, path, pattern, resource, action] of cases) {
    t.same(classifier.classify(method, path), { routePattern: pattern, resourceType: resource, action }, `${method} ${path}`);
  }
});

t.test('long paths are classified but not cached: distinct long paths cannot fill memory', async (t) => {
  const classifier = await createRouteClassifier(routesConfig({}));
  const cache = classifier['cache'];
  for (let i = 0; i < 50; i++) {
    t.same(classifier.classify('GET', `/v1/files/${'a'.repeat(2_000)}${i}`).resourceType, 'files');
  }
  t.equal(cache.size, 0, 'none of 50 paths of 2 KB kept');
  classifier.classify('GET', '/v1/files/short');
  t.equal(cache.size, 1, 'short ones are');
});

t.test('an array of rules is shorthand for routes.rules; first match wins; a trailing * matches the rest', async (t) => {
  const classifier = await createRouteClassifier(routesConfig([
    { pattern: '/v1/users/me', resourceType: 'profile' },
    { pattern: '/v1/users/:id', resourceType: 'users', action: 'user.read', methods: ['get'] },
    { pattern: '/static/*', resourceType: 'assets' },
  ]));
  t.equal(classifier.classify('GET', '/v1/users/me').resourceType, 'profile');
  t.same(classifier.classify('GET', '/v1/users/42'), { routePattern: '/v1/users/:id', resourceType: 'users', action: 'user.read' });
  t.equal(classifier.classify('DELETE', '/v1/users/42').action, 'delete', 'method-limited rule skipped, heuristic used');
  t.equal(classifier.classify('GET', '/static/css/site.css').routePattern, '/static/*');
  t.ok(RouteClassifier.matcher(['/health'])('/health/'), 'a trailing slash still matches');
});

t.test('routes.openapi: patterns, resource types (first tag) and actions from the upstream document, file or URL', async (t) => {
  const doc = {
    openapi: '3.1.0',
    paths: {
      '/v1/projects/{projectId}/runs/{runId}': { get: { tags: ['runs'] }, post: { tags: ['runs'], 'x-audit-action': 'run.retry' } },
      '/v1/projects/{projectId}': { delete: { tags: ['projects'] } },
      '/v1/projects/archived': { get: { tags: ['archive'] } },
    },
  };
  const file = join(t.testdir(), 'openapi.yaml');
  writeFileSync(file, JSON.stringify(doc));
  const fromFile = await createRouteClassifier(routesConfig({ openapi: file }));
  t.same(fromFile.classify('GET', '/v1/projects/p1/runs/9'), { routePattern: '/v1/projects/:projectId/runs/:runId', resourceType: 'runs', action: 'read' });
  t.equal(fromFile.classify('POST', '/v1/projects/p1/runs/9').action, 'run.retry');
  t.equal(fromFile.classify('GET', '/v1/projects/archived').resourceType, 'archive', 'a literal path beats a template');
  t.equal(fromFile.classify('DELETE', '/v1/projects/p1').routePattern, '/v1/projects/:projectId');

  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  upstream.routes.set('/openapi.json', (_req, res) => res.end(JSON.stringify(doc)));
  const fromUrl = await createRouteClassifier(routesConfig({ openapi: `${upstream.url}/openapi.json` }));
  t.equal(fromUrl.classify('DELETE', '/v1/projects/p1').resourceType, 'projects');
  upstream.routes.set('/missing.json', (_req, res) => { res.statusCode = 404; res.end(); });
  await t.rejects(createRouteClassifier(routesConfig({ openapi: `${upstream.url}/missing.json` })), /routes\.openapi: .*answered 404/);
});
