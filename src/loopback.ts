// clawbake's servers and the programs it starts listen on 127.0.0.1 only.
import { createServer, type AddressInfo } from 'node:net'

/** A free TCP port on 127.0.0.1, for a program that needs its port number up front. */
export async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}
