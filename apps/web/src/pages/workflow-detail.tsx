export function WorkflowDetailPage() {
  return <p>Coming soon.</p>;
}
