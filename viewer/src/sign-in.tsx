import { useState } from 'preact/hooks';
import { getData, type ApiPaths } from './api.js';

interface Props {
  paths: ApiPaths;
  onSignIn: (key: string) => void;
}

/** Asks for a key with audit:read and keeps it only once the audit API has accepted it. */
export function SignIn({ paths, onSignIn }: Props) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return setError('Enter an API key or bearer token.');
    setBusy(true);
    setError(null);
    try {
      await getData(paths.records, new URLSearchParams({ limit: '1' }), candidate);
      onSignIn(candidate);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <h1>Audit trail</h1>
        <p id="sign-in-help">Sign in with an API key or bearer token that has the <code>audit:read</code> scope.
          It is kept in this tab only (sessionStorage) and sent as a header to the audit API.</p>
        <label for="api-key">API key or token</label>
        <input id="api-key" type="password" autocomplete="off" spellcheck={false} value={key}
          onInput={(e) => setKey(e.currentTarget.value)} autoFocus />
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
