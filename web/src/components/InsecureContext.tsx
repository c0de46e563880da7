/** Shown when the page was opened over plain http on another address: the browser then withholds its crypto. */
export function InsecureContext() {
  const here = window.location;
  const localhost = `http://localhost${here.port ? `:${here.port}` : ''}${here.pathname}`;
  const https = `https://${here.hostname}${here.pathname}`;
  return (
    <main class="notice-page" aria-labelledby="insecure-title">
      <h1 id="insecure-title">This page needs a secure connection</h1>
      <p>
        SecureComm encrypts every message in your browser, and browsers only allow that on a secure connection. You opened{' '}
        <strong>{here.origin}</strong>, which is plain http on another computer's address, so it cannot work here.
      </p>
      <h2>What to do</h2>
      <ul>
        <li>
          Open the <strong>https</strong> address of this server, for example <code>{https}</code>.
        </li>
        <li>
          On the computer that runs the server, open <code>{localhost}</code> instead.
        </li>
        <li>
          If you run this server: give it a certificate (the <code>TLS_CERT</code> and <code>TLS_KEY</code> settings, e.g. from Let's Encrypt) or put an
          https reverse proxy in front of it. The README explains both. A server that listens on a public address asks new people for an invite code:
          make one with <code>npm run admin -- create-token</code> and hand it out (or set <code>REGISTRATION=open</code>); guests still join rooms by link.
        </li>
      </ul>
    </main>
  );
}
