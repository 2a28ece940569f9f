// undici's request() and nothing else of undici. `import { request } from
// 'undici'` evaluates all of undici (fetch, WebSocket, cache stores, mock
// agents, every interceptor): most of a `clawbake resolve` process's time.
// This is what undici's own index.js does for request(), over the same
// modules: the global dispatcher (an Agent, shared with anything that imports
// all of undici) and the request API.
import type { Dispatcher } from 'undici'
import undiciGlobal from 'undici/lib/global.js'
import apiRequest from 'undici/lib/api/api-request.js'
import undiciUtil from 'undici/lib/core/util.js'

export type RequestOptions = { dispatcher?: Dispatcher } & Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & Partial<Pick<Dispatcher.RequestOptions, 'method'>>

/** undici.request(url, opts): the same call as undici's index.js makes. */
export function request(url: URL, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
  const parsed = undiciUtil.parseURL(url)
  const { dispatcher = undiciGlobal.getGlobalDispatcher(), ...rest } = opts
  return apiRequest.call(dispatcher, {
    ...rest,
    origin: parsed.origin,
    path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname,
    method: opts.method || (opts.body ? 'PUT' : 'GET'),
  })
}
