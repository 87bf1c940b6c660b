import { Component, type ReactNode } from 'react';
import { ErrorView } from './status-views.js';

interface RenderGuardProps {
  locale: string;
  /** The root element's class names (the component's own, so the error keeps its place and style). */
  className: string;
  /** The component's props: after an error, a change to one of their values renders it again. */
  componentProps: object;
  children: ReactNode;
}

interface RenderGuardState {
  failed: boolean;
  error: unknown;
  propsKey: string;
}

/** The props' plain values (functions and objects left out: a new one on each render is no change). */
function propsKeyOf(props: object): string {
  return JSON.stringify(Object.entries(props).filter(([, v]) => v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)));
}

/**
 * Keeps a render error inside the component: without it React unmounts the whole tree, so a
 * component fed something nobody foresaw (answers are checked by `parseResponse`, but props such as
 * an unknown `timeZone` are not) would take the host page down with it. Shows the error state with
 * a retry that renders the component again; a change to a prop's value does too.
 */
export class RenderGuard extends Component<RenderGuardProps, RenderGuardState> {
  override state: RenderGuardState = { failed: false, error: undefined, propsKey: propsKeyOf(this.props.componentProps) };

  static getDerivedStateFromError(error: unknown): Partial<RenderGuardState> {
    return { failed: true, error };
  }

  /** A prop that caused the error may have been corrected (an unknown `timeZone`): render again. */
  static getDerivedStateFromProps(props: RenderGuardProps, state: RenderGuardState): Partial<RenderGuardState> | null {
    const propsKey = propsKeyOf(props.componentProps);
    return propsKey === state.propsKey ? null : { failed: false, error: undefined, propsKey };
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
