/**
 * Entry point: checks that the browser gives this page what the encryption needs (a secure context), makes sure
 * only one tab runs the client (tab-lock.ts), then renders the app.
 */
import { render } from 'preact';
import './styles.css';
import { App } from './components/App';
import { InsecureContext } from './components/InsecureContext';
import { OtherTab } from './components/OtherTab';
import { acquireTabLock } from './session/tab-lock';

const root = document.getElementById('app')!;

if (!window.isSecureContext || !window.crypto?.subtle) {
  render(<InsecureContext />, root);
} else {
  acquireTabLock(
    () => render(<App />, root),
    () => render(<OtherTab />, root),
  );
}
