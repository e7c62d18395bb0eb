import { z } from 'zod';
import { parseCheckpointText } from '../chain/checkpoint.js';
import { consistencyProof, inclusionProof, leafHash } from '../chain/merkle.js';
import type { Chain } from '../chain/service.js';
import type { RequestContext } from '../pipeline/context.js';
import { isDenial, organizationScope } from './access.js';
import { idParam, integerParam, parseParams } from './params.js';
import { sendApiError, sendApiJson } from './respond.js';

/** The Merkle log's endpoints, under the audit logs path. */
export const CHECKPOINT_PATH = '/checkpoint';
export const PROOF_PATH = '/proof';

const proofParams = z.strictObject({
  id: idParam.optional(),
  from: integerParam(1).optional(),
  to: integerParam(1).optional(),
});

type Latest = { size: number; note: string };

const b64 = (hashes: Buffer[]): string[] => hashes.map((h) => h.toString('base64'));

function success(ctx: RequestContext, data: unknown): void {
  sendApiJson(ctx, { code: 200, data, message: 'success', requestId: ctx.requestId });
}

function checkpointData(latest: Latest) {
  const parsed = parseCheckpointText(latest.note)!;
  return { checkpoint: latest.note, origin: parsed.origin, treeSize: latest.size, rootHash: parsed.root.toString('base64') };
}

/** The newest checkpoint, or a 404 before the first (made seconds after the first record). */
function latestOr404(ctx: RequestContext, chain: Chain): Latest | null {
  const latest = chain.tree.latestCheckpoint();
  if (!latest) sendApiError(ctx, 404, 'no checkpoint yet: the first is signed a few seconds after the first record is committed');
  return latest;
}

/** GET /v1/audit-logs/checkpoint: the newest signed checkpoint (C2SP tlog-checkpoint, signed note). */
export function answerCheckpoint(ctx: RequestContext, chain: Chain): void {
  const latest = latestOr404(ctx, chain);
  if (latest) success(ctx, checkpointData(latest));
}

/** GET /v1/audit-logs/proof: ?id= an inclusion proof against the newest checkpoint; ?from=&to= a consistency proof. */
export function answerProof(ctx: RequestContext, chain: Chain): void {
  const parsed = parseParams(ctx.search, proofParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const { id, from, to } = parsed.value;
  const byId = id !== undefined;
  if (byId === (from !== undefined || to !== undefined) || (!byId && (from === undefined || to === undefined))) {
    return sendApiError(ctx, 400, 'give either id, or both from and to');
  }
  const latest = latestOr404(ctx, chain);
  if (!latest) return;
  if (byId) return inclusion(ctx, chain, latest, id);
  return consistency(ctx, chain, latest, from!, to!);
}

function inclusion(ctx: RequestContext, chain: Chain, latest: Latest, id: string): void {
  const scope = organizationScope(ctx.principal, undefined, 'id');
  if (isDenial(scope)) return sendApiError(ctx, scope.status, scope.message);
  const seq = chain.tree.seqOf(id);
  const [record] = seq === undefined ? [] : chain.log.readRecords(seq - 1, 1);
  // audit:read:all sees every leaf, pruned ones too; others only their organization's records still stored.
  const visible = scope.organizationId === undefined || (record !== undefined && record.seq === seq && record.organizationId === scope.organizationId);
  if (seq === undefined || !visible) return sendApiError(ctx, 404, `id: no record ${id} in the log that this credential may read`);
  if (seq > latest.size) return sendApiError(ctx, 404, `id: record ${id} is not in a checkpoint yet; ask again in a few seconds`);
  const [entry] = chain.log.readLog(seq - 1, 1);
  const leaf = chain.tree.leaf(seq)!;
  success(ctx, {
    id,
    leafIndex: seq - 1,
    leafHash: leaf.hash.toString('base64'),
    leaf: entry?.seq === seq && leafHash(entry.bytes).equals(leaf.hash) ? entry.bytes.toString('base64') : null,
    inclusionProof: b64(inclusionProof(seq - 1, latest.size, chain.tree.subtree)),
    ...checkpointData(latest),
  });
}

function consistency(ctx: RequestContext, chain: Chain, latest: Latest, from: number, to: number): void {
  if (from > to) return sendApiError(ctx, 400, 'from must not be greater than to');
  if (to > latest.size) return sendApiError(ctx, 400, `to must be at most ${latest.size}, the newest checkpoint's tree size`);
  success(ctx, {
    from,
    to,
    consistencyProof: b64(consistencyProof(from, to, chain.tree.subtree)),
    ...checkpointData(latest),
  });
}
