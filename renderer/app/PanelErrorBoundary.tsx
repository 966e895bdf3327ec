import { Component, type ErrorInfo, type ReactNode } from 'react';

/** One broken panel must not take the workbench down: it shows its error and a retry button. */
export class PanelErrorBoundary extends Component<{ title: string; children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`[sightline] panel "${this.props.title}" crashed`, error, info.componentStack);
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <div className="panel-error">
        <strong>{this.props.title} failed</strong>
        <code>{this.state.error.message}</code>
        <button onClick={() => this.setState({ error: null })}>Retry</button>
      </div>
    );
  }
}
