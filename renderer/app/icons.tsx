// Small inline SVG icons (glyph fonts differ between machines; SVG looks the same everywhere).
import type { ReactNode } from 'react';

const paths: Record<string, ReactNode> = {
  first: <path d="M3 2h2v12H3zM14 2v12L6 8z" />,
  last: <path d="M11 2h2v12h-2zM2 2v12l8-6z" />,
  prev: <path d="M13 2v12L4 8z" />,
  next: <path d="M3 2v12l9-6z" />,
  play: <path d="M4 2v12l10-6z" />,
  pause: <path d="M3 2h3.5v12H3zM9.5 2H13v12H9.5z" />,
  sidebar: <path d="M1.5 2.5h13v11h-13zM2.5 3.5v9h3.5v-9zM7 3.5v9h6.5v-9z" fillRule="evenodd" />,
  close: <path d="M3.5 2.4 8 6.9l4.5-4.5 1.1 1.1L9.1 8l4.5 4.5-1.1 1.1L8 9.1l-4.5 4.5-1.1-1.1L6.9 8 2.4 3.5z" />,
};

export type IconName = keyof typeof paths;

export function Icon({ name, size = 12 }: { name: IconName; size?: number }): ReactNode {
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 16 16" fill="currentColor" aria-hidden="true">
      {paths[name]}
    </svg>
  );
}
