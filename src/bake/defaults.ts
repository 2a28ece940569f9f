// The bake's fixed values: the image it bakes, the default base, the digest form, the manifest schema.
export const DEFAULT_IMAGE = 'ghcr.io/openclaw/openclaw'
export const DEFAULT_UBUNTU_URL = 'https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.img'
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/
export const MANIFEST_SCHEMA = 'bake-manifest.schema.json'
