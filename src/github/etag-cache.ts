// The on-disk cache of conditional requests: for each listing URL, the ETag of
// its first page and every item of every page, under <root>/.clawbake/ (local,
// untracked state). A poll sends If-None-Match; a 304 (which GitHub does not
// count against the rate limit) means the cached list is still the list.
// A cache that cannot be read is dropped with a warning: it only saves
// requests, it never decides anything.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../atomic.ts'

export const CACHE_FILE = 'github-cache.json'

export interface CachedListing {
  etag: string
  fetchedAt: string
  items: unknown[]
}

export interface EtagCache {
  file: string
  entries: Record<string, CachedListing>
  /** true when an entry changed and the cache should be saved */
  dirty: boolean
}

export function cachePath(stateDir: string): string {
  return join(stateDir, CACHE_FILE)
}

export function loadEtagCache(file: string, warn: (line: string) => void): EtagCache {
  const empty: EtagCache = { file, entries: {}, dirty: false }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warn(`${file}: cannot read the GitHub cache (${(e as NodeJS.ErrnoException).code}); polling without it`)
    return empty
  }
  try {
    const value = JSON.parse(text) as { schemaVersion?: unknown; entries?: unknown }
    if (value.schemaVersion !== 1 || typeof value.entries !== 'object' || value.entries === null) throw new Error('unexpected shape')
    const entries: Record<string, CachedListing> = {}
    for (const [url, e] of Object.entries(value.entries as Record<string, Partial<CachedListing>>)) {
      if (typeof e?.etag === 'string' && typeof e.fetchedAt === 'string' && Array.isArray(e.items)) entries[url] = e as CachedListing
    }
    return { file, entries, dirty: false }
  } catch (e) {
    warn(`${file}: GitHub cache is corrupt (${(e as Error).message}); polling without it`)
    return empty
  }
}

export function saveEtagCache(cache: EtagCache): void {
  if (!cache.dirty) return
  writeFileAtomic(cache.file, JSON.stringify({ schemaVersion: 1, entries: cache.entries }) + '\n')
  cache.dirty = false
}
