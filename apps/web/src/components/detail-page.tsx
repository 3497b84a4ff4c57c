import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, type One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import type { Get } from '../api/queries/resource.js';
import { ConfirmButton } from './confirm-button.js';
import { ErrorBanner, Loading } from './feedback.js';
import { PageHeader, type TabDef, Tabs } from './layout.js';

/** What a detail page needs of its resource (a `resource()` from `api/queries`). */
export interface DetailResource<T> {
  path(uuid: string): string;
  all: readonly unknown[];
  detail(uuid: string): Get<One<T>>;
}

export interface DetailPageProps<T> {
  resource: DetailResource<T>;
  uuid: string;
  /** The list page: where a delete lands, and the way back from a missing item. */
  back: { to: string; label: string };
  header(item: T): { title: ReactNode; subtitle: ReactNode; actions?: ReactNode };
  /** Deleting, behind a confirmation; `allowed` false (builtin, system) hides the button. */
  remove?: { title: string; warning: ReactNode; allowed?(item: T): boolean };
  tabsLabel: string;
  tabs(item: T): TabDef[];
  /** A side column beside the tabs. */
  aside?(item: T): ReactNode;
  /** Anything else the page renders once loaded (dialogs). */
  extra?(item: T): ReactNode;
  /** An error of the page's own header actions, shown where a failed delete is. */
  error?: Error | null;
}

/**
 * One item of a resource: loading, error and not-found states, the header with delete behind a
 * confirmation (then back to the list), and the tabs with an optional side column.
 */
export function DetailPage<T>(props: DetailPageProps<T>) {
  const { resource, uuid, back } = props;
  const query = useQuery(resource.detail(uuid));
  const navigate = useNavigate();
  const remove = useApiMutation<void, void>(() => ({ method: 'DELETE', path: resource.path(uuid) }), {
    invalidates: [resource.all],
    onSuccess: () => void navigate(back.to),
  });
  if (query.error) {
    return (
      <>
        <ErrorBanner error={query.error} />
        {query.error instanceof ApiError && query.error.status === 404 && (
          <p>
            <Link to={back.to}>Back to {back.label}</Link>
          </p>
        )}
      </>
    );
  }
  const item = query.data?.data;
  if (!item) return <Loading />;
  const { title, subtitle, actions } = props.header(item);
  const removal = props.remove && (props.remove.allowed?.(item) ?? true) ? props.remove : undefined;
  const tabs = <Tabs label={props.tabsLabel} tabs={props.tabs(item)} />;
  return (
    <>
      <PageHeader
        title={title}
        subtitle={subtitle}
        actions={
          (actions || removal) && (
            <>
              {actions}
              {removal && (
                <ConfirmButton label="Delete" title={removal.title} onConfirm={() => remove.mutate()}>
                  {removal.warning}
                </ConfirmButton>
              )}
            </>
          )
        }
      />
      <ErrorBanner error={props.error ?? remove.error} />
      {props.aside ? (
        <div className="layout-detail">
          <div>{tabs}</div>
          {props.aside(item)}
        </div>
      ) : (
        tabs
      )}
      {props.extra?.(item)}
    </>
  );
}
