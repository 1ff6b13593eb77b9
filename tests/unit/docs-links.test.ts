import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The pages a reader follows links through: the README, CONTRIBUTING.md and every page of docs/. */
const pages = ['README.md', 'CONTRIBUTING.md', ...readdirSync('docs').filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*$/gm)) {
    const slug = heading!
      .replace(/`|\*|_(?=\w)|(?<=\w)_/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** Fenced code blocks hold no headings; code spans no links either. */
const withoutFences = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');
const withoutCode = (markdown: string) => withoutFences(markdown).replace(/`[^`\n]*`/g, '');

/** Every relative link of a page: [text](target) and ![alt](target), without external URLs. */
function relativeLinks(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map(([, target]) => target!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

function broken(page: string, markdown = readFileSync(page, 'utf8')): string[] {
  return relativeLinks(markdown).flatMap((link) => {
    const [path, anchor] = link.split('#') as [string, string | undefined];
    const target = path === '' ? page : normalize(join(dirname(page), decodeURIComponent(path)));
    if (path !== '' && (target.startsWith('..') || !existsSync(target))) return [`${link} (no ${target})`];
    if (anchor === undefined || !target.endsWith('.md') || (path !== '' && statSync(target).isDirectory())) return [];
    const headings = anchors(path === '' ? markdown : readFileSync(target, 'utf8'));
    return headings.has(anchor) ? [] : [`${link} (no heading #${anchor} in ${target})`];
  });
}

describe('documentation links', () => {
  it.each(pages)('every relative link of %s resolves inside the repository, anchors included', (page) => {
    expect(broken(page)).toEqual([]);
  });

  it('the checker sees a missing file, a missing anchor and a link out of the repository', () => {
    const page = '[ok](api.md#conventions) [file](missing.md) [anchor](api.md#no-such-heading) [out](../../etc/hosts) [self](#nowhere)';
    expect(broken('docs/example.md', page)).toEqual([
      'missing.md (no docs/missing.md)',
      'api.md#no-such-heading (no heading #no-such-heading in docs/api.md)',
      '../../etc/hosts (no ../etc/hosts)',
      '#nowhere (no heading #nowhere in docs/example.md)',
    ]);
    expect(anchors('# Deploying (AWS Lambda + Neon)\n## How to add a route\n## `GET /docs`\n## Layers\n## Layers')).toEqual(
      new Set(['deploying-aws-lambda--neon', 'how-to-add-a-route', 'get-docs', 'layers', 'layers-1']),
    );
    expect(relativeLinks('[a](docs/x.md) [b](https://example.com) `[c](no.md)` ![d](charts/y.svg) [e](#top)')).toEqual([
      'docs/x.md',
      'charts/y.svg',
      '#top',
    ]);
  });
});
