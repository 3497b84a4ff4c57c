import ReactMarkdown from 'react-markdown';
import remarkGfm from 'remark-gfm';

/** Rendered markdown (GFM); raw HTML is not rendered (documents may hold attacker-influenced text). */
export function Markdown({ children }: { children: string | null | undefined }) {
  if (!children) return <p className="muted">No content.</p>;
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]}>{children}</ReactMarkdown>
    </div>
  );
}
