export function ContextDocsPage() {
  return <p>Coming soon.</p>;
}
