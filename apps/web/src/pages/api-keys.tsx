export function ApiKeysPage() {
  return <p>Coming soon.</p>;
}
