import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './api/index.js';
import { App } from './app/App.js';
import { SessionContext } from './app/sessionContext.js';
import { installTestHooks } from './app/testHooks.js';
import { registerBuiltinPanels } from './panels/index.js';
import { Session } from './state/session.js';
import './styles/app.css';

registerBuiltinPanels();
const session = new Session(connect());
session.start();
installTestHooks(session);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionContext.Provider value={session}>
      <App />
    </SessionContext.Provider>
  </StrictMode>,
);
