export function AgentDetailPage() {
  return <p>Coming soon.</p>;
}
