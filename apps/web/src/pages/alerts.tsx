import { AlertsTable } from '../components/alerts-table.js';
import { PageHeader } from '../components/layout.js';

export function AlertsPage() {
  return (
    <>
      <PageHeader title="Alerts" subtitle="Every alert ingested from your SIEMs, newest first." />
      <AlertsTable />
    </>
  );
}
