export function ContextDocDetailPage() {
  return <p>Coming soon.</p>;
}
