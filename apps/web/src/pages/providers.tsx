export function ProvidersPage() {
  return <p>Coming soon.</p>;
}
