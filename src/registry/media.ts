// The four manifest media types clawbake accepts, and the Accept header that
// asks for all of them: without the OCI index type a distribution registry
// answers 404 for a tag that points at an OCI index.
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'

export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'

export const MANIFEST_TYPES = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST] as const
export type ManifestType = (typeof MANIFEST_TYPES)[number]

export const ACCEPT_MANIFESTS = MANIFEST_TYPES.join(', ')

export function isManifestType(s: string): s is ManifestType {
  return (MANIFEST_TYPES as readonly string[]).includes(s)
}

export function isIndexType(s: string): boolean {
  return s === OCI_INDEX || s === DOCKER_LIST
}

/** `application/x; charset=utf-8` -> `application/x` */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

export function describeMediaType(s: string): string {
  switch (s) {
    case OCI_INDEX: return 'OCI image index'
    case DOCKER_LIST: return 'Docker manifest list'
    case OCI_MANIFEST: return 'OCI image manifest'
    case DOCKER_MANIFEST: return 'Docker v2 manifest'
    default: return s
  }
}
