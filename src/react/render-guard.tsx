import { Component, type ReactNode } from 'react';
import { ErrorView } from './status-views.js';

interface RenderGuardProps {
  locale: string;
  /** The root element's class names (the component's own, so the error keeps its place and style). */
  className: string;
  children: ReactNode;
}

interface RenderGuardState {
  failed: boolean;
  error: unknown;
}

/**
 * Keeps a render error inside the component: without it React unmounts the whole tree, so a
 * component fed something nobody foresaw (answers are checked by `parseResponse`, but props such as
 * an unknown `timeZone` are not) would take the host page down with it. Shows the error state with
 * a retry that renders the component again.
 */
export class RenderGuard extends Component<RenderGuardProps, RenderGuardState> {
  override state: RenderGuardState = { failed: false, error: undefined };

  static getDerivedStateFromError(error: unknown): RenderGuardState {
    return { failed: true, error };
  }

  private readonly retry = (): void => this.setState({ failed: false, error: undefined });

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <section className={this.props.className} data-state="error">
        <ErrorView locale={this.props.locale} error={this.state.error} onRetry={this.retry} />
      </section>
    );
  }
}
