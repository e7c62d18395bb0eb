import type { IncomingMessage } from 'node:http';
import { RouteClassifier } from '../audit/route.js';
import type { Config } from '../config/schema.js';
import { BodyCapture, textLikeMatcher } from './capture.js';

interface BodyLimits {
  requestBodyMaxBytes: number;
  errorBodyMaxBytes: number;
}

/** Decides per request what is recorded at all and how much of which body is kept. */
export class CapturePolicy {
  readonly isTextLike: (contentType: string | undefined) => boolean;
  private readonly isExcluded: (path: string) => boolean;
  private readonly defaults: BodyLimits;
  private readonly overrides: { matches: (path: string) => boolean; limits: BodyLimits }[];

  constructor(capture: Config['capture']) {
    this.isTextLike = textLikeMatcher(capture.contentTypes);
    this.isExcluded = RouteClassifier.matcher(capture.exclude);
    this.defaults = limitsOf(capture.requestBody, capture.responseBody);
    this.overrides = capture.overrides.map((o) => ({
      matches: RouteClassifier.matcher([o.pattern]),
      limits: limitsOf({ ...capture.requestBody, ...o.requestBody }, { ...capture.responseBody, ...o.responseBody }),
    }));
  }

  excluded(path: string): boolean {
    return this.isExcluded(path);
  }

  limitsFor(path: string): BodyLimits {
    if (this.overrides.length === 0) return this.defaults;
    return this.overrides.find((o) => o.matches(path))?.limits ?? this.defaults;
  }

  /** A capture for this request's body, or null when it is off, empty or not text-like. */
  requestBodyCapture(req: IncomingMessage, limits: BodyLimits): BodyCapture | null {
    if (limits.requestBodyMaxBytes === 0 || !this.isTextLike(req.headers['content-type'])) return null;
    return new BodyCapture(limits.requestBodyMaxBytes);
  }
}

function limitsOf(request: { enabled: boolean; maxBytes: number }, response: { enabled: boolean; maxBytes: number }): BodyLimits {
  return {
    requestBodyMaxBytes: request.enabled ? request.maxBytes : 0,
    errorBodyMaxBytes: response.enabled ? response.maxBytes : 0,
  };
}
