import { Component, type ReactNode } from 'react';

/** A page that throws while rendering shows the error instead of blanking the whole console. */
export class ErrorBoundary extends Component<
  { children: ReactNode; resetKey: string },
  { error: Error | null; key: string }
> {
  override state = { error: null as Error | null, key: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: { resetKey: string }, state: { key: string }) {
    // Navigating elsewhere clears the error.
    return props.resetKey === state.key ? null : { error: null, key: props.resetKey };
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="banner error" role="alert">
        <strong>This page failed to render.</strong> {this.state.error.message}{' '}
        <button type="button" className="small" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
