/** The request target as the whole proxy uses it: own-route matching, exclusions, the record and forwarding. */
export type Target = { ok: true; url: string } | { ok: false; message: string };

const ABSOLUTE = /^https?:\/\/[^/?#]*/i;
/** A segment that is, or decodes to, "." or "..", also with path parameters (Tomcat and Jetty drop ";..." first). */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}(?:(?:;|%3b).*)?$/i;
/** Encoded slash or backslash, or a raw backslash: servers disagree on whether they separate segments. */
const AMBIGUOUS_SEPARATOR = /%2f|%5c|\\/i;

/**
 * The one normalization at arrival: an absolute-form target is reduced to its path and query (taken as sent, not
 * resolved by a URL parser); a target whose meaning depends on who reads it (dot segments, encoded or backslash
 * separators, a fragment) is refused rather than guessed, so the proxy and the upstream can never see two different paths.
 */
export function parseTarget(url: string | undefined): Target {
  if (!url) return refused('request target must be a path (/...) or an absolute http(s) URL');
  let origin = url;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const scheme = ABSOLUTE.exec(url);
    if (!scheme) return refused('request target must be a path (/...) or an absolute http(s) URL');
    origin = url.slice(scheme[0].length);
    if (origin === '' || origin[0] === '?') origin = `/${origin}`;
    if (origin[0] !== '/') return refused('request target must be a path (/...) or an absolute http(s) URL');
  }
  // A fragment is never sent: a server that cuts the path at '#' routes what the proxy did not record.
  if (origin.includes('#')) return refused('request target must not contain # (a fragment is not part of a request)');
  const q = origin.indexOf('?');
  const path = q === -1 ? origin : origin.slice(0, q);
  if (AMBIGUOUS_SEPARATOR.test(path)) return refused('request path must not contain encoded slashes or backslashes');
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    return refused('request path must not contain dot segments (. or .., plain or percent-encoded)');
  }
  return { ok: true, url: origin };
}

function refused(message: string): Target {
  return { ok: false, message };
}
