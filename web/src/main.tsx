import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import './app/console.css';
import { setNonce } from 'get-nonce';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';

// The server's Content-Security-Policy allows only styles carrying this request's nonce (and the
// stylesheet files); Mantine's and react-remove-scroll's run-time <style> elements get it from here.
const nonce = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce || undefined;
if (nonce) setNonce(nonce);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App nonce={nonce} />
  </StrictMode>,
);
