export function SourcesPage() {
  return <p>Coming soon.</p>;
}
