  # Packer >= 1.7 only: `clawbake bake` appends this block to the build block of
  # a staged copy of the template (.clawbake/bake/<id>/template/). Debian's
  # packer 1.6.6 rejects the block type in HCL2 ("Blocks of type
  # error-cleanup-provisioner are not expected here"), which is why it is not in
  # clawbake.pkr.hcl itself; there, gates.sh always leaves a report that is
  # downloaded before verdict.sh can fail the build. With it, the report is
  # fetched even when a step AFTER the download fails (scrub, shutdown).
  error-cleanup-provisioner "file" {
    except      = ["null.rehearsal"]
    direction   = "download"
    source      = "/var/lib/clawbake/gates/report.json"
    destination = "${var.run_dir}/gate-report.json"
  }
