// HTML -> PDF through Chromium's print (playwright-core driving the system Chromium). Every network
// request is refused: the report must render from its own bytes.
import { existsSync } from 'node:fs';
import { EvalStoreError } from '../eval/store/errors.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export function chromiumPath(explicit?: string): string {
  return explicit ?? process.env.SIGHTLINE_CHROMIUM ?? DEFAULT_CHROMIUM;
}

// Headless on machines without a GPU or a large /dev/shm (the flags the e2e tests use).
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];

/** Pages in a PDF: its page objects (`/Type /Page`, not the `/Pages` tree nodes). */
export function countPdfPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  return (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}

/** Prints the HTML to a PDF (A4, backgrounds on); returns its bytes and the requests it tried to make. */
export async function printHtmlToPdf(html: string, options: { chromiumPath?: string; timeoutMs?: number } = {}): Promise<{ pdf: Buffer; blockedRequests: string[] }> {
  const executablePath = chromiumPath(options.chromiumPath);
  if (!existsSync(executablePath)) throw new EvalStoreError(`No Chromium at ${executablePath} to print the PDF (install chromium, set SIGHTLINE_CHROMIUM, or write a .html report)`, 'BAD_INPUT');
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new EvalStoreError('PDF reports need the playwright-core package, which is not installed; write a .html report instead', 'BAD_INPUT');
  }
  const browser = await playwright.chromium.launch({ executablePath, args: LAUNCH_ARGS, timeout: options.timeoutMs ?? 60_000 });
  try {
    const page = await browser.newPage();
    const blockedRequests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || url === 'about:blank') return route.continue();
      blockedRequests.push(url);
      return route.abort();
    });
    await page.setContent(html, { waitUntil: 'load', timeout: options.timeoutMs ?? 60_000 });
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '12mm', right: '12mm' }, preferCSSPageSize: true });
    return { pdf, blockedRequests };
  } finally {
    await browser.close();
  }
}
