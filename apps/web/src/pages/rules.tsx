export function RulesPage() {
  return <p>Coming soon.</p>;
}
