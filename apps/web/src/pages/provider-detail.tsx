export function ProviderDetailPage() {
  return <p>Coming soon.</p>;
}
