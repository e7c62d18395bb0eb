import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** Worker -> primary: "send me every worker's metrics, aggregated"; primary -> worker: the text, or why not. */
const METRICS_MESSAGE = 'audit-proxy:cluster-metrics';
const ANSWER_TIMEOUT_MS = 5_000;

interface MetricsMessage {
  type: typeof METRICS_MESSAGE;
  id: string;
  text?: string;
  error?: string;
}

function isMetricsMessage(message: unknown): message is MetricsMessage {
  return typeof message === 'object' && message !== null && (message as MetricsMessage).type === METRICS_MESSAGE;
}

/**
 * In the primary of `--workers N`: answers a worker's request for the cluster's metrics with prom-client's
 * aggregation of every worker's registry (counters and histograms summed, gauges by their aggregator).
 */
export function answerClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMetricsMessage(message)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_MESSAGE, id: message.id, text }),
      (err: Error) => worker.send({ type: METRICS_MESSAGE, id: message.id, error: err.message }),
    );
  });
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns a function that fetches the
 * aggregate, so a scrape answered by any worker reports the whole cluster.
 */
export function clusterMetricsReader(registry: Registry): () => Promise<string> {
  new AggregatorRegistry(); // its constructor installs the worker's side of prom-client's protocol
  AggregatorRegistry.setRegistries([registry]);
  const waiting = new Map<string, (message: MetricsMessage) => void>();
  process.on('message', (message: unknown) => {
    if (isMetricsMessage(message)) waiting.get(message.id)?.(message);
  });
  return () => new Promise<string>((resolve, reject) => {
    const id = randomUUID();
    const timer = setTimeout(() => settle({ type: METRICS_MESSAGE, id, error: 'the primary did not answer in time' }), ANSWER_TIMEOUT_MS);
    const settle = (message: MetricsMessage): void => {
      clearTimeout(timer);
      waiting.delete(id);
      if (message.text !== undefined) resolve(message.text);
      else reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
    };
    waiting.set(id, settle);
    process.send!({ type: METRICS_MESSAGE, id });
  });
}
