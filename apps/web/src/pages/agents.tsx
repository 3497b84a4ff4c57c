export function AgentsPage() {
  return <p>Coming soon.</p>;
}
