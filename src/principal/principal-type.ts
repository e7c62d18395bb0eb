/** Who made a request, as far as the proxy could tell: apart from principal.ts so the viewer can import it without Node's types. */
export type PrincipalType = 'api_key' | 'user' | 'service_account' | 'anonymous';
