import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { resource } from '../api/queries/resource.js';
import { createTestQueryClient, one, stubFetch } from '../test/render.js';
import { DetailPage } from './detail-page.js';
import { Card } from './layout.js';

interface Widget {
  uuid: string;
  name: string;
  is_system: boolean;
}
const widgets = resource<Widget>('widgets');
const W1 = '00000000-0000-7000-8000-0000000000d1';
const notFound = { status: 404, body: { error: { code: 'NOT_FOUND', message: 'Widget not found.' }, request_id: 'r' } };

function WidgetPage({ uuid }: { uuid: string }) {
  return (
    <DetailPage
      resource={widgets}
      uuid={uuid}
      back={{ to: '/widgets', label: 'widgets' }}
      header={(w) => ({ title: w.name, subtitle: <span>subtitle of {w.name}</span> })}
      remove={{ title: 'Delete this widget?', warning: 'It is gone for good.', allowed: (w) => !w.is_system }}
      tabsLabel="Widget sections"
      tabs={(w) => [
        { id: 'one', label: 'One', render: () => <p>first tab of {w.name}</p> },
        { id: 'two', label: 'Two', render: () => <p>second tab</p> },
      ]}
      aside={(w) => <Card title="Facts">{w.uuid}</Card>}
    />
  );
}

function renderWidget(routes: Record<string, unknown>) {
  const calls = stubFetch(routes);
  render(
    <QueryClientProvider client={createTestQueryClient()}>
      <MemoryRouter initialEntries={[`/widgets/${W1}`]}>
        <Routes>
          <Route path="/widgets" element={<p>All widgets</p>} />
          <Route path="/widgets/:uuid" element={<WidgetPage uuid={W1} />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return calls;
}

describe('DetailPage', () => {
  it('shows the loading state until the item arrives, then its header, tabs and side column', async () => {
    let answer: (body: unknown) => void = () => {};
    renderWidget({ [`GET /v1/widgets/${W1}`]: () => new Promise((done) => (answer = done)) });
    expect((await screen.findByRole('status')).textContent).toBe('Loading…');
    expect(screen.queryByRole('heading', { level: 1 })).toBeNull();
    answer(one({ uuid: W1, name: 'Widget one', is_system: false }));
    expect((await screen.findByRole('heading', { level: 1 })).textContent).toBe('Widget one');
    expect(screen.getByText('subtitle of Widget one')).toBeTruthy();
    expect(screen.getByRole('tablist', { name: 'Widget sections' })).toBeTruthy();
    expect(screen.getByRole('tabpanel').textContent).toBe('first tab of Widget one');
    expect(screen.getByRole('heading', { name: 'Facts' })).toBeTruthy();
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('a missing item says so and links back to the list; nothing to delete', async () => {
    const user = userEvent.setup();
    renderWidget({ [`GET /v1/widgets/${W1}`]: notFound });
    expect((await screen.findByRole('alert')).textContent).toContain('Widget not found.');
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
    await user.click(screen.getByRole('link', { name: 'Back to widgets' }));
    expect(await screen.findByText('All widgets')).toBeTruthy();
  });

  it('another error is shown without the way back (it is not about the item being gone)', async () => {
    renderWidget({
      [`GET /v1/widgets/${W1}`]: {
        status: 500,
        body: { error: { code: 'INTERNAL', message: 'boom' }, request_id: 'r' },
      },
    });
    expect((await screen.findByRole('alert')).textContent).toContain('boom');
    expect(screen.queryByRole('link', { name: 'Back to widgets' })).toBeNull();
  });

  it('delete asks first; Cancel keeps the item; confirming deletes it and returns to the list', async () => {
    const user = userEvent.setup();
    const calls = renderWidget({
      [`GET /v1/widgets/${W1}`]: one({ uuid: W1, name: 'Widget one', is_system: false }),
      [`DELETE /v1/widgets/${W1}`]: { status: 204 },
    });
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete this widget?' });
    expect(within(dialog).getByText('It is gone for good.')).toBeTruthy();
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(
      within(screen.getByRole('dialog', { name: 'Delete this widget?' })).getByRole('button', { name: 'Delete' }),
    );
    expect(await screen.findByText('All widgets')).toBeTruthy();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual([`/v1/widgets/${W1}`]);
  });

  it('a refused delete stays on the page and says why', async () => {
    const user = userEvent.setup();
    renderWidget({
      [`GET /v1/widgets/${W1}`]: one({ uuid: W1, name: 'Widget one', is_system: false }),
      [`DELETE /v1/widgets/${W1}`]: {
        status: 409,
        body: { error: { code: 'CONFLICT', message: 'Widget is in use.' }, request_id: 'r' },
      },
    });
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    await user.click(
      within(screen.getByRole('dialog', { name: 'Delete this widget?' })).getByRole('button', { name: 'Delete' }),
    );
    expect((await screen.findByRole('alert')).textContent).toContain('Widget is in use.');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Widget one');
  });

  it('an item that may not be deleted (system) has no Delete button', async () => {
    renderWidget({ [`GET /v1/widgets/${W1}`]: one({ uuid: W1, name: 'Builtin widget', is_system: true }) });
    await screen.findByRole('heading', { name: 'Builtin widget' });
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });
});
