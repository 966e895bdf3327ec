import type { ReactNode } from 'react';
import { LogList } from '../../app/App.js';
import { useApp } from '../../state/appState.js';

export function LogsPanel(): ReactNode {
  const logs = useApp((s) => s.logs);
  const current = useApp((s) => s.log?.id);
  if (logs.length === 0) return <div className="muted pad">No logs yet.</div>;
  return <LogList logs={logs} currentId={current} />;
}
