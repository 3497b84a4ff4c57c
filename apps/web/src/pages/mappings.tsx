export function MappingsPage() {
  return <p>Coming soon.</p>;
}
