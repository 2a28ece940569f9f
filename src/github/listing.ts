// A paginated GitHub listing fetched with a conditional first request. The
// first page carries If-None-Match with the cached ETag: a 304 returns the
// cached items and costs exactly one request. Otherwise every page is read by
// following the Link header (rel="next") as GitHub writes it, and the new
// ETag + items go into the cache (saved by the caller once the whole poll
// succeeded, so a failed poll writes nothing).
import { ClawbakeError, envError } from '../errors.ts'
import { githubFailure, type GithubClient } from './client.ts'
import type { EtagCache } from './etag-cache.ts'

/** Guard against a Link header that never ends. */
export const MAX_PAGES = 100

export interface Listing<T> {
  items: T[]
  /** 304: nothing changed since the cached ETag */
  notModified: boolean
  pages: number
}

export function nextLink(link: string | undefined): string | null {
  if (!link) return null
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim())
    if (m && m[2]?.split(/\s+/).includes('next')) return m[1] as string
  }
  return null
}

function malformed(url: string, field: string, message: string): ClawbakeError {
  return envError(`GitHub sent a response clawbake cannot read: ${message}`, { file: url, field, rule: 'github.malformed-response' })
}

export async function fetchListing<T>(
  client: GithubClient,
  cache: EtagCache,
  first: string,
  what: string,
  /** read one item: the fields clawbake keeps, or the JSON path (`/field`) of the first bad one */
  read: (item: unknown) => T | string,
): Promise<Listing<T>> {
  let cached = cache.entries[first]
  let cachedItems: T[] = []
  if (cached) {
    // the cache is re-read like a response: an entry that does not hold up is not used.
    const reread = cached.items.map(read)
    if (reread.every(x => typeof x !== 'string')) cachedItems = reread as T[]
    else {
      delete cache.entries[first]
      cache.dirty = true
      cached = undefined
    }
  }
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' }
  if (cached) headers['if-none-match'] = cached.etag
  const items: T[] = []
  let url: string | null = first
  let etag: string | undefined
  let pages = 0
  const origin = new URL(first).origin
  while (url) {
    if (++pages > MAX_PAGES) throw malformed(first, 'link', `more than ${MAX_PAGES} pages: the Link header does not end`)
    if (new URL(url).origin !== origin) throw malformed(first, 'link', `pagination points away from ${origin} (${new URL(url).origin})`)
    let response
    try {
      response = await client.octokit.request({ method: 'GET', url, headers: pages === 1 ? headers : { accept: headers.accept, 'x-github-api-version': '2022-11-28' } })
    } catch (e) {
      if (pages === 1 && cached && (e as { status?: number }).status === 304) {
        return { items: cachedItems, notModified: true, pages: 1 }
      }
      throw githubFailure(e, url, what)
    }
    const data: unknown = response.data
    if (!Array.isArray(data)) {
      throw malformed(url, '/', typeof data === 'string' ? `the body is not JSON (${data.length} bytes${data.length ? `, ends with ${JSON.stringify(data.slice(-20))}` : ''})` : 'expected a JSON array')
    }
    data.forEach((item, i) => {
      const kept = read(item)
      if (typeof kept === 'string') throw malformed(url as string, `/${i}${kept}`, `item ${i} of ${what} has no valid ${kept.slice(1) || 'object'}`)
      items.push(kept)
    })
    if (pages === 1) etag = response.headers.etag
    url = nextLink(response.headers.link)
  }
  if (etag) cache.entries[first] = { etag, fetchedAt: new Date().toISOString(), items }
  else delete cache.entries[first]
  cache.dirty = true
  return { items, notModified: false, pages }
}
