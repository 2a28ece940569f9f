# The golden image of a hardened single-owner OpenClaw agent.
#
#   qemu.ubuntu        default: local qcow2 from the Ubuntu 24.04 LTS cloud image
#   amazon-ebs.ubuntu  the same provisioning on EC2 (`clawbake bake --builder amazon-ebs`)
#   null.rehearsal     no VM: shell-local provisioners run the gate suite on this
#                      machine (`clawbake verify --local`), so the whole line
#                      orchestrator -> packer -> gates -> manifest -> publish runs anywhere
#
# Started by `clawbake bake`, which passes the tag and index digest it resolved
# once; run by hand only with `packer build -var-file=...` of a real bake run
# (.clawbake/bake/<id>/bake.pkrvars.json).

locals {
  # ghcr.io/openclaw/openclaw:<tag>@sha256:<hex> (shape enforced by the variable's validation)
  openclaw_tag    = regex_replace(var.openclaw_image, "^[^:]+:([^@]+)@.*$", "$1")
  openclaw_digest = regex_replace(var.openclaw_image, "^[^@]+@", "")
  digest_short    = substr(regex_replace(var.openclaw_image, "^[^@]+@sha256:", ""), 0, 12)
  image_name      = "clawbake-openclaw-${local.openclaw_tag}-${local.digest_short}"
  gate_summary    = "${length(var.gate_ids)}/${length(var.gate_ids)} gates passed: ${join(",", var.gate_ids)}"
}

source "qemu" "ubuntu" {
  iso_url          = var.ubuntu_image_url
  iso_checksum     = var.ubuntu_image_checksum
  disk_image       = true
  disk_size        = var.disk_size
  disk_compression = true
  format           = "qcow2"
  # `clawbake bake` chooses kvm or tcg by booting a guest (src/vm/accelerator.ts)
  # and passes it in qemuargs (`-accel tcg,thread=multi -cpu max` under TCG),
  # so Packer adds no accelerator of its own: with /dev/kvm present it would
  # pick kvm, which this kind of machine cannot run stock guests on.
  accelerator      = "none"
  qemuargs         = var.qemuargs
  disable_vnc      = true
  boot_wait        = "1s"
  cpus             = var.cpus
  memory           = var.memory
  headless         = true
  net_device       = "virtio-net"
  disk_interface   = "virtio"
  output_directory = var.output_directory
  vm_name          = "${local.image_name}.qcow2"

  # NoCloud seed: a CD labelled cidata holding user-data and meta-data, both
  # written per bake by clawbake (the public half of a throw-away SSH key).
  # Packer 1.6.6 has cd_files but no cd_content, hence files.
  cd_files = ["${var.run_dir}/seed/user-data", "${var.run_dir}/seed/meta-data"]
  cd_label = "cidata"

  communicator         = "ssh"
  ssh_username         = "clawbake"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  # scrub.sh removed every authorized key; this removes the build user itself
  shutdown_command = "sudo sh -c 'userdel --force --remove clawbake; rm -f /etc/sudoers.d/90-cloud-init-users; fstrim --all || true; systemctl poweroff'"
  disk_discard     = "unmap"
}

source "amazon-ebs" "ubuntu" {
  region        = var.aws_region
  instance_type = var.aws_instance_type
  ami_name      = "${local.image_name}-${var.bake_id}"
  ssh_username  = "ubuntu"

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = [var.aws_source_ami_owner]
    most_recent = true
  }

  tags = {
    Name              = local.image_name
    "clawbake:tag"    = local.openclaw_tag
    "clawbake:digest" = local.openclaw_digest
    "clawbake:bake"   = var.bake_id
  }
}

source "null" "rehearsal" {
  communicator = "none"
}

build {
  sources = ["source.qemu.ubuntu", "source.amazon-ebs.ubuntu", "source.null.rehearsal"]

  # ---------------------------------------------------------------- in the VM
  provisioner "shell" {
    except          = ["null.rehearsal"]
    script          = "${path.root}/scripts/wait-cloud-init.sh"
    execute_command = "chmod +x {{ .Path }}; sudo -E {{ .Vars }} {{ .Path }}"
  }

  provisioner "shell" {
    except          = ["null.rehearsal"]
    inline          = ["mkdir -p /tmp/clawbake/files"]
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}"
  }

  provisioner "file" {
    except      = ["null.rehearsal"]
    source      = "${path.root}/files/"
    destination = "/tmp/clawbake/files"
  }

  provisioner "file" {
    except      = ["null.rehearsal"]
    source      = "${var.run_dir}/gates"
    destination = "/tmp/clawbake"
  }

  provisioner "file" {
    except      = ["null.rehearsal"]
    source      = "${var.project_root}/pins.lock.json"
    destination = "/tmp/clawbake/pins.lock.json"
  }

  provisioner "shell" {
    except          = ["null.rehearsal"]
    execute_command = "chmod +x {{ .Path }}; sudo -E {{ .Vars }} {{ .Path }}"
    environment_vars = [
      "OPENCLAW_IMAGE=${var.openclaw_image}",
      "CLAWBAKE_STAGE=/tmp/clawbake",
      "REHEARSAL_REGISTRY_CA_B64=${var.rehearsal_registry_ca_b64}",
      "REHEARSAL_REGISTRY_ADDR=${var.rehearsal_registry_addr}",
    ]
    scripts = [
      "${path.root}/scripts/docker.sh",
      "${path.root}/scripts/harden.sh",
      "${path.root}/scripts/rehearsal-registry.sh",
      "${path.root}/scripts/files.sh",
      "${path.root}/scripts/image.sh",
      "${path.root}/scripts/service.sh",
    ]
  }

  # The gate suite, bundled into one file, run by the node binary of the pinned
  # image. It always leaves a report and a status file (and exits 0 when it
  # could), so the report is fetched below before the verdict can fail the
  # build: Packer 1.6.6 has no error-cleanup-provisioner in HCL2.
  provisioner "shell" {
    except           = ["null.rehearsal"]
    script           = "${path.root}/scripts/gates.sh"
    execute_command  = "chmod +x {{ .Path }}; sudo -E sh -c '. {{ .EnvVarFile }} && rm -f {{ .EnvVarFile }} && exec {{ .Path }}'"
    use_env_var_file = true
    env_var_format   = "export %s='%s'\n"
    environment_vars = [
      "OPENCLAW_IMAGE=${var.openclaw_image}",
      "CLAWBAKE_STAGE=/tmp/clawbake",
      "GATE_IDS=${join(",", var.gate_ids)}",
      "AVOTS_BASE_URL=${var.avots_base_url}",
      "AVOTS_API_KEY=${var.avots_api_key}",
      "CLAWBAKE_GATE_GATEWAY_TOKEN=${var.gate_gateway_token}",
      "CLAWBAKE_GATE_BOT_TOKEN=${var.gate_bot_token}",
      "CLAWBAKE_GATE_TIME_SCALE=${var.gate_time_scale}",
      "CLAWBAKE_GATE_READY_MS=${var.gate_ready_ms}",
      "CLAWBAKE_GATE_TURN_MS=${var.gate_turn_ms}",
    ]
  }

  provisioner "file" {
    except      = ["null.rehearsal"]
    direction   = "download"
    source      = "/var/lib/clawbake/gates/report.json"
    destination = "${var.run_dir}/gate-report.json"
  }

  provisioner "file" {
    except      = ["null.rehearsal"]
    direction   = "download"
    source      = "/var/lib/clawbake/gates/status"
    destination = "${var.run_dir}/gate-status"
  }

  provisioner "file" {
    except      = ["null.rehearsal"]
    direction   = "download"
    source      = "/var/lib/clawbake/gates/identity.json"
    destination = "${var.run_dir}/build-identity.json"
  }

  provisioner "shell-local" {
    except           = ["null.rehearsal"]
    script           = "${path.root}/scripts/verdict.sh"
    environment_vars = ["GATE_STATUS_FILE=${var.run_dir}/gate-status", "GATE_IDS=${join(",", var.gate_ids)}"]
  }

  # rehearsal only (an empty marker plants nothing): the places a deleted secret can survive
  provisioner "shell" {
    except           = ["null.rehearsal"]
    script           = "${path.root}/scripts/plant-markers.sh"
    execute_command  = "chmod +x {{ .Path }}; sudo -E sh -c '. {{ .EnvVarFile }} && rm -f {{ .EnvVarFile }} && exec {{ .Path }}'"
    use_env_var_file = true
    env_var_format   = "export %s='%s'\n"
    environment_vars = ["CLAWBAKE_MARKER=${var.rehearsal_marker}", "OPENCLAW_IMAGE=${var.openclaw_image}"]
  }

  provisioner "shell" {
    except          = ["null.rehearsal"]
    script          = "${path.root}/scripts/scrub.sh"
    execute_command = "chmod +x {{ .Path }}; sudo -E {{ .Vars }} {{ .Path }}"
  }

  # --------------------------------------------------------- rehearsal (no VM)
  # Secrets (AVOTS_API_KEY) reach these scripts through Packer's own
  # environment, never through environment_vars (which shell-local puts on a
  # command line).
  provisioner "shell-local" {
    only   = ["null.rehearsal"]
    script = "${path.root}/scripts/rehearsal-gates.sh"
    environment_vars = [
      "CLAWBAKE_COMMAND=${var.clawbake_command}",
      "CLAWBAKE_ROOT=${var.project_root}",
      "CLAWBAKE_RUN_DIR=${var.run_dir}",
      "GATE_IDS=${join(",", var.gate_ids)}",
    ]
  }

  provisioner "shell-local" {
    only             = ["null.rehearsal"]
    script           = "${path.root}/scripts/verdict.sh"
    environment_vars = ["GATE_STATUS_FILE=${var.run_dir}/gate-status", "GATE_IDS=${join(",", var.gate_ids)}"]
  }

  # Written only when every provisioner (so the gate verdict) succeeded.
  # clawbake points `output` at a fresh path per run: the post-processor
  # appends to an existing file.
  post-processor "manifest" {
    output     = var.manifest_path
    strip_path = false
    custom_data = {
      schema          = "clawbake-bake-manifest/1"
      openclaw_image  = var.openclaw_image
      tag             = local.openclaw_tag
      index_digest    = local.openclaw_digest
      channel         = var.channel
      gate_summary    = local.gate_summary
      gate_ids        = join(",", var.gate_ids)
      gate_report     = "${var.run_dir}/gate-report.json"
      released_at     = var.released_at
      bake_started_at = var.bake_started_at
      bake_id         = var.bake_id
    }
  }
}
