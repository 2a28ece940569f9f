# Inputs of the golden-image bake. `clawbake bake` sets every one of them from
# the values it resolved once (tag, index digest, timestamps, gate bundle);
# nothing in this template resolves, downloads or guesses an image reference.
#
# Written for BOTH Debian's packer 1.6.6 and current Packer: no `packer {}`
# block with required_plugins, no `data` blocks, no `regex()` (1.6.6 has only
# `regex_replace()`: a full match replaced by "" proves the shape), no
# `cd_content` and no `error-cleanup-provisioner` (see README, bake section).

variable "openclaw_image" {
  type        = string
  description = "The pinned OpenClaw image: ghcr.io/openclaw/openclaw:<tag>@sha256:<64 hex> (tag and INDEX digest from `clawbake resolve`/pins.lock.json)."

  validation {
    condition     = regex_replace(var.openclaw_image, "^ghcr\\.io/openclaw/openclaw:[0-9]{4}\\.[1-9][0-9]*\\.[1-9][0-9]*(-(alpha|beta)\\.[1-9][0-9]*|-[1-9][0-9]*)?@sha256:[0-9a-f]{64}$", "") == ""
    error_message = "The openclaw_image variable must be ghcr.io/openclaw/openclaw:<YYYY.M.PATCH[-N|-beta.N]>@sha256:<64 lowercase hex>: a tag AND its index digest, nothing else."
  }
}

variable "channel" {
  type        = string
  description = "Release channel the image is published on."
  default     = "stable"

  validation {
    condition     = var.channel == "stable" || var.channel == "extended-stable"
    error_message = "The channel variable must be stable or extended-stable."
  }
}

variable "released_at" {
  type        = string
  description = "Upstream release publishedAt (ISO 8601 UTC): start of the time-to-patch clock."

  validation {
    condition     = regex_replace(var.released_at, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", "") == ""
    error_message = "The released_at variable must be an ISO 8601 UTC timestamp such as 2026-11-24T09:00:00Z."
  }
}

variable "bake_started_at" {
  type        = string
  description = "When `clawbake bake` started (ISO 8601 UTC)."

  validation {
    condition     = regex_replace(var.bake_started_at, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", "") == ""
    error_message = "The bake_started_at variable must be an ISO 8601 UTC timestamp such as 2026-11-24T09:00:00Z."
  }
}

variable "bake_id" {
  type        = string
  description = "Identifier of this bake run (names the run directory under .clawbake/bake/)."

  validation {
    condition     = regex_replace(var.bake_id, "^[0-9A-Za-z][0-9A-Za-z.-]{0,63}$", "") == ""
    error_message = "The bake_id variable must be 1-64 characters of letters, digits, dots and dashes."
  }
}

variable "run_dir" {
  type        = string
  description = "Absolute path of this run's directory (.clawbake/bake/<bake_id>): seed, gate bundle, gate report, manifest."

  validation {
    condition     = substr(var.run_dir, 0, 1) == "/"
    error_message = "The run_dir variable must be an absolute path."
  }
}

variable "manifest_path" {
  type        = string
  description = "Where the manifest post-processor writes. A fresh file per run: the post-processor appends to an existing one."

  validation {
    condition     = substr(var.manifest_path, 0, 1) == "/"
    error_message = "The manifest_path variable must be an absolute path."
  }
}

variable "gate_ids" {
  type        = list(string)
  description = "Every gate that must pass before the image may be published."
  default     = ["config-valid", "doctor", "security-audit", "models", "avots-smoke", "owner-exec", "stranger-refused", "untrusted-tools", "loopback-only", "admin-tunnel", "egress", "no-secret-left"]

  validation {
    condition     = length(var.gate_ids) > 0
    error_message = "The gate_ids variable must name at least one gate."
  }
}

# --- secrets: passed as PKR_VAR_* environment variables, never on the command line.
# Packer 1.6.6 still prints `sensitive` values in -machine-readable output:
# clawbake masks every one of them itself before anything is shown or logged.

variable "avots_api_key" {
  type        = string
  description = "avots.ai API key for the avots-smoke gate; scrubbed from the image after the gates."
  sensitive   = true

  validation {
    condition     = length(var.avots_api_key) >= 8
    error_message = "The avots_api_key variable must be set (AVOTS_API_KEY)."
  }
}

variable "avots_base_url" {
  type        = string
  description = "OpenAI-compatible avots endpoint the gates call."
  default     = "https://api.avots.ai/openai/v1"
}

variable "gate_bot_token" {
  type        = string
  description = "Throw-away Telegram bot token of the gate run (the Bot API stand-in's); generated per bake so the bake can mask it and search the captured disk for it."
  sensitive   = true
  default     = "10000001:clawbake-gate-bot-token-unset-000000"
}

variable "gate_time_scale" {
  type        = number
  description = "How much slower than a native host the build VM runs OpenClaw (tcg: about 15x for CLI work); scales the gates' CLI timeouts."
  default     = 1
}

variable "gate_ready_ms" {
  type        = number
  description = "How long the gates wait for the gateway to become ready (ms), scaled to the accelerator by clawbake."
  default     = 240000
}

variable "gate_turn_ms" {
  type        = number
  description = "How long the gates wait for one agent turn (ms), scaled to the accelerator by clawbake."
  default     = 150000
}

variable "gate_gateway_token" {
  type        = string
  description = "Throw-away gateway token the gate run uses; generated per bake, scrubbed afterwards."
  sensitive   = true

  validation {
    condition     = length(var.gate_gateway_token) >= 32
    error_message = "The gate_gateway_token variable must be at least 32 characters (clawbake generates it per bake)."
  }
}

# --- rehearsal (null source): the gate suite runs on this machine.

variable "clawbake_command" {
  type        = string
  description = "How shell-local provisioners start clawbake (rehearsal only), e.g. `/usr/bin/node /src/clawbake/bin/clawbake.js`."
  default     = "npx clawbake"
}

variable "project_root" {
  type        = string
  description = "The clawbake work tree (CLAWBAKE_ROOT): the rehearsal gates verify it; the VM gets its pins.lock.json."
  default     = "."
}

# --- qemu source (default).

variable "ubuntu_image_url" {
  type        = string
  description = "Ubuntu LTS cloud image (qcow2) the qemu source starts from."
  default     = "https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.img"
}

variable "ubuntu_image_checksum" {
  type        = string
  description = "Checksum of ubuntu_image_url: `file:<SHA256SUMS url>` or `sha256:<hex>`. Never `none`."
  default     = "file:https://cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS"

  validation {
    condition     = regex_replace(var.ubuntu_image_checksum, "^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|file:.+)$", "") == ""
    error_message = "The ubuntu_image_checksum variable must be sha256:<hex>, sha512:<hex> or file:<SHA256SUMS url>; unverified images are refused."
  }
}

variable "accelerator" {
  type        = string
  description = "qemu accelerator clawbake chose by booting a guest (kvm or tcg); recorded in the manifest. The qemu arguments themselves are in qemuargs."
  default     = "tcg"

  validation {
    condition     = var.accelerator == "kvm" || var.accelerator == "tcg"
    error_message = "The accelerator variable must be kvm or tcg."
  }
}

variable "qemuargs" {
  type        = list(list(string))
  description = "Extra qemu arguments from clawbake: the accelerator and CPU, the user-mode network with the SSH forward on 127.0.0.1 only (and, in a rehearsal, guestfwd of the registry's address), the serial console log."
  default = [
    ["-accel", "tcg,thread=multi"],
    ["-cpu", "max"],
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
  ]
}

variable "ssh_timeout" {
  type        = string
  description = "How long Packer waits for the build VM's SSH (scaled to the accelerator by clawbake)."
  default     = "30m"
}

variable "rehearsal_registry_ca_b64" {
  type        = string
  description = "Rehearsal only: base64 of a throw-away CA certificate the build VM's Docker trusts for ghcr.io (certs.d); empty in production. Removed by scrub.sh."
  default     = ""
}

variable "rehearsal_registry_addr" {
  type        = string
  description = "Rehearsal only: the guest address that qemu forwards to the loopback registry and /etc/hosts maps ghcr.io to; empty in production. Removed by scrub.sh."
  default     = ""
}

variable "rehearsal_marker" {
  type        = string
  sensitive   = true
  description = "Rehearsal only: a secret-like marker plant-markers.sh writes where a deleted secret can survive (a deleted file, the journal, a container's log and writable layer) before the scrub; the captured disk is searched for it. Empty in production: nothing is planted."
  default     = ""
}

variable "ssh_private_key_file" {
  type        = string
  description = "Per-bake SSH key (its public half is in the NoCloud seed); made by clawbake bake."
  default     = ""
}

variable "output_directory" {
  type        = string
  description = "Where the qemu source writes the qcow2 (must not exist yet)."
  default     = "output"
}

variable "disk_size" {
  type        = string
  description = "Disk size of the golden image."
  default     = "12G"
}

variable "memory" {
  type        = number
  description = "Build VM memory in MiB."
  default     = 4096
}

variable "cpus" {
  type        = number
  description = "Build VM vCPUs."
  default     = 2
}

# --- amazon-ebs source (`clawbake bake --builder amazon-ebs`).

variable "aws_region" {
  type        = string
  description = "AWS region of the build instance and the AMI."
  default     = "eu-north-1"
}

variable "aws_instance_type" {
  type        = string
  description = "Build instance type."
  default     = "t3.medium"
}

variable "aws_source_ami_owner" {
  type        = string
  description = "Owner of the Ubuntu AMIs (Canonical)."
  default     = "099720109477"
}
