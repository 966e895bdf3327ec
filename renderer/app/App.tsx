import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { LogEntry } from '../../src/api/contract.js';
import { appStore, useApp } from '../state/appState.js';
import { formatBytes, formatDuration } from './format.js';
import { HelpOverlay } from './HelpOverlay.js';
import { Icon } from './icons.js';
import { Layout, useEffectiveLayout } from './Layout.js';
import { layoutActions, layoutStore, resetLayout } from './layoutState.js';
import { useSession } from './sessionContext.js';
import { installShortcuts } from './shortcuts.js';
import { useStore } from '../state/store.js';

const noFocus = (e: React.MouseEvent) => e.preventDefault();

export function App(): ReactNode {
  const session = useSession();
  const log = useApp((s) => s.log);
  const opening = useApp((s) => s.opening);
  const dragging = useFileDrop((file) => void session.openDropped(file));

  useEffect(() => installShortcuts(session), [session]);

  return (
    <div className="app">
      <Toolbar />
      <ErrorBanner />
      {log ? <Layout /> : <Welcome busy={opening} />}
      <Notices />
      <HelpOverlay />
      {dragging && (
        <div className="drop-overlay" data-testid="drop-overlay">
          <div className="drop-card">
            <div className="drop-icon">⇩</div>
            Drop a drive log to open it
            <small>MCAP · ROS bag · KITTI · nuScenes</small>
          </div>
        </div>
      )}
    </div>
  );
}

/** Window-wide file drag and drop; returns whether files are being dragged over the window. */
function useFileDrop(onFile: (file: File) => void): boolean {
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);
  const onFileRef = useRef(onFile);
  onFileRef.current = onFile;
  useEffect(() => {
    const hasFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current++;
      setDragging(true);
    };
    const over = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = 'copy';
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current = 0;
      setDragging(false);
      const file = e.dataTransfer?.files[0];
      if (file) onFileRef.current(file);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);
  return dragging;
}

function OpenForm({ autoFocus = false, compact = false }: { autoFocus?: boolean; compact?: boolean }): ReactNode {
  const session = useSession();
  const opening = useApp((s) => s.opening);
  const [path, setPath] = useState('');
  return (
    <form
      className={`open-form${compact ? ' compact' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        // Hand the keyboard back to the shortcuts once the path is submitted.
        (document.activeElement as HTMLElement | null)?.blur();
        void session.openPath(path);
      }}
    >
      <input
        type="text"
        data-testid="path-input"
        placeholder="Path to a log on the server (file or folder)…"
        value={path}
        autoFocus={autoFocus}
        spellCheck={false}
        onChange={(e) => setPath(e.target.value)}
        aria-label="Log path"
      />
      <button type="submit" className="primary" data-testid="open-button" disabled={!path.trim() || !!opening}>
        Open
      </button>
      {session.connection.showOpenDialog && (
        <button type="button" onMouseDown={noFocus} onClick={() => void session.openWithDialog()} disabled={!!opening}>
          Open…
        </button>
      )}
    </form>
  );
}

function Toolbar(): ReactNode {
  const session = useSession();
  const log = useApp((s) => s.log);
  const sidebarOpen = useStore(layoutStore, (s) => s.layout.sidebarOpen);
  return (
    <header className="toolbar">
      <button className={`icon-button${sidebarOpen ? ' active' : ''}`} title="Toggle the sidebar" onMouseDown={noFocus} onClick={() => layoutActions.toggleSidebar()} aria-label="Toggle the sidebar">
        <Icon name="sidebar" size={15} />
      </button>
      <div className="brand">
        <span className="brand-mark" aria-hidden>
          ◈
        </span>
        Sightline
      </div>
      {log && (
        <div className="log-chip" title={log.path}>
          <span className="log-name" data-testid="log-name">
            {log.name}
          </span>
          <span className="badge">{log.format.toUpperCase()}</span>
          <span className="muted">
            {log.frameCount} frames · {formatDuration(log.durationS)} · {formatBytes(log.sizeBytes)}
          </span>
          <button className="chip-close" title="Close this log" onMouseDown={noFocus} onClick={() => void session.closeLog()} aria-label="Close this log">
            <Icon name="close" size={10} />
          </button>
        </div>
      )}
      <div className="spacer" />
      <TaskProgress />
      {log && <OpenForm compact />}
      <PanelsMenu />
      <button className="icon-button" title="Keyboard shortcuts (?)" onMouseDown={noFocus} onClick={() => appStore.set((s) => ({ helpOpen: !s.helpOpen }))}>
        ?
      </button>
    </header>
  );
}

function PanelsMenu(): ReactNode {
  const { layout, instances } = useEffectiveLayout();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    const escape = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        setOpen(false);
      }
    };
    window.addEventListener('mousedown', close);
    window.addEventListener('keydown', escape, true);
    return () => {
      window.removeEventListener('mousedown', close);
      window.removeEventListener('keydown', escape, true);
    };
  }, [open]);
  return (
    <div className="menu" ref={ref}>
      <button onMouseDown={noFocus} onClick={() => setOpen(!open)} aria-expanded={open}>
        Panels ▾
      </button>
      {open && (
        <div className="menu-popover" role="menu">
          {instances.map((instance) => {
            const visible = !layout.hidden.includes(instance.key);
            return (
              <label key={instance.key} className="menu-item">
                <input
                  type="checkbox"
                  checked={visible}
                  onChange={() => (visible ? layoutActions.hide(layout, instance.key) : layoutActions.show(layout, instance.key))}
                />
                {instance.title}
              </label>
            );
          })}
          <div className="menu-sep" />
          <button className="menu-item" onClick={() => (resetLayout(), setOpen(false))}>
            Reset layout
          </button>
        </div>
      )}
    </div>
  );
}

/** Running tasks (progress events) and log opening: a label in the toolbar and a bar along its edge. */
function TaskProgress(): ReactNode {
  const tasks = useApp((s) => s.tasks);
  const opening = useApp((s) => s.opening);
  const running = Object.values(tasks).filter((t) => t.state === 'running');
  const task = running[0];
  if (!task && !opening) return null;
  const fraction = task && task.total > 0 ? Math.min(1, task.done / task.total) : undefined;
  const label = task
    ? `${task.label}${fraction !== undefined ? ` — ${Math.round(fraction * 100)}%` : ''}${task.etaS !== undefined && task.etaS > 1 ? ` · ${Math.round(task.etaS)} s left` : ''}${running.length > 1 ? ` (+${running.length - 1} more)` : ''}`
    : `Opening ${opening}…`;
  return (
    <div className="task-progress" data-testid="progress" role="progressbar" aria-label={label} aria-valuenow={fraction !== undefined ? Math.round(fraction * 100) : undefined}>
      <span className="spinner" />
      <span className="task-label" title={label}>
        {label}
      </span>
      <div className="task-track">
        <div className={`task-bar${fraction === undefined ? ' indeterminate' : ''}`} style={fraction !== undefined ? { width: `${fraction * 100}%` } : undefined} />
      </div>
    </div>
  );
}

function ErrorBanner(): ReactNode {
  const session = useSession();
  const error = useApp((s) => s.error);
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-testid="error-banner">
      <span className="error-icon">!</span>
      <span className="error-text">{error}</span>
      <button onMouseDown={noFocus} onClick={() => session.clearError()} title="Dismiss" aria-label="Dismiss">
        <Icon name="close" size={10} />
      </button>
    </div>
  );
}

function Notices(): ReactNode {
  const session = useSession();
  const notices = useApp((s) => s.notices);
  useEffect(() => {
    if (notices.length === 0) return;
    const timers = notices.map((n) => setTimeout(() => session.dismissNotice(n.id), n.level === 'error' ? 12000 : 6000));
    return () => timers.forEach(clearTimeout);
  }, [notices, session]);
  if (notices.length === 0) return null;
  return (
    <div className="notices">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`}>
          <span>{n.message}</span>
          <button onClick={() => session.dismissNotice(n.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

function Welcome({ busy }: { busy: string | null }): ReactNode {
  const logs = useApp((s) => s.logs);
  return (
    <main className="welcome">
      <div className="welcome-card">
        <h1>Open a drive log</h1>
        <p className="muted">MCAP, ROS 1 bag, KITTI or nuScenes — type a path on the server, or drop a file anywhere on this window.</p>
        <OpenForm autoFocus />
        {busy && (
          <div className="welcome-busy">
            <span className="spinner" /> Opening {busy}…
          </div>
        )}
        <h2>Recent and registered logs</h2>
        {logs.length === 0 ? <p className="muted">No logs yet.</p> : <LogList logs={logs} />}
      </div>
    </main>
  );
}

export function LogList({ logs, currentId }: { logs: LogEntry[]; currentId?: string }): ReactNode {
  const session = useSession();
  const opening = useApp((s) => s.opening);
  return (
    <ul className="log-list" data-testid="log-list">
      {logs.map((entry) => (
        <li key={entry.logId}>
          <button
            className={`log-entry${entry.logId === currentId ? ' current' : ''}`}
            onMouseDown={noFocus}
            onClick={() => void session.openEntry(entry)}
            disabled={!!opening || entry.logId === currentId}
            title={entry.path}
          >
            <span className="log-entry-name">{entry.name}</span>
            <span className="badge">{entry.format.toUpperCase()}</span>
            {entry.open && <span className="dot-open" title="Open on the server" />}
            <span className="log-entry-path">{`\u200e${entry.path}\u200e`}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
