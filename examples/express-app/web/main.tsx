import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'token-limits/react/styles.css';
import { App } from './app.js';
import './page.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
