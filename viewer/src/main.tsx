import { render } from 'preact';
import { useState } from 'preact/hooks';
import { apiPaths } from './api.js';
import { SignIn } from './sign-in.js';
import { Viewer } from './viewer.js';
import './app.css';

/** sessionStorage only: the key lives as long as the tab, never in localStorage, a cookie or a URL. */
const KEY_ITEM = 'audit-proxy.key';

function App() {
  const paths = apiPaths();
  const [key, setKey] = useState<string | null>(() => sessionStorage.getItem(KEY_ITEM));
  const signIn = (accepted: string) => {
    sessionStorage.setItem(KEY_ITEM, accepted);
    setKey(accepted);
  };
  const signOut = () => {
    sessionStorage.removeItem(KEY_ITEM);
    setKey(null);
  };
  return key === null ? <SignIn paths={paths} onSignIn={signIn} /> : <Viewer paths={paths} apiKey={key} onSignOut={signOut} />;
}

render(<App />, document.getElementById('app')!);
