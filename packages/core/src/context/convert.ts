import mammoth from 'mammoth';
import TurndownService from 'turndown';
import { ServiceError } from '../infra/errors.js';

/** An uploaded file, as the transport received it. */
export interface UploadedFile {
  filename: string;
  /** The part's declared media type (may be empty or `application/octet-stream`). */
  contentType: string;
  bytes: Uint8Array;
}

export type DocumentFormat = 'pdf' | 'docx' | 'html' | 'text' | 'markdown';

const BY_TYPE: Record<string, DocumentFormat> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
};

const BY_EXTENSION: Record<string, DocumentFormat> = {
  pdf: 'pdf',
  docx: 'docx',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  txt: 'text',
  text: 'text',
  md: 'markdown',
  markdown: 'markdown',
};

export const SUPPORTED_FORMATS = 'PDF, DOCX, HTML, plain text and Markdown';

function unsupported(file: UploadedFile, reason: string): ServiceError {
  return new ServiceError('UNSUPPORTED_FORMAT', `Cannot convert "${file.filename}" to markdown: ${reason}`, {
    filename: file.filename,
    content_type: file.contentType || null,
    supported: SUPPORTED_FORMATS,
  });
}

/** The format of a file: its extension first, then its declared type, then its magic bytes. */
export function detectFormat(file: UploadedFile): DocumentFormat | null {
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.filename)?.[1]?.toLowerCase();
  if (extension && BY_EXTENSION[extension]) return BY_EXTENSION[extension];
  const type = file.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (BY_TYPE[type]) return BY_TYPE[type];
  const head = new TextDecoder('latin1').decode(file.bytes.subarray(0, 5));
  if (head === '%PDF-') return 'pdf';
  return null;
}

function htmlToMarkdown(html: string): string {
  const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
  turndown.remove(['script', 'style', 'noscript', 'head', 'title', 'iframe', 'object', 'embed', 'template']);
  return turndown.turndown(html);
}

function utf8(file: UploadedFile): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(file.bytes).replace(/^\uFEFF/, '');
  } catch {
    throw unsupported(file, 'the file is not UTF-8 text.');
  }
}

/**
 * Convert an uploaded document to markdown: PDF text (pages joined), DOCX via HTML, HTML (scripts
 * and styles dropped), text and Markdown as they are. The original file is not kept. Anything
 * else, a file that cannot be parsed, or one without text is 422 `UNSUPPORTED_FORMAT`.
 */
export async function convertToMarkdown(file: UploadedFile): Promise<{ format: DocumentFormat; markdown: string }> {
  const format = detectFormat(file);
  if (format === null) throw unsupported(file, `supported formats are ${SUPPORTED_FORMATS}.`);
  let markdown: string;
  try {
    switch (format) {
      case 'pdf': {
        const { extractText, getDocumentProxy } = await import('unpdf');
        const pdf = await getDocumentProxy(new Uint8Array(file.bytes));
        const { text } = await extractText(pdf, { mergePages: true });
        await pdf.destroy();
        markdown = text;
        break;
      }
      case 'docx': {
        const { value } = await mammoth.convertToHtml({ buffer: Buffer.from(file.bytes) });
        markdown = htmlToMarkdown(value);
        break;
      }
      case 'html':
        markdown = htmlToMarkdown(utf8(file));
        break;
      default:
        markdown = utf8(file);
    }
  } catch (error) {
    if (error instanceof ServiceError) throw error;
    throw unsupported(file, `it is not a readable ${format.toUpperCase()} file.`);
  }
  markdown = markdown.replace(/\r\n?/g, '\n').trim();
  if (markdown.includes('\u0000')) throw unsupported(file, 'the file contains binary data.');
  if (markdown === '') throw unsupported(file, 'no text could be extracted from it.');
  return { format, markdown: `${markdown}\n` };
}
