export function RuleDetailPage() {
  return <p>Coming soon.</p>;
}
