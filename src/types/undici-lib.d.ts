// The three undici modules src/registry/http.ts loads instead of all of undici
// (undici ships types for its index only).
declare module 'undici/lib/global.js' {
  import type { Dispatcher } from 'undici'
  const undiciGlobal: { getGlobalDispatcher(): Dispatcher }
  export default undiciGlobal
}
declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici'
  const request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>
  export default request
}
declare module 'undici/lib/core/util.js' {
  const undiciUtil: { parseURL(url: URL | string): URL }
  export default undiciUtil
}
